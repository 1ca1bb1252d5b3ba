"""IMWG 2016 response from laboratory values: one hand-built case per rule and boundary.

Each test builds a patient's labs (baseline on day -1, then assessments) and checks the
category, the confirmation or the best overall response that Kumar et al. (Lancet Oncol
2016, Table 3 and footnotes) prescribe.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rwe import imwg
from rwe.exceptions import InputError
from rwe.simulate import simulate_site

CRIT = imwg.criteria("2016")


def labs(baseline: dict, *visits: dict, pid: str = "p") -> pd.DataFrame:
    """Response labs of one patient: ``baseline`` on day -1, then one visit every 28 days."""
    rows = [("s", pid, -1, test, value) for test, value in baseline.items()]
    for i, visit in enumerate(visits):
        rows += [("s", pid, 28 * (i + 1), test, value) for test, value in visit.items()]
    return pd.DataFrame(rows, columns=["site", "patient_id", "day", "test", "value"])


def categories(baseline: dict, *visits: dict) -> list[str]:
    """The unconfirmed category of each assessment."""
    return imwg.classify_assessments(labs(baseline, *visits), CRIT)["category"].tolist()


def disease(baseline: dict) -> str:
    return imwg.baseline_disease(labs(baseline), CRIT)["disease"].iloc[0]


def flc(involved: float, uninvolved: float = 10.0) -> dict:
    """FLC of a κ clone: the ratio is involved / uninvolved (dFLC = involved - uninvolved)."""
    return {"FLC_involved": involved, "FLC_ratio": involved / uninvolved}


SERUM = {"SPEP_M": 4.0, "IFE": 1}
CR_LABS = {"SPEP_M": 0.0, "IFE": 0, "BMPC": 2}


# --- measurable disease --------------------------------------------------------------------


def test_serum_m_protein_is_measurable_from_1_g_dl():
    assert disease({"SPEP_M": 1.0}) == "M-protein"
    assert disease({"SPEP_M": 0.99}) == "none"


def test_urine_m_protein_is_measurable_from_200_mg_per_24h():
    assert disease({"UPEP_M": 200}) == "M-protein"
    assert disease({"UPEP_M": 199}) == "none"


def test_flc_only_disease_needs_involved_flc_100_mg_l_and_an_abnormal_ratio():
    assert disease(flc(100)) == "FLC"  # ratio 10
    assert disease({"FLC_involved": 100, "FLC_ratio": 1.65}) == "none"  # normal ratio
    assert disease({"FLC_involved": 99, "FLC_ratio": 9.9}) == "none"
    assert disease({"SPEP_M": 1.5, **flc(500)}) == "M-protein"  # M-protein takes precedence


def test_marrow_only_disease_needs_30_percent_plasma_cells():
    assert disease({"BMPC": 30}) == "marrow"
    assert disease({"BMPC": 29}) == "none"


def test_patient_without_measurable_disease_is_not_evaluable():
    adrs = imwg.derive_adrs_imwg(labs({"SPEP_M": 0.5}, {"SPEP_M": 0.1}, {"SPEP_M": 0.1}))
    assert adrs["paramcd"].tolist() == ["BOR"]
    assert adrs["avalc"].tolist() == ["NE"]


# --- serum and urine M-protein categories --------------------------------------------------


@pytest.mark.parametrize(
    ("spep", "expected"),
    [
        (3.04, "SD"),  # 24 % reduction
        (3.0, "MR"),  # 25 %
        (2.04, "MR"),  # 49 %
        (2.0, "PR"),  # 50 %
        (0.44, "PR"),  # 89 %
        (0.4, "VGPR"),  # 90 %
    ],
)
def test_serum_reduction_boundaries_of_mr_pr_vgpr(spep, expected):
    assert categories(SERUM, {"SPEP_M": spep, "IFE": 1}) == [expected]


def test_non_measurable_serum_with_measurable_urine_follows_the_urine():
    base = {"SPEP_M": 0.6, "UPEP_M": 1000, "IFE": 1}
    visits = [{"SPEP_M": 0.6, "UPEP_M": u, "IFE": 1} for u in (600, 400, 190, 90)]
    # 40 % (SD), 60 % (MR), below 200 mg/24 h (PR), below 100 (VGPR); serum unchanged
    assert categories(base, *visits) == ["SD", "MR", "PR", "VGPR"]


def test_mr_needs_urine_reduced_by_50_percent_when_urine_is_measurable():
    base = {"SPEP_M": 4.0, "UPEP_M": 1000, "IFE": 1}
    assert categories(base, {"SPEP_M": 2.8, "UPEP_M": 600}) == ["SD"]
    assert categories(base, {"SPEP_M": 2.8, "UPEP_M": 500}) == ["MR"]


def test_pr_needs_urine_reduced_by_90_percent_or_below_200_mg():
    base = {"SPEP_M": 4.0, "UPEP_M": 3000, "IFE": 1}
    assert categories(base, {"SPEP_M": 1.6, "UPEP_M": 300}) == ["PR"]  # 90 %
    assert categories(base, {"SPEP_M": 1.6, "UPEP_M": 310}) == ["MR"]  # 89.7 %, ≥ 200
    assert categories({**base, "UPEP_M": 1000}, {"SPEP_M": 1.6, "UPEP_M": 199}) == ["PR"]


def test_vgpr_needs_urine_below_100_mg():
    base = {"SPEP_M": 4.0, "UPEP_M": 3000, "IFE": 1}
    assert categories(base, {"SPEP_M": 0.2, "UPEP_M": 100}) == ["PR"]
    assert categories(base, {"SPEP_M": 0.2, "UPEP_M": 99}) == ["VGPR"]


def test_measured_urine_must_meet_absolute_limits_even_when_not_measurable():
    base = {"SPEP_M": 4.0, "UPEP_M": 150, "IFE": 1}
    assert categories(base, {"SPEP_M": 0.2, "UPEP_M": 120}) == ["PR"]  # VGPR needs < 100
    assert categories(base, {"SPEP_M": 0.2}) == ["VGPR"]  # not measured: not required


def test_the_overall_category_is_the_lowest_of_serum_and_urine():
    base = {"SPEP_M": 4.0, "UPEP_M": 3000, "IFE": 1}
    assert categories(base, {"SPEP_M": 0.2, "UPEP_M": 1400}) == ["MR"]  # VGPR serum, MR urine


# --- CR and sCR ----------------------------------------------------------------------------


def test_cr_needs_negative_immunofixation():
    assert categories(SERUM, {**CR_LABS, "IFE": 1}) == ["VGPR"]
    assert categories(SERUM, CR_LABS) == ["CR"]


def test_cr_needs_marrow_plasma_cells_below_5_percent():
    assert categories(SERUM, {**CR_LABS, "BMPC": 5}) == ["VGPR"]
    assert categories(SERUM, {**CR_LABS, "BMPC": 4.9}) == ["CR"]


def test_cr_without_a_marrow_on_treatment_is_downgraded_to_vgpr():
    no_marrow = {"SPEP_M": 0.0, "IFE": 0}
    assert categories({**SERUM, "BMPC": 1}, no_marrow) == ["VGPR"]  # baseline marrow not used


def test_marrow_is_carried_forward_to_later_assessments():
    assert categories(SERUM, CR_LABS, {"SPEP_M": 0.0, "IFE": 0}) == ["CR", "CR"]


def test_cr_needs_no_m_protein_on_electrophoresis():
    assert categories(SERUM, {**CR_LABS, "SPEP_M": 0.1}) == ["VGPR"]


@pytest.mark.parametrize(
    ("ratio", "marrow", "expected"),
    [
        (1.0, 0, "sCR"),
        (0.26, 0, "sCR"),  # limits of the normal ratio are normal
        (1.65, 0, "sCR"),
        (1.66, 0, "CR"),  # abnormal FLC ratio
        (0.25, 0, "CR"),
        (1.0, 1, "CR"),  # clonal plasma cells in the marrow
    ],
)
def test_scr_needs_a_normal_flc_ratio_and_no_clonal_plasma_cells(ratio, marrow, expected):
    visit = {**CR_LABS, "BMPC": marrow, "FLC_involved": 12.0, "FLC_ratio": ratio}
    assert categories(SERUM, visit) == [expected]


def test_scr_needs_a_measured_flc_ratio():
    assert categories(SERUM, {**CR_LABS, "BMPC": 0}) == ["CR"]


# --- FLC-only and marrow-only disease ------------------------------------------------------

FLC_BASE = {**flc(1610), "IFE": 1}  # dFLC 1600 mg/L


@pytest.mark.parametrize(
    ("involved", "expected"),
    [
        (1130, "SD"),  # dFLC 1120: 30 % (MR does not exist for FLC-only disease)
        (826, "SD"),  # 49 %
        (810, "PR"),  # 50 %
        (170, "PR"),  # 90 %: VGPR needs more than 90 %
        (154, "VGPR"),  # 91 %
    ],
)
def test_flc_only_disease_reduction_boundaries(involved, expected):
    assert categories(FLC_BASE, {**flc(involved), "IFE": 1}) == [expected]


def test_flc_only_cr_needs_a_normal_flc_ratio():
    visit = {"IFE": 0, "BMPC": 2, **flc(20)}  # ratio 2: abnormal
    assert categories(FLC_BASE, visit) == ["VGPR"]
    assert categories(FLC_BASE, {**visit, **flc(12)}) == ["CR"]


def test_lambda_clone_dflc_uses_the_inverse_ratio():
    base = {"FLC_involved": 410.0, "FLC_ratio": 10 / 410, "IFE": 1}  # λ 410, κ 10: dFLC 400
    visit = {"FLC_involved": 210.0, "FLC_ratio": 10 / 210, "IFE": 1}  # dFLC 200: 50 %
    assert categories(base, visit) == ["PR"]


def test_marrow_only_pr_needs_plasma_cells_halved():
    base = {"BMPC": 40, "IFE": 1}
    assert categories(base, {"BMPC": 21, "IFE": 1}) == ["SD"]
    assert categories(base, {"BMPC": 20, "IFE": 1}) == ["PR"]


# --- progression ---------------------------------------------------------------------------


def test_pd_serum_needs_25_percent_and_0_5_g_dl_increase():
    assert categories({"SPEP_M": 1.6, "IFE": 1}, {"SPEP_M": 2.0}) == ["SD"]  # 25 %, +0.4
    assert categories({"SPEP_M": 2.0, "IFE": 1}, {"SPEP_M": 2.49}) == ["SD"]  # 24.5 %
    assert categories({"SPEP_M": 2.0, "IFE": 1}, {"SPEP_M": 2.5}) == ["PD"]  # 25 %, +0.5


def test_pd_serum_increase_of_1_g_dl_alone_when_nadir_is_at_least_5():
    assert categories({"SPEP_M": 6.0, "IFE": 1}, {"SPEP_M": 7.0}) == ["PD"]  # 16.7 %, +1
    assert categories({"SPEP_M": 6.0, "IFE": 1}, {"SPEP_M": 6.99}) == ["SD"]
    assert categories({"SPEP_M": 4.9, "IFE": 1}, {"SPEP_M": 5.9}) == ["SD"]  # nadir < 5


def test_pd_urine_needs_25_percent_and_200_mg_increase():
    base = {"UPEP_M": 700, "IFE": 1}
    assert categories(base, {"UPEP_M": 899}) == ["SD"]
    assert categories(base, {"UPEP_M": 900}) == ["PD"]


def test_pd_dflc_needs_an_increase_above_100_mg_l():
    base = {**flc(410), "IFE": 1}  # dFLC 400
    assert categories(base, {**flc(510)}) == ["SD"]  # +100 (25 %): not more than 100
    assert categories(base, {**flc(511)}) == ["PD"]


def test_pd_dflc_only_without_measurable_m_protein():
    base = {"SPEP_M": 4.0, "IFE": 1, **flc(410)}
    assert categories(base, {"SPEP_M": 4.0, **flc(2000)}) == ["SD"]


def test_pd_marrow_needs_10_points_only_when_nothing_else_is_measurable():
    assert categories({"BMPC": 40}, {"BMPC": 49}) == ["SD"]
    assert categories({"BMPC": 40}, {"BMPC": 50}) == ["PD"]


def test_pd_is_measured_from_the_nadir_not_the_baseline():
    base = {"SPEP_M": 4.0, "IFE": 1}
    visits = [{"SPEP_M": v} for v in (1.0, 1.0, 1.6)]
    # 1.6 is a 60 % reduction from baseline (PR) but a 60 % rise (+0.6) from the nadir 1.0
    assert categories(base, *visits) == ["PR", "PR", "PD"]


def test_nadir_is_the_lowest_confirmed_value():
    base = {"SPEP_M": 4.0, "IFE": 1}
    # 1.0 is not confirmed (the next value is 2.0): the nadir is 2.0, and 2.4 is +20 %
    assert categories(base, *[{"SPEP_M": v} for v in (1.0, 2.0, 2.4)]) == ["PR", "PR", "MR"]


def test_positive_immunofixation_alone_after_cr_is_not_progression():
    assert categories(SERUM, CR_LABS, {"SPEP_M": 0.0, "IFE": 1}) == ["CR", "VGPR"]


def test_new_m_protein_after_cr_is_progression():
    assert categories(SERUM, CR_LABS, {"SPEP_M": 0.0}, {"SPEP_M": 0.5}) == ["CR", "VGPR", "PD"]


def test_confirmed_nadir_pairs_consecutive_values():
    values = np.array([3.0, 1.0, 2.0, 1.5, 1.5, 9.0])
    group = np.zeros(6, dtype=int)
    nadir = imwg.confirmed_nadir(values, group, np.full(6, 4.0))
    np.testing.assert_array_equal(nadir, [4.0, 4.0, 3.0, 2.0, 2.0, 1.5])


# --- confirmation and best overall response -------------------------------------------------


def assessments(*categories: str, pid: str = "p") -> pd.DataFrame:
    days = [28 * (i + 1) for i in range(len(categories))]
    return pd.DataFrame({"site": "s", "patient_id": pid, "day": days, "category": categories})


def best(*categories: str, confirmations: int = 2) -> pd.Series:
    confirmed = imwg.confirm_assessments(assessments(*categories), confirmations)
    return imwg.best_overall_response(confirmed).iloc[0]


def test_unconfirmed_pr_is_not_a_response():
    assert best("SD", "PR", "SD")["best_response"] == "SD"
    assert best("SD", "PR")["best_response"] == "SD"  # no assessment after it


def test_pr_confirmed_by_the_next_assessment_dates_the_first_response():
    result = best("SD", "PR", "PR", "SD")
    assert result["best_response"] == "PR"
    assert result["first_response_day"] == 56  # the first of the two assessments


def test_confirmed_level_is_the_worse_of_consecutive_assessments():
    assert best("VGPR", "PR", "PR")["best_response"] == "PR"
    assert best("VGPR", "PR", "VGPR", "VGPR")["best_response"] == "VGPR"


def test_a_response_is_known_on_the_last_of_its_confirming_assessments():
    result = best("SD", "PR", "PR", "SD")
    assert (result["first_response_day"], result["response_confirmed_day"]) == (56, 84)
    result = best("PR", "VGPR", "PR", "SD", confirmations=3)
    assert (result["first_response_day"], result["response_confirmed_day"]) == (28, 84)
    assert np.isnan(best("SD", "PR", "SD")["response_confirmed_day"])


def test_mr_is_confirmed_but_is_not_a_first_response():
    result = best("MR", "MR", "SD")
    assert result["best_response"] == "MR"
    assert np.isnan(result["first_response_day"])


def test_confirmed_progression_ends_the_best_response_window():
    result = best("PD", "PD", "PR", "PR")
    assert result["best_response"] == "PD"
    assert result["progression_day"] == 28


def test_unconfirmed_progression_does_not_end_the_line():
    result = best("PR", "PD", "PR", "PR")
    assert result["best_response"] == "PR"
    assert np.isnan(result["progression_day"])


def test_single_unconfirmed_progression_is_not_evaluable():
    assert best("PD")["best_response"] == "NE"


def test_progression_after_response_keeps_the_best_confirmed_response():
    result = best("PR", "PR", "PD", "PD")
    assert (result["best_response"], result["progression_day"]) == ("PR", 84)


def test_one_confirmation_counts_every_assessment():
    assert best("SD", "PR", "SD", confirmations=1)["best_response"] == "PR"
    assert best("PD", confirmations=1)["best_response"] == "PD"


def test_three_confirmations_need_three_consecutive_assessments():
    assert best("PR", "PR", "SD", confirmations=3)["best_response"] == "SD"
    assert best("PR", "PR", "PR", confirmations=3)["best_response"] == "PR"


def test_confirmed_flag_of_each_assessment():
    confirmed = imwg.confirm_assessments(assessments("PR", "PR", "SD", "PD", "PD"), 2)
    assert confirmed["confirmed"].tolist() == [1, 0, pd.NA, 1, 0]


def test_patients_are_confirmed_separately():
    frame = pd.concat([assessments("PR", pid="a"), assessments("PR", "PR", pid="b")])
    result = imwg.best_overall_response(imwg.confirm_assessments(frame, 2))
    assert result.set_index("patient_id")["best_response"].to_dict() == {"a": "SD", "b": "PR"}


def test_adrs_derived_has_assessment_best_response_first_response_and_progression_rows():
    visits = [{"SPEP_M": v, "IFE": 1} for v in (1.5, 1.5, 2.2, 2.3)]
    adrs = imwg.derive_adrs_imwg(labs(SERUM, *visits))
    by = adrs.set_index("paramcd")
    assert list(adrs.columns) == imwg.ADRS_DERIVED_COLUMNS
    assert by.loc["BOR", "avalc"] == "PR"
    assert (by.loc["RSP", "day"], by.loc["RSP", "avalc"]) == (28, "PR")
    assert (by.loc["RSPCONF", "day"], by.loc["RSPCONF", "avalc"]) == (56, "PR")
    assert by.loc["PD", "day"] == 84
    assert adrs.loc[adrs["paramcd"] == "OVR", "avalc"].tolist() == ["PR", "PR", "PD", "PD"]
    summary = imwg.patient_response(adrs).iloc[0]
    assert (summary["first_response_day"], summary["progression_day"]) == (28, 84)
    assert summary["response_confirmed_day"] == 56
    assert summary["last_assessment_day"] == 112


def test_criteria_version_is_checked():
    with pytest.raises(ValueError, match="imwg.criteria"):
        imwg.criteria("2099")


# --- units ---------------------------------------------------------------------------------


def raw_labs(unit: str, test: str = "SPEP_M", value: float = 30.0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "site": "s",
            "patient_id": "p",
            "day": [-1],
            "test": [test],
            "value": [value],
            "unit": [unit],
            "_row": [7],
        }
    )


def test_response_lab_units_are_harmonised():
    assert imwg.response_labs(raw_labs("g/L"))["value"].tolist() == [3.0]
    assert imwg.response_labs(raw_labs("mg/dL", "FLC_involved", 12))["value"].tolist() == [120]
    assert imwg.response_labs(raw_labs("g/24 h", "UPEP_M", 0.5))["value"].tolist() == [500]


def test_unknown_unit_is_an_input_error_naming_the_row():
    with pytest.raises(InputError) as err:
        imwg.response_labs(raw_labs("mmol/L"), "s/labs.csv")
    (problem,) = err.value.problems
    assert (problem.file, problem.row, problem.column) == ("s/labs.csv", 7, "unit")


def test_immunofixation_must_be_0_or_1():
    with pytest.raises(InputError, match="IFE must be"):
        imwg.response_labs(raw_labs("0/1", "IFE", 2))


# --- response source, agreement, duration of response ---------------------------------------


def adsl_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "site": "s",
            "patient_id": ["a", "b", "c"],
            "best_response": ["PR", "SD", "CR"],
            "best_response_source": "responses.csv",
            "first_response_day": pd.array([56, pd.NA, 28], dtype="Int64"),
            "response_confirmed_day": pd.array([84, pd.NA, 56], dtype="Int64"),
        }
    )


DERIVED = pd.DataFrame(
    {
        "site": "s",
        "patient_id": ["a", "b"],
        "best_response": ["SD", "VGPR"],
        "first_response_day": [np.nan, 84.0],
        "response_confirmed_day": [np.nan, 112.0],
        "progression_day": [np.nan, 200.0],
        "last_assessment_day": [300.0, 220.0],
        "disease": "M-protein",
    }
)


def test_recorded_response_source_keeps_the_recorded_best_response():
    adsl = imwg.select_best_response(adsl_frame(), DERIVED, "recorded")
    assert adsl["best_response"].tolist() == ["PR", "SD", "CR"]
    assert adsl["best_response_derived"].tolist()[:2] == ["SD", "VGPR"]
    assert pd.isna(adsl["best_response_derived"].iloc[2])


def test_derived_response_source_drives_best_response_where_labs_exist():
    adsl = imwg.select_best_response(adsl_frame(), DERIVED, "derived")
    assert adsl["best_response"].tolist() == ["SD", "VGPR", "CR"]  # c has no labs: recorded
    assert adsl["best_response_recorded"].tolist() == ["PR", "SD", "CR"]
    assert adsl["first_response_day"].tolist() == [pd.NA, 84, 28]
    # The confirmation day comes from the same source as the response it confirms.
    assert adsl["response_confirmed_day"].tolist() == [pd.NA, 112, 56]
    assert adsl["response_confirmed_day_recorded"].tolist() == [84, pd.NA, 56]
    assert adsl["best_response_source"].tolist() == ["labs.csv", "labs.csv", "responses.csv"]


def test_response_source_is_checked():
    with pytest.raises(ValueError, match="response_source"):
        imwg.select_best_response(adsl_frame(), DERIVED, "both")


def test_duration_of_response_runs_to_progression_or_death_else_last_assessment():
    adsl = imwg.select_best_response(adsl_frame(), DERIVED, "recorded").assign(
        progression_day=[100.0, np.nan, np.nan],
        death_day=[np.nan, np.nan, 400.0],
        last_assessment_day=[100.0, 250.0, 380.0],
        last_followup_day=[500, 260, 400],
    )
    recorded = imwg.response_durations(adsl, DERIVED, "recorded").set_index("patient_id")
    assert recorded["dor_days"].to_dict() == {"a": 44.0, "c": 372.0}  # 100 - 56; 400 - 28
    assert recorded["event"].to_dict() == {"a": 1, "c": 1}
    derived = imwg.response_durations(adsl, DERIVED, "derived").set_index("patient_id")
    # b: first response day 84, lab progression day 200
    assert (derived.loc["b", "dor_days"], derived.loc["b", "event"]) == (116.0, 1)
    assert list(derived.index) == ["b"]  # c has no derived response


def test_duration_of_response_is_censored_at_the_last_assessment():
    adsl = imwg.select_best_response(adsl_frame(), DERIVED, "recorded").assign(
        progression_day=np.nan,
        death_day=np.nan,
        last_assessment_day=[300.0, 250.0, np.nan],
        last_followup_day=[500, 260, 365],
    )
    dor = imwg.response_durations(adsl, DERIVED, "recorded").set_index("patient_id")
    assert dor["dor_days"].to_dict() == {"a": 244.0, "c": 337.0}  # c: last follow-up
    assert dor["event"].sum() == 0


def test_kappa_of_perfect_agreement_is_one_and_of_chance_is_zero():
    assert imwg.cohen_kappa(np.diag([5, 3, 2]))[0] == pytest.approx(1.0)
    assert imwg.cohen_kappa([[4, 4], [4, 4]])[0] == pytest.approx(0.0)


def test_kappa_by_hand():
    """Two categories, 50 pairs: p_o = 0.7, p_e = 0.5·0.6 + 0.5·0.4 = 0.5, κ = 0.4."""
    kappa, se, lower, upper = imwg.cohen_kappa([[20, 5], [10, 15]])
    assert kappa == pytest.approx(0.4)
    # Fleiss, Cohen & Everitt (1969): cell terms (δ_ij − 0.6 (p_.i + p_j.))²
    p = np.array([[20, 5], [10, 15]]) / 50
    rows, cols = p.sum(1), p.sum(0)
    terms = sum(
        p[i, j] * ((i == j) - 0.6 * (cols[i] + rows[j])) ** 2 for i in (0, 1) for j in (0, 1)
    )
    assert se == pytest.approx(np.sqrt((terms - (0.4 - 0.5 * 0.6) ** 2) / (0.25 * 50)))
    assert (lower, upper) == pytest.approx(
        (0.4 - 1.959963984540054 * se, 0.4 + 1.959963984540054 * se)
    )


def test_agreement_table_counts_disagreements_and_reports_kappa():
    adsl = pd.DataFrame(
        {
            "best_response_recorded": ["PR", "PR", "SD", "CR", "PR"],
            "best_response_derived": ["PR", "MR", "SD", "CR", None],
        }
    )
    table = imwg.response_agreement_table(adsl)
    assert list(table.columns) == imwg.AGREEMENT_COLUMNS
    stats = table.set_index("statistic")
    assert stats.loc["n", "value"] == 4  # the patient without a derived response is left out
    assert stats.loc["agreement", "value"] == 0.75
    counts = table[table["statistic"] == "count"]
    off = counts[(counts["derived"] != counts["recorded"]) & (counts["value"] > 0)]
    assert off[["derived", "recorded", "value"]].values.tolist() == [["MR", "PR", 1.0]]
    assert len(counts) == 16  # CR, PR, MR, SD squared


def test_simulated_labs_imply_the_recorded_responses_mostly():
    tables = simulate_site(126, seed=77, site="d")
    lab = imwg.response_labs(tables["labs"].assign(site="d"))
    derived = imwg.patient_response(imwg.derive_adrs_imwg(lab))
    both = tables["patients"][["patient_id", "best_response"]].merge(derived, on="patient_id")
    adsl = both.rename(
        columns={
            "best_response_x": "best_response_recorded",
            "best_response_y": "best_response_derived",
        }
    )
    stats = imwg.response_agreement_table(adsl).set_index("statistic")
    assert stats.loc["n", "value"] == 126
    assert 0.75 < stats.loc["kappa", "value"] < 1
    assert set(derived["disease"]) >= {"M-protein", "FLC"}


def test_rwe_check_reports_an_unknown_unit_of_a_response_test(tmp_path, capsys):
    from rwe.cli import main
    from rwe.simulate import write_site

    tables = simulate_site(20, seed=5, site="u")
    spep = tables["labs"].index[tables["labs"]["test"] == "SPEP_M"][0]
    tables["labs"].loc[spep, "unit"] = "mmol/L"
    write_site(tables, tmp_path)
    assert main(["check", str(tmp_path), "--site", "u"]) == 1
    assert (
        f"u/labs.csv, row {spep + 1}, column 'unit': unknown unit for SPEP_M"
        in capsys.readouterr().err
    )
