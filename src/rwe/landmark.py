"""Response and survival compared without immortal-time bias: landmark and time-dependent Cox.

A patient must survive (and not progress) until their response to be counted as a responder, so
a day-0 comparison of responders with non-responders credits the responders with the time
before their response ("immortal time") and is biased in their favour. Two analyses avoid it
(Anderson, Cain & Gelber, J Clin Oncol 1983; Therneau, Crowson & Atkinson, *Using time
dependent covariates and time dependent coefficients in the Cox model*, survival vignette):

- :func:`landmark_table` — at each landmark month L, the patients still event-free and under
  follow-up (time > L), split by whether they had responded by L, with time counted from L:
  Kaplan–Meier medians (R ``survfit``/``quantile``), the log-rank test (R ``survdiff``) and the
  Cox hazard ratio (R ``coxph``) of responders vs not.
- :func:`counting_process` builds the counting-process rows exactly as R
  ``tmerge(data, data, id, event = event(time, status), responder_td = tdc(response_time))``
  does, and :func:`time_dependent_cox_table` fits
  ``coxph(Surv(tstart, tstop, event) ~ responder_td [+ covariates])`` on them.

No look-ahead: a patient's group at time t uses only what was known at t. A response (PR or
better) needs a later assessment to confirm it (IMWG), so it is known from the confirming
assessment (``response_confirmed_day`` of ADSL), not from the first assessment at PR or better
(``first_response_day``, which stays the start of the duration of response). At landmark L only
responses confirmed on or before L count, and the time-dependent covariate switches on at the
confirmation day. Grouping by the first assessment instead would classify patients at L by an
assessment made after L.

Who is compared: patients whose best response is known (the ``responder`` flag is 0 or 1) and
whose response comes from dated assessments (``responses.csv``, or the laboratory values with
``response_source: derived``), so that a responder's confirmation day is known; the others are
counted in ``n_unknown``. The estimators are those of :mod:`rwe.survival`;
``tests/r/landmark_reference.R`` recomputes both tables with R.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rwe.derive import DAYS_PER_MONTH
from rwe.survival import cox_fit, km_curve, km_quantile, logrank
from rwe.survival_tables import SMALL_SET_EVENTS, cox_model, endpoint_data, entry_of, level_note

#: Name of the time-dependent response covariate (as in the R model formula).
RESPONSE_TERM = "responder_td"
#: Name of the landmark comparison's covariate: responded by the landmark (1) or not (0).
LANDMARK_TERM = "responded_by_landmark"
LANDMARK_COLUMNS = ["analysis_set", "endpoint", "landmark_month", "level", "n", "events"]
LANDMARK_COLUMNS += ["median", "ci_lower", "ci_upper", "hr", "hr_ci_lower", "hr_ci_upper", "hr_p"]
LANDMARK_COLUMNS += ["logrank_chisq", "logrank_df", "logrank_p", "n_not_at_risk", "n_unknown"]
LANDMARK_COLUMNS += ["note"]
COX_TD_COLUMNS = ["analysis_set", "endpoint", "model", "term", "hr", "ci_lower", "ci_upper", "p"]
COX_TD_COLUMNS += ["n", "events", "n_rows", "n_dropped", "n_unknown", "note"]
COUNTING_PROCESS_COLUMNS = ["id", "tstart", "tstop", "event", RESPONSE_TERM]
#: ADSL column of the day a response became known (its confirming assessment).
CONFIRMED_DAY = "response_confirmed_day"
#: Sources of best response whose assessments are dated (ADSL ``best_response_source``).
DATED_SOURCES = ("responses.csv", "labs.csv")
#: Column of :func:`endpoint_data` that holds each patient's month of confirmed response.
_RESPONSE_MONTH = "response_month"
_KNOWN = "response_known"


def response_timing(adsl: pd.DataFrame) -> dict[str, np.ndarray]:
    """Each ADSL row's month of confirmed response and whether its response history is known.

    Returns
    -------
    dict
        ``response_month``: ``response_confirmed_day`` / 30.4375 for responders (the day the
        response became known, not its first assessment: no look-ahead), ``inf`` for
        non-responders (they never respond), NaN when unknown; ``response_known``: 1.0 when the
        patient is compared (the ``responder`` flag is known, the response comes from dated
        assessments, :data:`DATED_SOURCES`, and a responder's confirmation day is known), else
        0.0. Arrays in ADSL's row order.
    """
    n = len(adsl)
    responder = (
        adsl["responder"].to_numpy(dtype=float, na_value=np.nan)
        if "responder" in adsl
        else np.full(n, np.nan)
    )
    confirmed = (
        adsl[CONFIRMED_DAY].to_numpy(dtype=float, na_value=np.nan)
        if CONFIRMED_DAY in adsl
        else np.full(n, np.nan)
    )
    dated = (
        adsl["best_response_source"].isin(DATED_SOURCES).to_numpy()
        if "best_response_source" in adsl
        else np.isfinite(confirmed)
    )
    month = np.where(
        responder == 1, confirmed / DAYS_PER_MONTH, np.where(responder == 0, np.inf, np.nan)
    )
    known = dated & ~np.isnan(month)
    return {_RESPONSE_MONTH: np.where(known, month, np.nan), _KNOWN: known.astype(float)}


def _median_row(time, event, conf_type, conf_level) -> tuple:
    median, lower, upper = km_quantile(km_curve(time, event, conf_type, conf_level))
    return len(time), int(event.sum()), median, lower, upper


def landmark_table(
    adsl: pd.DataFrame,
    adtte: pd.DataFrame,
    sets: dict[str, pd.DataFrame],
    landmarks_months: list[float],
    conf_type: str = "log",
    conf_level: float = 0.95,
    min_events: int = SMALL_SET_EVENTS,
    ties: str = "efron",
) -> pd.DataFrame:
    """Landmark analysis of responders vs non-responders per set, endpoint and landmark month.

    At landmark L (months): the patients with a known response history whose PFS/OS time is
    beyond L (event-free and under follow-up at L), in two groups: responded by L (a response
    confirmed on or before L: :func:`response_timing`) or not; a response first seen before L
    but confirmed after it is "not responded" at L. Time is counted from L (time − L). As R::

        d <- subset(d, aval > L)
        d$responded <- d$response_confirmed_day / 30.4375 <= L  # Inf for non-responders
        survfit(Surv(aval - L, event) ~ responded, d)     # medians: quantile(fit, 0.5)
        survdiff(Surv(aval - L, event) ~ responded, d)
        coxph(Surv(aval - L, event) ~ responded, d)       # HR of responders vs not

    Returns
    -------
    pandas.DataFrame
        :data:`LANDMARK_COLUMNS`: per set, endpoint and landmark, a row with ``level`` ``all``
        (every patient at risk at L; the Kaplan–Meier median, the HR with its Wald CI and p,
        and the log-rank test), then ``1`` (responded by L) and ``0`` (not): their medians.
        ``n_not_at_risk`` counts the known patients with an event or censored by L,
        ``n_unknown`` those whose response history is unknown (left out). With delayed entry
        (ADTTE's ``entry``), a patient is in the landmark's risk set only if under observation
        at L (entry < L < time, R ``subset(d, entry < L & aval > L)``); those who entered
        at or after L are counted in ``n_not_at_risk`` and named in ``note``. An estimate that
        does not exist is NaN with the reason in ``note``; a comparison with fewer than
        ``min_events`` events is flagged there. ``ties``: ``efron`` (R) or ``breslow`` (SAS),
        as the configured conventions say.
    """
    rows = []
    timing = response_timing(adsl)
    ci = (conf_type, conf_level)
    for name, endpoint, data in endpoint_data(adsl, adtte, sets, [], timing):
        known = data[_KNOWN].to_numpy() == 1
        n_unknown = int((~known).sum())
        time, event = data["time"].to_numpy()[known], data["event"].to_numpy()[known]
        month = data[_RESPONSE_MONTH].to_numpy()[known]
        entry = entry_of(data)
        entry = np.zeros(time.size) if entry is None else entry[known]
        for landmark in landmarks_months:
            at_risk = (time > landmark) & (entry < landmark)
            late = int(((time > landmark) & (entry >= landmark)).sum())
            t, e = time[at_risk] - landmark, event[at_risk]
            responded = (month[at_risk] <= landmark).astype(float)
            base = (name, endpoint, landmark)
            counts = (int((~at_risk).sum()), n_unknown)
            n1, n0 = int(responded.sum()), int((1 - responded).sum())
            comparison, notes = [np.nan] * 7, []
            if late:  # no count here: n_not_at_risk holds them (and is suppressed when small)
                notes.append(
                    f"patients who entered observation after month {landmark:g} are not at "
                    "risk at the landmark (counted in n_not_at_risk)"
                )
            if n1 == 0 or n0 == 0:
                who = "responded" if n1 == 0 else "was without a response"
                notes.append(f"not compared: no patient {who} by month {landmark:g}")
            else:
                test = logrank(t, e, responded)
                frame = pd.DataFrame({"time": t, "event": e, LANDMARK_TERM: responded})
                model = cox_model(
                    name, endpoint, "univariable", [LANDMARK_TERM], frame, None, min_events, ties
                )
                hr = (np.nan,) * 4
                if model.fit is not None and not model.term_notes[LANDMARK_TERM]:
                    est = model.fit.table(conf_level).iloc[0]
                    hr = (est["hr"], est["ci_lower"], est["ci_upper"], est["p"])
                comparison = [*hr, test["chisq"], test["df"], test["p"]]
                notes += [model.term_notes[LANDMARK_TERM], test["note"], *model.notes]
            note = "; ".join(n for n in notes if n)
            rows.append((*base, "all", *_median_row(t, e, *ci), *comparison, *counts, note))
            for level in (1, 0):
                in_level = responded == level
                stats = _median_row(t[in_level], e[in_level], *ci)
                note = "no patients" if stats[0] == 0 else ""
                note = note or ("median not reached" if np.isnan(stats[2]) else "")
                rows.append((*base, str(level), *stats, *[np.nan] * 7, *counts, note))
    return pd.DataFrame(rows, columns=LANDMARK_COLUMNS)


def counting_process(
    time, event, response_time, covariates: pd.DataFrame | None = None, entry=None
) -> pd.DataFrame:
    """Counting-process rows with response as a time-dependent covariate, as R ``tmerge``.

    As ``base <- tmerge(d, d, id = id, event = event(time, status))`` then
    ``tmerge(base, d, id = id, responder_td = tdc(response_time))``: each patient's follow-up
    (0, time] is split at the response time when it falls strictly inside it; the covariate is
    0 before the response and 1 from it on (1 from the start for a response on day 0, 0
    throughout when the response time is missing, infinite or not before the end of follow-up);
    the event is on the last row only.

    Parameters
    ----------
    time, event : array-like
        Follow-up time (> 0; R refuses an ending time of 0) and 1 = event / 0 = censored.
    response_time : array-like
        Time the response became known (its confirmation) on the same scale; NaN or ``inf``
        for never.
    covariates : pandas.DataFrame, optional
        Baseline covariates, one row per patient: repeated on each of the patient's rows.
    entry : array-like, optional
        Delayed entry: each patient's follow-up is (entry, time] instead of (0, time], as
        ``tmerge(d, d, id = id, event = event(time, status), tstart = entry)``: rows that end
        by the entry are dropped and the first row left starts at the entry.

    Returns
    -------
    pandas.DataFrame
        ``id`` (position of the patient), ``tstart, tstop, event, responder_td``, then the
        covariates.
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    response = np.nan_to_num(np.asarray(response_time, dtype=float), nan=np.inf)
    if np.any(time <= 0):
        raise ValueError("counting_process: every follow-up time must be > 0 (as R tmerge)")
    split = (response > 0) & (response < time)
    ids = np.arange(time.size)
    first_stop = np.where(split, response, time)
    before = pd.DataFrame(
        {
            "id": ids,
            "tstart": 0.0,
            "tstop": first_stop,
            "event": np.where(split, 0.0, event),
            RESPONSE_TERM: (response <= 0).astype(float),
        }
    )
    after = pd.DataFrame(
        {
            "id": ids[split],
            "tstart": response[split],
            "tstop": time[split],
            "event": event[split],
            RESPONSE_TERM: 1.0,
        }
    )
    rows = pd.concat([before, after], ignore_index=True).sort_values(
        ["id", "tstart"], kind="stable"
    )
    if entry is not None:
        start = np.asarray(entry, dtype=float)[rows["id"].to_numpy()]
        observed = rows["tstop"].to_numpy() > start
        rows = rows[observed].assign(tstart=np.maximum(rows["tstart"].to_numpy(), start)[observed])
    rows = rows.reset_index(drop=True)
    if covariates is not None:
        rows = pd.concat(
            [rows, covariates.reset_index(drop=True).iloc[rows["id"]].reset_index(drop=True)],
            axis=1,
        )
    return rows


def _time_dependent_fit(
    cp: pd.DataFrame, terms: list[str], conf_level, min_events_per_covariate, ties
) -> tuple[dict[str, tuple], dict[str, str], list[str]]:
    """Fit ``coxph(Surv(tstart, tstop, event) ~ terms)`` on counting-process rows.

    Returns each term's ``(hr, ci_lower, ci_upper, p)`` (NaN when not estimable), each term's
    note and the notes of the model.
    """
    event = cp["event"].to_numpy()
    notes = {t: level_note(cp[t].to_numpy(dtype=float), event, t) for t in terms}
    fitted = [t for t in terms if not notes[t]]
    values = dict.fromkeys(terms, (np.nan,) * 4)
    model_notes = []
    if not fitted or not len(cp):
        return values, notes, model_notes
    if event.sum() < min_events_per_covariate * len(fitted):
        model_notes.append(
            f"fewer than {min_events_per_covariate} events per covariate: estimates unstable"
        )
    # Always as counting-process rows: R fits Surv(tstart, tstop, event) by agreg.fit, whose
    # iteration and "may be infinite" rule cox_fit follows when given start.
    with np.errstate(invalid="ignore", over="ignore"):  # a diverging fit: noted below
        fit = cox_fit(
            cp["tstop"].to_numpy(),
            event,
            cp[fitted].to_numpy(dtype=float),
            fitted,
            start=cp["tstart"].to_numpy(),
            ties=ties,
        )
    if not fit.converged:
        for t in fitted:
            notes[t] = "not estimable: the model did not converge (as R coxph warns)"
        return values, notes, model_notes
    table = fit.table(conf_level).set_index("term")
    if fit.infinite.any():
        # R coxph's warning, with R's numbering of the fitted terms; R estimates the others.
        which = np.flatnonzero(fit.infinite)
        names = ", ".join(fitted[j] for j in which)
        flag = (
            "coefficient may be infinite (monotone likelihood: R coxph warns that the "
            f"log-likelihood converged before variable {','.join(str(j + 1) for j in which)}, "
            f"{names})"
        )
        if (~fit.infinite & ~fit.aliased).any():
            model_notes.append(
                f"{names} may be infinite: the other coefficients are estimated with "
                f"{'it' if which.size == 1 else 'them'}, as R does"
            )
    for t, infinite, aliased in zip(fitted, fit.infinite, fit.aliased, strict=True):
        if aliased:
            notes[t] = "not estimable: collinear (singular information; R reports NA)"
        elif infinite:
            notes[t] = f"not estimable: {flag}"
        else:
            values[t] = tuple(table.loc[t, ["hr", "ci_lower", "ci_upper", "p"]])
    return values, notes, model_notes


def time_dependent_cox_table(
    adsl: pd.DataFrame,
    adtte: pd.DataFrame,
    sets: dict[str, pd.DataFrame],
    covariates: list[str],
    conf_level: float = 0.95,
    min_events_per_covariate: int = SMALL_SET_EVENTS,
    ties: str = "efron",
) -> pd.DataFrame:
    """Cox models with response as a time-dependent covariate, per set and endpoint.

    ``univariable``: ``coxph(Surv(tstart, tstop, event) ~ responder_td)``; ``multivariable``:
    ``~ responder_td + covariates`` (complete cases), on the :func:`counting_process` rows of
    the patients with a known response history and a follow-up time > 0, ``responder_td``
    switching on at the confirmation day (``tdc(response_confirmed_day / 30.4375)``: the day
    the response became known, :func:`response_timing`). Wald CI and p, as
    :func:`rwe.survival.cox_fit`; ``ties`` as :func:`landmark_table`.

    Returns
    -------
    pandas.DataFrame
        :data:`COX_TD_COLUMNS`: ``n`` patients, ``events``, ``n_rows`` counting-process rows,
        ``n_dropped`` patients with a missing covariate (multivariable), ``n_unknown``
        patients whose response history is unknown; an estimate that does not exist is NaN
        with the reason in ``note``; a model with fewer than ``min_events_per_covariate``
        events per fitted covariate is flagged there.
    """
    timing = response_timing(adsl)
    rows = []
    specs = [("univariable", []), ("multivariable", list(covariates))][: 2 if covariates else 1]
    for name, endpoint, data in endpoint_data(adsl, adtte, sets, covariates, timing):
        known = (data[_KNOWN].to_numpy() == 1) & (data["time"].to_numpy() > 0)
        n_unknown = int((~known).sum())
        data = data[known]
        for model, wanted in specs:
            present = [c for c in wanted if c in data.columns]
            used = data[data[present].notna().all(axis=1).to_numpy()]
            entry = entry_of(used)
            cp = counting_process(
                used["time"], used["event"], used[_RESPONSE_MONTH], used[present], entry
            )
            terms = [RESPONSE_TERM, *present]
            values, notes, model_notes = _time_dependent_fit(
                cp, terms, conf_level, min_events_per_covariate, ties
            )
            notes |= {c: "not a column of ADSL: dropped" for c in wanted if c not in present}
            dropped = len(data) - len(used)
            if dropped:
                model_notes.insert(
                    0,
                    f"{dropped} patient{'s' if dropped != 1 else ''} with a missing covariate left out",
                )
            counts = (len(used), int(cp["event"].sum()), len(cp), dropped, n_unknown)
            for t in [RESPONSE_TERM, *wanted]:
                note = "; ".join(n for n in [notes[t], *model_notes] if n)
                rows.append(
                    (name, endpoint, model, t, *values.get(t, (np.nan,) * 4), *counts, note)
                )
    return pd.DataFrame(rows, columns=COX_TD_COLUMNS)
