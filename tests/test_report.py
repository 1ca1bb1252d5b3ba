"""The reviewer's HTML report, built from small fixture tables in the DESIGN.md §6 shape.

The snapshot ``tests/snapshots/report_fixture.html`` is the whole page for these fixtures, with
run time, commit, hashes, versions and image bytes normalised. Update it deliberately with
``UPDATE_SNAPSHOTS=1 pytest tests/test_report.py`` and read the diff before committing.
"""

from __future__ import annotations

import re
from html import unescape
from pathlib import Path

import pandas as pd

from rwe.options import ReportOptions, with_schema_defaults
from rwe.report import CSP, SECTIONS, TABLE_COLUMNS, build_context, render_report, write_report
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
    """One or two rows of every table the report shows, columns as the stages write them."""
    rows = {
        "attrition": [("patients in the extract", 60, 0, None, 60),
                      ("response analysis", 60, 3, "best response not evaluable", 57)],
        "data_quality": [("site/patients.csv", "gfr", 60, 2, 3.33), ("site/patients.csv", "age", 60, 0, 0.0)],
        "plausibility": [("site/labs.csv", "value", "ANC above WBC of the same day", 3, 900, "kept"),
                         ("site/labs.csv", "value", "HGB outside its physiological range 1–25 g/dL", 0, 900,
                          "left out of the nadirs")],
        "baseline": [("all", "patients", "all", 60, 60, 100.0, None, None, None),
                     ("all", "age", "all", 60, 60, None, 66.0, 41.0, 88.0),
                     ("all", "regimen", regimen, 30, 60, 50.0, None, None, None),
                     ("all", "regimen", "Ixa", 3, 60, 5.0, None, None, None)],
        "response": [("all", "all", "all", 57, 1, 4, 10, 15, 12, 8, 7, 3, 30 / 57, 0.39, 0.66, 42 / 57, 0.6, 0.84),
                     ("all", "emd", "1", 4, 0, 0, 1, 1, 1, 1, 0, 0, 0.5, 0.07, 0.93, 0.75, 0.19, 0.99)],
        "response_tests": [("all", "emd", "orr", 0.5, 0.53, 0.9, 1.0, 4, 53)],
        "km_medians": [("all", "PFS", "all", "all", 60, 45, 8.1, 6.0, 11.2, ""),
                       ("all", "OS", "all", "all", 60, 20, None, 40.2, None, "median not reached")],
        "km_landmarks": [("all", "PFS", "all", "all", 12, 21, 0.41, 0.3, 0.55)],
        "followup": [("all", "OS", 26.0, 22.1, 31.0)],
        "logrank": [("all", "PFS", "emd", 4.2, 1, 0.04, "")],
        "cox": [("all", "PFS", "multivariable", "gfr_le70", 2.1, 1.2, 3.7, 0.008, 58, 44, "2 patients left out"),
                ("all", "PFS", "multivariable", "emd", None, None, None, None, 58, 44, "not estimable")],
        "cox_diagnostics": [("all", "PFS", "multivariable", "lr", None, 9.5, 2, 0.009),
                            ("all", "PFS", "multivariable", "zph", "gfr_le70", 0.4, 1, 0.53)],
        "adverse_events": [("all", "hematologic", "Anemia", g, n, 60, 100 * n / 60)
                           for g, n in (("any", 9, ), ("ge2", 6), ("ge3", 2), ("ge4", 0))]
                          + [("all", "non-hematologic", XSS, g, n, 60, 100 * n / 60)
                             for g, n in (("any", 12), ("ge2", 5), ("ge3", 1), ("ge4", 0))]
                          + [("all", "hematologic", "any hematologic", "ge3", 2, 60, 100 * 2 / 60)],
        "nadir": [("all", "ANC", "all", 60, 1.9, 0.4, 6.1), ("all", "ANC", "IMiD-free", 3, 2.8, 1.1, 6.1)],
        "nadir_tests": [("all", "ANC", "IMiD-containing vs IMiD-free", 0.03, 40.0,
                         "Wilcoxon rank sum exact test")],
        "exposure_response": [("neutropenia_ge3", "exposure_auc", 60, 8, -2.1, 0.7, 2.0, 0.9, 4.4, 0.08,
                               0.1, 0.17, 0.62, "fewer than 10 events")],
        "exposure_predictions": [("neutropenia_ge3", "exposure_auc", 0.72, 0.11, 0.05, 0.2, 3.0)],
        "published_comparison": [("median PFS", 7.9, 8.1, "months", ""), ("ORR", 52.5, 52.6, "%", "")],
    }  # fmt: skip
    extra = {"response_tests": ["n_1", "n_0"]}
    tables = {name: pd.DataFrame(rows[name], columns=TABLE_COLUMNS[name] + extra.get(name, []))
              for name in rows}  # fmt: skip
    return tables | site_tables() | change_tables()


def change_tables() -> dict[str, pd.DataFrame]:
    """A second data cut: one estimate changed, one unchanged, three patients at a site named with markup."""
    changes = [
        ("cut-1", "cut-2", "km_medians", "all / PFS", "median", 7.5, 8.1, 0.6, "changed"),
        ("cut-1", "cut-2", "km_medians", "all / PFS", "n", 57, 60, 3, "changed"),
        ("cut-1", "cut-2", "response", "all", "orr", 0.5, 0.5, 0.0, "unchanged"),
    ]
    patients = [(XSS, 57, 60, 3, 0, 1)]
    return {"changes": pd.DataFrame(changes, columns=TABLE_COLUMNS["changes"]),
            "changes_patients": pd.DataFrame(patients, columns=TABLE_COLUMNS["changes_patients"])}  # fmt: skip


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
                "method": "FE",
                "hr": 1.9,
                "ci_lower": 1.0,
                "ci_upper": 3.6,
                "p": 0.05,
                "k": 1,
                "q": 0.0,
                "q_p": 1.0,
                "i2": 0.0,
                "tau2": 0.0,
                "note": f"one site: nothing to pool; {XSS} left out",
            },
        ],
    }
    # north sent patient rows, the second site aggregates only (rwe export-aggregates).
    contributions = site_contributions(["north"], [XSS], pd.DataFrame(rows["site_meta"]))
    rows["site_contributions"] = contributions.to_dict("records")
    return {name: pd.DataFrame(r).reindex(columns=TABLE_COLUMNS[name]) for name, r in rows.items()}


def fixture_provenance() -> dict:
    return {
        "inputs": [{"site": "site", "file": f"{name}.csv", "rows": 60, "format": "UTF-8, comma-separated",
                    "sha256": "ab" * 32} for name in ("patients", "adverse_events", "labs")],
        "config": fixture_config(),
        "packages": {"pandas": "2.3.3", "lifelines": "0.30.3"},
        "git_commit": "0123456789abcdef0123456789abcdef01234567",
        "run_time": "2026-01-02T03:04:05+00:00",
    }  # fmt: skip


def fixture_config(**changes) -> dict:
    config = {
        "sites": {"site": "data/site"},
        "data_cut": "cut-2",
        "pfs_death_events": "all",
        "conf_level": 0.95,
        "km": {"conf_type": "log", "landmarks_months": [12]},
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
        [("km_pfs_all_all", "km", "survival", "PFS, all patients"),
         ("forest_pfs_all", "forest", "cox", "Cox model of PFS"),
         ("response_all", "response", "response", "Best response"),
         ("nadir_imid", "nadir", "safety", "Nadir blood counts"),
         ("exposure_response", "exposure", "exposure", "Exposure–response"),
         ("swimmer_all", "swimmer", "swimmer", "Time on study")],
        columns=["name", "kind", "section", "title"],
    )  # fmt: skip
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
    assert "<td>3 (5.0)</td>" not in html
    assert "2 (3.3)" not in html
    assert "Extramedullary disease: yes</td><td>4</td>" not in html
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


def data_quality_html(html: str) -> str:
    section = html[html.index('<section id="data-quality">') :]
    return section[: section.index("</section>")]


def test_data_quality_lists_the_plausibility_findings(tmp_path):
    section = data_quality_html(render(tmp_path))
    assert "The plausibility checks found 1 kind(s) of implausible values" in section
    assert "plausibility.on_implausible: warn" in section
    assert "<td>ANC above WBC of the same day</td><td>3</td><td>900</td><td>kept</td>" in section
    assert "<td>HGB outside" not in section  # a check that found nothing is named, not listed
    assert "HGB outside its physiological range 1–25 g/dL" in section
    tables = fixture_tables()
    tables["plausibility"]["n_rows"] = 0
    section = data_quality_html(render(tmp_path, tables))
    assert "The plausibility checks found nothing" in section
    assert "<td>ANC above" not in section
    section = data_quality_html(render(tmp_path, min_cell_count=5))
    assert "<td>ANC above WBC of the same day</td><td>&lt;5</td>" in section
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
    assert "<td>7.50</td><td>8.10</td><td>0.60</td><td>changed</td>" in section
    assert "<td>57</td><td>60</td><td>3</td>" in section
    assert "orr" not in section.split("</caption>", 2)[-1]  # the unchanged row is not listed
    assert XSS not in section
    first = change_tables()
    first["changes"]["previous_cut"] = None
    html = render(tmp_path, fixture_tables() | first)
    assert "Data cut cut-2 is the first kept under results/cuts/: nothing to compare yet." in html


def test_published_comparison_only_with_a_reference(tmp_path):
    assert "Published figures (zhou_2026)" in render(tmp_path)
    html = render(tmp_path, report={"title": "t", "published_reference": None})
    assert "No published reference is configured" in html


def test_fixture_report_matches_snapshot(tmp_path):
    assert_matches_snapshot(fixture_report(tmp_path).read_text(encoding="utf-8"), SNAPSHOT)
