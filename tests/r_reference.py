"""Run the R reference scripts of tests/r/ and compare their tables with rwe's, at 1e-4."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd

R_DIR = Path(__file__).resolve().parent / "r"
RTOL = 1e-4


def rscript() -> str:
    """Path of Rscript; a missing R fails the test (CI installs it: make test)."""
    path = shutil.which("Rscript")
    assert path, "Rscript not found: R parity tests need R and r-cran-survival (run `make test`)"
    return path


def run_r(script: str, *args) -> subprocess.CompletedProcess:
    """Run ``tests/r/<script>`` with ``args``; fail with R's message if it fails."""
    result = subprocess.run(
        [rscript(), str(R_DIR / script), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"{script} failed:\n{result.stderr[-3000:]}"
    return result


def assert_tables_match(
    python: pd.DataFrame, r: pd.DataFrame, keys: list[str], values: list[str], what: str
) -> int:
    """Every row of R's table has a twin in rwe's with equal values (relative 1e-4, NA = NA).

    Returns the number of values compared (so a test can assert nothing was silently skipped).
    """
    py = python.copy()
    rr = r.copy()
    for k in keys:
        py[k] = py[k].astype(str)
        rr[k] = rr[k].astype(str)
    merged = rr.merge(py, on=keys, how="left", suffixes=("_r", "_py"), indicator=True)
    missing = merged[merged["_merge"] != "both"]
    assert missing.empty, f"{what}: rows of R with no rwe twin:\n{missing[keys].head()}"
    assert len(py) == len(rr), f"{what}: rwe has {len(py)} rows, R {len(rr)}"
    compared = 0
    for col in values:
        a = pd.to_numeric(merged[f"{col}_py"], errors="coerce").to_numpy(float)
        b = pd.to_numeric(merged[f"{col}_r"], errors="coerce").to_numpy(float)
        both_na = np.isnan(a) & np.isnan(b)
        close = np.isclose(a, b, rtol=RTOL, atol=1e-12) | both_na
        bad = merged.loc[~close, keys].assign(rwe=a[~close], R=b[~close])
        assert close.all(), (
            f"{what}.{col}: {len(bad)} values differ from R:\n{bad.head(10).to_string()}"
        )
        compared += int((~both_na).sum())
    return compared
