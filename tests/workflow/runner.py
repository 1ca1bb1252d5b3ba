"""Run the real workflow with snakemake in a temporary directory, as a user would."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")


def run_workflow(workdir: Path, config: dict, *targets: str) -> subprocess.CompletedProcess:
    """Run snakemake on ROOT/Snakefile inside ``workdir`` with ``config``."""
    config_path = workdir / "config.yaml"
    config_path.write_text(yaml.safe_dump(config))
    return subprocess.run(
        [
            str(SNAKEMAKE),
            *targets,
            "-s",
            str(ROOT / "Snakefile"),
            "--directory",
            str(workdir),
            "--cores",
            "2",
            "--configfile",
            str(config_path),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def demo_config(sites: dict[str, str]) -> dict:
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    config["sites"] = sites
    return config
