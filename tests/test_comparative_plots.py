"""Figures of the comparative-effectiveness analysis (rwe.comparative_plots)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402

from rwe import comparative as cmp  # noqa: E402
from rwe import comparative_plots as cp  # noqa: E402
from test_comparative import adsl_adtte  # noqa: E402


def test_ps_bins_count_every_patient_once():
    cohort = pd.DataFrame({"treated": [1, 1, 0, 0, 0], "ps": [0.0, 0.5, 0.5, 0.99, 1.0]})
    bins = cp.ps_bins(cohort, ["A", "B"], bins=10)
    assert bins.groupby("group")["n"].sum().to_dict() == {"A": 2, "B": 3}


def test_small_ps_bins_are_drawn_at_the_minimum_cell_count():
    cohort = pd.DataFrame(
        {"treated": [1, 1, 1, 0, 0, 0, 0], "ps": [0.1, 0.12, 0.5, 0.51] + [0.52] * 3}
    )
    plot = cp.ps_overlap_plot(cp.ps_bins(cohort, ["A", "B"]), ["A", "B"], "t", min_cell_count=5)
    drawn = plot.data[plot.data["n"] > 0]
    assert set(drawn["y"].abs()) == {5}  # counts 1, 2 and 4 are not readable from the bars
    assert "fewer than 5 patients drawn at 5" in plot.labels.get("subtitle", "")
    plain = cp.ps_overlap_plot(cp.ps_bins(cohort, ["A", "B"]), ["A", "B"], "t")
    assert sorted(plain.data.loc[plain.data["n"] > 0, "y"].abs()) == [1, 2, 4]


def test_make_figures_writes_every_figure_and_its_index(tmp_path):
    adsl, adtte = adsl_adtte(120, seed=2)
    result = cmp.compare(adsl, adtte, covariates=["age_ge80", "emd"], trim=0.01)
    index = cp.make_figures(result, tmp_path / "comparative", trim=0.01, gfr_cutoff=60)
    assert list(index.columns) == cp.FIGURE_INDEX_COLUMNS
    assert set(index["section"]) == {"comparative"}
    assert {"love_plot", "ps_overlap", "km_weighted_pfs", "km_unweighted_os", "cif"} <= set(
        index["name"]
    )
    for stem in index["file"]:
        assert (tmp_path / f"{stem}.png").stat().st_size > 0
        assert (tmp_path / f"{stem}.svg").is_file()
    balance = result.tables["ps_balance"].replace({"covariate": {"emd": "gfr_le70"}})
    names = set(cp.love_plot(balance, "t", gfr_cutoff=60).data["name"])
    assert names == {"Age ≥ 80", "GFR ≤ 60"}  # the configured cutoff labels the flag


def test_weighted_km_figure_says_when_balance_failed():
    adsl, adtte = adsl_adtte(120, seed=2)
    result = cmp.compare(adsl, adtte, covariates=["age_ge80", "emd"], bootstrap={"replicates": 0})
    curves = cmp.km_by_group(result.analysed, result.levels, "PFS", True)
    counts = cmp.km_by_group(result.analysed, result.levels, "PFS", False)
    failed = cp.weighted_km_plot(curves, counts, "PFS", "t", True, balanced=False)
    assert "Not interpretable" in failed.labels.get("caption", "")
    fine = cp.weighted_km_plot(curves, counts, "PFS", "t", True, balanced=True)
    assert "Not interpretable" not in fine.labels.get("caption", "")


def test_overlap_figure_states_the_common_support_and_small_counts_as_below_k():
    cohort = pd.DataFrame({"treated": [1, 1, 0, 0], "ps": [0.2, 0.9, 0.1, 0.6]})
    plot = cp.ps_overlap_plot(
        cp.ps_bins(cohort, ["A", "B"]),
        ["A", "B"],
        "t",
        min_cell_count=5,
        support=(0.2, 0.6),
        outside={"A": 1, "B": 0},
    )
    assert "common support [0.20, 0.60]; patients outside it: A <5, B 0" in plot.labels.get(
        "subtitle", ""
    )
