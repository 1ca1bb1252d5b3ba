"""A run on a SLURM cluster gives the same tables as a local run (``make test-cluster``).

``tests/cluster/run_cluster_test.sh`` starts a one-node cluster, runs the workflow through
``profiles/slurm`` and locally, and then runs this file with the two results folders in
``RWE_CLUSTER_RESULTS`` and ``RWE_LOCAL_RESULTS`` and the cluster run's log in ``RWE_CLUSTER_LOG``.
"""

from __future__ import annotations

import difflib
import os
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.cluster


def _env_path(name: str) -> Path:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: run this through `make test-cluster`")
    return Path(value)


@pytest.fixture(scope="module")
def cluster_results() -> Path:
    return _env_path("RWE_CLUSTER_RESULTS")


@pytest.fixture(scope="module")
def local_results() -> Path:
    return _env_path("RWE_LOCAL_RESULTS")


def test_steps_ran_as_slurm_jobs():
    log = _env_path("RWE_CLUSTER_LOG").read_text()
    submitted = re.findall(r"has been submitted with SLURM jobid (\d+)", log)
    # site (one per site), pool, response, survival, safety, figures; the glue runs locally.
    assert len(submitted) >= 5, f"only {len(submitted)} SLURM jobs in the cluster run's log"


def test_every_table_is_identical(cluster_results: Path, local_results: Path):
    cluster = {p.name: p for p in (cluster_results / "tables").glob("*.csv")}
    local = {p.name: p for p in (local_results / "tables").glob("*.csv")}
    assert local, f"the local run wrote no tables in {local_results / 'tables'}"
    assert sorted(cluster) == sorted(local)

    differences = []
    for name in sorted(local):
        ours, theirs = cluster[name].read_text(), local[name].read_text()
        if ours != theirs:
            diff = difflib.unified_diff(
                theirs.splitlines(), ours.splitlines(), "local/" + name, "cluster/" + name, n=0
            )
            differences.append("\n".join(list(diff)[:12]))
    assert not differences, "tables differ:\n" + "\n\n".join(differences)


def test_report_and_shareable_tables_were_written(cluster_results: Path):
    assert (cluster_results / "report.html").stat().st_size > 0
    assert (cluster_results / "provenance.json").stat().st_size > 0
    assert any((cluster_results / "shareable").glob("*.csv"))
