"""Issue 13, class 7: stale or corrupt intermediates are found by their content, not their times.

One demo run is made; each test works on a copy of it (times kept), breaks one thing as a user
or a file copy would, with the file times a naive check would trust, and runs snakemake again.
"""

import os
import shutil

import pandas as pd
import pytest
from runner import ROOT, demo_config, run_workflow

from rwe.checksums import read_manifest

pytestmark = pytest.mark.workflow

#: A time long before the run: what `cp -p` or an unpacked archive can give a file.
LONG_AGO = 946_684_800  # 2000-01-01


def config():
    return demo_config({"demo": "extract"})  # relative to the working directory


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("checksums_base")
    shutil.copytree(ROOT / "data" / "demo", workdir / "extract")
    result = run_workflow(workdir, config())
    assert result.returncode == 0, result.stderr[-5000:]
    return workdir


@pytest.fixture
def copy(base, tmp_path):
    workdir = tmp_path / "run"
    shutil.copytree(base, workdir, symlinks=True)  # copy2: file times kept
    return workdir


def rewrite_keeping_times(path, text: str) -> None:
    times = os.stat(path)
    path.write_text(text)
    os.utime(path, ns=(times.st_atime_ns, times.st_mtime_ns))


def test_every_output_is_recorded_with_its_checksum(base):
    entries = read_manifest(base / "results" / "checksums.sha256")
    outputs = ["adam/adsl.csv", "tables/cox.csv", "report.html", "shareable", "figures/km"]
    for output in (f"results/{name}" for name in outputs):
        assert len(entries[output]) == 64, output
    assert not any(path.startswith("results/logs") for path in entries)


@pytest.mark.parametrize("intermediate", ["adam/adsl.csv", "tables/cox.csv"])
def test_a_truncated_or_edited_intermediate_is_rebuilt(copy, intermediate):
    path = copy / "results" / intermediate
    original = path.read_bytes()
    lines = path.read_text().splitlines(keepends=True)
    rewrite_keeping_times(path, "".join(lines[: len(lines) // 2]))  # truncated, same time
    dry = run_workflow(copy, config(), "-n")
    assert dry.returncode == 0, dry.stderr[-3000:]
    assert f"results/{intermediate} changed since it was written" in dry.stderr
    assert path.read_bytes() != original  # a dry run changes nothing
    result = run_workflow(copy, config())
    assert result.returncode == 0, result.stderr[-5000:]
    assert path.read_bytes() == original
    again = run_workflow(copy, config(), "-n")
    assert "Nothing to be done" in again.stdout + again.stderr


def test_an_edited_figure_folder_is_rebuilt(copy):
    figure = next((copy / "results" / "figures" / "km").glob("*.svg"))
    original = figure.read_bytes()
    rewrite_keeping_times(figure, "<svg/>")
    result = run_workflow(copy, config())
    assert result.returncode == 0, result.stderr[-5000:]
    assert figure.read_bytes() == original


def test_a_new_data_cut_with_older_file_times_is_run_again(copy):
    patients = copy / "extract" / "patients.csv"
    cut = pd.read_csv(patients, dtype=str, keep_default_na=False)
    age = "41" if cut.loc[0, "age"] != "41" else "42"
    cut.loc[0, "age"] = age  # the new cut corrects one patient's age
    cut.to_csv(patients, index=False)
    for path in (copy / "extract").iterdir():
        os.utime(path, (LONG_AGO, LONG_AGO))
    result = run_workflow(copy, config())
    assert result.returncode == 0, result.stderr[-5000:]
    adsl = pd.read_csv(copy / "results" / "adam" / "adsl.csv", dtype=str)
    assert adsl.set_index("patient_id").loc[cut.loc[0, "patient_id"], "age"] == age


def _digests(results) -> dict[str, str]:
    """Every file of a results folder but the logs (which say why a run failed) -> SHA-256."""
    from rwe.checksums import file_sha256

    return {
        str(path.relative_to(results)): file_sha256(path)
        for path in sorted(results.rglob("*"))
        if path.is_file() and path.relative_to(results).parts[0] != "logs"
    }


def test_a_refused_run_leaves_the_previous_results_as_they_were(copy):
    """Issue 24: a refusal after a good run changes nothing in results/ (checksums included)."""
    from bad_extracts import set_cell

    results = copy / "results"
    before = _digests(results)
    assert len(before) > 100
    set_cell(copy / "extract", "patients", 3, "age", "sixty")
    run = run_workflow(copy, config())
    assert run.returncode != 0
    assert "expected a whole number" in run.stderr
    assert _digests(results) == before
    assert not (results / ".previous").exists()


def test_a_refused_first_run_writes_nothing_but_its_log(tmp_path):
    """Issue 24: no checksums manifest, no analysis dataset: only the log that says why."""
    from bad_extracts import set_cell

    shutil.copytree(ROOT / "data" / "demo", tmp_path / "extract")
    set_cell(tmp_path / "extract", "patients", 3, "age", "sixty")
    run = run_workflow(tmp_path, config())
    assert run.returncode != 0
    left = [p.relative_to(tmp_path / "results") for p in (tmp_path / "results").rglob("*")]
    assert all(p.parts[0] == "logs" for p in left), left
