"""The one input gate of the survival estimators (:mod:`rwe.survival`).

R builds every ``survfit``, ``survdiff`` and ``coxph`` from a model frame with
``na.action = na.omit``: a row with a missing time, status, covariate, stratum, weight, entry
time or cluster is left out before anything is computed, and ``coxph`` refuses case weights
that are not positive ("Invalid weights, must be >0"). :func:`survival_inputs` does the same
for rwe's estimators, so a missing status can no longer pass as a censoring (or as an event
count of -9.2e18), and a weight of 0 cannot enter the Efron tie fractions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class SurvivalInputs:
    """The complete rows of an estimator's arguments (``None`` where the argument was not given).

    ``dropped`` counts the rows left out for a missing value (R ``na.omit``).
    """

    time: np.ndarray
    event: np.ndarray
    X: np.ndarray | None
    strata: np.ndarray | None
    start: np.ndarray | None
    weights: np.ndarray | None
    cluster: np.ndarray | None
    group: np.ndarray | None
    dropped: int


def _as_float(values, name: str) -> np.ndarray:
    """``values`` as floats, a missing value (None, NaN, ``pd.NA``) as NaN."""
    try:
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        try:
            frame = pd.DataFrame(np.asarray(values, dtype=object))
            return frame.apply(pd.to_numeric, errors="raise").to_numpy(dtype=float, na_value=np.nan)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{name}: values must be numeric ({error})") from None


def _missing(values) -> np.ndarray:
    """True where a label (stratum, group, cluster) is missing."""
    return np.asarray(pd.isna(pd.Series(np.asarray(values, dtype=object).reshape(-1))))


def survival_inputs(
    time,
    event,
    *,
    X=None,
    strata=None,
    start=None,
    weights=None,
    cluster=None,
    group=None,
    cox: bool = False,
) -> SurvivalInputs:
    """Check the arguments of an estimator and keep its complete rows, as R's model frame does.

    Parameters
    ----------
    time, event : array-like
        Follow-up (stop) times and the status, 1 = event and 0 = censored (``True``/``False``
        too). A missing time or status leaves the row out (R ``na.omit``); any other status is
        an error naming ``event``.
    X : array-like, shape (n, p), optional
        Covariates; a row with any missing covariate is left out.
    strata, start, weights, cluster, group : array-like, optional
        Stratum, entry time, case weight, cluster and group of each row; missing leaves the
        row out.
    cox : bool
        True for ``coxph``, which refuses a weight ≤ 0 (R "Invalid weights, must be >0");
        otherwise (``survfit``) a weight must be ≥ 0.

    Returns
    -------
    SurvivalInputs

    Raises
    ------
    ValueError
        Arguments of different lengths, a status other than 0/1, or invalid weights; the
        message names the argument.
    """
    time = _as_float(time, "time").reshape(-1)
    n = time.size
    event = _as_float(event, "event").reshape(-1)
    given = {"event": event}
    if X is not None:
        X = _as_float(X, "X")
        X = X.reshape(n, 1) if X.ndim == 1 else X.reshape(len(X), -1 if X.size else X.shape[-1])
        given["X"] = X
    if start is not None:
        start = _as_float(start, "start").reshape(-1)
        given["start"] = start
    if weights is not None:
        weights = _as_float(weights, "weights").reshape(-1)
        given["weights"] = weights
    labels = {"strata": strata, "cluster": cluster, "group": group}
    labels = {k: np.asarray(v).reshape(-1) for k, v in labels.items() if v is not None}
    for name, values in {**given, **labels}.items():
        if len(values) != n:
            raise ValueError(f"{name} has {len(values)} rows, time has {n}")
    missing = np.isnan(time) | np.isnan(event)
    if X is not None and X.shape[1]:
        missing |= np.isnan(X).any(axis=1)
    for values in (start, weights):
        if values is not None:
            missing |= np.isnan(values)
    for values in labels.values():
        missing |= _missing(values)
    keep = ~missing
    pick = (lambda v: None if v is None else v[keep]) if missing.any() else (lambda v: v)
    event = pick(event)
    bad = ~np.isin(event, (0.0, 1.0))
    if bad.any():
        raise ValueError(
            f"event: status must be 0 (censored) or 1 (event), found {event[bad][0]!r}"
        )
    weights = pick(weights)
    if weights is not None:
        if not np.all(np.isfinite(weights)):
            raise ValueError("weights: case weights must be finite")
        if cox and np.any(weights <= 0):
            raise ValueError(
                "weights: invalid weights, must be > 0 (as R coxph: a case weight of 0 would "
                "still count in the Efron tie fractions; leave the row out instead)"
            )
        if np.any(weights < 0):
            raise ValueError("weights: case weights must be non-negative (as R survfit)")
    return SurvivalInputs(
        time=pick(time),
        event=event,
        X=pick(X),
        strata=pick(labels.get("strata")),
        start=pick(start),
        weights=weights,
        cluster=pick(labels.get("cluster")),
        group=pick(labels.get("group")),
        dropped=int(missing.sum()),
    )
