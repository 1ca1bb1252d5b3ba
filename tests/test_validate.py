import pandas as pd
import pytest

from bad_extracts import CASES, SECRET_NAME, broken
from rwe.exceptions import InputError
from rwe.io import read_site
from rwe.simulate import write_site
from rwe.validate import apply_regimen_aliases, validate_extract


def _validate(folder, **kwargs):
    tables, _ = read_site(folder, "s1")
    return validate_extract({"s1": tables}, **kwargs)


def test_good_extract_passes_and_is_typed(site_folder):
    typed = _validate(site_folder)
    patients = typed["patients"]
    assert str(patients["age"].dtype) == "Int64"
    assert patients["gfr"].dtype == float
    assert set(typed) == {"patients", "responses", "adverse_events", "labs"}


@pytest.mark.parametrize(
    ("name", "break_it", "file", "column", "words"), CASES, ids=[c[0] for c in CASES]
)
def test_each_broken_rule_is_reported_with_file_row_and_column(
    tmp_path, demo_tables, name, break_it, file, column, words
):
    tables, row = broken(demo_tables, break_it)
    write_site(tables, tmp_path)
    with pytest.raises(InputError) as err:
        _validate(tmp_path)
    hits = [p for p in err.value.problems if p.file == f"s1/{file}" and p.column == column]
    assert hits, f"no problem for {file}/{column} in:\n{err.value}"
    assert any(words in p.message for p in hits), err.value
    if row is not None:
        assert row in {p.row for p in hits}
    message = str(err.value)
    assert f"s1/{file}" in message
    assert f"column '{column}'" in message


def test_issue_example_lists_all_four_problems_and_hides_the_name(tmp_path, demo_tables):
    """Duplicate id, a patient_name column, age 'abc' and death before progression: one message."""
    cases = {c[0]: c[1] for c in CASES}
    tables = {k: v.copy() for k, v in demo_tables.items()}
    for name in (
        "duplicate_id",
        "identifier_column",
        "age_not_a_number",
        "death_before_progression",
    ):
        cases[name](tables)
    write_site(tables, tmp_path)
    with pytest.raises(InputError) as err:
        _validate(tmp_path)
    message = str(err.value)
    assert "duplicate patient_id" in message
    assert "column 'patient_name': looks like a direct identifier" in message
    assert "column 'age': expected a whole number" in message
    assert "death is before progression_day" in message
    assert SECRET_NAME not in message
    # Identifier values are never echoed: no patient id appears in the message either.
    assert not any(pid in message for pid in demo_tables["patients"]["patient_id"])


def test_unknown_columns_are_refused_unless_allowed(tmp_path, demo_tables):
    tables = {k: v.copy() for k, v in demo_tables.items()}
    tables["patients"]["ecog"] = 1
    write_site(tables, tmp_path)
    with pytest.raises(InputError, match="not part of the input contract"):
        _validate(tmp_path)
    typed = _validate(tmp_path, allow_extra_columns=True)
    assert "ecog" not in typed["patients"].columns


def test_identifier_columns_are_refused_even_when_extra_columns_are_allowed(tmp_path, demo_tables):
    tables = {k: v.copy() for k, v in demo_tables.items()}
    tables["patients"]["mrn"] = "123"
    write_site(tables, tmp_path)
    with pytest.raises(InputError, match="identifier"):
        _validate(tmp_path, allow_extra_columns=True)


def test_regimen_aliases_map_site_spellings():
    patients = pd.DataFrame({"regimen": ["IRd", "ixa-pd", "Ixa-Td", None]})
    out = apply_regimen_aliases(patients, {"IRd": "Ixa-Rd"})
    assert out["regimen"].tolist()[:3] == ["Ixa-Rd", "Ixa-Pd", "Ixa-Td"]
    assert pd.isna(out["regimen"].iloc[3])


def test_alias_targets_extend_the_regimen_codes(tmp_path, demo_tables):
    tables = {k: v.copy() for k, v in demo_tables.items()}
    tables["patients"].loc[0, "regimen"] = "Ixa-KRd"
    write_site(tables, tmp_path)
    typed = _validate(tmp_path, regimen_aliases={"Ixa-KRd": "Ixa-KRd"})
    assert "Ixa-KRd" in set(typed["patients"]["regimen"])


def test_best_response_required_without_responses_file(tmp_path, demo_tables):
    tables = {"patients": demo_tables["patients"].drop(columns="best_response")}
    write_site(tables, tmp_path)
    with pytest.raises(InputError, match="best_response"):
        _validate(tmp_path)


def test_problems_of_several_sites_are_listed_together(tmp_path, demo_tables):
    for site, case in (("a", "age_not_a_number"), ("b", "unknown_sex")):
        tables, _ = broken(demo_tables, dict((c[0], c[1]) for c in CASES)[case])
        write_site(tables, tmp_path / site)
    raw = {site: read_site(tmp_path / site, site)[0] for site in ("a", "b")}
    with pytest.raises(InputError) as err:
        validate_extract(raw)
    files = {p.file for p in err.value.problems}
    assert {"a/patients.csv", "b/patients.csv"} <= files


def test_a_bad_value_on_many_rows_is_reported_on_each_row(tmp_path, demo_tables):
    """Checks run once per distinct value; every row holding a failing value is still named."""
    tables = {k: v.copy() for k, v in demo_tables.items()}
    labs = tables["labs"]
    labs["test"] = labs["test"].astype(object)
    labs.loc[[2, 5, 9], "test"] = "GLUCOSE"
    labs["day"] = labs["day"].astype(object)
    labs.loc[[3, 7], "day"] = "x"
    write_site(tables, tmp_path)
    with pytest.raises(InputError) as err:
        _validate(tmp_path)
    rows = {(p.column, p.row) for p in err.value.problems if p.file == "s1/labs.csv"}
    assert {("test", 3), ("test", 6), ("test", 10), ("day", 4), ("day", 8)} <= rows
    assert not any(p.column == "day" and "required" in p.message for p in err.value.problems)


def test_pooled_sites_keep_every_value(tmp_path, demo_tables):
    """Sites are pooled with their categorical texts merged (union of categories)."""
    for site in ("a", "b"):
        write_site(demo_tables, tmp_path / site)
    raw = {site: read_site(tmp_path / site, site)[0] for site in ("a", "b")}
    labs = validate_extract(raw)["labs"]
    n = len(demo_tables["labs"])
    assert len(labs) == 2 * n
    assert labs["site"].astype(object).tolist() == ["a"] * n + ["b"] * n
    expected = demo_tables["labs"]["test"].astype(str).tolist() * 2
    assert labs["test"].astype(object).tolist() == expected
