"""Issue 13, class 5: with ``min_cell_count: 11`` no count from 1 to 10 leaves the machine.

The demo is run with k = 11. Every CSV of ``shareable/`` and every table and sentence of the
report is read; which columns hold counts comes from the table contracts (DESIGN.md §6 and the
columns the stages add after them), not from :mod:`rwe.privacy`, so a count the rules forget
fails here. Rates are multiplied back by their denominators: a percentage that tells a small
count is a small count.
"""

import io
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from runner import ROOT, demo_config, run_workflow

pytestmark = pytest.mark.workflow

K = 11

#: Count columns of each shareable table (DESIGN.md §6, then the stages' extra columns).
COUNTS = {
    "attrition": ["n_in", "n_excluded", "n_out"],
    "data_quality": ["n", "n_missing"],
    "baseline": ["n", "N"],
    "response": [
        "n_evaluable",
        "sCR",
        "CR",
        "VGPR",
        "PR",
        "MR",
        "SD",
        "PD",
        "NE",
        "n_not_evaluable",
        "n_missing",
    ],
    "response_tests": ["n_1", "n_0"],
    "km_medians": ["n", "events", "n_missing"],
    "km_landmarks": ["n_risk"],
    "logrank": ["n_missing"],
    "logrank_stratified": ["n_missing"],
    "cox": ["n", "events", "n_dropped", "n_0", "events_0", "n_1", "events_1"],
    "cox_influence": ["n", "n_above"],
    "landmark": ["n", "events", "n_not_at_risk", "n_unknown"],
    "cox_time_dependent": ["n", "events", "n_rows", "n_dropped", "n_unknown"],
    "conventions_comparison": ["n", "events"],
    "subgroup_interactions": ["n", "events"],
    "duration_of_response": ["n", "events", "n_undated"],
    "plausibility": ["n_rows"],
    "comparative_attrition": ["n_in", "n_excluded", "n_out"],
    "comparative_effects": ["n", "events"],
    "comparative_km": ["n_risk"],
    "competing_risks": ["n_risk"],
    "comparative_adjusted": ["n", "events"],
    "ps_weights": ["n", "n_outside_support"],
    "comparative_sensitivity": ["n"],
    "adverse_events": ["n", "N"],
    "hematologic_toxicity": ["n", "N", "n_with_labs"],
    "safety_window": [
        "n_records",
        "n_before_window",
        "n_after_window",
        "n_implausible",
        "n_analysed",
    ],
    "nadir": ["n"],
    "nadir_tests": ["n_1", "n_2"],
    "exposure_response": ["n", "events"],
    "site_summary": ["n", "pfs_events", "os_events", "n_evaluable"],
    "site_meta": ["n", "events"],
    "cox_stratified": ["n", "events", "n_dropped"],
    "changes_patients": ["n_previous", "n_current", "added", "removed", "outcome_changed"],
}
#: Columns named like counts that count no patients: sites left out of a meta-analysis.
NOT_PATIENTS = {"site_meta": ["n_excluded"], "plausibility": ["n_checked"]}
#: Rates and the denominators that turn them back into counts: (rate, denominator, scale).
RATES = {
    "baseline": [("percent", "N", 100)],
    "adverse_events": [("percent", "N", 100)],
    "hematologic_toxicity": [("percent", "N", 100)],
    "data_quality": [("percent_missing", "n", 100)],
    "response": [("orr", "n_evaluable", 1), ("cbr", "n_evaluable", 1)],
    "response_tests": [("rate_1", "n_1", 1), ("rate_0", "n_0", 1)],
    "site_summary": [("orr", "n_evaluable", 1), ("cbr", "n_evaluable", 1)],
}
#: Long tables whose ``value``-like columns hold counts on some rows.
COUNT_ROWS = {
    "cox_diagnostics": ("statistic", {"n", "events", "n_dropped"}, ["value"]),
    "cox_stratified_diagnostics": ("statistic", {"n", "events", "n_dropped"}, ["value"]),
    "changes": (
        "statistic",
        {"n", "events", "n_out", "n_evaluable"},
        ["previous", "current", "difference"],
    ),
    "published_comparison": ("unit", {"n"}, ["this_run"]),
    "response_agreement": ("statistic", {"n", "count"}, ["value"]),
}
#: A number of people written in a sentence or a note ("3 patients"), not a threshold.
COUNT_IN_TEXT = re.compile(
    r"(?<![\w.,<≥≤])(?<!than )(\d+)(?:\s+of\s+[\d,]+)?\s+(patients?|events?|responders?|deaths?)\b"
)
#: Report columns whose whole numbers are not counts.
NOT_COUNTS = {"Month", "df", "Version", "SHA-256", "p", "p (Fisher)", "W", "Chi-square"}
# Table 1's level names (prior lines "1" … "4") and the months of the response landmarks.
NOT_COUNTS |= {"Characteristic", "Landmark, month"}


def small(values) -> np.ndarray:
    numbers = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").abs().round(6)
    return ((numbers >= 1) & (numbers < K)).to_numpy()


@pytest.fixture(scope="module")
def k11_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("k11")
    config = demo_config({"demo": str(ROOT / "data" / "demo")}) | {"min_cell_count": K}
    result = run_workflow(workdir, config)
    assert result.returncode == 0, result.stderr[-5000:]
    return workdir / "results"


def shareable(results) -> dict[str, pd.DataFrame]:
    return {
        path.stem: pd.read_csv(path, dtype=str, keep_default_na=False)
        for path in sorted((results / "shareable").glob("*.csv"))
    }


def test_no_small_count_in_any_shareable_table(k11_run):
    tables = shareable(k11_run)
    assert set(COUNTS) | set(COUNT_ROWS) <= set(tables) | {"cox_stratified", "site_meta"}
    leaks, hidden = [], 0
    for name, table in tables.items():
        for column in COUNTS.get(name, []):
            if column in table:
                leaks += [(name, column, v) for v in table[column][small(table[column])]]
                hidden += table[column].isin([f"<{K}", "suppressed"]).sum()
        # Any other column named like a count: a new count the list above does not know yet.
        for column in table.columns:
            if re.fullmatch(r"n|N|n_.*|.*_n|.*events|added|removed", column):
                assert column in COUNTS.get(name, []) + NOT_PATIENTS.get(name, []), (name, column)
        if name in COUNT_ROWS:
            key, statistics, columns = COUNT_ROWS[name]
            rows = table[key].isin(statistics)
            for column in columns:
                values = table.loc[rows, column]
                leaks += [(name, column, v) for v in values[small(values)]]
        for rate, size, scale in RATES.get(name, []):
            if rate in table and size in table:
                count = (
                    pd.to_numeric(table[rate], errors="coerce")
                    * pd.to_numeric(table[size], errors="coerce")
                    / scale
                )
                leaks += [(name, rate, v) for v in table[rate][small(count)]]
        for column in ("note", "reason"):
            for text in table.get(column, []):
                leaks += [
                    (name, column, m[0]) for m in COUNT_IN_TEXT.finditer(text) if 0 < int(m[1]) < K
                ]
    assert not leaks, leaks[:20]
    assert hidden > 100  # the demo has many small cells: they are there, hidden


def test_suppressed_cells_cannot_be_recovered_by_subtraction(k11_run):
    """The margins named in the issue, checked as a reader with a calculator would."""
    t = shareable(k11_run)

    def hidden(value) -> bool:
        return not re.fullmatch(r"-?[\d.]+(e-?\d+)?", value)

    for _, row in t["attrition"].iterrows():  # n_in = n_excluded + n_out
        assert sum(hidden(row[c]) for c in ("n_in", "n_excluded", "n_out")) != 1, row.to_dict()
    categories = ["sCR", "CR", "VGPR", "PR", "MR", "SD", "PD"]
    for _, row in t["response"].iterrows():  # the categories add up to n_evaluable
        cells = [row[c] for c in [*categories, "n_evaluable"]]
        assert sum(map(hidden, cells)) != 1, row.to_dict()
        if not hidden(row["n_evaluable"]):
            shown = sum(float(row[c]) for c in categories if not hidden(row[c]))
            assert not 0 < float(row["n_evaluable"]) - shown < K, row.to_dict()
    ae = t["adverse_events"]
    for _, rows in ae.groupby(["analysis_set", "category", "term"]):  # N ≥ any ≥ ge2 ≥ …
        order = rows.set_index("grade_group").reindex(["any", "ge2", "ge3", "ge4"])["n"].dropna()
        chain = [rows["N"].iloc[0], *order, "0"]
        shown = [float(v) for v in chain if not hidden(v)]
        assert all(a - b == 0 or a - b >= K for a, b in zip(shown, shown[1:], strict=False))
    for keys, rows in ae.groupby(["category", "term", "grade_group"]):  # regimens add up to all
        total = rows.loc[rows["analysis_set"] == "all", "n"]
        parts = rows.loc[rows["analysis_set"] != "all", "n"]
        if len(total) and not hidden(total.iloc[0]):
            assert sum(map(hidden, parts)) != 1, keys
    tox = t["hematologic_toxicity"]
    for _, rows in tox.groupby(["analysis_set", "test", "source"]):  # N ≥ any ≥ ge3 ≥ ge4
        order = rows.set_index("grade_group").reindex(["any", "ge3", "ge4"])["n"].dropna()
        chain = [rows["N"].iloc[0], *order, "0"]
        shown = [float(v) for v in chain if not hidden(v)]
        assert all(a - b == 0 or a - b >= K for a, b in zip(shown, shown[1:], strict=False))
    for _, row in t["safety_window"].iterrows():  # sent = before + after + implausible + kept
        cells = [row[c] for c in COUNTS["safety_window"]]
        assert sum(map(hidden, cells)) != 1, row.to_dict()
    km = t["km_medians"]
    for (s, e), rows in km.groupby(["analysis_set", "endpoint"]):  # levels add up to the set
        whole = rows[rows["variable"] == "all"]
        for _, levels in rows[rows["variable"] != "all"].groupby("variable"):
            for column in ("n", "events"):
                cells = [whole[column].iloc[0], *levels[column]]
                if all(levels["n_missing"] == "0"):
                    assert sum(map(hidden, cells)) != 1, (s, e, column, cells)


class Text(HTMLParser):
    """The text a reader sees (no style, no script, no embedded images)."""

    def __init__(self):
        super().__init__()
        self.parts, self.skip = [], 0

    def handle_starttag(self, tag, attrs):
        self.skip += tag in ("style", "script")
        self.parts.append("\n")

    def handle_endtag(self, tag):
        self.skip -= tag in ("style", "script")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def test_no_small_count_in_the_report(k11_run):
    html = (k11_run / "report.html").read_text(encoding="utf-8")
    leaks = []
    for table in pd.read_html(io.StringIO(html)):
        table.columns = [
            " ".join(map(str, c)) if isinstance(c, tuple) else str(c) for c in table.columns
        ]
        for column in table.columns:
            if column in NOT_COUNTS:
                continue
            # A count is a whole number, alone or before its percentage (and its CI): "7",
            # "7 (5.6)" or "7 (5.6; 2.3–11.1)".
            cells = table[column].astype(str)
            counts = cells.str.extract(r"^(\d+)(?:\s*\([\d.]+%?(?:;\s*[\d.]+–[\d.]+)?\))?$")[0]
            leaks += [(column, v) for v in cells[small(counts)]]
    parser = Text()
    parser.feed(html)
    text = "".join(parser.parts)
    leaks += [m[0] for m in COUNT_IN_TEXT.finditer(text) if 0 < int(m[1]) < K]
    assert not leaks, leaks[:20]
    assert f"&lt;{K}" in html or f"<{K}" in text


def test_patient_level_figures_are_left_out(k11_run):
    figures = pd.read_csv(k11_run / "figures.csv")
    assert "swimmer" not in set(figures["kind"])
    assert not list((k11_run / "figures" / "swimmer").glob("*.png"))
    files = [p for p in (k11_run / "shareable").iterdir() if not p.name.startswith(".")]
    assert {p.suffix for p in files} == {".csv"}  # tables only: no figure is shareable
