"""Aggregate-only sites: export, small cells, manifest checks and pooling with row-level sites."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from rwe import aggregates, sites
from rwe.cli import main
from rwe.derive import derive_adsl, derive_adtte
from rwe.exceptions import InputError
from rwe.io import read_site
from rwe.simulate import simulate_study, write_site
from rwe.validate import validate_extract

ROOT = Path(__file__).resolve().parents[1]
COVARIATES = ["gfr_le70", "triple_class_refractory", "emd", "high_risk_cyto", "age_ge80"]
OPTIONS = {
    "covariates": COVARIATES,
    "landmarks_months": [6, 12, 24],
    "conf_type": "log",
    "conf_level": 0.95,
    "gfr_cutoff": 70,
    "pfs_death_events": "all",
    "min_cell_count": 0,
    "ties": "efron",
}
DATE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}[./]\d{1,2}[./]\d{2,4}")


def derived(folder: Path, site: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    typed = validate_extract({site: read_site(folder, site)[0]})
    adsl = derive_adsl(typed["patients"], typed.get("responses"))
    return adsl, derive_adtte(adsl)


@pytest.fixture(scope="module")
def three_sites(tmp_path_factory) -> Path:
    """`rwe simulate OUT --n 450 --seed 11 --sites 3` (site1, site2, site3)."""
    folder = tmp_path_factory.mktemp("three")
    simulate_study(450, 11, 3, folder)
    return folder


def test_export_writes_the_tables_and_a_manifest(tmp_path, site_folder):
    manifest = aggregates.export_site_aggregates(site_folder, "t", tmp_path / "out", OPTIONS)
    written = json.loads((tmp_path / "out" / aggregates.MANIFEST).read_text())
    assert written == manifest
    assert written["format"] == aggregates.FORMAT
    assert written["format_version"] == aggregates.FORMAT_VERSION == 1
    assert written["site"] == "t"
    assert written["config"] == OPTIONS
    assert set(written["files"]) == set(aggregates.FILES.values())
    for file, digest in written["files"].items():
        assert hashlib.sha256((tmp_path / "out" / file).read_bytes()).hexdigest() == digest
    cox = pd.read_csv(tmp_path / "out" / "cox.csv")
    assert list(cox.columns) == aggregates.COX_COLUMNS
    # Per endpoint: 5 univariable models of one term and the multivariable model of 5 terms.
    assert len(cox) == 2 * (5 + 5)
    assert set(cox["model"]) == {"univariable", "multivariable"}
    landmarks = pd.read_csv(tmp_path / "out" / "km_landmarks.csv")
    assert landmarks[["endpoint", "month"]].values.tolist() == [
        [e, m] for e in ("PFS", "OS") for m in (6, 12, 24)
    ]
    response = pd.read_csv(tmp_path / "out" / "response.csv")
    assert response.loc[0, "n"] == 60
    r = response.iloc[0]
    assert r["orr_n"] == r[["sCR", "CR", "VGPR", "PR"]].sum()
    assert r["n_evaluable"] == r[["sCR", "CR", "VGPR", "PR", "MR", "SD", "PD"]].sum()


def test_no_patient_id_day_or_date_in_any_output_file(tmp_path, site_folder):
    aggregates.export_site_aggregates(site_folder, "t", tmp_path / "out", OPTIONS)
    ids = pd.read_csv(site_folder / "patients.csv", dtype=str)["patient_id"]
    assert len(ids) == 60
    files = list((tmp_path / "out").iterdir())
    assert len(files) == 5
    for path in files:
        content = path.read_text(encoding="utf-8")
        assert not [i for i in ids if i in content], path.name
        assert not DATE.search(content), path.name
        assert "_day" not in content, path.name  # no column of days from the extract


def test_estimates_equal_those_of_the_row_level_fit(tmp_path, three_sites):
    """What an aggregate site sends is what site_meta would have used from its rows."""
    aggregates.export_site_aggregates(three_sites / "site3", "site3", tmp_path, OPTIONS)
    sent = aggregates.read_site_aggregates(tmp_path, "site3", OPTIONS)
    adsl, adtte = derived(three_sites / "site3", "site3")
    ours = aggregates.cox_estimates("site3", sent).set_index(["endpoint", "term"])
    rows = sites.model_estimates(sites.site_cox_models(adsl, adtte, COVARIATES), COVARIATES)
    rows = rows.set_index(["endpoint", "term"]).loc[ours.index]
    assert len(ours) == 10
    np.testing.assert_allclose(ours["log_hr"], rows["log_hr"], rtol=1e-12)
    np.testing.assert_allclose(ours["se"], rows["se"], rtol=1e-12)
    assert (ours[["n", "events"]].to_numpy() == rows[["n", "events"]].to_numpy()).all()
    # The site's summary row is the one site_summary computes from its rows.
    row = pd.Series(aggregates.summary_row("site3", sent))
    expected = sites.site_summary(adsl, adtte).iloc[0]
    columns = [c for c in sites.SITE_SUMMARY_COLUMNS if c not in ("site", "note")]
    np.testing.assert_allclose(
        row[columns].astype(float), expected[columns].astype(float), rtol=1e-12
    )
    assert row["note"] == "aggregate-only site"


def test_small_cells_are_suppressed_and_the_site_left_out_of_pooling(tmp_path, three_sites):
    k = 40  # site3 has 150 patients: many counts and the OS models' events are below 40
    options = {**OPTIONS, "min_cell_count": k}
    aggregates.export_site_aggregates(three_sites / "site3", "site3", tmp_path, options)
    counts = {
        "cox.csv": ["n", "events", "n_dropped"],
        "km_landmarks.csv": ["n", "n_risk"],
        "km_medians.csv": ["n", "events"],
        "response.csv": aggregates.RESPONSE_COLUMNS,
    }
    small = 0
    for file, columns in counts.items():
        table = pd.read_csv(tmp_path / file, dtype=str, keep_default_na=False)
        for column in columns:
            for value in table[column]:
                if value == f"<{k}":
                    small += 1
                else:
                    assert value == "" or float(value) == 0 or float(value) >= k, (file, value)
    assert small > 10
    cox = pd.read_csv(tmp_path / "cox.csv", dtype=str, keep_default_na=False)
    os_models = cox[cox["endpoint"] == "OS"]
    assert (os_models["events"] == f"<{k}").all()
    assert (os_models["log_hr"] == "suppressed").all()
    assert (os_models["variance"] == "suppressed").all()
    # Pooled with two row-level sites: site3 is left out of each OS term, and counted.
    sent = aggregates.read_site_aggregates(tmp_path, "site3", options)
    adsl, adtte = (
        pd.concat(parts, ignore_index=True)
        for parts in zip(*(derived(three_sites / s, s) for s in ("site1", "site2")), strict=True)
    )
    estimates = aggregates.cox_estimates("site3", sent)
    models = sites.site_cox_models(adsl, adtte, COVARIATES)
    meta = sites.site_meta(models, COVARIATES, 0.95, estimates)
    pooled = meta[(meta["endpoint"] == "OS") & (meta["method"] == "REML")]
    assert (pooled["k"] == 2).all()
    assert (pooled["n_excluded"] == 1).all()
    assert pooled["note"].str.contains("site3 left out of the pooling: withheld at the site").all()
    # Its summary row says what was withheld.
    row = aggregates.summary_row("site3", sent)
    assert "withheld at the site" in row["note"]
    assert np.isnan(row["os_events"])
    contributions = sites.site_contributions(["site1", "site2"], ["site3"], meta)
    site3 = contributions[contributions["site"] == "site3"].set_index("analysis")
    assert site3.loc["meta_analysis", "contributes"] == "yes"
    assert "5 of 10 estimates" in site3.loc["meta_analysis", "reason"]


def test_export_refuses_an_invalid_extract_and_writes_nothing(tmp_path, demo_tables, capsys):
    tables = {k: v.copy() for k, v in demo_tables.items()}
    tables["patients"]["age"] = tables["patients"]["age"].astype(object)
    tables["patients"].loc[3, "age"] = "old"
    write_site(tables, tmp_path / "bad")
    with pytest.raises(InputError, match="column 'age'"):
        aggregates.export_site_aggregates(tmp_path / "bad", "t", tmp_path / "out", OPTIONS)
    assert not (tmp_path / "out").exists()
    config = tmp_path / "config.yaml"
    config.write_text((ROOT / "config" / "config.yaml").read_text())
    argv = ["export-aggregates", str(tmp_path / "bad"), "--site", "t", "--out"]
    assert main([*argv, str(tmp_path / "out"), "--config", str(config)]) == 1
    assert "nothing written" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_cli_uses_the_config_values(tmp_path, site_folder, capsys):
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    config |= {"min_cell_count": 5, "km": {"conf_type": "log-log", "landmarks_months": [12]}}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    argv = ["export-aggregates", str(site_folder), "--site", "t", "--out", str(tmp_path / "o")]
    assert main([*argv, "--config", str(path)]) == 0
    assert "manifest.json written" in capsys.readouterr().out
    used = json.loads((tmp_path / "o" / aggregates.MANIFEST).read_text())["config"]
    assert used == aggregates.aggregate_options(config)
    assert used["min_cell_count"] == 5
    assert used["landmarks_months"] == [12]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda m: m.update(format_version=2), "format version 2"),
        (lambda m: m.update(site="elsewhere"), "exported for site 'elsewhere'"),
        (lambda m: m["config"].update(gfr_cutoff=60), "gfr_cutoff = 60, this run uses 70"),
        (lambda m: m["config"].update(min_cell_count=5), "min_cell_count = 5"),
        (lambda m: m["files"].update({"cox.csv": "0" * 64}), "cox.csv does not match"),
    ],
)
def test_manifest_that_does_not_match_the_run_is_refused(tmp_path, site_folder, change, message):
    aggregates.export_site_aggregates(site_folder, "t", tmp_path, OPTIONS)
    manifest = json.loads((tmp_path / aggregates.MANIFEST).read_text())
    change(manifest)
    (tmp_path / aggregates.MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(aggregates.AggregateError, match=re.escape(message)) as err:
        aggregates.read_site_aggregates(tmp_path, "t", OPTIONS)
    assert "aggregate site 't'" in str(err.value)


def test_missing_manifest_is_refused(tmp_path):
    with pytest.raises(aggregates.AggregateError, match="no manifest.json"):
        aggregates.read_site_aggregates(tmp_path, "t", OPTIONS)


def test_contributions_of_row_level_and_aggregate_sites():
    meta = pd.DataFrame(
        {
            "site": ["a", "b", "c", "pooled"],
            "method": ["", "", "", "REML"],
            "endpoint": ["OS"] * 4,
            "term": ["emd"] * 4,
            "note": ["", "", "left out of the pooling: constant: dropped", ""],
        }
    )
    table = sites.site_contributions(["a", "b"], ["c"], meta)
    assert list(table.columns) == sites.SITE_CONTRIBUTION_COLUMNS
    assert len(table) == 3 * len(sites.ANALYSES)
    got = table.set_index(["site", "analysis"])["contributes"]
    assert (got.loc["a"] == "yes").all()
    assert got.loc[("c", "survival")] == "no"
    assert got.loc[("c", "site_summary")] == "yes"
    assert got.loc[("c", "meta_analysis")] == "no"  # its only estimate could not be pooled
    reason = table.set_index(["site", "analysis"]).loc[("c", "meta_analysis"), "reason"]
    assert (
        reason
        == "0 of 1 estimates (endpoint × covariate) pooled; left out: OS emd (constant: dropped)"
    )
    one = sites.site_contributions(["a"], [], sites.one_site_table(sites.SITE_META_COLUMNS))
    assert one.set_index("analysis").loc["stratified", "contributes"] == "no"
