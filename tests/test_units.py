import pandas as pd
import pytest

from rwe import units
from rwe.exceptions import InputError


def _labs(rows):
    df = pd.DataFrame(rows, columns=["patient_id", "day", "test", "value", "unit"])
    return df.assign(site="s", _row=range(1, len(df) + 1))


def test_units_are_harmonised():
    labs = _labs([("a", 1, "HGB", 95.0, "g/L"), ("a", 1, "PLT", 120, "10^3/µL"), ("a", 1, "ANC", 1.2, "G/L"),
                  ("a", 1, "SPEP_M", 2.0, "g/dL")])  # fmt: skip
    out = units.harmonise_lab_units(labs)
    assert out["value"].tolist() == pytest.approx([9.5, 120, 1.2, 2.0])
    assert out["unit"].tolist()[:3] == ["g/dL", "10^9/L", "10^9/L"]


@pytest.mark.parametrize("unit", ["10^9/L", "x10^9/L", "×10^9/L", "10E9/L", "10**9/L", "10^3/µL", "10^3/μL",
                                  "10^3/uL", "G/L", "Gpt/L", " /nL "])  # fmt: skip
def test_count_unit_spellings_are_one_unit(unit):
    out = units.harmonise_lab_units(_labs([("a", 1, "PLT", 120.0, unit)]))
    assert (out["value"].iloc[0], out["unit"].iloc[0]) == (120.0, "10^9/L")


def test_unknown_units_are_all_listed_with_their_rows():
    labs = _labs(
        [
            ("a", 1, "HGB", 9.5, "mmol/L"),
            ("b", 2, "PLT", 100, "10^9/L"),
            ("c", 3, "ANC", 1.0, "cells"),
        ]
    )
    with pytest.raises(InputError) as err:
        units.harmonise_lab_units(labs, "s/labs.csv")
    rows = {(p.row, p.column) for p in err.value.problems}
    assert rows == {(1, "unit"), (3, "unit")}
    assert "s/labs.csv" in str(err.value)
    assert "b" not in {p.message for p in err.value.problems}
