"""Every workflow script writes its own traceback to its rule's log when it fails (issue 12, 8).

Each script runs as a Snakemake rule with a ``log:`` file and nothing else: it fails at its
first read of an input or a parameter, after :func:`rwe.logs.log_to`, as it would on a broken
input. The log Snakemake points to must hold that failure.
"""

import subprocess

import pytest
from runner import ROOT, SNAKEMAKE

pytestmark = pytest.mark.workflow

SCRIPTS = sorted(p.stem for p in (ROOT / "workflow" / "scripts").glob("*.py"))


def test_every_failing_script_leaves_its_traceback_in_its_log(tmp_path):
    rules = "".join(
        f"rule {name}:\n"
        f"    output: 'out/{name}.done'\n"
        f"    log: 'logs/{name}.log'\n"
        f"    script: '{ROOT / 'workflow' / 'scripts' / name}.py'\n\n"
        for name in SCRIPTS
    )
    targets = ", ".join(f"'out/{name}.done'" for name in SCRIPTS)
    (tmp_path / "Snakefile").write_text(f"rule all:\n    input: {targets}\n\n{rules}")
    snakefile = str(tmp_path / "Snakefile")
    command = [str(SNAKEMAKE), "-s", snakefile, "--cores", "2", "--keep-going", "-d", str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode != 0
    assert len(SCRIPTS) >= 10
    for name in SCRIPTS:
        log = (tmp_path / "logs" / f"{name}.log").read_text()
        assert "Traceback (most recent call last)" in log, name
        assert f"{name}.py" in log, name  # the script's own frame
        assert "Error" in log.splitlines()[-1], name
