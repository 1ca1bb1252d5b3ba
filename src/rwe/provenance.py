"""Provenance of a run: what went in, with which code and settings, and when."""

from __future__ import annotations

import platform
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

#: The packages the analysis runs on (lifelines is a test and benchmark tool only).
PACKAGES = (
    *("rwe", "pandas", "numpy", "scipy", "scikit-learn", "statsmodels", "plotnine"),
    *("matplotlib", "pandera", "jinja2", "python-docx", "snakemake"),
)


def package_versions(names: tuple[str, ...] = PACKAGES) -> dict[str, str]:
    """Installed version of each package (``not installed`` when absent)."""
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def r_versions() -> dict[str, str]:
    """R's version and its survival package's, where ``Rscript`` is found (else empty).

    The analysis does not run R; the versions say which R the test suite's comparisons would
    use on this machine.
    """
    script = 'cat(paste(R.version$major, R.version$minor, sep = "."), '
    script += 'tryCatch(as.character(packageVersion("survival")), error = function(e) ""))'
    try:
        run = subprocess.run(
            ["Rscript", "-e", script], capture_output=True, text=True, check=True, timeout=60
        )
        out = run.stdout.split()
    except (OSError, subprocess.SubprocessError):
        return {}
    return dict(zip(("R", "survival"), out, strict=False))


def git_commit(folder: str | Path = ".") -> str:
    """The code's git commit, with ``-dirty`` when the work tree has uncommitted changes."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=folder,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return commit + ("-dirty" if dirty else "")


def provenance_record(inputs: list[dict], config: dict, folder: str | Path = ".") -> dict:
    """Everything a reviewer needs to trace a run (DESIGN.md §6).

    Parameters
    ----------
    inputs : list of dict
        Per input file: site, file, sha256, rows, format (from :func:`rwe.io.read_site`).
    config : dict
        The configuration actually used (after schema defaults were filled in).
    folder : str or pathlib.Path
        Where the code lives (for the git commit).

    Returns
    -------
    dict
        ``inputs``, ``config``, ``packages``, ``python``, ``r`` (:func:`r_versions`),
        ``git_commit``, ``run_time`` (UTC, ISO 8601).
    """
    return {
        "inputs": inputs,
        "config": config,
        "packages": package_versions(),
        "python": platform.python_version(),
        "r": r_versions(),
        "git_commit": git_commit(folder),
        "run_time": datetime.now(UTC).isoformat(timespec="seconds"),
    }
