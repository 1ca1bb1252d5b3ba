"""The reviewer's HTML report, built from small fixture tables in the DESIGN.md §6 shape.

The snapshot ``tests/snapshots/report_fixture.html`` is the whole page for these fixtures, with
run time, commit, hashes, versions and image bytes normalised. Update it deliberately with
``UPDATE_SNAPSHOTS=1 pytest tests/test_report.py`` and read the diff before committing.
"""

from __future__ import annotations

import inspect
import re
from html import unescape
from pathlib import Path
from urllib.parse import unquote

import docx
import pandas as pd
import pytest
from docx.enum.text import WD_ALIGN_PARAGRAPH
from jinja2 import Template
from PIL import Image

import rwe.report
from comparative_fixtures import comparative_tables
from rwe.options import ReportOptions, with_schema_defaults
from rwe.report import (
    CSP,
    REPORT_TABLES,
    SECTIONS,
    TABLE_COLUMNS,
    build_context,
    render_report,
    sections,
    write_report,
)
from rwe.report.figures import svg_data_uri
from rwe.report.format import ALPHA, numeric_columns, p_text, pval
from rwe.safety import exact_percent
from rwe.sites import site_contributions
from snapshot import assert_matches_snapshot

SNAPSHOT = Path(__file__).parent / "snapshots" / "report_fixture.html"
XSS = "<img src=x onerror=alert(1)>"
# A 1x1 PNG: the report embeds whatever the figure index lists.
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc000000301010018dd8db00000000049454e44ae426082"
)


def fixture_tables(regimen: str = "Ixa-Rd") -> dict[str, pd.DataFrame]:
    """One or two rows of every table the report shows, columns as the stages write them.

    A table is a list of rows, or by column (a value for every row, or a list of one per row).
    """
    rows = {
        "attrition": [
            ("patients in the extract", 60, 0, None, 60),
            ("response analysis", 60, 3, "best response not evaluable", 57),
        ],
        "data_quality": [
            ("site/patients.csv", "gfr", 60, 2, 3.33),
            ("site/patients.csv", "age", 60, 0, 0.0),
        ],
        "plausibility": [
            ("site/labs.csv", "value", "ANC above WBC of the same day", 3, 900, "kept"),
            (
                "site/labs.csv",
                "value",
                "HGB outside its physiological range 1–25 g/dL",
                0,
                900,
                "left out of the nadirs",
            ),
        ],
        "baseline": [
            ("all", "patients", "all", 60, 60, 100.0, None, None, None, "count"),
            ("all", "age", "all", 60, 60, None, 66.0, 41.0, 88.0, "continuous"),
            ("all", "regimen", regimen, 30, 60, 50.0, None, None, None, "categorical"),
            ("all", "regimen", "Ixa", 3, 60, 5.0, None, None, None, "categorical"),
            ("all", "emd", "0", 50, 58, 100 * 50 / 58, None, None, None, "dichotomous"),
            ("all", "emd", "1", 8, 58, 100 * 8 / 58, None, None, None, "dichotomous"),
            ("all", "emd", "missing", 2, 60, None, None, None, None, "missing"),
        ],
        "response": {
            "analysis_set": "all",
            "variable": ["all", "emd"],
            "level": ["all", "1"],
            "n_evaluable": [57, 4],
            "sCR": [1, 0],
            "CR": [4, 0],
            "VGPR": [10, 1],
            "PR": [15, 1],
            "MR": [12, 1],
            "SD": [8, 1],
            "PD": [7, 0],
            "NE": [3, 0],
            "orr": [30 / 57, 0.5],
            "orr_ci_lower": [0.39, 0.07],
            "orr_ci_upper": [0.66, 0.93],
            "cbr": [42 / 57, 0.75],
            "cbr_ci_lower": [0.6, 0.19],
            "cbr_ci_upper": [0.84, 0.99],
        },
        "response_tests": [("all", "emd", "orr", 0.5, 0.53, 0.9, 1.0, 0.06, 13.1, "", 4, 53)],
        "response_agreement": [
            ("n", "all", "all", 57, None, None),
            *[
                ("count", d, r, {"PR": 20, "SD": 30}[d] if d == r else 7 * (d == "SD"), None, None)
                for d in ("PR", "SD")
                for r in ("PR", "SD")
            ],
            ("agreement", "all", "all", 50 / 57, None, None),
            ("kappa", "all", "all", 0.76, 0.6, 0.92),
        ],
        "duration_of_response": [
            ("all", "recorded", 30, 18, 11.2, 8.0, None, 2.1, 0.9, 6.4, 0, ""),
            ("all", "derived", 27, 15, None, 9.1, None, 2.3, 0.9, 6.4, 0, "median not reached"),
        ],
        "km_medians": [
            ("all", "PFS", "all", "all", 60, 45, 8.1, 6.0, 11.2, ""),
            ("all", "OS", "all", "all", 60, 20, None, 40.2, None, "median not reached"),
        ],
        "km_landmarks": [("all", "PFS", "all", "all", 12, 21, 0.41, 0.3, 0.55)],
        "followup": [("all", "OS", 26.0, 22.1, 31.0)],
        "logrank": [("all", "PFS", "emd", 4.2, 1, 0.04, "", "prespecified")],
        "cox": {
            "analysis_set": "all",
            "endpoint": "PFS",
            "model": ["univariable", "multivariable", "multivariable"],
            "term": ["gfr_le70", "gfr_le70", "emd"],
            "hr": [2.0, 2.1, None],
            "ci_lower": [1.2, 1.2, None],
            "ci_upper": [3.4, 3.7, None],
            "p": [0.01, 0.008, None],
            "n": [59, 58, 58],
            "events": [45, 44, 44],
            "n_dropped": [1, 2, 2],
            "n_0": [20, 20, 50],
            "events_0": [10, 10, 44],
            "n_1": [39, 38, 8],
            "events_1": [35, 34, 0],
            "firth_hr": [None, 2.0, 0.09],
            "firth_ci_lower": [None, 1.1, 0.001],
            "firth_ci_upper": [None, 3.6, 1.6],
            "firth_p": [None, 0.02, 0.11],
            "note": ["", "2 patients left out", "not estimable; 2 patients left out"],
            "analysis": ["exploratory", "prespecified", "prespecified"],
        },
        "subgroup_interactions": {
            "endpoint": "PFS",
            "variable": ["gfr_le70", "gfr_le70", "emd"],
            "level": ["0", "1", "0"],
            "treatment": "Ixa-Rd vs Ixa-Pd",
            "n": [20, 38, 50],
            "events": [3, 30, 40],
            "hr": [None, 1.4, 0.9],
            "ci_lower": [None, 0.7, 0.5],
            "ci_upper": [None, 2.9, 1.7],
            "interaction_chisq": [1.2, 1.2, None],
            "interaction_df": [1, 1, 0],
            "interaction_p": [0.27, 0.27, None],
            "analysis": ["prespecified", "prespecified", "exploratory"],
            "note": [
                "not estimable: 3 events (fewer than 5)",
                "",
                "interaction not testable: one level only; 1 empty level dropped",
            ],
        },
        "conventions_comparison": {
            "endpoint": ["PFS", "OS", "PFS"],
            "estimate": ["median", "median", "hr"],
            "term": [None, None, "gfr_le70"],
            "r_value": [8.1, 40.0, 2.1],
            "r_ci_lower": [6.0, 30.1, 1.2],
            "r_ci_upper": [11.2, None, 3.7],
            "r_p": [None, None, 0.008],
            "sas_value": [8.1, 40.0, 2.05],
            "sas_ci_lower": [5.7, 29.8, 1.17],
            "sas_ci_upper": [11.9, None, 3.6],
            "sas_p": [None, None, 0.009],
            "n": [60, 60, 58],
            "events": [45, 20, 44],
            "note": ["", "upper limit not reached", "2 patients left out"],
        },
        "cox_diagnostics": [
            ("all", "PFS", "multivariable", "lr", None, 9.5, 2, 0.009),
            ("all", "PFS", "multivariable", "zph", "gfr_le70", 0.4, 1, 0.53),
        ],
        "cox_influence": [
            ("all", "PFS", "multivariable", "gfr_le70", 58, 0.41, "2/√n", 0.263, 3, ""),
            ("all", "PFS", "multivariable", "emd", 58, None, "2/√n", 0.263, None, "not estimable"),
        ],
        "adverse_events": [
            ("all", "hematologic", "Anemia", g, n, 60, *exact_percent(n, 60))
            for g, n in (("any", 9), ("ge2", 6), ("ge3", 2), ("ge4", 0))
        ]
        + [
            ("all", "non-hematologic", XSS, g, n, 60, *exact_percent(n, 60))
            for g, n in (("any", 12), ("ge2", 5), ("ge3", 1), ("ge4", 0))
        ]
        + [("all", "hematologic", "any hematologic", "ge3", 2, 60, *exact_percent(2, 60))],
        "hematologic_toxicity": [
            ("all", test, "term", g, source, n, 60, *exact_percent(n, 60), with_labs, "")
            for test, with_labs in (("ANC", 58), ("any", 59))
            for g, counts in (("any", (9, 20, 22)), ("ge3", (2, 6, 7)), ("ge4", (0, 1, 1)))
            for source, n in zip(("reported", "labs", "either"), counts, strict=True)
        ],
        "safety_window": [
            ("reported adverse events", 40, 0, 6, 0, 34),
            ("ANC", 900, 60, 200, 0, 640),
        ],
        "nadir": [
            ("all", "ANC", "all", 60, 1.9, 0.4, 6.1),
            ("all", "ANC", "IMiD-free", 3, 2.8, 1.1, 6.1),
        ],
        "nadir_tests": [
            (
                "all",
                "ANC",
                "IMiD-containing vs IMiD-free",
                0.03,
                40.0,
                "Wilcoxon rank sum exact test",
            )
        ],
        "exposure_response": {
            "outcome": ["neutropenia_ge3"],
            "exposure": ["exposure_auc"],
            "n": [60],
            "events": [8],
            "intercept": [-2.1],
            "slope": [0.7],
            "odds_ratio": [2.0],
            "ci_lower": [0.9],
            "ci_upper": [4.4],
            "p": [0.08],
            "iqr": [0.5],
            "odds_ratio_iqr": [2.0**0.5],
            "or_iqr_ci_lower": [0.9**0.5],
            "or_iqr_ci_upper": [4.4**0.5],
            "observed_below": [0.1],
            "observed_above": [0.17],
            "cv_auc": [0.52],
            "adjusted_for": ["regimen"],
            "odds_ratio_adjusted_iqr": [1.3],
            "adjusted_iqr_ci_lower": [0.8],
            "adjusted_iqr_ci_upper": [2.1],
            "p_adjusted": [0.3],
            "note": ["fewer than 10 events"],
        },
        "exposure_predictions": [("neutropenia_ge3", "exposure_auc", 0.72, 0.11, 0.05, 0.2, 3.0)],
        "published_comparison": {
            "quantity": ["median PFS", "patients", "PFS HR, GFR ≤ 70 (multivariable)"],
            "published": [7.9, 126, 2.11],
            "this_run": [8.1, 60, 2.1],
            "unit": ["months", "n", "HR"],
            "note": "",
            "published_ci_lower": [6.9, None, 1.21],
            "published_ci_upper": [11.0, None, 3.7],
            "published_p": [None, None, 0.008],
            "this_run_ci_lower": [6.0, None, 1.2],
            "this_run_ci_upper": [None, None, 3.7],
            "this_run_p": [None, None, 0.008],
            "difference": [0.2, -66, None],
            "ratio": [None, None, 2.1 / 2.11],
            "intervals_overlap": ["yes", "", "yes"],
        },
        "landmark": {
            "analysis_set": "all",
            "endpoint": "PFS",
            "landmark_month": 3,
            "level": ["all", "1", "0"],
            "n": [50, 30, 20],
            "events": [30, 15, 15],
            "median": [9.0, 12.0, 5.0],
            "ci_lower": [7.0, 8.0, None],
            "ci_upper": [None, None, 7.5],
            "hr": [0.4, None, None],
            "hr_ci_lower": [0.2, None, None],
            "hr_ci_upper": [0.8, None, None],
            "hr_p": [0.01, None, None],
            "logrank_chisq": [6.1, None, None],
            "logrank_df": [1, None, None],
            "logrank_p": [0.013, None, None],
            "n_not_at_risk": 10,
            "n_unknown": 0,
            "note": ["", "", "lower limit not estimable"],
        },
        "cox_time_dependent": [
            ("all", "PFS", "univariable", "responder_td", 0.5, 0.3, 0.9, 0.02, 57, 44, 80, 0, 3, "")
        ],
    }
    extra: dict[str, list[str]] = {}  # columns beyond what the report reads
    tables = {
        name: pd.DataFrame(rows[name], columns=TABLE_COLUMNS[name] + extra.get(name, []))
        for name in rows
    }
    return tables | site_tables() | change_tables() | comparative_tables()


def change_tables() -> dict[str, pd.DataFrame]:
    """A second data cut: one estimate changed, one unchanged, three patients at a site named with markup."""
    changes = [
        ("cut-1", "cut-2", "km_medians", "all / PFS", "median", 7.5, 8.1, 0.6, "changed"),
        ("cut-1", "cut-2", "km_medians", "all / PFS", "n", 57, 60, 3, "changed"),
        ("cut-1", "cut-2", "response", "all", "orr", 0.5, 0.5, 0.0, "unchanged"),
    ]
    patients = [(XSS, 57, 60, 3, 0, 1)]
    return {
        "changes": pd.DataFrame(changes, columns=TABLE_COLUMNS["changes"]),
        "changes_patients": pd.DataFrame(patients, columns=TABLE_COLUMNS["changes_patients"]),
    }


def site_tables() -> dict[str, pd.DataFrame]:
    """The site-aware tables of two sites, one named with markup (it must be escaped)."""
    summary = {
        "n": 30,
        "pfs_events": 20,
        "pfs_median": 8.0,
        "pfs_ci_lower": 6.0,
        "pfs_ci_upper": 11.0,
        "os_events": 9,
        "n_evaluable": 28,
        "orr": 0.5,
        "orr_ci_lower": 0.31,
        "orr_ci_upper": 0.69,
        "note": "",
    }
    meta = {
        "analysis_set": "all",
        "endpoint": "PFS",
        "model": "multivariable",
        "term": "gfr_le70",
        "note": "",
    }
    rows = {
        "site_summary": [
            {"site": "north", **summary},
            {"site": XSS, **summary},
            {"site": "pooled", **summary, "n": 60},
        ],
        "logrank_stratified": [
            {
                "analysis_set": "all",
                "endpoint": "PFS",
                "variable": "emd",
                "chisq": 3.1,
                "df": 1,
                "p": 0.08,
                "stratified_by": "site",
                "n_missing": 0,
                "note": "",
            }
        ],
        "cox_stratified": [
            {
                "analysis_set": "all",
                "endpoint": "PFS",
                "model": "multivariable",
                "term": "gfr_le70",
                "hr": 2.3,
                "ci_lower": 1.3,
                "ci_upper": 4.0,
                "p": 0.004,
                "n": 58,
                "events": 44,
                "n_dropped": 2,
                "note": "",
            }
        ],
        "cox_stratified_diagnostics": [],
        "site_meta": [
            {
                **meta,
                "site": "north",
                "method": "",
                "hr": 1.9,
                "ci_lower": 1.0,
                "ci_upper": 3.6,
                "weight_fe": 55.0,
                "n": 30,
                "events": 22,
            },
            {
                **meta,
                "site": XSS,
                "method": "",
                "note": "left out of the pooling: constant: dropped",
                "n": 30,
                "events": 22,
            },
            {
                **meta,
                "site": "pooled",
                "method": "REML",
                "test": "knha",
                "role": "prespecified",
                "k": 1,
                "n_excluded": 1,
                "sites": "north (patient rows)",
                "note": "not estimable: only north estimates this term, nothing to pool; "
                f"{XSS} left out",
            },
        ],
    }
    # north sent patient rows, the second site aggregates only (rwe export-aggregates).
    contributions = site_contributions(["north"], [XSS], pd.DataFrame(rows["site_meta"]))
    rows["site_contributions"] = contributions.to_dict("records")
    return {name: pd.DataFrame(r).reindex(columns=TABLE_COLUMNS[name]) for name, r in rows.items()}


def fixture_provenance() -> dict:
    return {
        "inputs": [
            {
                "site": "site",
                "file": f"{name}.csv",
                "rows": 60,
                "format": "UTF-8, comma-separated",
                "sha256": "ab" * 32,
            }
            for name in ("patients", "adverse_events", "labs")
        ],
        "config": fixture_config(),
        "packages": {"pandas": "2.3.3", "numpy": "2.4.6"},
        "python": "3.11.7",
        "r": {"R": "4.2.2", "survival": "3.5.3"},
        "git_commit": "0123456789abcdef0123456789abcdef01234567",
        "run_time": "2026-01-02T03:04:05+00:00",
    }


def fixture_config(**changes) -> dict:
    config = {
        "sites": {"site": "data/site"},
        "data_cut": "cut-2",
        "pfs_death_events": "all",
        "conf_level": 0.95,
        "km": {"landmarks_months": [12]},
        "cox": {"covariates": ["gfr_le70", "emd"]},
        "min_regimen_n": 20,
        "min_cell_count": 0,
        "report": {"title": "Fixture report", "published_reference": "zhou_2026"},
    }
    config.update(changes)
    return config


def fixture_options(**changes) -> ReportOptions:
    """The options of :func:`fixture_config`, schema defaults filled in as the Snakefile does."""
    return ReportOptions.from_config(with_schema_defaults(fixture_config(**changes)))


def fixture_figures(folder: Path) -> pd.DataFrame:
    """One figure per report section, as 1-pixel PNGs under ``folder/<kind>/``."""
    index = pd.DataFrame(
        [
            ("km_pfs_all_all", "km", "survival", "PFS, all patients"),
            ("forest_pfs_all", "forest", "cox", "Cox model of PFS"),
            ("response_all", "response", "response", "Best response"),
            ("nadir_imid", "nadir", "safety", "Nadir blood counts"),
            ("exposure_response", "exposure", "exposure", "Exposure–response"),
            ("swimmer_all", "swimmer", "swimmer", "Time on study"),
        ],
        columns=["name", "kind", "section", "title"],
    )
    index["file"] = index["kind"] + "/" + index["name"]
    for stem in index["file"]:
        (folder / stem).parent.mkdir(parents=True, exist_ok=True)
        (folder / f"{stem}.png").write_bytes(PIXEL)
    return index


def fixture_report(folder: Path, tables=None, **config_changes) -> Path:
    """Write the fixture report into ``folder`` and return its path."""
    figures = fixture_figures(folder / "figures")
    path = folder / "report.html"
    options = fixture_options(**config_changes)
    write_report(
        tables or fixture_tables(), figures, folder / "figures", fixture_provenance(), options, path
    )
    return path


def render(tmp_path, tables=None, figures=None, **config_changes) -> str:
    folder = tmp_path / "figures"
    index = fixture_figures(folder) if figures is None else figures
    options = fixture_options(**config_changes)
    context = build_context(
        tables or fixture_tables(), index, folder, fixture_provenance(), options
    )
    return render_report(context)


def test_every_section_is_present_in_order(tmp_path):
    html = render(tmp_path)
    assert re.findall(r'<section id="([\w-]+)"', html) == [s.id for s in SECTIONS]
    assert "Not available" not in html


def test_page_is_self_contained_and_forbids_scripts_and_requests(tmp_path):
    html = render(tmp_path)
    meta = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html)
    assert unescape(meta.group(1)) == CSP
    assert "default-src 'none'" in CSP
    assert "img-src data:" in CSP
    assert not re.search(r"<script|<link|<iframe|@import|url\(", html, re.IGNORECASE)
    sources = re.findall(r'src="([^"]*)"', html)
    assert len(sources) == 6
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    assert not re.search(r'(href|src)="(https?:)?//', html)


def test_strings_from_the_input_are_escaped(tmp_path):
    html = render(tmp_path, fixture_tables(regimen=XSS))
    assert XSS not in html
    assert html.count("&lt;img src=x onerror=alert(1)&gt;") >= 2  # AE term and regimen level


def test_a_missing_table_is_named_and_the_rest_is_shown(tmp_path):
    tables = fixture_tables()
    del tables["cox"], tables["nadir_tests"]
    html = render(tmp_path, tables)
    assert "Not available: tables/cox.csv was not produced by this run." in html
    assert "Not available: tables/nadir_tests.csv was not produced by this run." in html
    assert "Kaplan–Meier medians" in html  # other sections are unaffected


def test_an_empty_table_and_missing_extra_columns_do_not_break_the_report(tmp_path):
    tables = fixture_tables()
    tables["logrank"] = tables["logrank"].iloc[0:0].drop(columns=["note"])
    tables["km_medians"] = tables["km_medians"].drop(columns=["note"])
    html = render(tmp_path, tables)
    assert '<section id="survival">' in html
    assert "median not reached" not in html


def test_small_cells_are_shown_as_less_than_k_everywhere(tmp_path):
    html = render(tmp_path, min_cell_count=5)
    assert "&lt;5" in html
    # The three Ixa patients, the two grade-3 anemias and the 4-patient EMD group are nowhere.
    plain = html.replace(' class="num"', "")  # cells compared without their alignment
    assert "<td>3 (5.0)</td>" not in plain
    assert "2 (3.3)" not in html
    assert "Extramedullary disease: yes</td><td>4</td>" not in plain
    assert "Grade ≥3 hematologic adverse events in suppressed" not in html
    assert "The swimmer plot shows one row per patient" not in html  # the index still lists it
    without_swimmer = fixture_figures(tmp_path / "figs")
    without_swimmer = without_swimmer[without_swimmer["kind"] != "swimmer"]
    html = render(tmp_path, figures=without_swimmer, min_cell_count=5)
    assert "left out when small cells are suppressed" in html


def test_methods_follow_the_configuration(tmp_path):
    html = render(tmp_path, pfs_death_events="myeloma", conf_level=0.9, km={"conf_type": "log-log"})
    assert "deaths from other causes are censored at the day of death" in html
    assert "90% pointwise CIs on the &#39;log-log&#39; scale" in html
    assert "Efron" in html
    html = render(tmp_path)
    assert "death from any cause without prior progression is a PFS event" in html


def test_methods_name_the_primary_pfs_its_sensitivity_and_the_response_rule():
    """Issue 20, items 1 and 5: which PFS is primary, that IMWG/FDA count any death, the
    sensitivity endpoints, what the published comparison uses; responses from confirmation."""
    for primary, sensitivity, paper in (
        ("myeloma", ["PFSALL"], "PFS"),
        ("all", ["PFSMYE"], "PFSMYE"),
        ("none", ["PFSALL", "PFSMYE"], "PFSMYE"),
    ):
        options = fixture_options(pfs_death_events=primary)
        text = " ".join(sections.methods_text(options, fixture_provenance()))
        assert f"primary PFS definition (pfs_death_events: {primary})" in text
        assert "IMWG and the FDA count death from any cause" in text
        for code in sensitivity:
            assert f"(endpoint {code})" in text
        assert f"uses PFS under the paper's rule (endpoint {paper})" in text
        roles = sections.analysis_roles_text(options)
        assert f"primary definition (pfs_death_events: {primary})" in roles
        assert all(f"as an event ({code})" in roles for code in sensitivity)
        assert "Secondary and exploratory" in roles
    text = sections.response_survival_methods(fixture_options(response_landmarks_months=[2, 4]))
    assert "landmark analyses at months 2, 4" in text
    assert "counts from the day it was confirmed" in text
    assert "switches on at the confirmation day" in text
    assert "exploratory" in text


def test_every_label_follows_the_configuration(tmp_path):
    """CI level, conventions and GFR cutoff: no literal of the defaults is left anywhere."""
    tables = fixture_tables()
    # The published comparison names its rows as the stage does, with the run's cutoff.
    quantity = tables["published_comparison"]["quantity"]
    tables["published_comparison"]["quantity"] = quantity.str.replace("GFR ≤ 70", "GFR ≤ 60")
    options = fixture_options(conf_level=0.9, conventions="sas", gfr_cutoff=60)
    figures = fixture_figures(tmp_path / "figures")
    path, docx_path = tmp_path / "report.html", tmp_path / "tables.docx"
    provenance = fixture_provenance()
    write_report(tables, figures, tmp_path / "figures", provenance, options, path, docx_path)
    html = unescape(path.read_text(encoding="utf-8"))
    # Only the table that compares both conventions names R's (Efron ties) beside SAS's.
    start = html.index('<section id="conventions">')
    elsewhere = html[:start] + html[html.index("</section>", start) :]
    assert "Efron" in html[start:]
    assert "Breslow" in html[start:]
    for default in ("95%", "Efron", "efron", "GFR ≤ 70", "≤ 70"):
        assert default not in elsewhere
    for configured in ("90% CI", "90%", "Breslow ties", "log-log", "GFR ≤ 60"):
        assert configured in html
    methods = html[html.index('<section id="methods">') :]
    assert "PROC PHREG TIES=BRESLOW" in methods[: methods.index("</section>")]
    # The Word tables are written from the same context.
    document = docx.Document(docx_path)
    words = " ".join(c.text for t in document.tables for row in t.rows for c in row.cells)
    assert "95%" not in words
    assert "90% CI" in words


def data_quality_html(html: str) -> str:
    section = html[html.index('<section id="data-quality">') :]
    return section[: section.index("</section>")]


def test_data_quality_lists_the_plausibility_findings(tmp_path):
    section = data_quality_html(render(tmp_path))
    assert "The plausibility checks found 1 kind(s) of implausible values" in section
    assert "plausibility.on_implausible: warn" in section
    assert (
        '<td>ANC above WBC of the same day</td><td class="num">3</td><td class="num">900</td>'
        "<td>kept</td>" in section
    )
    assert "<td>HGB outside" not in section  # a check that found nothing is named, not listed
    assert "HGB outside its physiological range 1–25 g/dL" in section
    tables = fixture_tables()
    tables["plausibility"]["n_rows"] = 0
    section = data_quality_html(render(tmp_path, tables))
    assert "The plausibility checks found nothing" in section
    assert "<td>ANC above" not in section
    section = data_quality_html(render(tmp_path, min_cell_count=5))
    assert '<td>ANC above WBC of the same day</td><td class="num">&lt;5</td>' in section
    del tables["plausibility"]
    section = data_quality_html(render(tmp_path, tables))
    assert "Not available: tables/plausibility.csv was not produced by this run." in section


def test_methods_state_the_nadir_window_of_the_config(tmp_path):
    html = render(tmp_path)
    assert "from day 1 to the earlier of progression and 30 days after the end of treatment" in html
    window = {"start_day": 2, "days_after_end_of_treatment": 28, "until_progression": False}
    html = render(tmp_path, nadir_window=window)
    assert "from day 2 to 28 days after the end of treatment" in html
    assert "30 days after" not in html


def test_changes_since_the_last_cut_show_what_moved(tmp_path):
    html = render(tmp_path)
    section = html[html.index('<section id="changes">') :]
    section = section[: section.index("</section>")]
    assert (
        "Headline estimates of data cut cut-2 that differ from cut-1; 1 others are unchanged"
        in section
    )
    assert (
        '<td class="num">7.50</td><td class="num">8.10</td><td class="num">0.60</td><td>changed</td>'
        in section
    )
    assert '<td class="num">57</td><td class="num">60</td><td class="num">3</td>' in section
    assert "orr" not in section.split("</caption>", 2)[-1]  # the unchanged row is not listed
    assert XSS not in section
    first = change_tables()
    first["changes"]["previous_cut"] = None
    html = render(tmp_path, fixture_tables() | first)
    assert "Data cut cut-2 is the first kept under results/cuts/: nothing to compare yet." in html


def test_published_comparison_only_with_a_reference(tmp_path):
    html = render(tmp_path)
    assert "Published estimates (zhou_2026)" in html
    assert "PFS HR, GFR ≤ 70 (multivariable)" in html
    assert "2.11 (1.21–3.70)" in unescape(html).replace("\u00a0", " ")  # with its CI
    assert ">126<" in html  # a count as a whole number, not 126.00
    html = render(tmp_path, report={"title": "t", "published_reference": None})
    assert "No published reference is configured" in html


def test_fixture_report_matches_snapshot(tmp_path):
    assert_matches_snapshot(fixture_report(tmp_path).read_text(encoding="utf-8"), SNAPSHOT)


def test_tables_and_figures_are_numbered_in_page_order(tmp_path):
    html = render(tmp_path)
    tables = [int(n) for n in re.findall(r'<span class="label">Table (\d+)\.</span>', html)]
    figures = [int(n) for n in re.findall(r'<span class="label">Figure (\d+)\.</span>', html)]
    assert tables == list(range(1, len(tables) + 1))
    assert len(tables) >= 20
    assert figures == list(range(1, len(fixture_figures(tmp_path / "f")) + 1))
    # A caption says what is shown, after its number; a figure's caption is more than its title.
    assert "Table 1.</span> Every prespecified estimate of all patients" in html  # the summary
    assert "Table 2.</span> Patients at each step of the analysis" in html
    assert '<figcaption><span class="label">Figure 1.</span> Best response. ' in html


def test_numbers_are_right_aligned_and_text_is_not(tmp_path):
    html = render(tmp_path)
    assert '<th scope="col" class="num">HR (95% CI)</th>' in html
    assert '<th scope="col">Covariate</th>' in html
    assert '<td class="num">2.10 (1.20–3.70)</td>' in html
    assert "<td>GFR ≤ 70</td>" in html


def test_numeric_columns_are_told_from_their_display_strings():
    rows = [
        ["a", "1", "8.1 (6.0–NR)", "<0.001", "—", "x"],
        ["b", "<5", "NR (NR–NR)", "0.2", "—", "2"],
    ]
    assert numeric_columns(rows) == [False, True, True, True, False, False]
    assert numeric_columns([]) == []


@pytest.mark.parametrize(
    ("p", "shown"),
    [
        (0.0497, "0.0497"),
        (0.04996, "0.0499"),
        (0.04949, "0.049"),
        (0.05, "0.050"),
        (0.0504, "0.050"),
        (0.003, "0.003"),
        (0.00099, "<0.001"),
        (0.51, "0.510"),
        (float("nan"), "—"),
        ("<5", "<5"),
    ],
)
def test_p_values_never_round_across_alpha(p, shown):
    assert pval(p) == shown
    if shown[:1].isdigit():
        assert (float(shown) < ALPHA) == (p < ALPHA)


def test_p_values_in_sentences_have_an_operator():
    assert p_text(0.003) == "p = 0.003"
    assert p_text(0.0001) == "p < 0.001"
    assert p_text(0.0497) == "p = 0.0497"


def test_summary_reports_every_prespecified_estimate_whatever_its_p(tmp_path):
    html = unescape(render(tmp_path)).replace("\u00a0", " ")
    summary = html[html.index('<section id="summary">') : html.index('<section id="methods">')]
    assert "GFR ≤ 70, HR (multivariable)" in summary
    assert "Extramedullary disease, HR (multivariable)" in summary  # not estimable, still listed
    assert "not estimable" in summary
    assert "response confirmed by month 3 vs not (landmark), HR" in summary
    assert "response (time-dependent), HR unadjusted" in summary


def test_counts_are_printed_in_times_ten_to_the_ninth_per_litre(tmp_path):
    tables = fixture_tables()
    tables["published_comparison"].loc[0, "unit"] = "10^9/L"
    html = render(tmp_path, tables)
    assert "×10⁹/L" in html
    assert "10^9/L" not in html


def test_long_tables_are_collapsed_with_their_number_and_caption(tmp_path):
    tables = fixture_tables()
    row = tables["logrank"].iloc[0]
    tables["logrank"] = pd.DataFrame([row] * 25)
    html = render(tmp_path, tables)
    summary = re.search(r"<details><summary>(.*?)</summary>", html)
    assert summary
    assert re.search(
        r'<span class="label">Table \d+\.</span> Log-rank tests.*\(25 rows\)', summary.group(1)
    )
    assert html.count("<details") == 1  # the short tables stay open


def test_docx_opens_and_holds_every_numbered_table(tmp_path):
    figures = fixture_figures(tmp_path / "figures")
    path, docx_path = tmp_path / "report.html", tmp_path / "tables.docx"
    options = fixture_options()
    write_report(
        fixture_tables(),
        figures,
        tmp_path / "figures",
        fixture_provenance(),
        options,
        path,
        docx_path,
    )
    html = path.read_text(encoding="utf-8")
    numbers = re.findall(r'<span class="label">Table (\d+)\.</span> ([^<]*)', html)
    document = docx.Document(str(docx_path))
    assert len(document.tables) == len(numbers)
    captions = [p.text for p in document.paragraphs if re.match(r"Table \d+\. ", p.text)]
    assert captions == [f"Table {n}. {unescape(c).strip()}" for n, c in numbers]
    assert [c.text for c in document.tables[0].rows[0].cells][:3] == [
        "Estimate",
        "Endpoint",
        "Value (95% CI)",
    ]
    attrition = document.tables[1]
    assert [c.text for c in attrition.rows[0].cells] == [
        "Step",
        "In",
        "Excluded",
        "Reason",
        "Analysed",
    ]
    second = ["response analysis", "60", "3", "best response not evaluable", "57"]
    assert [c.text for c in attrition.rows[2].cells] == second
    assert attrition.rows[2].cells[1].paragraphs[0].alignment == WD_ALIGN_PARAGRAPH.RIGHT
    assert XSS in {c.text for t in document.tables for row in t.rows for c in row.cells}  # as text


def test_a_figure_is_embedded_as_the_smaller_of_png_and_svg(tmp_path):
    index = fixture_figures(tmp_path / "figures")
    big = tmp_path / "figures" / "km" / "km_pfs_all_all.svg"
    big.write_text("<svg xmlns='http://www.w3.org/2000/svg'>" + "<g/>" * 5000 + "</svg>")
    noise = Image.frombytes("L", (40, 30), bytes(range(256)) * 4 + bytes(176))
    noise.save(tmp_path / "figures" / "forest" / "forest_pfs_all.png")  # a PNG bigger than its SVG
    small = tmp_path / "figures" / "forest" / "forest_pfs_all.svg"
    small.write_text(
        '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg">\n <metadata>x</metadata>\n'
        ' <path d="M 1.123456 2 L 3 4 z" style="fill: none"/>\n <text x="1">p = 0.0497</text></svg>'
    )
    html = render(tmp_path, figures=index)
    sources = dict(re.findall(r'<figure id="fig-([\w-]+)"><img src="([^"]+)"', html))
    assert sources["km_pfs_all_all"].startswith("data:image/png;base64,")
    svg = unquote(sources["forest_pfs_all"].removeprefix("data:image/svg+xml,"))
    assert (
        svg
        == '<svg xmlns="http://www.w3.org/2000/svg"><path d="M1.12 2L3 4z" style="fill:none"/><text x="1">p = 0.0497</text></svg>'
    )
    # Each image has its PNG's size: no layout shift while images decode.
    assert 'alt="PFS, all patients" width="1" height="1"' in html
    assert 'alt="Cox model of PFS" width="40" height="30"' in html


def test_every_section_has_a_partial_and_a_builder_the_registry_can_call():
    templates = Path(rwe.report.__file__).parents[1] / "templates"
    known = set(TABLE_COLUMNS) | {"figures", "options", "provenance"}
    for section in SECTIONS:
        assert (templates / section.partial).is_file(), section.id
        assert set(inspect.signature(section.builder).parameters) <= known, section.id
    assert REPORT_TABLES == list(TABLE_COLUMNS)


def test_medians_say_nr_only_where_not_reached_and_ne_where_r_gives_na():
    from rwe.report.sections import median_ci

    nan = float("nan")
    falls_to_zero = "CI not estimable: survival falls to 0 by the median (no patient left at risk)"
    assert median_ci(
        {"n": 3, "median": 14.5, "ci_lower": nan, "ci_upper": nan, "note": falls_to_zero}
    ) == ("14.5 (NE–NE)")
    assert (
        median_ci({"n": 9, "median": 5.0, "ci_lower": nan, "ci_upper": 7.5, "note": ""})
        == "5.0 (NE–7.5)"
    )
    assert (
        median_ci({"n": 30, "median": 14.5, "ci_lower": 10.0, "ci_upper": nan, "note": ""})
        == "14.5 (10.0–NR)"
    )
    assert median_ci({"n": 30, "median": nan, "ci_lower": nan, "ci_upper": nan, "note": ""}) == "NR"
    assert (
        median_ci({"n": 0, "median": nan, "ci_lower": nan, "ci_upper": nan, "note": "no patients"})
        == "—"
    )


def test_methods_say_what_computed_the_numbers_and_on_which_data(tmp_path):
    html = render(tmp_path)
    methods = html[html.index('<section id="methods">') :]
    methods = methods[: methods.index("</section>")]
    assert "rwe&#39;s own estimators" in methods
    for function in ("survfit", "quantile.survfit", "survdiff", "coxph", "cox.zph", "fisher.test"):
        assert function in methods
    assert "lifelines" not in methods
    assert "Python 3.11.7, pandas 2.3.3, numpy 2.4.6" in methods
    assert "R 4.2.2 with survival 3.5.3" in methods
    assert "Data cut cut-2." in methods
    assert "Data cut: cut-2" in html  # and in the page's header
    provenance = fixture_provenance() | {"r": {}}
    figures = fixture_figures(tmp_path / "f")
    context = build_context(
        fixture_tables(), figures, tmp_path / "f", provenance, fixture_options()
    )
    html = render_report(context)
    assert "R was not found where this run was made." in html


def test_methods_state_what_was_prespecified_and_that_the_rest_is_exploratory(tmp_path):
    html = render(tmp_path)
    assert (
        "Prespecified comparisons (config primary_comparisons): PFS and OS by GFR ≤ 70; "
        "PFS and OS by Triple-class refractory"
    ) in html
    assert "(1 log-rank tests); they alone carry a p value on the Kaplan–Meier plots" in html
    assert (
        "All other tests are exploratory and unadjusted for multiplicity (1 Fisher&#39;s exact "
        "tests, 1 Wilcoxon rank-sum tests, besides the Wald tests"
    ) in html
    none = render(tmp_path / "none", primary_comparisons=[])
    assert "No comparison was prespecified. All other tests are exploratory" in none


def test_exposure_effects_are_shown_per_iqr(tmp_path):
    html = render(tmp_path)
    assert "OR per IQR (95% CI)" in html
    assert "OR per unit" not in html
    assert f"{2.0**0.5:.2f} ({0.9**0.5:.2f}–{4.4**0.5:.2f})" in html  # the stage's OR per IQR
    assert "odds ratios per interquartile range (IQR) of the exposure" in html


def test_an_svg_data_uri_cannot_leave_its_attribute_and_decodes_to_the_svg():
    svg = '<svg><text fill="#000">&lt;img src=x&gt; 100% "quoted" &amp; \'single\'</text></svg>'
    uri = svg_data_uri(svg)
    body = str(uri).removeprefix("data:image/svg+xml,")
    assert '"' not in body
    assert "&" not in body
    assert "#" not in body
    assert unquote(body) == svg
    assert f'src="{uri}"' in Template('src="{{ u }}"', autoescape=True).render(u=uri)


def test_a_builder_is_a_plain_function_of_the_tables_it_names():
    from rwe.report.sections import attrition_section
    from rwe.report.sites import sites_section

    attrition = attrition_section(fixture_tables()["attrition"])["attrition"]
    assert attrition["header"] == ["Step", "In", "Excluded", "Reason", "Analysed"]
    assert attrition["rows"][1] == [
        "response analysis",
        "60",
        "3",
        "best response not evaluable",
        "57",
    ]
    one = pd.DataFrame({"note": ["one site: nothing stratified or pooled"]})
    tables = fixture_tables()
    site_tables = (tables["site_summary"], tables["site_contributions"], tables["cox"])
    context = sites_section(*site_tables, one, one, one, figures={}, options=fixture_options())
    assert set(context) == {"site_summary", "note"}  # nothing else is shown (or numbered)
    assert context["note"] == "One site: nothing stratified by site or pooled across sites."


def test_notes_shared_by_a_model_are_said_once():
    from rwe.report.sections import notes_once

    notes = ["14 patients left out; not estimable: x", "14 patients left out"]
    frame = pd.DataFrame({"analysis_set": "all", "endpoint": "PFS", "model": "m", "note": notes})
    rows, shared = notes_once(frame, ["analysis_set", "endpoint", "model"])
    assert rows["note"].tolist() == ["not estimable: x", ""]
    assert shared == ["all, PFS, m: 14 patients left out"]


def test_a_note_with_a_semicolon_in_brackets_is_kept_whole_and_in_order():
    """Issue 22: "(R reports NA; …)" was split at its inner "; " and the pieces reordered."""
    from rwe.report.sections import notes_once

    note = (
        "not estimable: collinear (singular information; R reports NA); "
        "14 patients with a missing covariate left out"
    )
    frame = pd.DataFrame(
        {"analysis_set": "Ixa-Pd", "endpoint": "OS", "model": "univariable", "note": [note] * 2}
    )
    rows, shared = notes_once(frame, ["analysis_set", "endpoint", "model"])
    assert shared == [f"Ixa-Pd, OS, univariable: {note}"]
    assert rows["note"].tolist() == ["", ""]


def test_the_conventions_section_shows_both_conventions_side_by_side(tmp_path):
    html = render(tmp_path)
    section = html[html.index('<section id="conventions">') :]
    section = section[: section.index("</section>")]
    assert "R: log CI, Efron ties (95% CI)" in section
    assert "SAS: log-log CI, Breslow ties (95% CI)" in section
    assert "8.1 (6.0–11.2)" in section
    assert "8.1 (5.7–11.9)" in section
    assert "40.0 (30.1–NR)" in section  # an upper limit not reached stays NR on both sides
    assert "2.10 (1.20–3.70)" in section
    assert "2.05 (1.17–3.60)" in section


def test_the_privacy_sentence_names_the_patient_level_figures(tmp_path):
    """Issue 22: the report said "no patient-level rows" above a swimmer plot of every patient."""
    from rwe.report.figures import patient_level_figures

    figures = pd.DataFrame({"name": ["km_pfs_all", "swimmer_all", "nadir_anc"]})
    assert patient_level_figures(figures) == ["the swimmer plot", "the points of the nadir plots"]
    assert patient_level_figures(pd.DataFrame({"name": ["km_pfs_all"]})) == []
    html = render(tmp_path)
    header = html[html.index("<header>") : html.index("</header>")]
    assert "no patient-level rows" not in header
    assert "No dates or identifiers appear in this file." in header


def test_firth_estimates_sit_beside_the_ordinary_cox_fit(tmp_path):
    html = render(tmp_path)
    assert "Firth HR (profile 95% CI)" in html
    assert "0.09\xa0(0.00–1.60)" in html  # the monotone term: no ordinary HR, the Firth one
    assert "fewer than 10 events per covariate, or a covariate has no events" in html
    assert "No hazard ratio is shown from fewer than 5 events" in html
    assert (
        "Firth&#39;s penalised partial likelihood (Heinze &amp; Schemper 2001) with the same "
        "Efron ties"
    ) in html  # the methods, with the ties actually used
    assert "with the same Breslow ties" in render(tmp_path / "sas", conventions="sas")
    assert render(tmp_path / "k", min_events=7).count("from fewer than 7 events") >= 2


def test_subgroup_effects_are_interaction_tests(tmp_path):
    html = render(tmp_path)
    assert "Interaction p (LR)" in html
    assert "HR Ixa-Rd vs Ixa-Pd (95% CI)" in html
    assert "1 empty level dropped" in html
    assert "no p value within a level" in html


def test_exposure_response_says_when_discrimination_is_chance(tmp_path):
    html = render(tmp_path)
    assert "OR per IQR adjusted (95% CI)" in html
    assert "1.30 (0.80–2.10)" in html
    assert "Exposure: Time-averaged AUC per day (ng·h/mL)." in html
    assert "cross-validated AUC is at or below 0.55" in html
    assert "unadjusted and adjusted for regimen; discrimination is the cross-validated" in html
    lower = render(tmp_path / "c", exposure={"chance_auc": 0.4})
    assert "cross-validated AUC is at or below" not in lower  # 0.52 is above the rule
    assert "no better than chance at or below 0.4." in lower


def test_published_comparison_uses_ratios_and_overlap_not_p(tmp_path):
    html = render(tmp_path)
    assert "Same conclusion" not in html
    assert f"ratio {2.1 / 2.11:.2f}" in html
    assert "CIs overlap" in html


def test_empty_levels_are_dropped_with_a_count_and_small_levels_get_no_odds_ratio(tmp_path):
    tables = fixture_tables()
    empty = tables["response"].iloc[[1]].assign(level="0", n_evaluable=0)
    tables["response"] = pd.concat([tables["response"], empty], ignore_index=True)
    km = tables["km_medians"]
    tables["km_medians"] = pd.concat(
        [km, km.iloc[[0]].assign(variable="imid_containing", level="0", n=0, events=0)],
        ignore_index=True,
    )
    html = render(tmp_path, tables=tables)
    assert html.count("1 empty subgroup level (no patients) not shown.") == 2
    assert "IMiD-containing: no" not in html
    # emd yes has 4 evaluable patients (< min_events 5): no odds ratio from them.
    assert "0.90\xa0(0.06–13.10)" not in html
    assert "no odds ratio where a level has fewer than 5 patients" in html
    assert "0.90\xa0(0.06–13.10)" in render(tmp_path / "k", tables=tables, min_events=4)
