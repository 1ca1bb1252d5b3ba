"""Treatment-emergent window, lab-graded vs reported hematologic toxicity and exact CIs,
on cases small enough to count by hand."""

import numpy as np
import pandas as pd
import pytest

from rwe import safety


def _labs(rows):
    df = pd.DataFrame(rows, columns=["patient_id", "day", "test", "value"])
    return df.assign(site="s", unit="x")


def _windows(ends):
    """Windows from day 1 to each patient's end (inf: no end)."""
    return pd.DataFrame(
        {"site": "s", "patient_id": list(ends), "start_day": 1.0, "end_day": list(ends.values())}
    )


def test_lab_toxicity_grades_only_plausible_values_in_the_window_and_counts_the_rest():
    labs = _labs(
        [
            (
                "a",
                0,
                "ANC",
                0.2,
            ),  # before day 1: not graded (would be grade 4)
            ("a", 14, "ANC", 1.2),  # grade 2
            ("a", 28, "ANC", 0.8),  # grade 3, the worst in the window
            ("a", 35, "ANC", 0.9),  # grade 3 again: the onset stays day 28
            ("a", 60, "ANC", 0.3),  # after the window (ends day 50)
            ("a", 20, "HGB", 0.5),  # implausible (excluded below)
            ("a", 21, "HGB", 11.0),  # grade 1
            ("b", 10, "PLT", 200.0),  # normal: grade 0, a row all the same
            ("b", 12, "SPEP_M", 0.1),  # not a graded test: no row
        ]
    )
    exclude = np.array([False] * 5 + [True] + [False] * 3)
    out = safety.lab_toxicity(labs, _windows({"a": 50.0, "b": np.inf}), exclude)
    out = out.set_index(["patient_id", "test"])
    assert list(out.index) == [("a", "ANC"), ("a", "HGB"), ("b", "PLT")]
    anc = out.loc[("a", "ANC")]
    assert (anc["grade"], anc["onset_day"], anc["term"]) == (3, 28, "Neutrophil count decreased")
    counts = ["n_values", "n_before_window", "n_after_window", "n_implausible", "n_graded"]
    assert anc[counts].tolist() == [5, 1, 1, 0, 3]
    assert out.loc[("a", "HGB"), counts].tolist() == [2, 0, 0, 1, 1]
    assert out.loc[("a", "HGB"), "grade"] == 1
    assert out.loc[("b", "PLT"), "grade"] == 0
    assert pd.isna(out.loc[("b", "PLT"), "onset_day"])
    # As ADAE rows: grade ≥ 1 only.
    events = safety.lab_events(out.reset_index())
    assert list(events.columns) == safety.ADAE_COLUMNS
    assert sorted(events["grade"]) == [1, 3]


def test_a_patient_without_a_window_has_no_value_graded():
    labs = _labs([("z", 5, "ANC", 0.2)])
    out = safety.lab_toxicity(labs, _windows({"a": 50.0}))
    assert out[["grade", "n_before_window", "n_graded"]].values.tolist() == [[0, 1, 0]]


def test_reported_aes_in_the_window_and_what_it_counted_out():
    adae = pd.DataFrame(
        {
            "site": "s",
            "patient_id": ["a", "a", "a", "b"],
            "term": ["Anemia"] * 4,
            "grade": [3, 2, 1, 4],
            "onset_day": [0, 1, 51, 400],
        }
    )
    windows = _windows({"a": 50.0, "b": np.inf})
    assert safety.in_window(adae, windows).tolist() == [False, True, False, True]
    labs = safety.lab_toxicity(_labs([("a", 60, "ANC", 0.3), ("a", 3, "ANC", 0.3)]), windows)
    counted = safety.window_counts(adae, windows, labs).set_index("records")
    assert counted.loc[safety.REPORTED_RECORDS].tolist() == [4, 1, 1, 0, 2]
    assert counted.loc["ANC"].tolist() == [2, 0, 1, 0, 1]


def test_toxicity_table_counts_patients_at_their_worst_grade_from_each_source():
    """Four patients; by hand: ANC ≥3 reported a; labs a, b; either a, b (2 of 4)."""
    adsl = pd.DataFrame({"site": "s", "patient_id": ["a", "b", "c", "d"]})
    adae = pd.DataFrame(
        {
            "site": "s",
            "patient_id": ["a", "a", "c", "d"],
            "term": [
                "Neutrophil count decreased",
                "neutrophil count decreased ",
                "Anemia",
                "Nausea",
            ],
            "grade": [2, 3, 4, 3],
        }
    )
    labs = safety.lab_toxicity(
        _labs(
            [
                ("a", 5, "ANC", 1.6),  # grade 1: the reported grade 3 is worse
                ("b", 5, "ANC", 0.4),  # grade 4
                ("b", 5, "HGB", 9.0),  # grade 2
                ("c", 5, "HGB", 7.5),  # grade 3; reported grade 4 (clinical)
            ]
        ),
        _windows({"a": np.inf, "b": np.inf, "c": np.inf}),
    )
    table = safety.hematologic_toxicity_table({"all": adsl}, adae, labs, 0.95)
    n = table.set_index(["test", "grade_group", "source"])["n"]
    assert [n[("ANC", "ge3", s)] for s in safety.TOXICITY_SOURCES] == [1, 1, 2]
    assert [n[("ANC", "ge4", s)] for s in safety.TOXICITY_SOURCES] == [0, 1, 1]
    assert [n[("ANC", "any", s)] for s in safety.TOXICITY_SOURCES] == [1, 2, 2]
    assert [n[("HGB", "ge4", s)] for s in safety.TOXICITY_SOURCES] == [1, 0, 1]
    # Any of the four: worst over the analytes per patient (Nausea is not one of them).
    assert [n[("any", "ge3", s)] for s in safety.TOXICITY_SOURCES] == [2, 2, 3]
    row = table.set_index(["test", "grade_group", "source"]).loc[("any", "ge3", "either")]
    assert (row["N"], row["percent"], row["n_with_labs"]) == (4, 75.0, 3)
    # binom.test(3, 4)$conf.int[2] = qbeta(0.975, 4, 1), the root of u^4 = 0.975.
    assert row["ci_upper"] == pytest.approx(100 * 0.975**0.25, rel=1e-12)
    notes = table.loc[table["note"] != "", ["test", "grade_group", "source"]]
    assert notes.values.tolist() == [["HGB", "ge4", "labs"]]
    assert (
        table.set_index(["test", "grade_group", "source"]).loc[
            ("ANC", "any", "labs"), "n_with_labs"
        ]
        == 2
    )


def test_toxicity_table_without_any_record_is_empty_not_an_error():
    adsl = pd.DataFrame({"site": "s", "patient_id": ["a"]})
    empty_ae = pd.DataFrame(columns=["site", "patient_id", "term", "grade"])
    table = safety.hematologic_toxicity_table({"all": adsl}, empty_ae, pd.DataFrame(), 0.95)
    assert table.empty
    assert list(table.columns) == safety.HEMATOLOGIC_TOXICITY_COLUMNS


def test_exact_percent_by_hand():
    """x = 0: upper = 1 - (alpha/2)^(1/n); x = n: lower = (alpha/2)^(1/n)."""
    assert safety.exact_percent(0, 10, 0.9)[1:] == pytest.approx((0.0, 100 * (1 - 0.05**0.1)))
    assert safety.exact_percent(10, 10, 0.9)[:2] == pytest.approx((100.0, 100 * 0.05**0.1))
    assert all(np.isnan(safety.exact_percent(0, 0)))


def test_window_text_states_the_configured_window():
    assert safety.window_text(2, 14, False) == (
        "from day 2 to 14 days after the end of treatment (to the last follow-up when treatment "
        "had not ended)"
    )
    assert "day 1 to the earlier of progression and 30 days" in safety.treatment_emergent_methods()


def test_small_cells_of_the_toxicity_and_window_tables_are_hidden():
    """k = 11: a count of 3 is <11, its percentage and CI are hidden, and the nested grade
    bands do not give it away (any 30, ge3 27 would tell 3 patients of grade 1-2)."""
    from rwe.privacy import SUPPRESSED, suppress_table

    rows = [
        ("all", "ANC", "term", g, "labs", n, 126, *safety.exact_percent(n, 126), 120, "")
        for g, n in (("any", 30), ("ge3", 27), ("ge4", 3))
    ]
    tox = pd.DataFrame(rows, columns=safety.HEMATOLOGIC_TOXICITY_COLUMNS)
    out = suppress_table("hematologic_toxicity", tox, 11)
    assert out["n"].tolist() == [30, SUPPRESSED, "<11"]
    for column in ("percent", "ci_lower", "ci_upper"):
        assert out[column].tolist()[1:] == [SUPPRESSED, SUPPRESSED], column
    window = pd.DataFrame(
        [("reported adverse events", 114, 0, 4, 0, 110)], columns=safety.WINDOW_COLUMNS
    )
    out = suppress_table("safety_window", window, 11).loc[0]
    assert out["n_after_window"] == "<11"
    assert out["n_analysed"] == SUPPRESSED  # 114 - 110 would tell the 4


def test_safety_section_states_the_window_the_grading_and_the_conf_level(tmp_path):
    """The sentence and captions come from the config the run used (conf_level 0.9 here)."""
    from test_report import render

    html = render(tmp_path, conf_level=0.9)
    section = html[html.index('<section id="safety">') :]
    section = section[: section.index("</section>")]
    assert "treatment-emergent from day 1 to the earlier of progression and 30 days" in section
    assert "ANC &lt;1.8, &lt;1.5, &lt;1.0, &lt;0.5 ×10⁹/L for grades 1–4" in section
    assert "HGB &lt;12, &lt;10, &lt;8 g/dL for grades 1–3" in section
    assert "90% CI, exact Clopper–Pearson" in section
    assert "95%" not in section
    # The toxicity table's cells: n (%; CI) as the table holds them (the fixture's 6 of 60 by
    # labs at grade ≥3, its CI computed at 95%: the report formats, it does not recompute).
    lower, upper = safety.exact_percent(6, 60)[1:]
    assert f"6 (10.0; {lower:.1f}–{upper:.1f})" in section
