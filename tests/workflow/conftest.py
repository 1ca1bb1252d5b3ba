"""Fixtures of the workflow tests: the demo run is shared by every module."""

import pytest
from runner import ROOT, demo_config, run_workflow


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """The whole workflow on the bundled demo extract."""
    workdir = tmp_path_factory.mktemp("demo_run")
    result = run_workflow(workdir, demo_config({"demo": str(ROOT / "data" / "demo")}))
    assert result.returncode == 0, result.stderr[-5000:]
    return workdir / "results", result
