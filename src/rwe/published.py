"""The "published vs this run" table: the seed paper's figures next to this run's estimates."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd
import yaml

COMPARISON_COLUMNS = ["quantity", "published", "this_run", "unit", "note"]


def published_reference() -> dict:
    """Return the published figures bundled with the package (``rwe/data/published.yaml``)."""
    text = resources.files("rwe").joinpath("data/published.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def _one(table: pd.DataFrame, column: str, **where) -> float:
    """The single value of ``column`` in the rows matching ``where`` (NaN when absent)."""
    if table is None or table.empty or column not in table.columns:
        return np.nan
    mask = pd.Series(True, index=table.index)
    for key, value in where.items():
        if key not in table.columns:
            return np.nan
        mask &= table[key].astype(str) == str(value)
    hits = table.loc[mask, column]
    return float(hits.iloc[0]) if len(hits) and pd.notna(hits.iloc[0]) else np.nan


def published_comparison(
    tables: dict[str, pd.DataFrame], reference: str = "zhou_2026"
) -> pd.DataFrame:
    """Put the published figures of ``reference`` next to this run's estimates.

    Parameters
    ----------
    tables : dict of str to pandas.DataFrame
        This run's output tables by name (``baseline``, ``response``, ``response_tests``,
        ``km_medians``, ``followup``, ``cox``, ``adverse_events``, ``nadir``); a missing table
        leaves its rows empty.
    reference : str
        Key of ``published.yaml``.

    Returns
    -------
    pandas.DataFrame
        ``quantity, published, this_run, unit, note``. Percentages in percent, times in months.
    """
    ref = published_reference()[reference]
    base, surv, resp, safety = ref["baseline"], ref["survival"], ref["response"], ref["safety"]
    t = {name: tables.get(name) for name in (
        "baseline", "response", "response_tests", "km_medians", "followup", "cox",
        "adverse_events", "nadir")}  # fmt: skip
    rows = []

    def add(quantity, published, this_run, unit, note=""):
        rows.append((quantity, published, this_run, unit, note))

    add(
        "patients", ref["n"], _one(t["baseline"], "n", analysis_set="all", variable="patients"), "n"
    )
    add(
        "male",
        base["male"]["percent"],
        _one(t["baseline"], "percent", analysis_set="all", variable="sex", level="M"),
        "%",
    )
    add(
        "median age",
        base["age"]["median"],
        _one(t["baseline"], "median", analysis_set="all", variable="age"),
        "years",
    )
    for flag in ("triple_class_refractory", "high_risk_cyto", "second_line", "emd"):
        add(
            f"{flag}",
            base[flag]["percent"],
            _one(t["baseline"], "percent", analysis_set="all", variable=flag, level="1"),
            "%",
        )
    add(
        "response-evaluable patients",
        resp["evaluable"],
        _one(t["response"], "n_evaluable", analysis_set="all", variable="all"),
        "n",
    )
    add(
        "ORR (≥PR)",
        resp["all"]["orr"],
        100 * _one(t["response"], "orr", analysis_set="all", variable="all"),
        "%",
    )
    add(
        "CBR (≥MR)",
        resp["all"]["cbr"],
        100 * _one(t["response"], "cbr", analysis_set="all", variable="all"),
        "%",
    )
    # YAML 1.1 reads the keys yes/no as booleans.
    tcr = {
        {True: "yes", False: "no"}.get(k, k): v
        for k, v in resp["triple_class_refractory_orr"].items()
    }
    add(
        "ORR, triple-class refractory",
        tcr["yes"],
        100
        * _one(
            t["response"], "orr", analysis_set="all", variable="triple_class_refractory", level="1"
        ),
        "%",
    )
    add(
        "ORR, not triple-class refractory",
        tcr["no"],
        100
        * _one(
            t["response"], "orr", analysis_set="all", variable="triple_class_refractory", level="0"
        ),
        "%",
    )
    add(
        "median follow-up (reverse KM)",
        surv["median_followup"],
        _one(t["followup"], "median_followup", analysis_set="all", endpoint="OS"),
        "months",
    )
    for endpoint in ("pfs", "os"):
        e = endpoint.upper()
        add(
            f"median {e}",
            surv[endpoint]["median"],
            _one(t["km_medians"], "median", analysis_set="all", endpoint=e, variable="all"),
            "months",
            "the paper censored deaths from other causes (pfs_death_events: myeloma)"
            if e == "PFS"
            else "",
        )
        add(
            f"median {e}, lower 95% CI",
            surv[endpoint]["ci"][0],
            _one(t["km_medians"], "ci_lower", analysis_set="all", endpoint=e, variable="all"),
            "months",
        )
        upper = surv[endpoint]["ci"][1]
        add(
            f"median {e}, upper 95% CI",
            np.nan if upper is None else upper,
            _one(t["km_medians"], "ci_upper", analysis_set="all", endpoint=e, variable="all"),
            "months",
            "not reached in the paper" if upper is None else "",
        )
    for endpoint, terms in surv["cox_multivariable"].items():
        for term, est in terms.items():
            add(f"{endpoint.upper()} HR {term} (multivariable)", est["hr"],
                _one(t["cox"], "hr", analysis_set="all", endpoint=endpoint.upper(),
                     model="multivariable", term=term), "HR")  # fmt: skip
    rd = resp.get("Ixa-Rd", {})
    if rd:
        add(
            "ORR, Ixa-Rd",
            rd["orr"],
            100 * _one(t["response"], "orr", analysis_set="Ixa-Rd", variable="all"),
            "%",
        )
    add("grade ≥3 hematologic AE", safety["heme_ge3"]["percent"],
        _one(t["adverse_events"], "percent", analysis_set="all", category="hematologic",
             term="any hematologic", grade_group="ge3"), "%")  # fmt: skip
    nadir = safety["nadir_median_imid_vs_imid_free"]
    for test in ("wbc", "anc"):
        for i, group in enumerate(("IMiD-containing", "IMiD-free")):
            add(
                f"nadir {test.upper()} median, {group}",
                nadir[test][i],
                _one(t["nadir"], "median", analysis_set="all", test=test.upper(), group=group),
                "10^9/L",
            )
    out = pd.DataFrame(rows, columns=COMPARISON_COLUMNS)
    out["this_run"] = out["this_run"].astype(float)
    return out
