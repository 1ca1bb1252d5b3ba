"""The key results: every prespecified estimate with its CI, flagged where it is fragile.

:func:`key_results` reads the output tables (already small-cell suppressed, so a value may be
the text the suppression put there) and returns one structured row per prespecified estimate,
whatever its p value: the patients analysed, ORR and CBR, median PFS (primary, then each
sensitivity definition, :mod:`rwe.endpoints`) and OS, median follow-up,
every term of the multivariable Cox models, the landmark and time-dependent Cox hazard ratios
of response, grade ≥3 hematologic adverse events, and grade ≥3 toxicity of the four graded
blood counts as reported, graded from the counts, and either. ``flag`` says why an estimate is fragile:
fewer than ``min_events_per_covariate`` events per covariate, a median from fewer than
``min_median_events`` events, a sparse level of a covariate (fewer events in one level than
``min_median_events``), or an estimate that does not exist. The report's summary section
renders the rows; nothing here formats a number.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from rwe.endpoints import PFS, PFS_RULE_WORDS, PFS_SENSITIVITY_PARAMCD, endpoint_label
from rwe.labels import label
from rwe.safety import TOXICITY_TESTS

#: How the key results name the sources of the hematologic toxicity table.
TOXICITY_SOURCE_WORDS = {
    "reported": "reported AE",
    "labs": "graded from blood counts (CTCAE v5)",
    "either": "reported or graded from blood counts",
}
KEY_RESULT_COLUMNS = ["topic", "quantity", "analysis_set", "endpoint", "estimate", "ci_lower"]
KEY_RESULT_COLUMNS += ["ci_upper", "p", "unit", "n", "events", "flag"]


def _number(value) -> float | None:
    """A float, or None for text (a suppressed cell) and missing values."""
    if isinstance(value, str):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(out) else out


def _rows(table: pd.DataFrame | None, **match) -> pd.DataFrame:
    if table is None or table.empty:
        return pd.DataFrame()
    mask = pd.Series(True, index=table.index)
    for column, value in match.items():
        if column not in table.columns:
            return pd.DataFrame()
        mask &= table[column].astype(str) == str(value)
    return table[mask]


def _sparse_levels(km_medians, analysis_set, endpoint, term, min_events, gfr_cutoff) -> str:
    """``sparse: 4 events with Triple-class refractory`` when a level of ``term`` has few events."""
    levels = _rows(km_medians, analysis_set=analysis_set, endpoint=endpoint, variable=term)
    sparse = []
    for r in levels.to_dict("records"):
        events = _number(r.get("events"))
        if events is not None and events < min_events:
            which = "with" if str(r["level"]) == "1" else "without"
            sparse.append(f"{int(events)} events {which} {label(term, gfr_cutoff)}")
    return f"sparse: {', '.join(sparse)}" if sparse else ""


@dataclass
class _Rows:
    """The rows :func:`key_results` collects for one analysis set."""

    analysis_set: str
    rows: list = field(default_factory=list)

    def add(self, topic, quantity, values=(), unit="", endpoint="", counts=(np.nan,) * 2, flags=()):
        estimate, lower, upper, p = (*values, *[np.nan] * (4 - len(values)))
        flag = "; ".join(f for f in flags if f)
        self.rows.append(
            (
                topic,
                quantity,
                self.analysis_set,
                endpoint,
                estimate,
                lower,
                upper,
                p,
                unit,
                *counts,
                flag,
            )
        )


def _not_estimable(value, note) -> str:
    """The reason an estimate does not exist (the first part of its note), else ''."""
    if _number(value) is not None or isinstance(value, str):  # an estimate, or suppressed
        return ""
    reason = str(note if isinstance(note, str) else "").split(";")[0]
    reason = reason.removeprefix("not estimable").lstrip(": ")
    return f"not estimable: {reason}" if reason else "not estimable"


def _few_events(events, threshold: int) -> str:
    events = _number(events)
    return f"fewer than {threshold} events" if events is not None and events < threshold else ""


def _firth(row) -> str:
    """The Firth-penalised HR of a sparse Cox term with its profile CI ('' when none)."""
    values = [_number(row.get(c)) for c in ("firth_hr", "firth_ci_lower", "firth_ci_upper")]
    if values[0] is None:
        return ""
    lower, upper = (f"{v:.2f}" if v is not None else "NE" for v in values[1:])
    return f"Firth-penalised HR {values[0]:.2f} ({lower}–{upper}, profile likelihood)"


def _few_per_covariate(events, covariates: int, threshold: int) -> str:
    events = _number(events)
    if events is None or events >= covariates * threshold:
        return ""
    return f"{events / covariates:.1f} events per covariate (< {threshold})"


def patients_quantity(row_level_sites=(), aggregate_sites=()) -> str:
    """The headline count's name, saying which sites it holds.

    ``patients analysed`` with one site; otherwise the sites that sent patient rows (the
    count) and those that sent aggregates only (in the meta-analysis and the per-site summary,
    not in the count), e.g. ``patients analysed at 2 sites with patient rows (a, b); c sent
    aggregates only: in the meta-analysis and per-site summary, not in this count``.
    """
    row_level, aggregate = list(row_level_sites), list(aggregate_sites)
    if len(row_level) < 2 and not aggregate:
        return "patients analysed"
    noun = "site" if len(row_level) == 1 else "sites"
    name = (
        f"patients analysed at {len(row_level)} {noun} with patient rows ({', '.join(row_level)})"
    )
    if aggregate:
        verb = "sent" if len(aggregate) == 1 else "each sent"
        name += (
            f"; {', '.join(aggregate)} {verb} aggregates only: in the meta-analysis and "
            "per-site summary, not in this count"
        )
    return name


def key_results(
    tables: dict[str, pd.DataFrame],
    covariates: list[str],
    min_events_per_covariate: int,
    min_median_events: int,
    gfr_cutoff: float,
    analysis_set: str = "all",
    row_level_sites=(),
    aggregate_sites=(),
    pfs_death_events: str | None = None,
) -> pd.DataFrame:
    """Every prespecified estimate of ``analysis_set``, with its CI, p and fragility flag.

    Parameters
    ----------
    tables : dict of str to pandas.DataFrame
        Output tables by name (``baseline``, ``response``, ``km_medians``, ``followup``,
        ``cox``, ``landmark``, ``cox_time_dependent``, ``adverse_events``,
        ``hematologic_toxicity``); any may be absent.
    covariates : list of str
        The multivariable Cox covariates (config ``cox.covariates``), in order.
    min_events_per_covariate, min_median_events : int
        Config ``cox.min_events_per_covariate`` and ``km.min_median_events``.
    gfr_cutoff : float
        Config ``gfr_cutoff`` (the label of ``gfr_le70``).
    analysis_set : str
        The set reported.
    row_level_sites, aggregate_sites : sequence of str
        The sites that sent patient rows and those that sent aggregates only: the headline
        count says which are in it (:func:`patients_quantity`).
    pfs_death_events : str, optional
        Config ``pfs_death_events``, the rule of the primary PFS: its median is then named
        ``median PFS, primary: <rule>``; a sensitivity definition's ``median PFS, sensitivity:
        <rule>`` (:func:`rwe.endpoints.endpoint_label`).

    Returns
    -------
    pandas.DataFrame
        :data:`KEY_RESULT_COLUMNS`: ``topic`` (patients, response, survival, cox, landmark,
        time-dependent cox, safety), a ``quantity`` in words, the estimate with its CI and p
        as in the tables (rates in percent), ``n``, ``events`` and ``flag`` ('' when none).
    """
    out = _Rows(analysis_set)
    one = {"analysis_set": analysis_set}
    for r in _rows(tables.get("baseline"), **one, variable="patients").head(1).to_dict("records"):
        name = patients_quantity(row_level_sites, aggregate_sites)
        out.add("patients", name, (r["n"],), "n", counts=(r["n"], np.nan))
    for r in _rows(tables.get("response"), **one, variable="all").head(1).to_dict("records"):
        for measure, name in (("orr", "ORR (≥ PR)"), ("cbr", "CBR (≥ MR)")):
            values = [r[measure], r[f"{measure}_ci_lower"], r[f"{measure}_ci_upper"]]
            values = [100 * v if _number(v) is not None else v for v in values]
            out.add("response", name, values, "%", counts=(r["n_evaluable"], np.nan))
    km = tables.get("km_medians")
    primary = f"PFS, primary: {PFS_RULE_WORDS[pfs_death_events]}" if pfs_death_events else PFS
    names = {PFS: primary} | {e: endpoint_label(e) for e in PFS_SENSITIVITY_PARAMCD.values()}
    for endpoint in (PFS, *PFS_SENSITIVITY_PARAMCD.values(), "OS"):
        for r in _rows(km, **one, endpoint=endpoint, variable="all").to_dict("records"):
            values = (r["median"], r["ci_lower"], r["ci_upper"])
            flag = _few_events(r["events"], min_median_events)
            out.add(
                "survival",
                f"median {names.get(endpoint, endpoint)}",
                values,
                "months",
                endpoint,
                (r["n"], r["events"]),
                [flag],
            )
    for r in _rows(tables.get("followup"), **one, endpoint="OS").to_dict("records"):
        values = (r["median_followup"], r["ci_lower"], r["ci_upper"])
        out.add("survival", "median follow-up (reverse Kaplan–Meier)", values, "months", "OS")
    cox = _rows(tables.get("cox"), **one, model="multivariable")
    for endpoint in ("PFS", "OS"):
        model = _rows(cox, endpoint=endpoint)
        terms = {r["term"]: r for r in model.to_dict("records")}
        if model.empty:
            continue
        fitted = max(int(pd.to_numeric(model["hr"], errors="coerce").notna().sum()), 1)
        for term in (t for t in covariates if t in terms):
            r = terms[term]
            flags = [
                _not_estimable(r["hr"], r.get("note")),
                _few_per_covariate(r["events"], fitted, min_events_per_covariate),
                _sparse_levels(km, analysis_set, endpoint, term, min_median_events, gfr_cutoff),
                _firth(r),
            ]
            values = (r["hr"], r["ci_lower"], r["ci_upper"], r["p"])
            name = f"{label(term, gfr_cutoff)}, HR (multivariable)"
            out.add("cox", name, values, "HR", endpoint, (r["n"], r["events"]), flags)
    for r in _rows(tables.get("landmark"), **one, level="all").to_dict("records"):
        flags = [
            _not_estimable(r["hr"], r.get("note")),
            _few_events(r["events"], min_median_events),
        ]
        values = (r["hr"], r["hr_ci_lower"], r["hr_ci_upper"], r["hr_p"])
        name = f"response confirmed by month {r['landmark_month']:g} vs not (landmark), HR"
        out.add("landmark", name, values, "HR", r["endpoint"], (r["n"], r["events"]), flags)
    td = _rows(tables.get("cox_time_dependent"), **one, term="responder_td")
    for r in td.to_dict("records"):
        adjusted = r["model"] == "multivariable"
        per = 1 + len(covariates) if adjusted else 1
        flags = [
            _not_estimable(r["hr"], r.get("note")),
            _few_per_covariate(r["events"], per, min_events_per_covariate),
        ]
        values = (r["hr"], r["ci_lower"], r["ci_upper"], r["p"])
        name = f"response (time-dependent), HR {'adjusted' if adjusted else 'unadjusted'}"
        out.add(
            "time-dependent cox", name, values, "HR", r["endpoint"], (r["n"], r["events"]), flags
        )
    heme = _rows(tables.get("adverse_events"), **one, term="any hematologic", grade_group="ge3")
    for r in heme.head(1).to_dict("records"):
        name = "grade ≥3 hematologic adverse events"
        values = (r["percent"], r.get("ci_lower", np.nan), r.get("ci_upper", np.nan))
        out.add("safety", name, values, "%", counts=(r["N"], r["n"]))
    toxicity = _rows(tables.get("hematologic_toxicity"), **one, test="any", grade_group="ge3")
    for r in toxicity.to_dict("records"):
        tests = "/".join(TOXICITY_TESTS)
        name = f"grade ≥3 {tests} toxicity, {TOXICITY_SOURCE_WORDS[r['source']]}"
        values = (r["percent"], r["ci_lower"], r["ci_upper"])
        out.add("safety", name, values, "%", counts=(r["N"], r["n"]))
    return pd.DataFrame(out.rows, columns=KEY_RESULT_COLUMNS)
