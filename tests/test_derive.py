"""One test per derivation rule of DESIGN.md §4 (in the manner of admiral's rule tests)."""

import numpy as np
import pandas as pd
import pytest

from rwe import derive


def _adsl(**cols):
    n = len(next(iter(cols.values())))
    base = {"site": ["s"] * n, "patient_id": [f"p{i}" for i in range(n)]}
    return pd.DataFrame({**base, **cols})


def _flags(values):
    return pd.array(values, dtype="Int64")


def test_rule_1_triple_class_refractory():
    adsl = _adsl(
        refractory_imid=[1, 1, 0, 1], refractory_pi=[1, 1, 1, 1], refractory_cd38=[1, 0, 1, 1]
    )
    assert derive.derive_triple_class_refractory(adsl).tolist() == [1, 0, 0, 1]


@pytest.mark.parametrize(
    ("del17p", "t4_14", "gain1q21", "expected"),
    [
        (1, 0, 0, 1),  # any abnormality -> high risk
        (None, None, 1, 1),  # one positive is enough even when others untested
        (0, 0, 0, 0),  # all three tested and normal -> standard risk
        (0, None, 0, None),  # not all tested, none positive -> unknown
        (None, None, None, None),  # not tested -> unknown
    ],
)
def test_rule_2_high_risk_cyto_with_missing_fish(del17p, t4_14, gain1q21, expected):
    adsl = _adsl(del17p=_flags([del17p]), t4_14=_flags([t4_14]), gain1q21=_flags([gain1q21]))
    got = derive.derive_high_risk_cyto(adsl).iloc[0]
    assert (pd.isna(got) and expected is None) or got == expected


def test_rule_3_gfr_le70_uses_the_cutoff_inclusively_and_keeps_missing():
    adsl = _adsl(gfr=[70.0, 70.5, 12.0, np.nan])
    assert derive.derive_gfr_le70(adsl).tolist()[:3] == [1, 0, 1]
    assert pd.isna(derive.derive_gfr_le70(adsl).iloc[3])
    assert derive.derive_gfr_le70(adsl, cutoff=60).tolist()[:3] == [0, 0, 1]


def test_rule_4_age_ge80():
    assert derive.derive_age_ge80(_adsl(age=_flags([79, 80, 90]))).tolist() == [0, 1, 1]


def test_rule_5_and_6_lines_of_therapy():
    adsl = _adsl(prior_lines=_flags([1, 2, 3, 4, 13]))
    assert derive.derive_second_line(adsl).tolist() == [1, 0, 0, 0, 0]
    assert derive.derive_more_than_3_lines(adsl).tolist() == [0, 0, 0, 1, 1]


def test_rule_7_imid_containing():
    adsl = _adsl(regimen=["Ixa-Rd", "Ixa-Pd", "Ixa-Td", "Ixa-d", "Ixa-Dd", "Ixa"])
    assert derive.derive_imid_containing(adsl).tolist() == [1, 1, 1, 0, 0, 0]


def test_rule_8_responder_is_missing_for_not_evaluable():
    best = pd.Series(["sCR", "CR", "VGPR", "PR", "MR", "SD", "PD", "NE", None])
    got = derive.derive_responder(best)
    assert got.tolist()[:7] == [1, 1, 1, 1, 0, 0, 0]
    assert got.iloc[7:].isna().all()


def _responses(*seq):
    return pd.DataFrame(
        [("s", pid, day, resp) for pid, pairs in seq for day, resp in pairs],
        columns=["site", "patient_id", "day", "response"],
    )


def test_best_response_needs_two_consecutive_assessments():
    responses = _responses(
        ("confirmed", [(28, "PR"), (56, "VGPR"), (84, "VGPR"), (112, "PD")]),
        ("unconfirmed", [(28, "MR"), (56, "CR"), (84, "PD")]),  # CR once: MR confirmed? no
        ("single", [(28, "VGPR")]),
        ("progressor", [(28, "PD"), (56, "PD")]),
        ("after_pd", [(28, "SD"), (56, "PD"), (84, "CR"), (112, "CR")]),
    )
    best = derive.compute_best_response(responses).set_index("patient_id")["best_response"]
    assert best["confirmed"] == "VGPR"
    # MR then CR: both at least MR -> MR confirmed; CR not confirmed.
    assert best["unconfirmed"] == "MR"
    assert best["single"] == "SD"  # an unconfirmed response counts as stable disease
    assert best["progressor"] == "PD"
    assert best["after_pd"] == "SD"  # nothing after progression counts


def test_a_response_is_known_from_the_assessment_that_confirms_it():
    """First response = first assessment at PR or better (start of DOR); confirmation = the
    later assessment of the first two consecutive ones at PR or better (no look-ahead)."""
    responses = _responses(
        ("pair", [(28, "SD"), (56, "PR"), (84, "VGPR"), (112, "PD")]),
        ("gap", [(28, "PR"), (56, "SD"), (84, "PR"), (112, "PR")]),
        ("mr", [(28, "MR"), (56, "MR")]),
    )
    out = derive.compute_best_response(responses).set_index("patient_id")
    assert out.loc["pair", ["first_response_day", "response_confirmed_day"]].tolist() == [56, 84]
    # The PR on day 28 is not confirmed (SD follows); the pair on days 84 and 112 is.
    assert out.loc["gap", ["first_response_day", "response_confirmed_day"]].tolist() == [28, 112]
    assert out.loc["mr", ["first_response_day", "response_confirmed_day"]].isna().all()


def _outcomes():
    # p0 progresses day 100 then dies; p1 dies of myeloma without progression day 200;
    # p2 dies of another cause day 150; p3 alive, censored at last assessment 300 (< fu 330);
    # p4 alive, last assessment blank -> last follow-up 400; p5 dies of unknown cause day 50.
    return _adsl(
        progression_day=_flags([100, None, None, None, None, None]),
        last_assessment_day=_flags([100, 180, 140, 300, None, 40]),
        death_day=_flags([250, 200, 150, None, None, 50]),
        death_cause=["myeloma", "myeloma", "other", None, None, "unknown"],
        last_followup_day=_flags([250, 200, 150, 330, 400, 50]),
    )


@pytest.mark.parametrize(
    ("option", "days", "cnsr"),
    [
        ("all", [100, 200, 150, 300, 400, 50], [0, 0, 0, 1, 1, 0]),
        ("myeloma", [100, 200, 150, 300, 400, 50], [0, 0, 1, 1, 1, 0]),
        ("none", [100, 200, 150, 300, 400, 50], [0, 1, 1, 1, 1, 1]),
    ],
)
def test_pfs_death_events_options(option, days, cnsr):
    pfs = derive.derive_pfs(_outcomes(), option)
    assert pfs["aval_days"].tolist() == days
    assert pfs["cnsr"].tolist() == cnsr
    assert np.allclose(pfs["aval"], np.array(days) / 30.4375)
    assert (pfs["paramcd"] == "PFS").all()


def test_pfs_myeloma_rule_reads_a_categorical_cause_of_death():
    """Validation may type death_cause as categorical; the myeloma rule (now always derived, as
    the primary or a sensitivity definition) reads it as the text column."""
    adsl = _outcomes()
    adsl["death_cause"] = adsl["death_cause"].where(adsl["death_cause"] != "unknown")  # blank
    categorical = adsl.assign(death_cause=adsl["death_cause"].astype("category"))
    assert "unknown" not in categorical["death_cause"].cat.categories
    expected = derive.derive_pfs(adsl, "myeloma")
    assert derive.derive_pfs(categorical, "myeloma")["cnsr"].tolist() == expected["cnsr"].tolist()


def test_pfs_death_events_rejects_unknown_option():
    with pytest.raises(ValueError, match="pfs_death_events"):
        derive.derive_pfs(_outcomes(), "some")


def test_os_is_death_from_any_cause_censored_at_last_followup():
    os_ = derive.derive_os(_outcomes())
    assert os_["aval_days"].tolist() == [250, 200, 150, 330, 400, 50]
    assert os_["cnsr"].tolist() == [0, 0, 0, 1, 1, 0]


def test_adtte_has_one_row_per_patient_and_endpoint():
    adtte = derive.derive_adtte(_outcomes())
    assert len(adtte) == 18
    # Primary PFS (all deaths), OS, and PFS under the paper's rule as a sensitivity definition.
    assert adtte.groupby("paramcd").size().to_dict() == {"OS": 6, "PFS": 6, "PFSMYE": 6}
    assert adtte["paramcd"].drop_duplicates().tolist() == ["PFS", "OS", "PFSMYE"]


@pytest.mark.parametrize(
    ("primary", "sensitivity"),
    [
        ("all", {"PFSMYE": "myeloma"}),
        ("myeloma", {"PFSALL": "all"}),
        ("none", {"PFSALL": "all", "PFSMYE": "myeloma"}),
    ],
)
def test_adtte_holds_pfs_under_each_rule_the_primary_is_not(primary, sensitivity):
    adtte = derive.derive_adtte(_outcomes(), primary).set_index("paramcd")
    expected = {"PFS": primary, **sensitivity}
    assert set(adtte.index.unique()) == {"OS", *expected}
    for paramcd, rule in expected.items():
        pfs = derive.derive_pfs(_outcomes(), rule)
        assert adtte.loc[paramcd, "cnsr"].tolist() == pfs["cnsr"].tolist()
        assert adtte.loc[paramcd, "aval_days"].tolist() == pfs["aval_days"].tolist()


def test_derive_adsl_prefers_serial_assessments_per_site(demo_tables):
    patients = demo_tables["patients"].assign(site="t")
    patients.loc[0, "best_response"] = "CR"  # disagrees with the assessments
    responses = demo_tables["responses"].assign(site="t")
    adsl = derive.derive_adsl(patients, responses)
    assert (adsl["best_response_source"] == "responses.csv").all()
    expected = derive.compute_best_response(responses).set_index("patient_id")["best_response"]
    pid = patients.loc[0, "patient_id"]
    assert adsl.loc[0, "best_response"] == expected.get(pid, "NE")
    for flag in (
        "triple_class_refractory",
        "high_risk_cyto",
        "gfr_le70",
        "age_ge80",
        "second_line",
        "more_than_3_lines",
        "imid_containing",
        "responder",
    ):
        assert str(adsl[flag].dtype) == "Int64", flag


def test_derive_adsl_without_responses_keeps_reported_best_response(demo_tables):
    patients = demo_tables["patients"].assign(site="t")
    adsl = derive.derive_adsl(patients, None)
    assert adsl["best_response"].tolist() == patients["best_response"].tolist()
    assert (adsl["best_response_source"] == "patients.csv").all()


def test_analysis_sets_keep_regimens_above_the_threshold():
    adsl = _adsl(regimen=["Ixa-Rd"] * 25 + ["Ixa-Pd"] * 21 + ["Ixa-Td"] * 20)
    sets = derive.analysis_sets(adsl, min_regimen_n=20)
    assert list(sets) == ["all", "Ixa-Rd", "Ixa-Pd"]
    assert len(sets["all"]) == 66
    assert len(sets["Ixa-Pd"]) == 21


def test_attrition_counts_every_excluded_patient_with_a_reason():
    adsl = _adsl(
        best_response=["PR", "NE", None, "SD"],
        gfr_le70=_flags([1, None, 0, 1]),
        emd=_flags([0, 0, None, None]),
    )
    adtte = derive.derive_adtte(
        _adsl(
            progression_day=_flags([None] * 4),
            last_assessment_day=_flags([10] * 4),
            death_day=_flags([None] * 4),
            death_cause=[None] * 4,
            last_followup_day=_flags([10] * 4),
        )
    )
    table = derive.attrition(adsl, adtte, ["gfr_le70"], ["gfr_le70", "emd"])
    rows = table.set_index("step")
    assert rows.loc["response analysis", "n_excluded"] == 2
    assert rows.loc["subgroup gfr_le70", "n_out"] == 3
    assert rows.loc["multivariable Cox (complete cases)", "n_out"] == 1
    assert (table["n_in"] - table["n_excluded"] == table["n_out"]).all()
    assert (table.loc[table["n_excluded"] > 0, "reason"] != "").all()
