"""Duration-of-response medians and Cohen's kappa against R, live (tests/r/imwg_reference.R).

R: ``quantile(survfit(Surv(months, event) ~ 1, conf.type = "log"), 0.5)`` for the median
duration of response and its CI, per source; kappa and its Wald CI computed by hand in base R
(Fleiss, Cohen & Everitt 1969), looping over the cells.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from r_reference import assert_tables_match, run_r
from rwe import derive, imwg
from rwe.io import read_site
from rwe.validate import validate_extract

pytestmark = pytest.mark.r
ROOT = Path(__file__).resolve().parents[1]


def demo_adsl(response_source: str = "recorded"):
    """ADSL of the bundled demo with the best response derived from its labs."""
    raw, _ = read_site(ROOT / "data" / "demo", "demo")
    typed = validate_extract({"demo": raw})
    adrs = imwg.derive_adrs_imwg(imwg.response_labs(typed["labs"]))
    derived = imwg.patient_response(adrs)
    adsl = derive.derive_site(typed, lab_response=derived, response_source=response_source)["adsl"]
    return adsl, derived


def r_reference(tmp_path, adsl, derived, conf_type="log"):
    """Write the responders and the agreement pairs, run R, read its two tables."""
    parts = []
    for source in imwg.RESPONSE_SOURCES:
        dor = imwg.response_durations(adsl, derived, source).dropna(subset=["first_response_day"])
        parts.append(
            pd.DataFrame(
                {
                    "source": source,
                    "months": dor["dor_days"] / imwg.DAYS_PER_MONTH,
                    "event": dor["event"],
                    "ttr_months": dor["first_response_day"] / imwg.DAYS_PER_MONTH,
                }
            )
        )
    pd.concat(parts).to_csv(tmp_path / "dor.csv", index=False)
    both = adsl.dropna(subset=["best_response_derived", "best_response_recorded"])
    both[["best_response_derived", "best_response_recorded"]].set_axis(
        ["derived", "recorded"], axis=1
    ).to_csv(tmp_path / "pairs.csv", index=False)
    run_r(
        "imwg_reference.R",
        tmp_path / "dor.csv",
        tmp_path / "pairs.csv",
        tmp_path / "r",
        conf_type,
        0.95,
    )
    return (
        pd.read_csv(tmp_path / "r" / "duration_of_response.csv"),
        pd.read_csv(tmp_path / "r" / "response_agreement.csv"),
    )


@pytest.mark.parametrize("conf_type", ["log", "log-log", "plain"])
def test_duration_of_response_medians_match_r(tmp_path, conf_type):
    adsl, derived = demo_adsl()
    r_dor, _ = r_reference(tmp_path, adsl, derived, conf_type)
    table = imwg.duration_of_response_table(
        {"all": adsl}, derived, list(imwg.RESPONSE_SOURCES), conf_type
    )
    values = ["n", "events", "median", "ci_lower", "ci_upper", "ttr_median", "ttr_min", "ttr_max"]
    assert assert_tables_match(table, r_dor, ["analysis_set", "source"], values, "dor") >= 14
    assert table["n"].min() > 20  # a real test of the median
    assert table["events"].min() > 10


def test_kappa_matches_r_by_hand(tmp_path):
    adsl, derived = demo_adsl()
    _, r_agreement = r_reference(tmp_path, adsl, derived)
    table = imwg.response_agreement_table(adsl)
    table = table[table["statistic"].isin(["agreement", "kappa"])]
    n = assert_tables_match(
        table, r_agreement, ["statistic"], ["value", "ci_lower", "ci_upper"], "agreement"
    )
    assert n == 4
    kappa = table.set_index("statistic").loc["kappa", "value"]
    assert 0.6 < kappa < 1  # the demo's labs imply its recorded responses, not perfectly


def test_kappa_of_a_random_table_matches_r(tmp_path):
    rng = np.random.default_rng(3)
    cats = np.array(["CR", "VGPR", "PR", "MR", "SD", "PD"])
    recorded = rng.choice(cats, 80)
    derived = np.where(rng.random(80) < 0.6, recorded, rng.choice(cats, 80))
    adsl = pd.DataFrame({"best_response_recorded": recorded, "best_response_derived": derived})
    pd.DataFrame({"derived": derived, "recorded": recorded}).to_csv(tmp_path / "p.csv", index=False)
    pd.DataFrame({"source": ["x"], "months": [1.0], "event": [1], "ttr_months": [1.0]}).to_csv(
        tmp_path / "d.csv", index=False
    )
    run_r("imwg_reference.R", tmp_path / "d.csv", tmp_path / "p.csv", tmp_path / "r", "log", 0.9)
    r = pd.read_csv(tmp_path / "r" / "response_agreement.csv")
    table = imwg.response_agreement_table(adsl, conf_level=0.9)
    table = table[table["statistic"].isin(["agreement", "kappa"])]
    assert assert_tables_match(table, r, ["statistic"], ["value", "ci_lower", "ci_upper"], "k") == 4
