"""Two runs of the demo write the same bytes: every table, figure, dataset and the report.

Only the time of the run may differ (provenance.json and the report state it); it is masked.
"""

import re

import pytest
from runner import ROOT, demo_config, run_workflow

pytestmark = pytest.mark.workflow

#: An ISO 8601 time of day, as provenance writes the run time.
RUN_TIME = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?([+-]\d\d:\d\d|Z)?")
#: What legitimately differs between runs: timings, Snakemake's own logs, and the checksums of
#: the files that hold the run time (report, provenance).
NOT_COMPARED = ("logs", "benchmarks", "checksums.sha256")


def outputs(results):
    """Every file of a run, by path under results/, with the run time masked."""
    return {
        str(path.relative_to(results)): RUN_TIME.sub(b"<run time>", path.read_bytes())
        for path in sorted(results.rglob("*"))
        if path.is_file() and path.relative_to(results).parts[0] not in NOT_COMPARED
    }


def test_a_second_run_writes_identical_tables_figures_and_report(demo_run, tmp_path):
    first, _ = demo_run
    result = run_workflow(tmp_path, demo_config({"demo": str(ROOT / "data" / "demo")}))
    assert result.returncode == 0, result.stderr[-5000:]
    a, b = outputs(first), outputs(tmp_path / "results")
    assert a.keys() == b.keys()
    kinds = {name.rsplit(".", 1)[-1] for name in a}
    assert {"csv", "png", "svg", "html", "json"} <= kinds
    differ = [name for name in a if a[name] != b[name]]
    assert not differ, differ[:20]
