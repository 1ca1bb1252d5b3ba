"""The site job in blocks of whole patients under Snakemake (config ``lab_block_mb``).

With blocks of ~30 kB the demo's labs.csv is ~20 blocks, validated and derived in two spawned
processes inside Snakemake's script job; every analysis dataset must hold the rows of the run
without blocks (ADSL byte for byte).
"""

from __future__ import annotations

import re

import pytest
from runner import ROOT, demo_config, run_workflow

pytestmark = pytest.mark.workflow

DATASETS = ("adsl", "adrs", "adtte", "adae", "adlb", "adrs_derived", "lab_grades", "nadirs")


def test_site_job_in_blocks_under_snakemake(tmp_path):
    targets = [f"results/adam/{name}.csv" for name in DATASETS]
    for name, block_mb in (("whole", None), ("blocked", 0.03)):
        config = demo_config({"demo": str(ROOT / "data" / "demo")})
        if block_mb:
            config["lab_block_mb"] = block_mb
        (tmp_path / name).mkdir()
        run = run_workflow(tmp_path / name, config, *targets)
        assert run.returncode == 0, run.stderr[-3000:]
    log = (tmp_path / "blocked" / "results" / "logs" / "site" / "demo.log").read_text()
    found = re.search(r"in (\d+) block\(s\) by (\d+) process\(es\)", log)
    assert found, log
    assert int(found[1]) > 10
    assert int(found[2]) == 2
    whole, blocked = (tmp_path / n / "results" / "adam" for n in ("whole", "blocked"))
    assert (blocked / "adsl.csv").read_bytes() == (whole / "adsl.csv").read_bytes()
    for name in DATASETS:
        lines = [(d / f"{name}.csv").read_bytes().splitlines() for d in (whole, blocked)]
        assert lines[1][0] == lines[0][0], name
        assert sorted(lines[1][1:]) == sorted(lines[0][1:]), name
    assert not list(tmp_path.glob("**/rwe-labs-*"))
