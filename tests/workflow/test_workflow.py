"""Run the real workflow with snakemake in a temporary directory, as a user would."""

from __future__ import annotations

import json
import zipfile

import pandas as pd
import pytest
from runner import ROOT, demo_config, run_workflow

from bad_extracts import CASES, SECRET_NAME, broken
from rwe.options import ReportOptions
from rwe.report import build_context, render_report
from rwe.simulate import simulate_site, write_site

pytestmark = pytest.mark.workflow


def test_demo_adsl_has_every_patient_and_flag(demo_run):
    results, _ = demo_run
    adsl = pd.read_csv(results / "adam" / "adsl.csv")
    assert len(adsl) == 126
    for flag in (
        "triple_class_refractory",
        "high_risk_cyto",
        "gfr_le70",
        "age_ge80",
        "second_line",
        "more_than_3_lines",
        "imid_containing",
        "responder",
    ):
        assert flag in adsl.columns
        assert set(adsl[flag].dropna().unique()) <= {0, 1}


def test_demo_adtte_and_attrition(demo_run):
    results, _ = demo_run
    adtte = pd.read_csv(results / "adam" / "adtte.csv")
    # Primary PFS (the demo: the paper's rule), OS, and PFS counting every death (sensitivity).
    assert adtte.groupby("paramcd").size().to_dict() == {"OS": 126, "PFS": 126, "PFSALL": 126}
    attrition = pd.read_csv(results / "tables" / "attrition.csv")
    assert list(attrition.columns) == ["step", "n_in", "n_excluded", "reason", "n_out"]
    assert attrition.loc[0, "n_out"] == 126
    quality = pd.read_csv(results / "tables" / "data_quality.csv")
    assert list(quality.columns) == ["file", "column", "n", "n_missing", "percent_missing"]
    assert "demo/patients.csv" in set(quality["file"])


def test_provenance_records_inputs_config_and_versions(demo_run):
    results, _ = demo_run
    record = json.loads((results / "provenance.json").read_text())
    files = {i["file"]: i for i in record["inputs"]}
    assert files["patients.csv"]["rows"] == 126
    assert len(files["patients.csv"]["sha256"]) == 64
    assert record["config"]["pfs_death_events"] == "myeloma"  # the paper's definition (seed 003)
    assert record["packages"]["pandas"]
    assert "lifelines" not in record["packages"]  # not used by the analysis
    assert record["python"].startswith("3.")
    assert record["git_commit"]
    assert record["run_time"]


def test_logs_hold_no_identifiers(demo_run):
    results, _ = demo_run
    ids = set(pd.read_csv(ROOT / "data" / "demo" / "patients.csv")["patient_id"])
    for log in (results / "logs").glob("*.log"):
        text = log.read_text()
        assert not any(pid in text for pid in ids), log.name


def test_rerun_with_nothing_changed_does_nothing(demo_run):
    results, _ = demo_run
    again = run_workflow(results.parent, demo_config({"demo": str(ROOT / "data" / "demo")}), "-n")
    assert again.returncode == 0, again.stderr[-3000:]
    assert "Nothing to be done" in again.stdout + again.stderr


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_extract_fails_with_a_clear_message_and_writes_no_tables(tmp_path, case):
    name, break_it, file, column, words = case
    tables, row = broken(simulate_site(40, seed=3, site="bad"), break_it)
    write_site(tables, tmp_path / "extract")
    result = run_workflow(tmp_path, demo_config({"bad": str(tmp_path / "extract")}))
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert f"bad/{file}" in output
    assert f"column '{column}'" in output
    assert words in output
    if row is not None:
        assert f"row {row}" in output or f", {row}," in output or f", {row} " in output
    assert SECRET_NAME not in output
    assert not (tmp_path / "results" / "tables").exists() or not any(
        (tmp_path / "results" / "tables").iterdir()
    )
    assert not (tmp_path / "results" / "adam" / "adsl.csv").exists()


def test_two_sites_with_spreadsheet_exports_are_pooled(tmp_path):
    """Site a sends plain CSV; site b a cp1252, semicolon, decimal-comma export with its own regimen spelling."""
    a = simulate_site(30, seed=21, site="a")
    b = simulate_site(30, seed=22, site="b")
    write_site(a, tmp_path / "a")
    b["patients"]["regimen"] = b["patients"]["regimen"].replace({"Ixa-Rd": "IRd"})
    b["adverse_events"].loc[0, "term"] = "Übelkeit"
    (tmp_path / "b").mkdir()
    for name, frame in b.items():
        frame.to_csv(
            tmp_path / "b" / f"{name}.csv", sep=";", decimal=",", index=False, encoding="cp1252"
        )
    config = demo_config({"a": str(tmp_path / "a"), "b": str(tmp_path / "b")})
    result = run_workflow(tmp_path, config, "pool")
    assert result.returncode == 0, result.stderr[-5000:]
    adsl = pd.read_csv(tmp_path / "results" / "adam" / "adsl.csv")
    assert adsl.groupby("site").size().to_dict() == {"a": 30, "b": 30}
    assert "IRd" not in set(adsl["regimen"])
    # Decimal commas are read as numbers, not refused or truncated.
    auc = adsl.loc[adsl["site"] == "b", "exposure_auc"].to_numpy()
    assert auc == pytest.approx(b["patients"]["exposure_auc"].to_numpy())
    logs = tmp_path / "results" / "logs" / "site"
    log_a, log_b = ((logs / f"{site}.log").read_text() for site in ("a", "b"))
    assert "(cp1252, semicolon-separated" in log_b
    assert "read b/patients.csv: 30 rows (UTF-8, semicolon-separated, decimal comma)" in log_b
    assert "read a/patients.csv: 30 rows (UTF-8, comma-separated, decimal point)" in log_a


def test_extract_without_labs_or_adverse_events_still_runs(tmp_path):
    tables = simulate_site(40, seed=31, site="lean")
    write_site(
        {"patients": tables["patients"], "responses": tables["responses"]}, tmp_path / "extract"
    )
    result = run_workflow(tmp_path, demo_config({"lean": str(tmp_path / "extract")}))
    assert result.returncode == 0, result.stderr[-5000:]
    results = tmp_path / "results"
    ae = pd.read_csv(results / "tables" / "adverse_events.csv")
    assert (ae.loc[ae["term"].str.startswith("any "), "n"] == 0).all()
    assert pd.read_csv(results / "tables" / "nadir_tests.csv").empty
    html = (results / "report.html").read_text()
    assert "no site sent adverse_events.csv" in html
    assert "no site sent labs.csv" in html
    # Nothing to grade and nothing reported: empty safety tables, no error and no zero rates.
    assert pd.read_csv(results / "tables" / "hematologic_toxicity.csv").empty
    assert pd.read_csv(results / "tables" / "safety_window.csv").empty


def test_unknown_lab_unit_fails_with_a_clear_message(tmp_path):
    tables = simulate_site(30, seed=32, site="units")
    tables["labs"].loc[[3, 7], "unit"] = "mmol/L"
    write_site(tables, tmp_path / "extract")
    result = run_workflow(tmp_path, demo_config({"units": str(tmp_path / "extract")}))
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "units/labs.csv, rows 4, 8, column 'unit': unit not known" in output
    assert not (tmp_path / "results" / "tables").exists()


def test_snakemake_report_builds_with_captions(demo_run):
    results, _ = demo_run
    config = demo_config({"demo": str(ROOT / "data" / "demo")})
    made = run_workflow(results.parent, config, "--report", str(results / "snakemake_report.zip"))
    assert made.returncode == 0, made.stderr[-3000:]
    with zipfile.ZipFile(results / "snakemake_report.zip") as archive:
        names = archive.namelist()
    assert any(n.endswith("km_medians.csv") for n in names)
    assert any(n.endswith(".png") for n in names)


def test_changing_one_option_reruns_only_what_depends_on_it(demo_run):
    """A new CI type re-runs survival and what shows it, not the site jobs, pool or safety."""
    results, _ = demo_run
    config = demo_config({"demo": str(ROOT / "data" / "demo")})
    config["km"]["conf_type"] = "log-log"
    plan = run_workflow(results.parent, config, "-n")
    assert plan.returncode == 0, plan.stderr[-3000:]
    jobs = plan.stdout + plan.stderr
    assert "rule survival:" in jobs
    for untouched in ("rule site:", "rule pool:", "rule safety:", "rule response:"):
        assert untouched not in jobs


def test_small_cells_are_suppressed_in_the_report(demo_run):
    results, _ = demo_run
    names = [
        "attrition",
        "data_quality",
        "baseline",
        "response",
        "response_tests",
        "km_medians",
        "km_landmarks",
        "followup",
        "logrank",
        "cox",
        "cox_diagnostics",
        "adverse_events",
        "hematologic_toxicity",
        "safety_window",
        "nadir",
        "nadir_tests",
        "exposure_response",
        "exposure_predictions",
        "published_comparison",
    ]
    tables = {n: pd.read_csv(results / "tables" / f"{n}.csv") for n in names}
    provenance = json.loads((results / "provenance.json").read_text())
    options = ReportOptions.from_config(dict(provenance["config"], min_cell_count=10))
    figures = pd.read_csv(results / "figures.csv").iloc[0:0]
    html = render_report(build_context(tables, figures, results / "figures", provenance, options))
    assert "&lt;10" in html
    # The AE and toxicity counts between 1 and 9 of the unsuppressed tables are nowhere as
    # "n (%; CI)" cells.
    for name in ("adverse_events", "hematologic_toxicity"):
        rates = tables[name]
        small = rates[(rates["analysis_set"] == "all") & rates["n"].between(1, 9)]
        assert len(small), name
        for row in small.itertuples():
            cell = f"<td>{row.n} ({row.percent:.1f}; "
            assert cell not in html.replace(' class="num"', ""), (name, cell)


def test_invalid_config_is_refused_before_anything_runs(tmp_path):
    config = demo_config({"demo": str(ROOT / "data" / "demo")})
    config["km"]["conf_type"] = "logit"
    result = run_workflow(tmp_path, config)
    assert result.returncode != 0
    assert "conf_type" in result.stderr
    assert (
        "'logit' is not one of ['log', 'log-log', 'plain'" in result.stderr
    )  # (, None: conventions)
    assert not (tmp_path / "results").exists()


def test_response_is_compared_without_immortal_time_bias(demo_run):
    """No day-0 responder subgroup by default; the landmark and time-dependent analyses instead."""
    results, _ = demo_run
    logrank = pd.read_csv(results / "tables" / "logrank.csv")
    assert "responder" not in set(logrank["variable"])
    landmark = pd.read_csv(results / "tables" / "landmark.csv")
    assert set(landmark["landmark_month"]) == {3, 6}
    compared = landmark[(landmark["analysis_set"] == "all") & (landmark["level"] == "all")]
    assert compared["hr"].notna().all()
    td = pd.read_csv(results / "tables" / "cox_time_dependent.csv")
    assert set(td["model"]) == {"univariable", "multivariable"}
    assert (
        td.loc[td["term"] == "responder_td", "n_rows"] > td.loc[td["term"] == "responder_td", "n"]
    ).all()
    html = (results / "report.html").read_text(encoding="utf-8")
    assert "Landmark analysis of response" in html
    assert "NR–NR" not in html
