"""The synthetic cohort sits near the published marginals it was calibrated to."""

import pandas as pd
import pytest

from rwe.cli import main as cli_main
from rwe.derive import derive_adsl
from rwe.simulate import published_reference, simulate_site


@pytest.fixture(scope="module")
def big_cohort():
    """A large cohort: marginals are close to the calibration targets, not only by luck."""
    tables = simulate_site(1000, seed=11, site="big")
    adsl = derive_adsl(
        tables["patients"].assign(site="big"), tables["responses"].assign(site="big")
    )
    return tables, adsl


def test_same_seed_same_extract():
    a = simulate_site(40, seed=3)
    b = simulate_site(40, seed=3)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])


def test_every_contract_file_is_generated(demo_tables):
    assert set(demo_tables) == {"patients", "responses", "adverse_events", "labs"}
    assert demo_tables["patients"]["patient_id"].is_unique


@pytest.mark.parametrize(
    ("flag", "key"),
    [
        ("male", "male"), ("triple_class_refractory", "triple_class_refractory"),
        ("second_line", "second_line"), ("refractory_imid", "refractory_imid"),
        ("refractory_pi", "refractory_pi"), ("refractory_cd38", "refractory_cd38"),
        ("prior_asct", "prior_asct"), ("emd", "emd"), ("high_risk_cyto", "high_risk_cyto"),
    ],
)  # fmt: skip
def test_binary_marginals_near_published(big_cohort, flag, key):
    _, adsl = big_cohort
    published = published_reference()["zhou_2026"]["baseline"][key]["percent"]
    values = (adsl["sex"] == "M") if flag == "male" else adsl[flag].dropna()
    assert abs(100 * values.mean() - published) < 5, (flag, 100 * values.mean(), published)


def test_continuous_marginals_near_published(big_cohort):
    _, adsl = big_cohort
    ref = published_reference()["zhou_2026"]["baseline"]
    assert abs(adsl["age"].median() - ref["age"]["median"]) <= 2
    assert adsl["age"].max() <= 90
    assert abs(adsl["gfr"].median() - ref["gfr"]["median"]) <= 5
    assert adsl["prior_lines"].median() == ref["prior_lines"]["median"]


def test_regimen_mix_matches_published(big_cohort):
    _, adsl = big_cohort
    ref = published_reference()["zhou_2026"]["baseline"]["regimens"]
    shares = adsl["regimen"].value_counts(normalize=True)
    for regimen, n in ref.items():
        assert abs(shares[regimen] - n / 126) < 0.01


def test_response_distribution_near_published(big_cohort):
    _, adsl = big_cohort
    ref = published_reference()["zhou_2026"]["response"]
    evaluable = adsl[adsl["best_response"] != "NE"]
    orr = 100 * evaluable["best_response"].isin(["sCR", "CR", "VGPR", "PR"]).mean()
    cbr = 100 * evaluable["best_response"].isin(["sCR", "CR", "VGPR", "PR", "MR"]).mean()
    assert abs(orr - ref["all"]["orr"]) < 6
    assert abs(cbr - ref["all"]["cbr"]) < 6
    # The published contrast: triple-class refractory patients respond far less often.
    by_tcr = evaluable.groupby("triple_class_refractory")["responder"].mean()
    assert by_tcr[1] < by_tcr[0] - 0.3


def test_cli_writes_several_sites(tmp_path):
    assert cli_main(["simulate", str(tmp_path), "--n", "30", "--sites", "2", "--seed", "5"]) == 0
    sizes = [len(pd.read_csv(tmp_path / s / "patients.csv")) for s in ("site1", "site2")]
    assert sizes == [15, 15]
