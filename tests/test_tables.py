import numpy as np
import pandas as pd

from rwe.tables import (
    BASELINE_COLUMNS,
    BASELINE_TYPE,
    baseline_cell,
    baseline_display,
    baseline_table,
)


def _adsl():
    return pd.DataFrame(
        {
            "sex": ["M", "M", "F", "M"],
            "age": [60, 70, 80, 90],
            "gfr": [50.0, np.nan, 80.0, 100.0],
            "high_risk_cyto": pd.array([1, None, 0, 1], dtype="Int64"),
            "t4_14": pd.array([0, 0, 0, 0], dtype="Int64"),
            "regimen": ["Ixa-Rd", "Ixa-Rd", "Ixa-Pd", "Ixa-Rd"],
        }
    )


def test_baseline_counts_levels_of_known_values_and_counts_missing():
    table = baseline_table({"all": _adsl()})
    assert list(table.columns) == [*BASELINE_COLUMNS, BASELINE_TYPE]
    rows = table.set_index(["variable", "level"])
    assert rows.loc[("patients", "all"), "n"] == 4
    assert rows.loc[("sex", "M"), ["n", "N"]].tolist() == [3, 4]
    assert rows.loc[("sex", "M"), "percent"] == 75.0
    # Percent of those with a known value; the unknown are counted in their own row.
    assert rows.loc[("high_risk_cyto", "1"), ["n", "N", "percent"]].tolist() == [2, 3, 200 / 3]
    assert rows.loc[("high_risk_cyto", "missing"), ["n", "N"]].tolist() == [1, 4]
    assert np.isnan(rows.loc[("high_risk_cyto", "missing"), "percent"])
    assert rows.loc[("age", "all"), ["median", "min", "max"]].tolist() == [75.0, 60, 90]
    assert rows.loc[("gfr", "all"), ["n", "N", "median"]].tolist() == [3, 4, 80.0]
    assert rows.loc[("gfr", "missing"), "n"] == 1  # continuous variables count their missing too
    assert rows.loc[("t4_14", "1"), ["n", "percent"]].tolist() == [
        0,
        0.0,
    ]  # an empty level is a row
    assert rows.loc[("t4_14", "1"), BASELINE_TYPE] == "dichotomous"


def test_baseline_has_one_block_per_analysis_set_with_the_same_rows():
    adsl = _adsl()
    table = baseline_table({"all": adsl, "Ixa-Rd": adsl.iloc[:2]})
    assert table.groupby("analysis_set").size().index.tolist() == ["Ixa-Rd", "all"]
    rd = table[table["analysis_set"] == "Ixa-Rd"].set_index(["variable", "level"])
    assert rd.loc[("patients", "all"), "n"] == 2
    assert rd.loc[("regimen", "Ixa-Pd"), "n"] == 0  # every level of every set
    assert rd.loc[("high_risk_cyto", "missing"), "n"] == 1
    assert rd.loc[("gfr", "missing"), "n"] == 1  # a missing row where any set has one


def test_display_follows_gtsummary():
    adsl = _adsl()
    shown = baseline_display(baseline_table({"all": adsl, "Ixa-Rd": adsl.iloc[:2]}), gfr_cutoff=60)
    rows = shown.set_index("characteristic")
    assert rows.loc["Age, years", "all"] == "75 (60–90)"  # whole numbers stay whole
    assert rows.loc["t(4;14)", "all"] == "0 (0%)"  # one row for a 0/1 variable, zero as 0 (0%)
    assert rows.loc["Sex", "heading"]  # a categorical variable: heading then its levels
    assert rows.loc["Male", ["indent", "all"]].tolist() == [1, "3 (75%)"]
    assert rows.loc["High-risk cytogenetics", "all"] == "2 (66.7%)"
    unknown = shown[shown["characteristic"] == "Unknown"]
    assert len(unknown) == 2  # GFR and high-risk cytogenetics
    assert "Creatinine clearance (GFR), mL/min/1.73 m²" in rows.index
    assert "Patients" not in rows.index


def test_the_gfr_label_follows_the_configured_cutoff():
    adsl = _adsl().assign(gfr_le70=pd.array([1, 0, 0, 1], dtype="Int64"))
    shown = baseline_display(baseline_table({"all": adsl}), gfr_cutoff=45)
    assert "GFR ≤ 45 mL/min/1.73 m²" in set(shown["characteristic"])


def test_cells_show_suppressed_text_as_it_is():
    row = {
        "n": "<5",
        "N": 10,
        "percent": "suppressed",
        "median": np.nan,
        BASELINE_TYPE: "dichotomous",
    }
    assert baseline_cell(row) == "<5"
    row = {"n": 12, "median": 4.25, "min": 1.0, "max": 9.0, BASELINE_TYPE: "continuous"}
    assert baseline_cell(row) == "4.2 (1–9)"
