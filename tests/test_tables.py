import numpy as np
import pandas as pd

from rwe.tables import BASELINE_COLUMNS, baseline_table


def test_baseline_counts_levels_of_known_values_and_counts_missing():
    adsl = pd.DataFrame({
        "sex": ["M", "M", "F", "M"],
        "age": [60, 70, 80, 90],
        "gfr": [50.0, np.nan, 80.0, 100.0],
        "high_risk_cyto": pd.array([1, None, 0, 1], dtype="Int64"),
    })  # fmt: skip
    table = baseline_table({"all": adsl})
    assert list(table.columns) == BASELINE_COLUMNS
    rows = table.set_index(["variable", "level"])
    assert rows.loc[("patients", "all"), "n"] == 4
    assert rows.loc[("sex", "M"), ["n", "N"]].tolist() == [3, 4]
    assert rows.loc[("sex", "M"), "percent"] == 75.0
    # Percent of those with a known value; the unknown are counted in their own row.
    assert rows.loc[("high_risk_cyto", "1"), ["n", "N", "percent"]].tolist() == [2, 3, 200 / 3]
    assert rows.loc[("high_risk_cyto", "missing"), "n"] == 1
    assert rows.loc[("age", "all"), ["median", "min", "max"]].tolist() == [75.0, 60, 90]
    assert rows.loc[("gfr", "all"), ["n", "N", "median"]].tolist() == [3, 4, 80.0]


def test_baseline_has_one_block_per_analysis_set():
    adsl = pd.DataFrame({"sex": ["M", "F", "F"], "regimen": ["Ixa-Rd", "Ixa-Rd", "Ixa-Pd"]})
    table = baseline_table({"all": adsl, "Ixa-Rd": adsl.iloc[:2]})
    assert table.groupby("analysis_set").size().index.tolist() == ["Ixa-Rd", "all"]
    rd = table[(table["analysis_set"] == "Ixa-Rd") & (table["variable"] == "patients")]
    assert rd["n"].item() == 2
