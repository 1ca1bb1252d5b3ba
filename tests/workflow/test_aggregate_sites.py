"""A run with two row-level sites and one aggregate-only site (made by rwe export-aggregates)."""

from __future__ import annotations

from html import unescape

import pandas as pd
import pytest
import yaml
from runner import demo_config, run_workflow

from rwe.cli import main
from rwe.simulate import simulate_study


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory):
    """site1 and site2 send rows; site3's extract is exported to aggregates at 'the site'."""
    root = tmp_path_factory.mktemp("mixed")
    simulate_study(360, 23, 3, root / "extracts")
    config = demo_config(
        {
            "site1": str(root / "extracts" / "site1"),
            "site2": str(root / "extracts" / "site2"),
            "site3": {"aggregates": str(root / "site3_aggregates")},
        }
    )
    (root / "config.yaml").write_text(yaml.safe_dump(config))
    exported = main(
        ["export-aggregates", str(root / "extracts" / "site3"), "--site", "site3"]
        + ["--out", str(root / "site3_aggregates"), "--config", str(root / "config.yaml")]
    )
    assert exported == 0
    workdir = root / "run"
    workdir.mkdir()
    result = run_workflow(workdir, config)
    assert result.returncode == 0, result.stderr[-5000:]
    return root, config, workdir / "results"


def test_meta_analysis_pools_the_aggregate_site(mixed_run):
    _, _, results = mixed_run
    meta = pd.read_csv(results / "tables" / "site_meta.csv")
    per_site = meta[meta["method"].isna()]
    assert set(per_site["site"]) == {"site1", "site2", "site3"}
    pooled = meta[meta["site"] == "pooled"]
    # endpoints x covariates x (prespecified REML with Hartung-Knapp below 10 sites; FE, DL,
    # REML with Wald z as sensitivity), each saying which sites it pooled
    assert len(pooled) == 2 * 5 * 4
    prespecified = pooled[pooled["role"] == "prespecified"]
    assert len(prespecified) == 2 * 5
    assert set(zip(prespecified["method"], prespecified["test"], strict=True)) == {("REML", "knha")}
    assert (prespecified["df"] == prespecified["k"] - 1).all()
    assert (pooled["k"] + pooled["n_excluded"] == 3).all()
    assert (pooled["k"] == 3).sum() > 20
    full = pooled[pooled["k"] == 3]
    assert (full["sites"] == "site1, site2 (patient rows); site3 (aggregates)").all()
    # The pooled cohort's analyses hold the row-level sites' patients only.
    adsl = pd.read_csv(results / "adam" / "adsl.csv")
    assert set(adsl["site"]) == {"site1", "site2"}
    summary = pd.read_csv(results / "tables" / "site_summary.csv", keep_default_na=False)
    assert list(summary["site"]) == ["site1", "site2", "site3", "pooled"]
    site3 = summary.set_index("site").loc["site3"]
    assert site3["note"] == "aggregate-only site"
    assert site3["n"] == 120
    assert summary.set_index("site").loc["pooled", "n"] == len(adsl)


def test_contributions_table_and_report(mixed_run):
    _, _, results = mixed_run
    table = pd.read_csv(results / "tables" / "site_contributions.csv")
    got = table.set_index(["site", "analysis"])["contributes"]
    assert len(table) == 3 * 8
    assert (got.loc["site1"] == "yes").all()
    assert got.loc[("site3", "meta_analysis")] == "yes"
    assert got.loc[("site3", "site_summary")] == "yes"
    for analysis in ("baseline", "response", "survival", "stratified", "safety", "exposure"):
        assert got.loc[("site3", analysis)] == "no"
    html = unescape((results / "report.html").read_text(encoding="utf-8"))
    sites = html[html.index('<section id="sites">') : html.index('<section id="safety">')]
    assert "What each site contributes to" in sites
    assert "site3 (aggregates)" in sites
    assert "site1 (patient rows)" in sites
    assert "Sent as aggregates only (rwe export-aggregates" in html
    # The aggregate folder's tables are read by the survival rule only, and nothing of site3
    # reaches the patient-level datasets.
    assert not (results / "adam" / "sites" / "site3").exists()


def test_aggregates_made_with_another_config_are_refused(mixed_run, tmp_path):
    root, config, _ = mixed_run
    changed = {**config, "gfr_cutoff": 60}
    result = run_workflow(tmp_path, changed, "--until", "survival")
    assert result.returncode != 0
    assert "aggregate site 'site3'" in result.stderr
    assert "exported with gfr_cutoff = 70, this run uses 60" in result.stderr
    assert not (tmp_path / "results" / "tables" / "site_meta.csv").exists()
