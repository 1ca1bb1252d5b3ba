"""The report's Comparative effectiveness section (rwe.report.comparative), from fixture tables."""

from __future__ import annotations

import re

import pandas as pd

from comparative_fixtures import comparative_tables
from rwe.report.comparative import balance_statement, comparative_section
from test_report import XSS, fixture_options, fixture_tables, render


def section_html(html: str) -> str:
    return re.search(r'<section id="comparative">.*?</section>', html, re.S).group(0)


def test_failed_balance_is_said_and_names_the_covariate():
    tables = comparative_tables(imbalanced=True)
    statement = balance_statement(tables["ps_balance"], fixture_options())
    assert statement.startswith("Balance NOT achieved")
    assert "Extramedullary disease (SMD 0.160)" in statement
    assert "above 0.1" in statement  # the configured threshold, from the table


def test_achieved_balance_is_said_too():
    statement = balance_statement(
        comparative_tables(imbalanced=False)["ps_balance"], fixture_options()
    )
    assert statement.startswith("Balance achieved")
    assert "at most 0.1" in statement


def test_section_shows_hrs_with_evalues_rmst_and_competing_risks():
    balanced = comparative_section(
        **comparative_tables(imbalanced=False), figures={}, options=fixture_options()
    )
    effects = dict(zip(balanced["effects"]["header"], balanced["effects"]["rows"][1], strict=True))
    assert effects["HR (95% CI)"] == "0.70 (0.45–1.10)"
    assert effects["E-value (CI limit)"] == "2.21 (CI: 1.00)"
    assert effects["Interpretable"] == "yes"
    assert not balanced["balance_failed"]
    context = comparative_section(**comparative_tables(), figures={}, options=fixture_options())
    rmst = dict(zip(context["rmst"]["header"], context["rmst"]["rows"][0], strict=True))
    assert rmst["Difference (95% CI)"] == "2.5 (-0.5–5.5)"
    assert rmst["Ratio (95% CI)"] == "1.25 (-1.75–4.25)"
    cif = [dict(zip(context["cif"]["header"], row, strict=True)) for row in context["cif"]["rows"]]
    assert cif[0]["Cumulative incidence, % (95% CI)"] == "41.0 (29.0–58.0)"
    assert cif[1]["Cumulative incidence, % (95% CI)"] == "0.0"  # no CI at 0
    assert [row[0] for row in context["tests"]["rows"]] == ["Gray's test", "Fine–Gray SHR"]
    assert context["balance_failed"]


def test_report_has_the_section_with_its_statement(tmp_path):
    html = section_html(render(tmp_path))
    assert "<h2>Comparative effectiveness</h2>" in html
    assert 'class="missing"><strong>Balance NOT achieved' in html
    assert "Not available" not in html


def test_level_names_from_the_input_are_escaped(tmp_path):
    html = section_html(render(tmp_path, fixture_tables() | comparative_tables(level=XSS)))
    assert XSS not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_km_medians_and_landmarks_per_group_and_the_weighting_are_shown():
    options = fixture_options(conventions="sas")
    context = comparative_section(**comparative_tables(), figures={}, options=options)
    rows = [dict(zip(context["km"]["header"], r, strict=True)) for r in context["km"]["rows"]]
    assert rows[0]["Value (95% CI)"] == "8.1 (6.0–NR)"  # upper limit not reached
    assert rows[1]["Estimate"] == "Survival at 12 months"
    assert rows[1]["Value (95% CI)"] == "41.0 (30.0–55.0)"
    assert context["weighting"] == "ATE, stabilised"
    assert "Cox model (Breslow ties)" in context["effects"]["caption"]  # the run's conventions
    assert "log-log scale" in context["methods"]


def rows_of(context, name):
    return [dict(zip(context[name]["header"], r, strict=True)) for r in context[name]["rows"]]


def test_failed_balance_marks_every_weighted_estimate_not_interpretable():
    tables = comparative_tables(imbalanced=True)
    tables["comparative_effects"].loc[1, ["evalue", "evalue_ci"]] = [2.21, 1.0]
    context = comparative_section(**tables, figures={}, options=fixture_options())
    effects = rows_of(context, "effects")
    assert effects[0]["Interpretable"] == "unadjusted"
    assert effects[1]["Interpretable"] == "no: balance not achieved"
    assert effects[1]["E-value (CI limit)"] == "—"  # never shown for an uninterpretable HR
    assert rows_of(context, "rmst")[0]["Interpretable"] == "no: balance not achieved"
    assert rows_of(context, "km")[0]["Interpretable"] == "no: balance not achieved"
    boot = rows_of(context, "bootstrap")
    assert boot[0]["Interpretable"] == "no: balance not achieved"
    sens = rows_of(context, "sensitivity")
    assert [r["Interpretable"] for r in sens] == ["no: balance not achieved", "yes"]
    assert "not reported as results" in context["balance_statement"]


def test_protocol_weights_and_bootstrap_are_shown():
    context = comparative_section(**comparative_tables(), figures={}, options=fixture_options())
    assert rows_of(context, "protocol")[0]["Target trial"] == "Randomisation"
    weights = rows_of(context, "weights")
    assert [w["Outside common support"] for w in weights] == ["2", "1", "3"]
    assert weights[0]["Max"] == "4.20"
    assert context["overlap"] == (
        "Common support of the propensity score: 0.20 to 0.90; patients outside it: 3."
    )
    boot = rows_of(context, "bootstrap")
    assert boot[0]["95% CI, bootstrap percentile"] == "(0.42–1.30)"
    assert boot[0]["Replicates (failed)"] == "199 (1)"
    assert boot[1]["Quantity"] == "Survival difference at 12 months (%)"
    assert boot[1]["Estimate"] == "-5.0"
    assert boot[1]["95% CI, weights fixed"] == "(-20.0–10.0)"
    assert context["bootstrap_text"].startswith("Bootstrap: 200 replicates (seed 2026)")


def test_a_comparison_the_cohort_cannot_support_is_reported_with_its_reason(tmp_path):
    from rwe import comparative as cmp
    from test_comparative import adsl_adtte

    adsl, adtte = adsl_adtte()
    result = cmp.compare(adsl, adtte, levels=["Ixa-Rd", "Ixa-Xd"], covariates=["age_ge80"])
    tables = {}
    for name, frame in result.tables.items():  # as the report reads them: from CSV
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
        tables[name] = pd.read_csv(tmp_path / f"{name}.csv")
    shown = {k: v for k, v in tables.items() if k != "ps_model"}  # not in the report
    context = comparative_section(**shown, figures={}, options=fixture_options())
    notes = [cell for row in context["effects"]["rows"] for cell in row]
    assert any("no patient with regimen = Ixa-Xd" in str(cell) for cell in notes)
    assert not context["balance_failed"]
    html = section_html(render(tmp_path, fixture_tables() | tables))
    assert "no patient with regimen = Ixa-Xd" in html
