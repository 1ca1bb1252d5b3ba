"""PFS under its sensitivity definitions: Kaplan–Meier, log-rank and Cox, as for the primary.

ADTTE holds PFS under the configured rule (PARAMCD ``PFS``, primary) and under the other rules
of :mod:`rwe.endpoints` (``PFSALL``: death from any cause, the IMWG/FDA convention; ``PFSMYE``:
deaths from other causes censored, the published study's rule). :func:`sensitivity_tables`
runs the very estimators of the primary analysis (:mod:`rwe.survival_tables`, R ``survfit``,
``survdiff``, ``coxph``) on each sensitivity definition, and :func:`append_sensitivity` adds
their rows after the primary rows of the same tables, with ``endpoint`` the sensitivity PARAMCD:
the primary rows stay as they were.
"""

from __future__ import annotations

import pandas as pd

from rwe import survival_tables as st
from rwe.endpoints import PFS, PFS_SENSITIVITY_PARAMCD
from rwe.multiplicity import SENSITIVITY

#: The output tables that carry the sensitivity definitions of PFS.
SENSITIVITY_TABLES = ("km_medians", "km_landmarks", "logrank", "cox", "cox_diagnostics")


def sensitivity_endpoints(adtte: pd.DataFrame) -> list[str]:
    """The sensitivity PARAMCDs of PFS that ``adtte`` holds, in :mod:`rwe.endpoints` order."""
    present = set(adtte["paramcd"].unique())
    return [code for code in PFS_SENSITIVITY_PARAMCD.values() if code in present]


def as_pfs(adtte: pd.DataFrame, paramcd: str) -> pd.DataFrame:
    """The rows of ``paramcd`` alone, relabelled ``PFS`` (what :mod:`rwe.survival_tables` reads)."""
    return adtte[adtte["paramcd"] == paramcd].assign(paramcd=PFS)


def sensitivity_tables(
    adsl: pd.DataFrame,
    adtte: pd.DataFrame,
    sets: dict[str, pd.DataFrame],
    subgroups: list[str],
    covariates: list[str],
    landmarks_months: list[float],
    conf_type: str = "log",
    conf_level: float = 0.95,
    min_median_events: int = st.SMALL_SET_EVENTS,
    min_events_per_covariate: int = st.SMALL_SET_EVENTS,
    ties: str = "efron",
    min_events: int = 0,
) -> dict[str, pd.DataFrame]:
    """The :data:`SENSITIVITY_TABLES` rows of every sensitivity definition of PFS.

    Each definition is analysed exactly as the primary PFS: Kaplan–Meier medians and landmark
    survival (R ``survfit``, ``quantile``, ``summary``), log-rank tests (``survdiff``) per
    subgroup, univariable and multivariable Cox models (``coxph``) and their diagnostics, per
    analysis set; the parameters are those of :func:`rwe.survival_tables.km_fits`,
    :func:`~rwe.survival_tables.cox_table` (``min_events``),
    :func:`~rwe.survival_tables.km_median_table`, :func:`~rwe.survival_tables.cox_models`.

    Returns
    -------
    dict of str to pandas.DataFrame
        Per table name, the rows of each definition in turn (``endpoint`` = its PARAMCD, e.g.
        ``PFSALL``), with the columns of the primary table; no rows when ADTTE has none.
    """
    parts: dict[str, list[pd.DataFrame]] = {name: [] for name in SENSITIVITY_TABLES}
    for paramcd in sensitivity_endpoints(adtte):
        pfs = as_pfs(adtte, paramcd)
        km = st.km_fits(adsl, pfs, sets, subgroups, conf_type, conf_level)
        models = st.cox_models(
            adsl,
            pfs,
            sets,
            covariates,
            min_events_per_covariate=min_events_per_covariate,
            ties=ties,
        )
        tables = {
            "km_medians": st.km_median_table(km, min_median_events),
            "km_landmarks": st.km_landmark_table(km, landmarks_months),
            "logrank": st.logrank_table(adsl, pfs, sets, subgroups),
            "cox": st.cox_table(models, conf_level, min_events),
            "cox_diagnostics": st.cox_diagnostics_table(models),
        }
        for name, frame in tables.items():
            parts[name].append(frame.assign(endpoint=paramcd))
    return {
        name: pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        for name, frames in parts.items()
    }


def append_sensitivity(
    tables: dict[str, pd.DataFrame], sensitivity: dict[str, pd.DataFrame]
) -> dict[str, pd.DataFrame]:
    """``tables`` with each table's sensitivity rows after its own (the primary rows unchanged)."""
    out = dict(tables)
    for name, extra in sensitivity.items():
        if name in out and len(extra):
            if "analysis" in out[name].columns:  # the multiplicity label (rwe.multiplicity)
                extra = extra.assign(analysis=SENSITIVITY)
            out[name] = pd.concat([out[name], extra[out[name].columns]], ignore_index=True)
    return out
