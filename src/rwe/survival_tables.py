"""Survival tables: Kaplan–Meier medians and landmarks, follow-up, log-rank and Cox.

Built from the R-port numerics of :mod:`rwe.survival`. ADTTE is pivoted and joined to ADSL once
(:func:`endpoint_data`); :func:`analysis_groups` then walks analysis set × endpoint × subgroup
level with boolean masks, so a group is a pair of arrays, never a merged DataFrame. A
Kaplan–Meier curve is computed once per group (:func:`km_fits`) and read by the median,
landmark and curve tables; a Cox model is fitted once (:func:`cox_models`) and read by both the
coefficient and the diagnostics table.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from rwe.derive import KEYS
from rwe.firth import FirthCoxResult, firth_cox
from rwe.survival import (
    CONVENTIONS,
    KM_CURVE_COLUMNS,
    CoxResult,
    cox_fit,
    km_at,
    km_curve,
    km_quantile,
    logrank,
    resolve_conventions,
)

ENDPOINTS = ("PFS", "OS")
SMALL_SET_EVENTS = 10  # fewer events than this: estimates flagged as unstable
GROUP_COLUMNS = ["analysis_set", "endpoint", "variable", "level"]
KM_MEDIAN_COLUMNS = [*GROUP_COLUMNS, "n", "events", "median", "ci_lower", "ci_upper"]
KM_LANDMARK_COLUMNS = [*GROUP_COLUMNS, "month", "n_risk", "surv", "ci_lower", "ci_upper"]
KM_CURVES_COLUMNS = [*GROUP_COLUMNS, *KM_CURVE_COLUMNS]
LOGRANK_COLUMNS = ["analysis_set", "endpoint", "variable", "chisq", "df", "p"]
FOLLOWUP_COLUMNS = ["analysis_set", "endpoint", "median_followup", "ci_lower", "ci_upper"]
COX_COLUMNS = ["analysis_set", "endpoint", "model", "term", "hr", "ci_lower", "ci_upper", "p"]
COX_COLUMNS += ["n", "events"]
#: Columns of ``cox.csv`` after ``n_dropped``: patients and events per level of a 0/1 term.
COX_LEVEL_COLUMNS = ["n_0", "events_0", "n_1", "events_1"]
#: Columns of ``cox.csv`` after those: the Firth-penalised HR with its profile-likelihood CI and
#: penalised likelihood-ratio p (:mod:`rwe.firth`), where the model is sparse.
COX_FIRTH_COLUMNS = ["firth_hr", "firth_ci_lower", "firth_ci_upper", "firth_p"]
COX_DIAGNOSTICS_COLUMNS = ["analysis_set", "endpoint", "model", "covariates", "statistic"]
COX_DIAGNOSTICS_COLUMNS += ["term", "value", "df", "p"]
#: Why a hazard ratio whose CI runs to 0 or infinity (or has no width) is not shown.
UNBOUNDED_CI = (
    "not estimable: the confidence interval is unbounded or degenerate (standard error "
    "infinite or 0)"
)
#: Column of :func:`endpoint_data` that holds the stratum code of a stratified analysis.
STRATUM = "stratum_code"
#: Column of ADTTE (and of :func:`endpoint_data`) with each patient's entry in months.
ENTRY = "entry"
#: Subgroups defined after day 0: compared from day 0 they are biased by immortal time
#: (:mod:`rwe.landmark` compares them without that bias).
DAY_ZERO_BIASED = ("responder",)
#: The note on every day-0 comparison of responders (``responder`` as a baseline subgroup).
IMMORTAL_TIME_NOTE = (
    "day-0 comparison of responders: biased by immortal time (responders must live until they "
    "respond); see the landmark and time-dependent analyses"
)
#: Why follow-up differs between endpoints (the report's note on the follow-up table).
FOLLOWUP_NOTE = (
    "reverse Kaplan–Meier of each endpoint: for PFS, progression or death ends a patient's "
    "PFS follow-up and the last disease assessment censors it, so PFS and OS follow-up differ; "
    "OS follow-up is the study's follow-up"
)


# --------------------------------------------------------------------------- groups


def _rows_of(adsl: pd.DataFrame, subset: pd.DataFrame) -> np.ndarray:
    """Positions in ``adsl`` of the patients of ``subset`` (a set), in the set's order."""
    keys = adsl[KEYS]
    if adsl.index.is_unique:
        rows = adsl.index.get_indexer(subset.index)
        if (rows >= 0).all() and (keys.iloc[rows].to_numpy() == subset[KEYS].to_numpy()).all():
            return rows
    rows = pd.MultiIndex.from_frame(keys).get_indexer(pd.MultiIndex.from_frame(subset[KEYS]))
    if (rows < 0).any():
        raise ValueError("an analysis set holds patients that are not in ADSL")
    return rows


def _positions_in(adsl: pd.DataFrame, tte: pd.DataFrame) -> np.ndarray:
    """Row of ADSL of each ADTTE row of one endpoint (-1 when the patient is not in ADSL)."""
    keys = adsl[KEYS]
    if len(tte) == len(keys) and all(
        (tte[k].to_numpy() == keys[k].to_numpy()).all() for k in KEYS
    ):  # ADTTE as derive writes it: one row per patient in ADSL's order
        return np.arange(len(tte))
    rows = pd.MultiIndex.from_frame(keys).get_indexer(pd.MultiIndex.from_frame(tte[KEYS]))
    if np.bincount(rows[rows >= 0], minlength=1).max() > 1:
        raise ValueError("ADTTE has more than one row per patient and endpoint")
    return rows


def endpoint_data(
    adsl: pd.DataFrame,
    adtte: pd.DataFrame,
    sets: dict[str, pd.DataFrame],
    columns: list[str],
    codes: dict[str, np.ndarray] | None = None,
) -> Iterator[tuple[str, str, pd.DataFrame]]:
    """Per analysis set and endpoint, the set's patients that have the endpoint in ADTTE.

    The endpoints are those of :data:`ENDPOINTS` that ADTTE has (every one when it is empty);
    other PARAMCDs (the sensitivity definitions of PFS, :mod:`rwe.pfs_sensitivity`) are not read.

    ADTTE is joined to ADSL once per endpoint (each ADTTE row located in ADSL by its keys);
    each set is then a selection of ADSL rows, sorted by time (stable: ties keep the set's
    order), so that no estimator downstream sorts again.

    Yields
    ------
    analysis_set, endpoint, data
        ``data`` has ``time`` (AVAL), ``event`` (1 − CNSR), with delayed entry ``entry``
        (ADTTE's entry in months, 0 where blank), and those ADSL ``columns`` present,
        as floats (missing = NaN), and each of ``codes`` (arrays in ADSL's row order, such as
        the integer code of each patient's site: :func:`site_codes`).
    """
    columns = [c for c in dict.fromkeys(columns) if c in adsl.columns]
    values = {c: adsl[c].to_numpy(dtype=float, na_value=np.nan) for c in columns}
    values.update(codes or {})
    aval, cnsr, entry = {}, {}, {}
    delayed = ENTRY in adtte.columns
    present = set(adtte["paramcd"].unique())
    # The endpoints ADTTE has (all when it is empty): a table of PFS alone gives PFS alone.
    endpoints = [e for e in ENDPOINTS if e in present] or list(ENDPOINTS)
    for endpoint in endpoints:
        tte = adtte[adtte["paramcd"] == endpoint]
        rows = _positions_in(adsl, tte)
        found = rows >= 0
        aval[endpoint] = np.full(len(adsl), np.nan)
        cnsr[endpoint] = np.full(len(adsl), np.nan)
        aval[endpoint][rows[found]] = tte["aval"].to_numpy(dtype=float, na_value=np.nan)[found]
        cnsr[endpoint][rows[found]] = tte["cnsr"].to_numpy(dtype=float, na_value=np.nan)[found]
        if delayed:  # blank entry (a pooled site without entry_day): day 0
            entry[endpoint] = np.zeros(len(adsl))
            given = tte[ENTRY].to_numpy(dtype=float, na_value=np.nan)[found]
            entry[endpoint][rows[found]] = np.nan_to_num(given, nan=0.0)
    for name, subset in sets.items():
        rows = _rows_of(adsl, subset)
        for endpoint in endpoints:
            with_endpoint = rows[~np.isnan(cnsr[endpoint][rows])]
            time = aval[endpoint][with_endpoint]
            with_endpoint = with_endpoint[np.argsort(time, kind="stable")]
            data = {c: v[with_endpoint] for c, v in values.items()}
            data["time"] = aval[endpoint][with_endpoint]
            data["event"] = 1 - cnsr[endpoint][with_endpoint].astype(int)
            if delayed:
                data[ENTRY] = entry[endpoint][with_endpoint]
            yield name, endpoint, pd.DataFrame(data)


def entry_of(data: pd.DataFrame) -> np.ndarray | None:
    """The entry times (months) of :func:`endpoint_data`'s ``data``; None without delayed entry."""
    return data[ENTRY].to_numpy(dtype=float) if ENTRY in data.columns else None


def has_delayed_entry(adtte: pd.DataFrame) -> bool:
    """True when ADTTE carries entry times (``patients.csv`` had ``entry_day``)."""
    return ENTRY in adtte.columns


def site_codes(adsl: pd.DataFrame, column: str = "site") -> dict[str, np.ndarray]:
    """The integer code of each ADSL row's ``column`` (e.g. its site), for :func:`endpoint_data`.

    Returns
    -------
    dict
        ``{STRATUM: codes}``; codes number the values in sorted order (R's factor levels).
    """
    values = adsl[column].astype(str).to_numpy()
    return {STRATUM: np.unique(values, return_inverse=True)[1].reshape(-1)}


@dataclass(frozen=True)
class Group:
    """The patients of one analysis set, endpoint and subgroup level, as arrays."""

    analysis_set: str
    endpoint: str
    variable: str
    level: str
    time: np.ndarray = field(repr=False)
    event: np.ndarray = field(repr=False)
    n_missing: int
    #: Entry times (delayed entry); None when every patient enters at 0.
    entry: np.ndarray | None = field(default=None, repr=False)


def analysis_groups(
    adsl: pd.DataFrame, adtte: pd.DataFrame, sets: dict[str, pd.DataFrame], subgroups: list[str]
) -> Iterator[Group]:
    """Every group a survival table reports, as arrays of time and event.

    Per set and endpoint: the whole set, then each subgroup flag's levels ``"0"`` and ``"1"``
    among patients whose flag is known. The order of :func:`rwe.derive.subgroup_levels`; a flag that is not a column of ADSL is
    skipped; ``n_missing`` counts the patients whose flag is missing (left out).
    """
    for name, endpoint, data in endpoint_data(adsl, adtte, sets, subgroups):
        time, event, entry = data["time"].to_numpy(), data["event"].to_numpy(), entry_of(data)
        yield Group(name, endpoint, "all", "all", time, event, 0, entry)
        for var in subgroups:
            if var not in data.columns:
                continue
            values = data[var].to_numpy(dtype=float, na_value=np.nan)
            known = ~np.isnan(values)
            n_missing = int((~known).sum())
            for level in (0, 1):
                rows = known & (np.trunc(np.where(known, values, 0)) == level)
                part = None if entry is None else entry[rows]
                yield Group(
                    name, endpoint, var, str(level), time[rows], event[rows], n_missing, part
                )


# --------------------------------------------------------------------------- Kaplan–Meier


@dataclass(frozen=True)
class KaplanMeierFit:
    """The Kaplan–Meier curve of one group (R ``survfit``), with its counts."""

    analysis_set: str
    endpoint: str
    variable: str
    level: str
    n: int
    events: int
    n_missing: int
    curve: pd.DataFrame = field(repr=False)


def km_fits(
    adsl, adtte, sets, subgroups, conf_type: str = "log", conf_level: float = 0.95
) -> list[KaplanMeierFit]:
    """One Kaplan–Meier curve per analysis group (:func:`analysis_groups`)."""
    return [
        KaplanMeierFit(
            g.analysis_set,
            g.endpoint,
            g.variable,
            g.level,
            len(g.time),
            int(g.event.sum()),
            g.n_missing,
            km_curve(g.time, g.event, conf_type, conf_level, entry=g.entry),
        )
        for g in analysis_groups(adsl, adtte, sets, subgroups)
    ]


def _key(fit) -> tuple[str, str, str, str]:
    return fit.analysis_set, fit.endpoint, fit.variable, fit.level


def km_median_table(fits: list[KaplanMeierFit], min_events: int = SMALL_SET_EVENTS) -> pd.DataFrame:
    """Kaplan–Meier median PFS and OS with CI per analysis set and subgroup level.

    Medians as R ``quantile.survfit``. An empty median or CI limit is NaN, as R's NA, and
    ``note`` gives the reason, which the report shows: ``no patients`` ("—"); ``median not
    reached`` ("NR"); ``upper limit not reached`` (the upper confidence curve stays above 0.5:
    "NR"); ``lower limit not estimable`` or ``CI not estimable: survival falls to 0 …`` (R gives
    NA: "NE", never "NR"); ``fewer than k events: imprecise`` with k = ``min_events`` (config
    ``km.min_median_events``); and, for the ``responder`` subgroup, that a day-0 comparison of
    responders is biased by immortal time.
    """
    rows = []
    for fit in fits:
        median, lower, upper = km_quantile(fit.curve)
        notes = [_median_note(fit.curve, median, lower, upper)] if fit.n else ["no patients"]
        if 0 < fit.events < min_events:
            notes.append(f"fewer than {min_events} events: imprecise")
        if fit.variable in DAY_ZERO_BIASED:
            notes.append(IMMORTAL_TIME_NOTE)
        note = "; ".join(n for n in notes if n)
        rows.append((*_key(fit), fit.n, fit.events, median, lower, upper, fit.n_missing, note))
    return pd.DataFrame(rows, columns=[*KM_MEDIAN_COLUMNS, "n_missing", "note"])


def _median_note(curve: pd.DataFrame, median: float, lower: float, upper: float) -> str:
    """Why a median or a limit of its CI is empty ('' when none is)."""
    if np.isnan(median):
        return "median not reached"
    if not (np.isnan(lower) or np.isnan(upper)):
        return ""
    at = curve["time"].to_numpy(float) <= median
    if at.any() and curve["surv"].to_numpy(float)[at][-1] == 0:
        return "CI not estimable: survival falls to 0 by the median (no patient left at risk)"
    return "upper limit not reached" if np.isnan(upper) else "lower limit not estimable"


def km_landmark_table(fits: list[KaplanMeierFit], landmarks_months) -> pd.DataFrame:
    """Survival at landmark months with CI and number at risk (R ``summary(fit, times =)``)."""
    rows = []
    for fit in fits:
        for month in landmarks_months:
            at = km_at(fit.curve, month, fit.n)
            note = "beyond the last follow-up time" if np.isnan(at["surv"]) else ""
            rows.append(
                (*_key(fit), month, at["n_risk"], at["surv"], at["ci_lower"], at["ci_upper"], note)
            )
    return pd.DataFrame(rows, columns=[*KM_LANDMARK_COLUMNS, "note"])


def km_curves(fits: list[KaplanMeierFit]) -> pd.DataFrame:
    """Every group's Kaplan–Meier curve in one long table (the columns of ``km_curve``)."""
    parts = [fit.curve.assign(**dict(zip(GROUP_COLUMNS, _key(fit), strict=True))) for fit in fits]
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame(columns=KM_CURVES_COLUMNS)
    return pd.concat(parts, ignore_index=True)[KM_CURVES_COLUMNS]


def followup_table(adsl, adtte, sets, conf_type="log", conf_level=0.95) -> pd.DataFrame:
    """Median follow-up by reverse Kaplan–Meier (censoring as the event), with its CI."""
    rows = []
    for g in analysis_groups(adsl, adtte, sets, []):
        curve = km_curve(g.time, 1 - g.event, conf_type, conf_level, entry=g.entry)
        median, lower, upper = km_quantile(curve)
        notes = [_median_note(curve, median, lower, upper) if len(curve) else "no patients"]
        notes.append(FOLLOWUP_NOTE if g.endpoint == "PFS" else "")
        note = "; ".join(n for n in notes if n)
        rows.append((g.analysis_set, g.endpoint, median, lower, upper, note))
    return pd.DataFrame(rows, columns=[*FOLLOWUP_COLUMNS, "note"])


# --------------------------------------------------------------------------- log-rank


def logrank_table(adsl, adtte, sets, subgroups) -> pd.DataFrame:
    """Log-rank test (R ``survdiff``) per analysis set, endpoint and subgroup flag."""
    rows = []
    levels = {}
    for g in analysis_groups(adsl, adtte, sets, subgroups):
        if g.variable == "all":
            continue
        levels[g.level] = g
        if g.level != "1":
            continue
        zero, one = levels["0"], g
        base = (g.analysis_set, g.endpoint, g.variable)
        if len(zero.time) == 0 or len(one.time) == 0:
            rows.append(
                (
                    *base,
                    np.nan,
                    np.nan,
                    np.nan,
                    g.n_missing,
                    "not testable: one level has no patients",
                )
            )
            continue
        group = np.repeat([0, 1], [len(zero.time), len(one.time)])
        entry = None if g.entry is None else np.concatenate([zero.entry, one.entry])
        test = logrank(
            np.concatenate([zero.time, one.time]),
            np.concatenate([zero.event, one.event]),
            group,
            entry=entry,
        )
        note = "; ".join(
            n
            for n in (test["note"], IMMORTAL_TIME_NOTE if g.variable in DAY_ZERO_BIASED else "")
            if n
        )
        rows.append((*base, test["chisq"], test["df"], test["p"], g.n_missing, note))
    return pd.DataFrame(rows, columns=[*LOGRANK_COLUMNS, "n_missing", "note"])


# --------------------------------------------------------------------------- Cox


@dataclass
class CoxModel:
    """One Cox model of one analysis set and endpoint, fitted once, with what was dropped."""

    analysis_set: str
    endpoint: str
    model: str
    covariates: list[str]
    n: int
    events: int
    fit: CoxResult | None
    term_notes: dict[str, str]
    notes: list[str]
    n_dropped: int
    #: Per 0/1 term: patients and events with the term 0 and 1 among the complete cases
    #: (``n_0, events_0, n_1, events_1``), for the forest plot's rows.
    level_counts: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)
    #: Where the model is sparse (fewer events per covariate than the threshold, or a monotone
    #: likelihood): what :meth:`firth` fits (time, event, X, terms, strata, ties).
    firth_inputs: tuple | None = field(default=None, repr=False)
    _firth: dict = field(default_factory=dict, repr=False)

    def firth(self, conf_level: float = 0.95) -> FirthCoxResult | None:
        """The Firth-penalised fit of a sparse model (:func:`rwe.firth.firth_cox`), else None."""
        if self.firth_inputs is None:
            return None
        if conf_level not in self._firth:
            time, event, X, terms, strata, ties = self.firth_inputs
            self._firth[conf_level] = firth_cox(time, event, X, terms, strata, ties, conf_level)
        return self._firth[conf_level]


def _level_counts(values: np.ndarray | None, event: np.ndarray) -> tuple[float, ...]:
    """Patients and events with a 0/1 term 0, then 1 (NaN for a term that is not 0/1)."""
    if values is None or not set(np.unique(values[~np.isnan(values)])) <= {0, 1}:
        return (np.nan,) * 4
    return tuple(
        int(x) for level in (0, 1) for x in ((values == level).sum(), event[values == level].sum())
    )


def _term_note(values: np.ndarray, event: np.ndarray, cov: str) -> str:
    """Why ``cov`` cannot be estimated among the complete cases ('' when it can)."""
    if values is None:
        return "not a column of ADSL: dropped"
    if np.isnan(values).all():  # also when no patient is left
        return "all missing: dropped"
    return level_note(values, event, cov)


def level_note(values: np.ndarray, event: np.ndarray, cov: str) -> str:
    """Why the levels of ``cov`` leave it without an estimate ('' when they do not).

    Constant (fewer than two known values), or a 0/1 covariate with no events in one level
    (monotone likelihood: R's estimate runs off to infinity).
    """
    distinct = np.unique(values[~np.isnan(values)])
    if distinct.size < 2:
        return "constant: dropped"
    if set(distinct) <= {0, 1}:
        for level in (0, 1):
            if event[values == level].sum() == 0:
                return f"not estimable: no events with {cov} = {level} (monotone likelihood)"
    return ""


def _model_not_estimable(time: np.ndarray, event: np.ndarray, strata=None, entry=None) -> str:
    """Why no Cox model can be fitted to these patients at all ('' when one can).

    Fewer than two events; or no comparison at any event time: every patient at risk (in
    its stratum) has the event then, e.g. everyone dead on day 0 (the partial likelihood is
    flat: R returns a coefficient of 0, a meaningless hazard ratio of 1).
    """
    events = int(np.sum(event))
    if events == 0:
        return "not estimable: no events"
    if events == 1:
        return "not estimable: only one event"
    codes = np.zeros(time.size, dtype=int) if strata is None else np.asarray(strata)
    for code in np.unique(codes):
        rows = codes == code
        curve = km_curve(time[rows], event[rows], entry=None if entry is None else entry[rows])
        at_event = curve["n_event"] > 0
        if (curve["n_risk"][at_event] > curve["n_event"][at_event]).any():
            return ""
    return (
        "not estimable: every patient at risk had the event at the same time (no patient to "
        "compare with)"
    )


def _constant_within_strata(values: np.ndarray, strata: np.ndarray) -> bool:
    """True when ``values`` (no NaN) take one value within each stratum."""
    if values.size == 0:
        return False
    lowest = np.full(strata.max() + 1, np.inf)
    highest = np.full(strata.max() + 1, -np.inf)
    np.minimum.at(lowest, strata, values)
    np.maximum.at(highest, strata, values)
    return bool(np.all((lowest == highest) | np.isinf(lowest)))


def cox_model(
    name,
    endpoint,
    model,
    wanted,
    data: pd.DataFrame,
    strata: str | None = None,
    min_events_per_covariate: int = SMALL_SET_EVENTS,
    ties: str = "efron",
) -> CoxModel:
    """Complete-case Cox fit of ``wanted`` in ``data``, with its notes (R ``coxph``).

    ``ties`` is the handling of tied event times (R ``ties =``; from the conventions).

    With ``strata`` (what the strata are, e.g. ``"site"``), the fit is stratified by the codes
    in ``data[STRATUM]`` (R ``+ strata(site)``), and a covariate that is constant within every
    stratum is dropped with a note (R would report it as singular, NA).
    """
    values = {c: data[c].to_numpy(dtype=float, na_value=np.nan) for c in wanted if c in data}
    present = [c for c in values if not np.isnan(values[c]).all()]
    complete = np.ones(len(data), dtype=bool)
    for c in present:
        complete &= ~np.isnan(values[c])
    event = data["event"].to_numpy()[complete]
    values = {c: v[complete] for c, v in values.items()}
    stratum = data[STRATUM].to_numpy()[complete] if strata else None
    term_notes = {c: _term_note(values.get(c), event, c) for c in wanted}
    if strata:
        for c in wanted:
            if not term_notes[c] and _constant_within_strata(values[c], stratum):
                term_notes[c] = (
                    f"constant within every {strata}: not estimable stratified by {strata}"
                )
    time = data["time"].to_numpy()[complete]
    entry = entry_of(data)
    entry = None if entry is None else entry[complete]
    model_note = _model_not_estimable(time, event, stratum, entry)
    if model_note:  # overrides a term's own reason, unless the term was dropped anyway
        term_notes = {
            c: note if note.endswith("dropped") else model_note for c, note in term_notes.items()
        }
    terms = [c for c in wanted if not term_notes[c]]
    notes = []
    dropped = int(len(data) - complete.sum())
    if dropped:
        notes.append(
            f"{dropped} patient{'s' if dropped != 1 else ''} with a missing covariate left out"
        )
    fit = None
    monotone = [c for c in wanted if term_notes[c].startswith("not estimable: no events with")]
    if terms:
        X = np.column_stack([values[c] for c in terms])
        fit = cox_fit(time, event, X, terms, strata=stratum, ties=ties, start=entry)
        infinite = "not estimable: coefficient may be infinite (monotone likelihood)"
        for j, term in enumerate(terms):
            if fit.aliased[j]:
                others = ", ".join(t for t in terms if t != term)
                term_notes[term] = (
                    f"not estimable: collinear with {others} (singular information matrix; "
                    "R reports NA)"
                )
            elif fit.infinite[j]:
                term_notes[term] = infinite + ("" if fit.converged else ": did not converge")
            elif not fit.converged:
                term_notes[term] = "not estimable: the model did not converge (as R coxph warns)"
        # Monotone likelihood: a coefficient R flags "may be infinite", or a fit that runs out
        # of iterations (R coxph.fit's warning when the loglik never levels off): Firth below.
        monotone += [
            t
            for j, t in enumerate(terms)
            if fit.infinite[j] or not (fit.converged or fit.aliased[j])
        ]
        if not fit.converged or fit.aliased.all():
            fit = None
        if fit is not None and fit.infinite.any() and len(terms) > 1:
            notes.append("a coefficient of this model may be infinite: the others are unreliable")
        if event.sum() < min_events_per_covariate * len(terms):
            notes.append(
                f"fewer than {min_events_per_covariate} events per covariate: estimates unstable"
            )
    firth_inputs = None
    penalised = [c for c in wanted if c in terms or c in monotone]
    penalised = [c for c in penalised if "collinear" not in term_notes[c]]
    sparse = event.sum() < min_events_per_covariate * len(penalised)
    if penalised and not model_note and (sparse or monotone):
        X = np.column_stack([values[c] for c in penalised])
        firth_inputs = (time, event, X, penalised, stratum, ties)
    return CoxModel(
        name,
        endpoint,
        model,
        list(wanted),
        int(complete.sum()),
        int(event.sum()),
        fit,
        term_notes,
        notes,
        dropped,
        {c: _level_counts(values.get(c), event) for c in wanted},
        firth_inputs,
    )


def cox_models(
    adsl,
    adtte,
    sets,
    covariates,
    strata: str | None = None,
    min_events_per_covariate: int = SMALL_SET_EVENTS,
    ties: str = "efron",
) -> list[CoxModel]:
    """Univariable (one per covariate) and multivariable Cox models per set and endpoint.

    Complete-case analysis: patients with a missing covariate are left out and counted. A
    covariate that is constant or all missing is dropped with a note; one with no events in a
    level (monotone likelihood, an infinite estimate) is reported as not estimable. Each model
    is fitted once; :func:`cox_table` and :func:`cox_diagnostics_table` read the same fits.

    Parameters
    ----------
    strata : str, optional
        A column of ADSL (``"site"``): every model is stratified by it, as R
        ``coxph(Surv(time, status) ~ x + strata(site))`` (a baseline hazard per site).
    min_events_per_covariate : int
        A model with fewer events than this per fitted covariate gets a note (config
        ``cox.min_events_per_covariate``).
    ties : {"efron", "breslow"}
        Handling of tied event times (R ``ties =``), from :func:`rwe.survival.resolve_conventions`.
    """
    specs = [("univariable", [c]) for c in covariates] + [("multivariable", list(covariates))]
    codes = site_codes(adsl, strata) if strata else None
    return [
        cox_model(name, endpoint, model, wanted, data, strata, min_events_per_covariate, ties)
        for name, endpoint, data in endpoint_data(adsl, adtte, sets, covariates, codes)
        for model, wanted in specs
    ]


def too_few_events(events: int, min_events: int) -> str:
    """``not estimable: 2 events (fewer than 5)`` when ``events`` < ``min_events``, else ''.

    No hazard or odds ratio is shown from fewer events than config ``min_events``.
    """
    if events >= min_events:
        return ""
    return f"not estimable: {events} event{'s' if events != 1 else ''} (fewer than {min_events})"


def cox_table(
    models: list[CoxModel], conf_level: float = 0.95, min_events: int = 0
) -> pd.DataFrame:
    """HR, Wald CI and p per term of the Cox models (R ``summary(coxph)``).

    After the contract columns: ``n_dropped``, then for a 0/1 term the patients and events
    with it 0 and 1 among the complete cases (:data:`COX_LEVEL_COLUMNS`), then, for a sparse
    model (fewer events per covariate than the threshold, or a monotone likelihood), the
    Firth-penalised HR with its profile penalised likelihood CI and p
    (:data:`COX_FIRTH_COLUMNS`, :func:`rwe.firth.firth_cox`), then ``note``. A model with fewer
    than ``min_events`` events (config ``min_events``) shows no hazard ratio at all.
    """
    rows = []
    for m in models:
        few = too_few_events(m.events, min_events) if m.events else ""
        estimates = m.fit.table(conf_level).set_index("term") if m.fit is not None else None
        firth = None if few else m.firth(conf_level)
        firth = firth.table().set_index("term") if firth is not None else None
        for term in m.covariates:
            term_note = m.term_notes[term]
            values = (np.nan,) * 4
            if estimates is not None and term in estimates.index and not term_note:
                e = estimates.loc[term]
                values = (e["hr"], e["ci_lower"], e["ci_upper"], e["p"])
                if not (np.all(np.isfinite(values)) and e["ci_lower"] > 0 and e["se"] > 0):
                    values = (np.nan,) * 4
                    term_note = UNBOUNDED_CI
            penalised = (np.nan,) * 4
            if firth is not None and term in firth.index:
                f = firth.loc[term]
                penalised = (f["hr"], f["ci_lower"], f["ci_upper"], f["p"])
                extra = "Firth-penalised estimate beside (monotone or sparse likelihood)"
                term_note = "; ".join(n for n in (term_note, f["note"], extra) if n)
            if few:
                values = (np.nan,) * 4
                term_note = few
            note = "; ".join(n for n in [term_note, *m.notes] if n)
            rows.append(
                (
                    m.analysis_set,
                    m.endpoint,
                    m.model,
                    term,
                    *values,
                    m.n,
                    m.events,
                    m.n_dropped,
                    *m.level_counts.get(term, (np.nan,) * 4),
                    *penalised,
                    note,
                )
            )
    columns = [*COX_COLUMNS, "n_dropped", *COX_LEVEL_COLUMNS, *COX_FIRTH_COLUMNS, "note"]
    return pd.DataFrame(rows, columns=columns)


def cox_diagnostics_table(models: list[CoxModel]) -> pd.DataFrame:
    """Global tests, concordance and ``cox.zph`` of every Cox model, one row per statistic.

    ``statistic`` is ``n``, ``events``, ``n_dropped``, ``lr``, ``wald``, ``score`` (global
    tests: value = chi-square), ``concordance`` (R ``concordance``) or ``zph`` (R ``cox.zph``,
    per term and ``GLOBAL``). ``note`` (after the columns) says why a test is empty, and on
    the tests of a model with a coefficient that may be infinite, that they are unreliable.
    """
    rows = []
    for m in models:
        base = (m.analysis_set, m.endpoint, m.model, "+".join(m.covariates))
        rows += [
            (*base, "n", "", m.n, np.nan, np.nan, ""),
            (*base, "events", "", m.events, np.nan, np.nan, ""),
            (*base, "n_dropped", "", m.n_dropped, np.nan, np.nan, ""),
        ]
        if m.fit is None:
            continue
        caveat = (
            "a coefficient may be infinite (monotone likelihood): unreliable"
            if m.fit.infinite.any()
            else ""
        )
        tests = m.fit.global_tests
        for stat in ("lr", "wald", "score"):
            values = (tests[f"{stat}_chisq"], tests[f"{stat}_df"], tests[f"{stat}_p"])
            rows.append((*base, stat, "", *values, caveat))
        rows.append((*base, "concordance", "", m.fit.concordance, np.nan, np.nan, caveat))
        for z in m.fit.zph.itertuples(index=False):
            note = "; ".join(n for n in (z.note, caveat) if n)
            rows.append((*base, "zph", z.term, z.chisq, z.df, z.p, note))
    return pd.DataFrame(rows, columns=[*COX_DIAGNOSTICS_COLUMNS, "note"])


# --------------------------------------------------------------------------- conventions

CONVENTIONS_COMPARISON_COLUMNS = ["endpoint", "estimate", "term"]
CONVENTIONS_COMPARISON_COLUMNS += [
    f"{name}_{stat}" for name in CONVENTIONS for stat in ("value", "ci_lower", "ci_upper", "p")
]
CONVENTIONS_COMPARISON_COLUMNS += ["n", "events", "note"]


def conventions_comparison(
    adsl, adtte, covariates, conf_level: float = 0.95, analysis_set: str = "all"
) -> pd.DataFrame:
    """The headline estimates under each software convention, side by side.

    Per endpoint: the median survival of all patients with its CI (R ``survfit`` with each
    convention's ``conf.type``: log for ``r``, log-log for ``sas``), then each multivariable
    Cox hazard ratio with CI and p (``coxph`` with Efron ties for ``r``, Breslow for ``sas``).
    The conventions' own settings, whatever ``km.conf_type`` overrides, so that the table shows
    what a reader used to SAS would get.

    Returns
    -------
    pandas.DataFrame
        :data:`CONVENTIONS_COMPARISON_COLUMNS`: ``estimate`` is ``median`` (months; ``term``
        empty) or ``hr``; ``<convention>_value, _ci_lower, _ci_upper, _p`` per convention
        (``p`` empty for medians); an empty value is not estimable, with the reason in ``note``.
    """
    sets = {analysis_set: adsl}
    conventions = {name: resolve_conventions(name) for name in CONVENTIONS}
    rows = {}

    def put(key, name, values, n, events, note):
        row = rows.setdefault(key, {"n": n, "events": events, "notes": []})
        row.update(
            {
                f"{name}_{s}": v
                for s, v in zip(("value", "ci_lower", "ci_upper", "p"), values, strict=True)
            }
        )
        if note and note not in row["notes"]:
            row["notes"].append(note)

    for name, c in conventions.items():
        for fit in km_fits(adsl, adtte, sets, [], c.conf_type, conf_level):
            table = km_median_table([fit]).iloc[0]
            values = (table["median"], table["ci_lower"], table["ci_upper"], np.nan)
            put((fit.endpoint, "median", ""), name, values, fit.n, fit.events, table["note"])
        models = cox_models(adsl, adtte, sets, list(covariates), ties=c.ties)
        hr = cox_table([m for m in models if m.model == "multivariable"], conf_level)
        for r in hr.itertuples(index=False):
            values = (r.hr, r.ci_lower, r.ci_upper, r.p)
            put((r.endpoint, "hr", r.term), name, values, r.n, r.events, r.note)
    out = [
        {**dict(zip(["endpoint", "estimate", "term"], key, strict=True)), **row}
        for key, row in rows.items()
    ]
    frame = pd.DataFrame(out)
    frame["note"] = frame.pop("notes").map("; ".join) if len(frame) else []
    return frame.reindex(columns=CONVENTIONS_COMPARISON_COLUMNS)
