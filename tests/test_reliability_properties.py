"""Property-based tests of the reader and the derivations (issue 13, hypothesis).

- Any byte sequence given to the reader yields data or an rwe input error, never another
  exception: as one file (``read_extract_file``) and as a site's ``patients.csv`` or long table
  through the whole validation (``check_site``).
- Any valid extract gives attrition counts that add up and derived flags that follow their
  definitions (DESIGN.md §4), recomputed here from the CSV as the site wrote it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rwe import derive
from rwe.exceptions import InputError
from rwe.io import read_extract_file
from rwe.simulate import simulate_site, write_site
from rwe.validate import check_site

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
#: Each example of a whole site is a validation of a small extract (~0.1 s).
SITE_SETTINGS = settings(SETTINGS, max_examples=60)

#: Header lines (of a mixed and of each long table) that take the text deep into validation.
HEADERS = [
    "patient_id,sex,age,day,response,gfr",
    "patient_id,day,response",
    "patient_id,term,grade,onset_day",
    "patient_id,day,test,value,unit",
]
#: Text that looks like a CSV of the contract: separators, quotes, line ends, BOMs, NA words.
CSV_PIECES = st.sampled_from(
    [
        ",",
        ";",
        "\t",
        '"',
        '""',
        "\n",
        "\r\n",
        "\r",
        " ",
        "\ufeff",
        "NA",
        "nan",
        "inf",
        "1",
        "-3",
        "2.5",
        "4,5",
        "P1",
        "M",
        "é",
        "\x00",
        "=",
        "patient_id",
        "age",
        "20230401",
        "9" * 25,
        "#N/A",
        "PR",
        "HGB",
        "g/dL",
        "Nausea",
        "SIM-h-0001",
        *HEADERS,
    ]
)
CSV_TEXT = st.lists(CSV_PIECES, max_size=60).map("".join)
ENCODINGS = st.sampled_from(["utf-8", "utf-8-sig", "cp1252", "utf-16", "latin-1"])


def _bytes_of(text: str, encoding: str) -> bytes:
    return text.encode(encoding, errors="replace")


def _read(raw: bytes):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "patients.csv"
        path.write_bytes(raw)
        try:
            table, fmt = read_extract_file(path)
        except InputError as err:
            refused = err
        else:
            assert isinstance(table, pd.DataFrame)
            assert fmt.separator in (",", ";", "\t")
            return
    assert refused.problems
    assert str(refused).startswith("The input extract has")


@SETTINGS
@given(st.binary(max_size=3000))
def test_any_bytes_give_a_table_or_an_input_error(raw):
    _read(raw)


@SETTINGS
@given(CSV_TEXT, ENCODINGS)
def test_any_csv_like_text_in_any_encoding_gives_a_table_or_an_input_error(text, encoding):
    _read(_bytes_of(text, encoding))


def _site_with(stem: str, raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        write_site(_SITE, Path(folder))
        (Path(folder) / f"{stem}.csv").write_bytes(raw)
        try:
            typed, *_ = check_site(folder, "s1")
        except InputError as err:
            refused = err
        else:
            assert "patients" in typed
            return
    assert refused.problems
    assert all(p.file.startswith("s1/") for p in refused.problems)
    assert str(refused).startswith("The input extract has")


_SITE = simulate_site(12, seed=5, site="h")


@SITE_SETTINGS
@given(st.sampled_from(["patients", "responses", "labs"]), st.binary(max_size=2000))
def test_any_bytes_as_a_site_file_validate_or_give_an_input_error(stem, raw):
    _site_with(stem, raw)


@SITE_SETTINGS
@given(st.sampled_from(["patients", "adverse_events"]), CSV_TEXT, ENCODINGS)
def test_any_csv_like_site_file_validates_or_gives_an_input_error(stem, text, encoding):
    _site_with(stem, _bytes_of(text, encoding))


_SITE_TEXT = {}


def _site_text(stem: str) -> str:
    """A valid file of the small site, as text (written once)."""
    if not _SITE_TEXT:
        with tempfile.TemporaryDirectory() as folder:
            write_site(_SITE, Path(folder))
            _SITE_TEXT.update({p.stem: p.read_text() for p in Path(folder).glob("*.csv")})
    return _SITE_TEXT[stem]


EDITS = st.lists(st.tuples(st.integers(0, 5000), st.integers(0, 20), CSV_PIECES), max_size=8)


@SITE_SETTINGS
@given(st.sampled_from(["patients", "responses", "adverse_events", "labs"]), EDITS, ENCODINGS)
def test_a_valid_site_file_with_any_edits_validates_or_gives_an_input_error(stem, edits, encoding):
    """A valid file with pieces cut out and put in anywhere (header, ids, days, quotes …)."""
    text = _site_text(stem)
    for position, cut, piece in edits:
        position %= max(len(text), 1)
        text = text[:position] + piece + text[position + cut :]
    _site_with(stem, _bytes_of(text, encoding))


# ------------------------------------------------------------------ valid extracts: derivations

VALID_EDITS = st.fixed_dictionaries(
    {
        "n": st.integers(min_value=3, max_value=40),
        "seed": st.integers(min_value=0, max_value=10_000),
        "untested": st.floats(min_value=0, max_value=1),  # share of FISH markers set blank
        "no_gfr": st.floats(min_value=0, max_value=1),
        "gfr_cutoff": st.sampled_from([30, 60, 70, 90.5]),
        "lines": st.lists(st.integers(min_value=1, max_value=30), min_size=1, max_size=5),
        "pfs_death_events": st.sampled_from(["all", "myeloma", "none"]),
    }
)


def _valid_extract(edits) -> dict[str, pd.DataFrame]:
    tables = simulate_site(edits["n"], seed=edits["seed"], site="v")
    patients = tables["patients"].copy()
    rng = np.random.default_rng(edits["seed"])
    for col in ("del17p", "t4_14", "gain1q21"):
        patients[col] = (
            patients[col].astype("Int64").mask(rng.random(len(patients)) < edits["untested"])
        )
    patients["gfr"] = patients["gfr"].mask(rng.random(len(patients)) < edits["no_gfr"])
    patients["prior_lines"] = np.resize(edits["lines"], len(patients))
    return {**tables, "patients": patients}


@settings(SETTINGS, max_examples=15)
@given(VALID_EDITS)
def test_valid_extracts_give_attrition_that_adds_up_and_flags_that_follow_their_rules(edits):
    tables = _valid_extract(edits)
    with tempfile.TemporaryDirectory() as folder:
        write_site(tables, Path(folder))
        raw = pd.read_csv(Path(folder) / "patients.csv", dtype={"patient_id": str})
        typed, *_ = check_site(folder, "v")
    derived = derive.derive_site(typed, edits["gfr_cutoff"], edits["pfs_death_events"])
    adsl, adtte = derived["adsl"], derived["adtte"]
    assert adsl["patient_id"].tolist() == raw["patient_id"].tolist()

    def flag(values):  # 0/1 with missing, as a list of 0, 1 or None
        return [None if pd.isna(v) else int(v) for v in values]

    imid, pi, cd38 = (raw[c] == 1 for c in ("refractory_imid", "refractory_pi", "refractory_cd38"))
    assert flag(adsl["triple_class_refractory"]) == flag(imid & pi & cd38)
    fish = raw[["del17p", "t4_14", "gain1q21"]]
    high = [
        1 if (row == 1).any() else 0 if (row == 0).all() else None for _, row in fish.iterrows()
    ]
    assert flag(adsl["high_risk_cyto"]) == high
    gfr = [None if pd.isna(g) else int(g <= edits["gfr_cutoff"]) for g in raw["gfr"]]
    assert flag(adsl["gfr_le70"]) == gfr
    assert flag(adsl["age_ge80"]) == flag(raw["age"] >= 80)
    assert flag(adsl["second_line"]) == flag(raw["prior_lines"] == 1)
    assert flag(adsl["more_than_3_lines"]) == flag(raw["prior_lines"] > 3)
    assert flag(adsl["imid_containing"]) == flag(
        raw["regimen"].isin(["Ixa-Rd", "Ixa-Pd", "Ixa-Td"])
    )
    ranks = {"sCR": 1, "CR": 1, "VGPR": 1, "PR": 1, "MR": 0, "SD": 0, "PD": 0}
    assert flag(adsl["responder"]) == [ranks.get(b) for b in adsl["best_response"]]

    # Every patient has one PFS and one OS row; events end at or before last follow-up.
    for endpoint in ("PFS", "OS"):
        rows = adtte[adtte["paramcd"] == endpoint]
        assert rows["patient_id"].tolist() == raw["patient_id"].tolist()
        assert set(rows["cnsr"].dropna().astype(int)) <= {0, 1}
        assert (rows["aval_days"].to_numpy() <= raw["last_followup_day"].to_numpy()).all()
    os_rows = adtte[adtte["paramcd"] == "OS"]
    assert (os_rows["cnsr"].to_numpy() == raw["death_day"].isna().to_numpy()).all()

    subgroups = ["second_line", "emd", "high_risk_cyto", "gfr_le70", "responder"]
    covariates = ["gfr_le70", "triple_class_refractory", "emd", "high_risk_cyto", "age_ge80"]
    attrition = derive.attrition(adsl, adtte, subgroups, covariates)
    assert (attrition["n_in"] - attrition["n_excluded"] == attrition["n_out"]).all()
    assert (attrition["n_in"] == len(raw)).all()
    assert (attrition["n_excluded"] >= 0).all()
    by_step = attrition.set_index("step")
    for name in dict.fromkeys(subgroups + covariates):
        assert by_step.loc[f"subgroup {name}", "n_excluded"] == adsl[name].isna().sum()
    complete = adsl[covariates].notna().all(axis=1).sum()
    assert by_step.loc["multivariable Cox (complete cases)", "n_out"] == complete
