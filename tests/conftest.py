"""Shared fixtures: a small simulated site extract, written as a site would send it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from rwe.simulate import simulate_site, write_site

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def demo_tables() -> dict[str, pd.DataFrame]:
    """A simulated 60-patient extract (tables in memory)."""
    return simulate_site(60, seed=7, site="t")


@pytest.fixture
def site_folder(tmp_path: Path, demo_tables) -> Path:
    """The simulated extract written to a fresh folder."""
    folder = tmp_path / "site"
    write_site(demo_tables, folder)
    return folder
