"""PFS under its sensitivity definitions: which endpoints, and rows after the primary ones.

R parity of the sensitivity tables is in test_survival_parity.py
(``test_pfs_sensitivity_definitions_match_r``: R derives PFS under the rule from ADSL itself).
"""

import numpy as np
import pandas as pd

from rwe import endpoints, pfs_sensitivity
from rwe import survival_tables as st


def _cohort(n=40, seed=3):
    rng = np.random.default_rng(seed)
    adsl = pd.DataFrame(
        {
            "site": "s",
            "patient_id": [f"P{i}" for i in range(n)],
            "emd": rng.integers(0, 2, n),
        }
    )
    rows = []
    for paramcd in ("PFS", "OS", "PFSALL"):
        rows.append(
            adsl[["site", "patient_id"]].assign(
                paramcd=paramcd, aval=rng.exponential(10, n), cnsr=rng.integers(0, 2, n)
            )
        )
    return adsl, pd.concat(rows, ignore_index=True)


def test_sensitivity_rows_follow_the_primary_rows_unchanged():
    adsl, adtte = _cohort()
    sets = {"all": adsl}
    km = st.km_fits(adsl, adtte, sets, ["emd"])
    primary = {
        "km_medians": st.km_median_table(km),
        "logrank": st.logrank_table(adsl, adtte, sets, ["emd"]),
    }
    extra = pfs_sensitivity.sensitivity_tables(adsl, adtte, sets, ["emd"], ["emd"], [6])
    assert pfs_sensitivity.sensitivity_endpoints(adtte) == ["PFSALL"]
    out = pfs_sensitivity.append_sensitivity(primary, extra)
    medians = out["km_medians"]
    pd.testing.assert_frame_equal(medians.iloc[: len(primary["km_medians"])], primary["km_medians"])
    assert medians["endpoint"].tolist()[-3:] == ["PFSALL"] * 3  # all, emd 0, emd 1
    # The PFSALL rows are the primary estimators on the PFSALL times.
    alone = adtte[adtte["paramcd"] == "PFSALL"].assign(paramcd="PFS")
    expected = st.km_median_table(st.km_fits(adsl, alone, sets, ["emd"]))
    got = medians[medians["endpoint"] == "PFSALL"].reset_index(drop=True)
    np.testing.assert_allclose(got["median"], expected["median"], equal_nan=True)
    assert out["logrank"]["endpoint"].tolist() == ["PFS", "OS", "PFSALL"]


def test_no_sensitivity_endpoint_adds_nothing():
    adsl, adtte = _cohort()
    adtte = adtte[adtte["paramcd"] != "PFSALL"]
    extra = pfs_sensitivity.sensitivity_tables(adsl, adtte, {"all": adsl}, [], [], [6])
    table = pd.DataFrame({"endpoint": ["PFS"]})
    assert pfs_sensitivity.append_sensitivity({"cox": table}, extra)["cox"].equals(table)


def test_endpoint_rules_and_labels():
    assert endpoints.pfs_sensitivity_rules("myeloma") == ["all"]
    assert endpoints.pfs_sensitivity_rules("none") == ["all", "myeloma"]
    assert endpoints.pfs_paramcd("myeloma", "myeloma") == "PFS"
    assert endpoints.pfs_paramcd("all", "myeloma") == "PFSALL"
    assert endpoints.endpoint_label("PFSMYE").startswith("PFS, sensitivity: death from myeloma")
    assert endpoints.endpoint_label("OS") == "OS"
    assert endpoints.paper_pfs_endpoint(["PFS", "OS", "PFSMYE"]) == "PFSMYE"
    assert endpoints.paper_pfs_endpoint(["PFS", "OS", "PFSALL"]) == "PFS"


def test_sensitivity_rows_of_labelled_tables_are_labelled_sensitivity():
    """The multiplicity label (rwe.multiplicity) of the primary rows: sensitivity rows say so."""
    from rwe.multiplicity import label_analysis

    adsl, adtte = _cohort()
    sets = {"all": adsl}
    primary = {"logrank": label_analysis(st.logrank_table(adsl, adtte, sets, ["emd"]), [])}
    extra = pfs_sensitivity.sensitivity_tables(adsl, adtte, sets, ["emd"], ["emd"], [6])
    out = pfs_sensitivity.append_sensitivity(primary, extra)["logrank"]
    assert list(out.columns) == list(primary["logrank"].columns)
    assert out.set_index("endpoint").loc["PFSALL", "analysis"] == "sensitivity"
    assert set(out.loc[out["endpoint"] != "PFSALL", "analysis"]) == {"exploratory"}
