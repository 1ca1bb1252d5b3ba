"""The prespecified meta-analysis of site_meta: its choice, its edge cases, its labels.

The numbers themselves are R's (metafor rma/predict/confint) in tests/test_meta.py and
tests/test_sites_parity.py; here, which rows exist and what they say.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from rwe import sites
from rwe.aggregates import ESTIMATE_COLUMNS
from rwe.meta import inverse_variance
from rwe.options import ReportOptions, with_schema_defaults
from rwe.report.sites import site_meta_table
from rwe.summary import patients_quantity


def estimates(rows: list[tuple]) -> pd.DataFrame:
    """(site, term, log_hr, se, note) -> the estimates an aggregate-only site sends."""
    return pd.DataFrame(
        [
            {"site": s, "endpoint": "OS", "term": t, "log_hr": b, "se": se, "n": 40, "events": 20}
            | {"note": note}
            for s, t, b, se, note in rows
        ],
        columns=ESTIMATE_COLUMNS,
    )


def pooled(meta: pd.DataFrame, term: str) -> pd.DataFrame:
    return meta[(meta["site"] == sites.POOLED) & (meta["term"] == term)]


def test_one_estimating_site_gives_one_reason_row():
    sent = estimates(
        [
            ("a", "emd", 0.4, 0.3, ""),
            ("b", "emd", np.nan, np.nan, "constant: dropped"),
            ("a", "age_ge80", 0.2, 0.3, ""),
            ("b", "age_ge80", 0.5, 0.4, ""),
        ]
    )
    meta = sites.site_meta([], ["emd", "age_ge80"], 0.95, sent)
    emd = pooled(meta, "emd")
    assert len(emd) == 1
    row = emd.iloc[0]
    assert (row["method"], row["test"], row["role"]) == ("REML", "knha", "prespecified")
    assert np.isnan(row["hr"])
    assert row["note"].startswith("not estimable: only a estimates this term, nothing to pool")
    assert "b left out of the pooling: constant: dropped" in row["note"]
    assert row["k"] == 1
    assert row["n_excluded"] == 1
    # Two sites: Hartung-Knapp on 1 df, then three sensitivity rows.
    age = pooled(meta, "age_ge80")
    assert list(age["role"]) == ["prespecified", "sensitivity", "sensitivity", "sensitivity"]
    assert list(zip(age["method"], age["test"], strict=True)) == [
        ("REML", "knha"),
        ("FE", "z"),
        ("DL", "z"),
        ("REML", "z"),
    ]
    first = age.iloc[0]
    assert first["df"] == 1
    fit = inverse_variance([0.2, 0.5], [0.09, 0.16], "REML", 0.95, "knha")
    assert first["hr"] == pytest.approx(np.exp(fit["estimate"]))
    assert first["pi_upper"] == pytest.approx(np.exp(fit["pi_upper"]))
    assert first["sites"] == "a, b (aggregates)"


def test_config_chooses_the_prespecified_analysis():
    """DL with Wald z: no duplicate DL z sensitivity row; auto is z from 3 sites when the
    threshold is 3; FE is never Hartung-Knapp under auto."""
    rows = [(s, "emd", b, 0.3, "") for s, b in zip("abc", (0.1, 0.6, 0.9), strict=True)]
    sent = estimates(rows)
    dl = pooled(sites.site_meta([], ["emd"], 0.95, sent, method="DL", test="z"), "emd")
    assert list(zip(dl["method"], dl["test"], dl["role"], strict=True)) == [
        ("DL", "z", "prespecified"),
        ("FE", "z", "sensitivity"),
        ("REML", "z", "sensitivity"),
    ]
    many = pooled(sites.site_meta([], ["emd"], 0.95, sent, auto_knha_below=3), "emd")
    assert many.iloc[0]["test"] == "z"
    assert len(many) == 3
    fe = pooled(sites.site_meta([], ["emd"], 0.95, sent, method="FE"), "emd")
    assert (fe.iloc[0]["method"], fe.iloc[0]["test"]) == ("FE", "z")
    assert np.isnan(fe.iloc[0]["pi_lower"])  # metafor predict: no prediction interval for FE
    assert np.isnan(fe.iloc[0]["tau2_ci_upper"])  # nor Q-profile CIs


def test_report_table_states_the_rule_and_the_sites():
    sent = estimates([(s, "emd", b, 0.3, "") for s, b in zip("ab", (0.1, 1.9), strict=True)])
    meta = sites.site_meta([], ["emd"], 0.9, sent)
    config = with_schema_defaults(
        {
            "sites": {"a": {"aggregates": "x"}, "b": {"aggregates": "y"}},
            "conf_level": 0.9,
            "meta": {"auto_knha_below": 5},
        }
    )
    shown = site_meta_table(meta, ReportOptions.from_config(config))
    assert "fewer than 5 sites are pooled" in shown["caption"]
    assert "90% prediction interval" in shown["header"]
    first = dict(zip(shown["header"], shown["rows"][0], strict=True))
    assert first["Analysis"] == "Prespecified: Random effects (REML), Hartung–Knapp"
    assert first["Sites pooled"] == "2: a, b (aggregates)"
    # Two sites this far apart: the upper Q-profile bound of tau2 is beyond metafor's limit.
    assert first["τ² (90% CI)"].endswith("–undefined)")
    assert "above the search limit 100" in first["Note"]


def test_headline_count_says_which_sites_it_holds():
    assert patients_quantity(["demo"]) == "patients analysed"
    assert patients_quantity(["a", "b"]) == "patients analysed at 2 sites with patient rows (a, b)"
    assert patients_quantity(["a", "b"], ["c"]) == (
        "patients analysed at 2 sites with patient rows (a, b); c sent aggregates only: in the "
        "meta-analysis and per-site summary, not in this count"
    )


@pytest.mark.parametrize(
    ("meta", "expected"),
    [
        ({}, "Hartung–Knapp–Sidik–Jonkman CIs and p (t on k − 1 df) when fewer than 10 sites"),
        ({"auto_knha_below": 4}, "when fewer than 4 sites are pooled, Wald z CIs and p otherwise"),
        ({"method": "DL", "test": "z"}, "random effects with τ² by DerSimonian–Laird, Wald z"),
        ({"method": "FE"}, "fixed effect (inverse variance), Wald z CIs and p"),
        ({"test": "knha"}, "τ² by REML, Hartung–Knapp–Sidik–Jonkman CIs and p (t on k − 1 df)"),
    ],
)
def test_methods_state_the_prespecified_rule_from_config(meta, expected):
    from rwe.report.sections import sites_methods

    config = with_schema_defaults({"sites": {"a": "x", "b": "y"}, "meta": meta})
    text = sites_methods(ReportOptions.from_config(config))
    assert f"The prespecified analysis is {ReportOptions.from_config(config).meta_rule}" in text
    assert expected in text
