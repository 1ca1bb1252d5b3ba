"""Parity of every survival table with R's survival package, computed live by tests/r/survival_reference.R.

Cohorts: the bundled demo extract; the demo with heavy ties (times rounded to whole months);
one where a subgroup has no events; one where every patient is censored; and R's own
``veteran`` data converted to the extract format and run through rwe's ingest and derive.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from r_reference import assert_tables_match, run_r
from rwe import pfs_sensitivity
from rwe import survival_tables as st
from rwe.derive import analysis_sets, derive_adsl, derive_adtte
from rwe.endpoints import PFS_SENSITIVITY_PARAMCD
from rwe.io import read_site
from rwe.survival import resolve_conventions
from rwe.validate import validate_extract

pytestmark = pytest.mark.r
ROOT = Path(__file__).resolve().parents[1]
SUBGROUPS = [
    "second_line",
    "refractory_pi",
    "triple_class_refractory",
    "emd",
    "high_risk_cyto",
    "age_ge80",
    "gfr_le70",
    "imid_containing",
    "responder",
]
COVARIATES = ["gfr_le70", "triple_class_refractory", "emd", "high_risk_cyto", "age_ge80"]
LANDMARKS = [6, 12, 24]
KEYS = {
    "km_medians": (
        ["analysis_set", "endpoint", "variable", "level"],
        ["n", "events", "median", "ci_lower", "ci_upper"],
    ),
    "km_landmarks": (
        ["analysis_set", "endpoint", "variable", "level", "month"],
        ["n_risk", "surv", "ci_lower", "ci_upper"],
    ),
    "followup": (["analysis_set", "endpoint"], ["median_followup", "ci_lower", "ci_upper"]),
    "logrank": (["analysis_set", "endpoint", "variable"], ["chisq", "df", "p"]),
    "cox": (
        ["analysis_set", "endpoint", "model", "term"],
        ["hr", "ci_lower", "ci_upper", "p", "n", "events"],
    ),
    "cox_diagnostics": (
        ["analysis_set", "endpoint", "model", "covariates", "statistic", "term"],
        ["value", "df", "p"],
    ),
}


def extract_to_adam(folder: Path, site: str, **derive_options) -> tuple[pd.DataFrame, pd.DataFrame]:
    tables, _ = read_site(folder, site)
    typed = validate_extract({site: tables})
    adsl = derive_adsl(typed["patients"], typed.get("responses"))
    return adsl, derive_adtte(adsl, **derive_options)


@pytest.fixture(scope="module")
def demo():
    return extract_to_adam(ROOT / "data" / "demo", "demo")


def with_ties(adsl, adtte):
    out = adtte.copy()
    out["aval"] = np.round(out["aval"])
    return adsl, out


def zero_events_subgroup(adsl, adtte):
    out = adtte.copy()
    emd = set(adsl.loc[adsl["emd"] == 1, "patient_id"])
    out.loc[out["patient_id"].isin(emd), "cnsr"] = 1
    return adsl, out


def all_censored(adsl, adtte):
    return adsl, adtte.assign(cnsr=1)


def all_dead_day_0(adsl, adtte):
    return adsl, adtte.assign(cnsr=0, aval=0.0, aval_days=0)


def collinear_covariates(adsl, adtte):
    return adsl.assign(emd=1 - adsl["gfr_le70"]), adtte


def single_event(adsl, adtte):
    out = adtte.assign(cnsr=1)
    first = out.groupby("paramcd").head(1).index
    out.loc[first, "cnsr"] = 0
    return adsl, out


def veteran(tmp_path: Path):
    """survival::veteran as a site extract: karno as GFR, prior therapy as triple-class refractory."""
    run_r("export_dataset.R", "veteran", tmp_path / "veteran.csv")
    v = pd.read_csv(tmp_path / "veteran.csv")
    n = len(v)
    prior = (v["prior"] == 10).astype(int)
    patients = pd.DataFrame(
        {
            "patient_id": [f"V{i:03d}" for i in range(n)],
            "sex": "M",
            "age": v["age"].clip(18, 90),
            "diagnosis": "MM",
            "al_amyloidosis": 0,
            "years_since_diagnosis": v["diagtime"] / 12,
            "regimen": np.where(v["trt"] == 1, "Ixa-Rd", "Ixa-Pd"),
            "setting": "relapse",
            "start_dose_mg": 4,
            "prior_lines": 1 + prior * 3,
            "refractory_imid": prior,
            "refractory_pi": prior,
            "refractory_cd38": prior,
            "prior_asct": 0,
            "prior_allo": 0,
            "del17p": (v["celltype"] == "smallcell").astype(int),
            "t4_14": 0,
            "gain1q21": 0,
            "emd": (v["celltype"] == "squamous").astype(int),
            "gfr": v["karno"],
            "pn_baseline_grade": 0,
            "best_response": "SD",
            "progression_day": None,
            "last_assessment_day": v["time"],
            "death_day": np.where(v["status"] == 1, v["time"], None),
            "death_cause": np.where(v["status"] == 1, "myeloma", None),
            "last_followup_day": v["time"],
        }
    )
    folder = tmp_path / "veteran"
    folder.mkdir()
    patients.to_csv(folder / "patients.csv", index=False)
    return extract_to_adam(folder, "veteran")


def compare_with_r(
    tmp_path: Path,
    adsl: pd.DataFrame,
    adtte: pd.DataFrame,
    conf_type: str = "log",
    min_regimen_n: int = 20,
    ties: str = "efron",
) -> int:
    adam = tmp_path / "adam"
    adam.mkdir(exist_ok=True)
    adsl.to_csv(adam / "adsl.csv", index=False)
    adtte.to_csv(adam / "adtte.csv", index=False)
    run_r(
        "survival_reference.R",
        adam,
        tmp_path / "r",
        conf_type,
        0.95,
        min_regimen_n,
        ",".join(SUBGROUPS),
        ",".join(COVARIATES),
        ",".join(map(str, LANDMARKS)),
        ties,
    )
    sets = analysis_sets(adsl, min_regimen_n)
    ci = {"conf_type": conf_type, "conf_level": 0.95}
    km = st.km_fits(adsl, adtte, sets, SUBGROUPS, **ci)
    models = st.cox_models(adsl, adtte, sets, COVARIATES, ties=ties)
    ours = {
        "km_medians": st.km_median_table(km),
        "km_landmarks": st.km_landmark_table(km, LANDMARKS),
        "followup": st.followup_table(adsl, adtte, sets, **ci),
        "logrank": st.logrank_table(adsl, adtte, sets, SUBGROUPS),
        "cox": st.cox_table(models),
        "cox_diagnostics": st.cox_diagnostics_table(models),
    }
    compared = 0
    for name, (keys, values) in KEYS.items():
        r = pd.read_csv(tmp_path / "r" / f"{name}.csv")
        if "term" in r.columns:
            r["term"] = r["term"].fillna("")  # R writes the global tests' empty term as NA
        py = ours[name]
        if name == "cox_diagnostics":  # counts are compared in the cox table
            py = py[~py["statistic"].isin(["n", "events", "n_dropped"])]
        compared += assert_tables_match(py, r, keys, values, name)
    return compared


@pytest.mark.parametrize("conf_type", ["log", "log-log", "plain"])
def test_demo_matches_r(tmp_path, demo, conf_type):
    assert compare_with_r(tmp_path, *demo, conf_type=conf_type) > 1000


@pytest.mark.parametrize(
    "transform",
    [
        with_ties,
        zero_events_subgroup,
        all_censored,
        all_dead_day_0,
        single_event,
        collinear_covariates,
    ],
    ids=lambda f: f.__name__,
)
def test_edge_cohorts_match_r(tmp_path, demo, transform):
    assert compare_with_r(tmp_path, *transform(*demo)) > 100


@pytest.mark.parametrize("cohort", [lambda a, t: (a, t), with_ties], ids=["demo", "with_ties"])
def test_sas_conventions_match_r_with_the_same_options(tmp_path, demo, cohort):
    """conventions: sas = R survfit(conf.type = "log-log") and coxph(ties = "breslow")."""
    sas = resolve_conventions("sas")
    assert (sas.conf_type, sas.ties) == ("log-log", "breslow")
    assert compare_with_r(tmp_path, *cohort(*demo), conf_type=sas.conf_type, ties=sas.ties) > 1000


def test_veteran_through_the_extract_format_matches_r(tmp_path):
    adsl, adtte = veteran(tmp_path)
    assert len(adsl) == 137
    assert compare_with_r(tmp_path, adsl, adtte, min_regimen_n=60) > 200


@pytest.mark.parametrize("primary", ["myeloma", "all"])
def test_pfs_sensitivity_definitions_match_r(tmp_path, primary):
    """PFS under the rule the primary is not, derived by R itself from ADSL (death from any cause,
    or only from myeloma or unknown cause, an event): survfit medians and landmarks, survdiff,
    coxph and its diagnostics as R computes them (survival_reference.R with PFS_RULE)."""
    adsl, adtte = extract_to_adam(ROOT / "data" / "demo", "demo", pfs_death_events=primary)
    rule = "all" if primary == "myeloma" else "myeloma"
    code = PFS_SENSITIVITY_PARAMCD[rule]
    assert set(adtte["paramcd"]) == {"PFS", "OS", code}
    adam = tmp_path / "adam"
    adam.mkdir()
    adsl.to_csv(adam / "adsl.csv", index=False)
    adtte.to_csv(adam / "adtte.csv", index=False)
    run_r(
        "survival_reference.R",
        adam,
        tmp_path / "r",
        "log",
        0.95,
        20,
        ",".join(SUBGROUPS),
        ",".join(COVARIATES),
        ",".join(map(str, LANDMARKS)),
        "efron",
        rule,
    )
    sets = analysis_sets(adsl, 20)
    ours = pfs_sensitivity.sensitivity_tables(
        adsl, adtte, sets, SUBGROUPS, COVARIATES, LANDMARKS, "log", 0.95
    )
    # The sensitivity definition differs from the primary (the demo has deaths from other causes).
    primary_events = adtte.loc[adtte["paramcd"] == "PFS", "cnsr"].eq(0).sum()
    assert adtte.loc[adtte["paramcd"] == code, "cnsr"].eq(0).sum() != primary_events
    compared = 0
    for name, (keys, values) in KEYS.items():
        if name == "followup":
            continue
        assert (ours[name]["endpoint"] == code).all()
        r = pd.read_csv(tmp_path / "r" / f"{name}.csv")
        assert (r["endpoint"] == "PFS").all()
        r["endpoint"] = code
        if "term" in r.columns:
            r["term"] = r["term"].fillna("")
        py = ours[name]
        if name == "cox_diagnostics":
            py = py[~py["statistic"].isin(["n", "events", "n_dropped"])]
        compared += assert_tables_match(py, r, keys, values, name)
    assert compared > 500
