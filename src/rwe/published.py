"""The "published vs this run" table: the seed paper's estimates next to this run's.

Each row puts one published estimate, with its CI and p where the paper gives them, next to
this run's, and compares the two estimates on their own scale: hazard ratios by their ratio
(this run / published), percentages, months and counts by their difference (this run −
published; percentage points for percentages), and whether the two confidence intervals
overlap. Two estimates are never called the same or different by which side of 0.05 their p
values fall (with over a hundred exploratory tests, that verdict says nothing). Published
figures are bundled with the package (``rwe/data/published.yaml``, a copy of the seed papers'
numbers).
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd
import yaml

from rwe.endpoints import PFS, endpoint_label, paper_pfs_endpoint
from rwe.labels import label

COMPARISON_COLUMNS = ["quantity", "published", "this_run", "unit", "note"]
#: Columns after :data:`COMPARISON_COLUMNS`: both sides' CI and p, the difference, the verdict.
COMPARISON_EXTRA_COLUMNS = [
    "published_ci_lower",
    "published_ci_upper",
    "published_p",
    "this_run_ci_lower",
    "this_run_ci_upper",
    "this_run_p",
    "difference",
    "ratio",
    "intervals_overlap",
]
#: Units compared on the ratio scale (this run / published); the others by their difference.
RATIO_UNITS = ("HR",)
#: Tables the comparison reads.
COMPARED_TABLES = [
    "baseline",
    "response",
    "response_tests",
    "km_medians",
    "followup",
    "cox",
    "logrank",
    "adverse_events",
    "nadir",
    "nadir_tests",
]


def published_reference() -> dict:
    """Return the published figures bundled with the package (``rwe/data/published.yaml``)."""
    text = resources.files("rwe").joinpath("data/published.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def _one(table: pd.DataFrame | None, column: str, **where) -> float:
    """The single value of ``column`` in the rows matching ``where`` (NaN when absent)."""
    if table is None or table.empty or column not in table.columns:
        return np.nan
    mask = pd.Series(True, index=table.index)
    for key, value in where.items():
        if key not in table.columns:
            return np.nan
        mask &= table[key].astype(str) == str(value)
    hits = pd.to_numeric(table.loc[mask, column], errors="coerce")
    return float(hits.iloc[0]) if len(hits) and pd.notna(hits.iloc[0]) else np.nan


def intervals_overlap(published: tuple[float, float], this_run: tuple[float, float]) -> str:
    """``yes`` when the two confidence intervals share a value, ``no`` when they do not.

    Parameters
    ----------
    published, this_run : tuple of float
        ``(lower, upper)`` of each CI; NaN where a limit is unknown (an upper limit not
        reached counts as unbounded when its lower limit is known).

    Returns
    -------
    str
        ``yes``, ``no``, or ``''`` when either CI is missing (no lower limit).
    """
    (pl, pu), (rl, ru) = published, this_run
    if np.isnan(pl) or np.isnan(rl):
        return ""
    pu = np.inf if np.isnan(pu) else pu
    ru = np.inf if np.isnan(ru) else ru
    return "yes" if max(pl, rl) <= min(pu, ru) else "no"


def _yes_no(values: dict) -> dict:
    """YAML 1.1 reads the keys yes/no as booleans: back to strings."""
    return {{True: "yes", False: "no"}.get(k, k): v for k, v in values.items()}


def _p(values: dict, key: str = "p") -> tuple[float, str]:
    """A published p and its note (``p_below``: the paper gave only a bound)."""
    if key in values:
        return float(values[key]), ""
    below = values.get(f"{key}_below")
    return (np.nan, "") if below is None else (float(below), f"published p < {below}")


def published_comparison(
    tables: dict[str, pd.DataFrame], reference: str, conf_level: float, gfr_cutoff: float
) -> pd.DataFrame:
    """Put the published estimates of ``reference`` next to this run's.

    Parameters
    ----------
    tables : dict of str to pandas.DataFrame
        This run's output tables by name (:data:`COMPARED_TABLES`); a missing table leaves its
        rows empty.
    reference : str
        Key of ``published.yaml``.
    conf_level : float
        The run's confidence level (of this run's intervals; kept for the callers).
    gfr_cutoff : float
        The run's ``gfr_cutoff``, shown in the label of ``gfr_le70``.

    Returns
    -------
    pandas.DataFrame
        :data:`COMPARISON_COLUMNS` then :data:`COMPARISON_EXTRA_COLUMNS`. Percentages in
        percent, times in months; counts (unit ``n``) are whole numbers. ``difference``
        is this run − published (NaN for hazard ratios), ``ratio`` this run / published for
        hazard ratios (:data:`RATIO_UNITS`), ``intervals_overlap`` as :func:`intervals_overlap`
        where both sides have a CI. PFS is this run's PFS under the paper's rule (deaths from
        other causes censored): the primary PFS when that is the configured rule, else the
        sensitivity definition ``PFSMYE`` (:func:`rwe.endpoints.paper_pfs_endpoint`), said in
        the note.
    """
    ref = published_reference()[reference]
    base, surv, resp, safety = ref["baseline"], ref["survival"], ref["response"], ref["safety"]
    t = {name: tables.get(name) for name in COMPARED_TABLES}
    rows = []

    def add(
        quantity,
        unit,
        published,
        this_run,
        note="",
        published_ci=(np.nan, np.nan),
        this_run_ci=(np.nan, np.nan),
        p=(np.nan, np.nan),
    ):
        published = np.nan if published is None else float(published)
        published_ci = tuple(np.nan if v is None else float(v) for v in published_ci)
        on_ratio = unit in RATIO_UNITS
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = this_run / published if on_ratio else np.nan
        rows.append(
            (
                quantity,
                published,
                this_run,
                unit,
                note,
                *published_ci,
                p[0],
                *this_run_ci,
                p[1],
                np.nan if on_ratio else this_run - published,
                ratio,
                intervals_overlap(published_ci, this_run_ci),
            )
        )

    everyone = {"analysis_set": "all"}
    km_endpoints = t["km_medians"]["endpoint"] if t["km_medians"] is not None else []
    paper_pfs = paper_pfs_endpoint(km_endpoints)

    def endpoint_of(name: str) -> str:
        """The endpoint of this run compared with the paper's ``name`` (PFS: under its rule)."""
        return paper_pfs if name.upper() == PFS else name.upper()

    pfs_note = (
        f"this run's {endpoint_label(paper_pfs)}: the paper's rule (the primary PFS differs)"
        if paper_pfs != PFS
        else ""
    )

    def defined_otherwise(flag: str) -> str:
        """A note when this run's flag is not the paper's (another ``gfr_cutoff``)."""
        paper = ref.get("gfr_cutoff")
        if flag != "gfr_le70" or paper is None or float(paper) == float(gfr_cutoff):
            return ""
        return f"the paper's flag is {label(flag, paper)}"

    add("patients", "n", ref["n"], _one(t["baseline"], "n", **everyone, variable="patients"))
    add(
        "male",
        "%",
        base["male"]["percent"],
        _one(t["baseline"], "percent", **everyone, variable="sex", level="M"),
    )
    add(
        "median age",
        "years",
        base["age"]["median"],
        _one(t["baseline"], "median", **everyone, variable="age"),
    )
    for flag in ("triple_class_refractory", "high_risk_cyto", "second_line", "emd"):
        add(
            label(flag, gfr_cutoff),
            "%",
            base[flag]["percent"],
            _one(t["baseline"], "percent", **everyone, variable=flag, level="1"),
        )
    add(
        "response-evaluable patients",
        "n",
        resp["evaluable"],
        _one(t["response"], "n_evaluable", **everyone, variable="all"),
    )
    for measure, name in (("orr", "ORR (≥PR)"), ("cbr", "CBR (≥MR)")):
        add(
            name,
            "%",
            resp["all"][measure],
            100 * _one(t["response"], measure, **everyone, variable="all"),
            this_run_ci=tuple(
                100 * _one(t["response"], f"{measure}_{side}", **everyone, variable="all")
                for side in ("ci_lower", "ci_upper")
            ),
        )
    for flag, key, words in (
        ("triple_class_refractory", "triple_class_refractory_orr", "triple-class refractory"),
        ("second_line", "second_line_vs_later_orr", "second line"),
        ("refractory_pi", "refractory_pi_orr", "PI refractory"),
    ):
        published = _yes_no(resp[key])
        p_pub, note = _p(published)
        test = {"variable": flag, "measure": "orr", **everyone}
        rate = {
            level: 100 * _one(t["response"], "orr", **everyone, variable=flag, level=level)
            for level in ("1", "0")
        }
        add(
            f"ORR, {words}",
            "%",
            published["yes"],
            rate["1"],
            note,
            p=(p_pub, _one(t["response_tests"], "p", **test)),
        )
        add(f"ORR, not {words}", "%", published["no"], rate["0"])
    add(
        "median follow-up (reverse KM)",
        "months",
        surv["median_followup"],
        _one(t["followup"], "median_followup", **everyone, endpoint="OS"),
        this_run_ci=tuple(
            _one(t["followup"], c, **everyone, endpoint="OS") for c in ("ci_lower", "ci_upper")
        ),
    )
    for endpoint in ("pfs", "os"):
        e = endpoint.upper()
        where = {**everyone, "endpoint": endpoint_of(e), "variable": "all"}
        upper = surv[endpoint]["ci"][1]
        notes = ["the paper's upper limit was not reached" if upper is None else ""]
        if e == "PFS":
            notes.append("the paper censored deaths from other causes (pfs_death_events: myeloma)")
            notes.append(pfs_note)
        add(
            f"median {e}",
            "months",
            surv[endpoint]["median"],
            _one(t["km_medians"], "median", **where),
            "; ".join(n for n in notes if n),
            published_ci=surv[endpoint]["ci"],
            this_run_ci=tuple(_one(t["km_medians"], c, **where) for c in ("ci_lower", "ci_upper")),
        )
    for endpoint, terms in surv["cox_multivariable"].items():
        for term, est in terms.items():
            where = {
                **everyone,
                "endpoint": endpoint_of(endpoint),
                "model": "multivariable",
                "term": term,
            }
            hr = _one(t["cox"], "hr", **where)
            add(
                f"{endpoint.upper()} HR, {label(term, gfr_cutoff)} (multivariable)",
                "HR",
                est["hr"],
                hr,
                "; ".join(
                    n
                    for n in (
                        defined_otherwise(term),
                        pfs_note if endpoint_of(endpoint) != endpoint.upper() else "",
                    )
                    if n
                ),
                published_ci=est["ci"],
                this_run_ci=tuple(_one(t["cox"], c, **where) for c in ("ci_lower", "ci_upper")),
                p=(est["p"], _one(t["cox"], "p", **where)),
            )
    for flag, values in surv.items():
        if not isinstance(values, dict) or not any(k.endswith("_p") for k in values):
            continue
        for endpoint in ("pfs", "os"):
            if f"{endpoint}_p" not in values:
                continue
            e = endpoint.upper()
            where = {**everyone, "endpoint": endpoint_of(e), "variable": flag}
            add(
                f"{e} log-rank p, {label(flag, gfr_cutoff)}",
                "p",
                np.nan,
                np.nan,
                "; ".join(n for n in (defined_otherwise(flag), pfs_note if e == PFS else "") if n),
                p=(values[f"{endpoint}_p"], _one(t["logrank"], "p", **where)),
            )
    rd = resp.get("Ixa-Rd", {})
    if rd:
        add(
            "ORR, Ixa-Rd",
            "%",
            rd["orr"],
            100 * _one(t["response"], "orr", analysis_set="Ixa-Rd", variable="all"),
        )
    add(
        "grade ≥3 hematologic AE",
        "%",
        safety["heme_ge3"]["percent"],
        _one(
            t["adverse_events"],
            "percent",
            **everyone,
            category="hematologic",
            term="any hematologic",
            grade_group="ge3",
        ),
    )
    nadir = safety["nadir_median_imid_vs_imid_free"]
    for test in ("wbc", "anc"):
        where = {**everyone, "test": test.upper()}
        imid, free = (
            _one(t["nadir"], "median", **where, group=g) for g in ("IMiD-containing", "IMiD-free")
        )
        p_run = _one(t["nadir_tests"], "p", **where, comparison="IMiD-containing vs IMiD-free")
        add(
            f"nadir {test.upper()} median, IMiD-containing",
            "10⁹/L",
            nadir[test][0],
            imid,
            p=(nadir[f"{test}_p"], p_run),
        )
        add(f"nadir {test.upper()} median, IMiD-free", "10⁹/L", nadir[test][1], free)
    return pd.DataFrame(rows, columns=[*COMPARISON_COLUMNS, *COMPARISON_EXTRA_COLUMNS])
