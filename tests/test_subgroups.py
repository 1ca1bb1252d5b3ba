"""Subgroup effects as Cox interaction tests (rwe.subgroups), live against R coxph/anova."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from r_reference import assert_tables_match, run_r
from rwe.derive import derive_adsl, derive_adtte
from rwe.io import read_site
from rwe.simulate import simulate_study
from rwe.subgroups import interaction_table
from rwe.validate import validate_extract
from test_survival_parity import extract_to_adam

ROOT = Path(__file__).resolve().parents[1]
LEVELS = ["Ixa-Rd", "Ixa-Pd"]
FLAGS = ["triple_class_refractory", "gfr_le70", "age_ge80", "second_line", "imid_containing"]


@pytest.fixture(scope="module")
def demo():
    return extract_to_adam(ROOT / "data" / "demo", "demo", pfs_death_events="myeloma")


@pytest.fixture(scope="module")
def three_sites(tmp_path_factory):
    """`rwe simulate OUT --n 600 --seed 3 --sites 3`, read, validated and derived."""
    folder = tmp_path_factory.mktemp("sites")
    written = simulate_study(600, 3, 3, folder)
    typed = validate_extract({site: read_site(folder / site, site)[0] for site in written})
    adsl = derive_adsl(typed["patients"], typed.get("responses"))
    return adsl, derive_adtte(adsl)


@pytest.mark.r
@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_interactions_and_level_hrs_match_r(tmp_path, demo, ties):
    compare_with_r(tmp_path, *demo, ties)


@pytest.mark.r
def test_site_stratified_interactions_match_r(tmp_path, three_sites):
    """Several sites: every model + strata(site), as the survival rule fits them."""
    compare_with_r(tmp_path, *three_sites, "efron", strata="site")


def compare_with_r(tmp_path, adsl, adtte, ties, strata=None):
    out = interaction_table(
        adsl, adtte, FLAGS, "regimen", LEVELS, ties=ties, conf_level=0.9, strata=strata
    )
    if strata:
        assert out["note"].str.contains("stratified by site").all()
    long = []
    for endpoint in ("PFS", "OS"):
        tte = adtte[adtte["paramcd"] == endpoint].merge(adsl, on=["site", "patient_id"])
        tte = tte[tte["regimen"].isin(LEVELS)]
        for flag in FLAGS:
            known = tte[tte[flag].notna()]
            if known[flag].nunique() < 2:
                continue
            long.append(
                pd.DataFrame(
                    {
                        "endpoint": endpoint,
                        "variable": flag,
                        "time": known["aval"],
                        "status": 1 - known["cnsr"],
                        "treat": (known["regimen"] == LEVELS[0]).astype(int),
                        "flag": known[flag].astype(int),
                        "site": known["site"],
                    }
                )
            )
    pd.concat(long).to_csv(tmp_path / "data.csv", index=False)
    run_r(
        "interaction_reference.R",
        tmp_path / "data.csv",
        tmp_path / "r",
        ties,
        0.9,
        int(bool(strata)),
    )
    r_levels = pd.read_csv(tmp_path / "r" / "levels.csv")
    r_inter = pd.read_csv(tmp_path / "r" / "interactions.csv")
    testable = out[out["interaction_p"].notna()]
    ours_inter = testable.drop_duplicates(["endpoint", "variable"])
    assert len(ours_inter) == len(r_inter) >= 6
    n = assert_tables_match(
        ours_inter,
        r_inter,
        ["endpoint", "variable"],
        ["interaction_chisq", "interaction_df", "interaction_p"],
        "interactions",
    )
    assert n == 3 * len(r_inter)
    keys = ["endpoint", "variable", "level"]
    ours_levels = testable[testable["hr"].notna()].astype({"level": str})
    r_levels = r_levels.astype({"level": str}).merge(ours_levels[keys], on=keys)
    assert len(r_levels) == len(ours_levels) >= 10
    n = assert_tables_match(ours_levels, r_levels, keys, ["hr", "ci_lower", "ci_upper"], "HRs")
    assert n == 3 * len(r_levels)


def test_empty_level_is_dropped_and_counted(demo):
    """Ixa-Rd vs Ixa-Pd: everyone is IMiD-containing, so level 0 is empty: no row, a count."""
    adsl, adtte = demo
    out = interaction_table(adsl, adtte, ["imid_containing"], "regimen", LEVELS)
    assert set(out["level"]) == {"1"}
    assert out["note"].str.contains("1 empty level dropped").all()
    assert out["note"].str.contains("interaction not testable: one level only").all()
    assert out["interaction_p"].isna().all()
    assert (out["analysis"] == "exploratory").all()


def test_no_hazard_ratio_from_fewer_than_min_events(demo):
    adsl, adtte = demo
    out = interaction_table(adsl, adtte, ["age_ge80"], "regimen", LEVELS, min_events=1000)
    assert out["hr"].isna().all()
    assert out["note"].str.contains(r"not estimable: \d+ events \(fewer than 1000\)").all()
    assert out["interaction_p"].notna().all()  # the test itself uses every patient


def test_prespecified_label_follows_the_config(demo):
    adsl, adtte = demo
    primary = (("PFS", "gfr_le70"),)
    out = interaction_table(adsl, adtte, ["gfr_le70"], "regimen", LEVELS, primary)
    labels = out.set_index("endpoint")["analysis"]
    assert set(labels["PFS"]) == {"prespecified"}
    assert set(labels["OS"]) == {"exploratory"}


def test_missing_treatment_group_gives_a_reason_not_an_error(demo):
    adsl, adtte = demo
    out = interaction_table(adsl, adtte, ["gfr_le70"], "regimen", ["Ixa-Rd", "nobody"])
    assert len(out) == 2
    assert (out["level"] == "all").all()
    assert out["note"].str.startswith("not estimable").all()
    assert np.isnan(out["hr"]).all()
