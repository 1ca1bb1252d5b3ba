"""Subgroup effects as Cox interaction tests, for the subgroup forest plot.

A treatment effect (``compare.treatment``: the treated level against the comparator, e.g.
Ixa-Rd vs Ixa-Pd) is estimated within each level of each subgroup flag, and whether it differs
between the levels is tested once per flag by the likelihood-ratio test of the interaction, as R

    anova(coxph(Surv(time, status) ~ treat + flag), coxph(Surv(time, status) ~ treat * flag))

(χ² with 1 df). A p value within each level (is the effect non-zero in this subgroup?) is not
reported: differences between subgroups are the interaction's to show, and those p values
multiply tests. A level without patients is dropped and counted in the note; no hazard ratio is
shown from fewer events than ``min_events``. Every row is exploratory unless the flag is one of
the configured primary comparisons.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

from rwe.derive import KEYS
from rwe.multiplicity import EXPLORATORY, PRESPECIFIED, is_prespecified
from rwe.survival import cox_fit
from rwe.survival_tables import ENDPOINTS, too_few_events

INTERACTION_COLUMNS = [
    "endpoint",
    "variable",
    "level",
    "treatment",
    "n",
    "events",
    "hr",
    "ci_lower",
    "ci_upper",
    "interaction_chisq",
    "interaction_df",
    "interaction_p",
    "analysis",
    "note",
]


def _hr(
    time, event, treat, conf_level, min_events, ties="efron", strata=None
) -> tuple[tuple[float, float, float], str]:
    """HR of ``treat`` with its Wald CI among these patients (R ``coxph``), or why not."""
    few = (
        too_few_events(int(event.sum()), min_events) if event.sum() else "not estimable: no events"
    )
    if few:
        return (np.nan,) * 3, few
    if np.unique(treat).size < 2:
        return (np.nan,) * 3, "not estimable: one treatment group only"
    fit = cox_fit(time, event, treat[:, None].astype(float), ["treat"], ties=ties, strata=strata)
    row = fit.table(conf_level).iloc[0]
    if not fit.converged or fit.infinite[0] or not np.isfinite(row["ci_upper"]):
        return (
            np.nan,
        ) * 3, "not estimable: no events in one treatment group (monotone likelihood)"
    return (row["hr"], row["ci_lower"], row["ci_upper"]), ""


def interaction_test(
    time, event, treat, flag, ties: str = "efron", strata=None
) -> tuple[float, int, float, str]:
    """Likelihood-ratio test of ``treat × flag`` in a Cox model (R ``anova`` of two ``coxph``).

    With ``strata`` (each patient's site code), both models are stratified (R ``+ strata(site)``).

    Returns
    -------
    chisq, df, p, note
        2 (l(treat + flag + treat:flag) − l(treat + flag)) on 1 df; NaN with the reason in
        ``note`` when the interaction cannot be estimated.
    """
    if np.unique(flag).size < 2:
        return np.nan, 0, np.nan, "interaction not testable: one level only"
    X = np.column_stack([treat, flag]).astype(float)
    reduced = cox_fit(time, event, X, ["treat", "flag"], ties=ties, strata=strata)
    full = cox_fit(
        time,
        event,
        np.column_stack([X, X[:, 0] * X[:, 1]]),
        ["treat", "flag", "inter"],
        ties=ties,
        strata=strata,
    )
    if not (reduced.converged and full.converged) or full.aliased.any():
        return np.nan, 0, np.nan, "interaction not estimable (a treatment group empty in a level)"
    if full.infinite.any() or reduced.infinite.any():
        return np.nan, 0, np.nan, "interaction not estimable: monotone likelihood"
    chisq = max(2 * (full.loglik - reduced.loglik), 0.0)
    return chisq, 1, float(special.chdtrc(1, chisq)), ""


def _endpoint_frame(adsl: pd.DataFrame, adtte: pd.DataFrame, endpoint: str) -> pd.DataFrame:
    tte = adtte.loc[adtte["paramcd"] == endpoint, [*KEYS, "aval", "cnsr"]]
    data = adsl.merge(tte, on=KEYS, how="inner")
    data = data[data["aval"].notna() & data["cnsr"].notna()]
    return data.sort_values("aval", kind="stable")


def interaction_table(
    adsl: pd.DataFrame,
    adtte: pd.DataFrame,
    subgroups,
    treatment: str,
    levels,
    primary=(),
    conf_level: float = 0.95,
    ties: str = "efron",
    min_events: int = 0,
    strata: str | None = None,
) -> pd.DataFrame:
    """Treatment HR within each subgroup level and the interaction test per subgroup flag.

    With ``strata`` (``"site"`` when several sites are pooled), every model is stratified by
    that ADSL column (R ``+ strata(site)``: a baseline hazard per site), and the note says so.

    Parameters
    ----------
    adsl, adtte : pandas.DataFrame
        Analysis datasets (all patients).
    subgroups : list of str
        0/1 flags of ADSL (config ``subgroups``).
    treatment : str
        ADSL column of the compared groups (config ``compare.treatment``).
    levels : sequence of str
        The treated level, then the comparator (config ``compare.levels``).
    primary : iterable of (str, str)
        Primary comparisons (:func:`rwe.multiplicity.primary_pairs`) for the ``analysis`` label.
    conf_level, ties, min_events
        CI level, handling of tied times, and the fewest events an HR is shown from.

    Returns
    -------
    pandas.DataFrame
        :data:`INTERACTION_COLUMNS`, one row per endpoint, flag and non-empty level (``0``,
        ``1``), each with its flag's interaction test; a flag whose levels are all empty, or a
        cohort without both treatment groups, has one row with level ``all`` and the reason.
        ``note`` counts the empty levels dropped and the patients with the flag unknown.
    """
    treated, comparator = (str(v) for v in levels)
    label = f"{treated} vs {comparator}"
    rows = []
    for endpoint in ENDPOINTS:
        data = _endpoint_frame(adsl, adtte, endpoint) if treatment in adsl else adsl.iloc[:0]
        data = data[data[treatment].astype(str).isin([treated, comparator])] if len(data) else data
        time = data["aval"].to_numpy(float) if len(data) else np.array([])
        event = (1 - data["cnsr"].to_numpy(float)).astype(int) if len(data) else np.array([])
        treat = (data[treatment].astype(str) == treated).to_numpy(int) if len(data) else time
        codes = None
        if strata and len(data):
            codes = np.unique(data[strata].astype(str).to_numpy(), return_inverse=True)[1]
            codes = codes.reshape(-1)
        for variable in subgroups:
            analysis = (
                PRESPECIFIED if is_prespecified("all", endpoint, variable, primary) else EXPLORATORY
            )
            base = (endpoint, variable)
            if variable not in data.columns or np.unique(treat).size < 2:
                reason = (
                    f"not a column of ADSL: {variable}"
                    if variable not in data.columns
                    else f"not estimable: {label} needs patients in both groups"
                )
                rows.append((*base, "all", label, len(time), int(event.sum()), *(np.nan,) * 3))
                rows[-1] += (np.nan, 0, np.nan, analysis, reason)
                continue
            values = pd.to_numeric(data[variable], errors="coerce").to_numpy(float)
            known = ~np.isnan(values)
            unknown = int((~known).sum())
            present = [lv for lv in (0, 1) if (values[known] == lv).any()]
            empty = 2 - len(present)
            chisq, df, p, inter_note = interaction_test(
                time[known],
                event[known],
                treat[known],
                values[known],
                ties,
                None if codes is None else codes[known],
            )
            general = [inter_note] if inter_note else []
            if codes is not None:
                general.append(f"stratified by {strata}")
            if empty:
                general.append(f"{empty} empty level{'s' if empty > 1 else ''} dropped")
            if unknown:
                general.append(f"{unknown} patient{'s' if unknown > 1 else ''} with flag unknown")
            if not present:
                rows.append((*base, "all", label, 0, 0, *(np.nan,) * 3, chisq, df, p, analysis))
                rows[-1] += ("; ".join(["no patient with the flag known", *general]),)
                continue
            for level in present:
                at = known & (values == level)
                at_strata = None if codes is None else codes[at]
                hr, note = _hr(
                    time[at], event[at], treat[at], conf_level, min_events, ties, at_strata
                )
                rows.append(
                    (
                        *base,
                        str(level),
                        label,
                        int(at.sum()),
                        int(event[at].sum()),
                        *hr,
                        chisq,
                        df,
                        p,
                        analysis,
                        "; ".join(n for n in [note, *general] if n),
                    )
                )
    return pd.DataFrame(rows, columns=INTERACTION_COLUMNS)
