"""Site-aware tables of a multi-site cohort: per-site summary, stratified tests, meta-analysis.

Built from the R-port numerics of :mod:`rwe.survival` and :mod:`rwe.meta` and the table
machinery of :mod:`rwe.survival_tables`; the pooled ADSL has a ``site`` column.

- :func:`site_summary` — per site and pooled: KM median PFS and OS (R ``quantile.survfit``),
  ORR and CBR with Clopper–Pearson CIs (R ``binom.test``), median follow-up (reverse KM).
- :func:`logrank_stratified_table` — R ``survdiff(Surv(time, status) ~ flag + strata(site))``.
- :func:`stratified_cox_models` — R ``coxph(Surv(time, status) ~ x + strata(site))``, read by
  :func:`rwe.survival_tables.cox_table` and :func:`rwe.survival_tables.cox_diagnostics_table`.
- :func:`site_cox_models` and :func:`site_meta` — the multivariable Cox model of each site, and
  each term's per-site log hazard ratios pooled by inverse variance, fixed effect and random
  effects (DerSimonian–Laird, REML) as R ``metafor::rma``.

With one site nothing is stratified or pooled: each table is one row holding
:data:`ONE_SITE_NOTE`, never a number.

``tests/r/sites_reference.R`` recomputes every table with R and ``tests/test_sites_parity.py``
compares them at 1e-4.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from rwe import survival_tables as st
from rwe.meta import inverse_variance
from rwe.response import response_table
from rwe.survival import km_curve, km_quantile, logrank

SITE = "site"
POOLED = "pooled"
ONE_SITE_NOTE = "one site: nothing stratified or pooled"
#: metafor ``method`` -> reader's name.
META_METHODS = {
    "FE": "Fixed effect",
    "DL": "Random effects (DerSimonian–Laird)",
    "REML": "Random effects (REML)",
}
SITE_SUMMARY_COLUMNS = ["site", "n"]
for _endpoint in ("pfs", "os"):
    SITE_SUMMARY_COLUMNS += [f"{_endpoint}_{c}" for c in ("events", "median", "ci_lower")]
    SITE_SUMMARY_COLUMNS += [f"{_endpoint}_ci_upper"]
RESPONSE_COLUMNS = ["n_evaluable", "orr", "orr_ci_lower", "orr_ci_upper", "cbr", "cbr_ci_lower"]
RESPONSE_COLUMNS += ["cbr_ci_upper"]
FOLLOWUP_COLUMNS = ["median_followup", "followup_ci_lower", "followup_ci_upper"]
SITE_SUMMARY_COLUMNS += [*RESPONSE_COLUMNS, *FOLLOWUP_COLUMNS, "note"]
LOGRANK_STRATIFIED_COLUMNS = [*st.LOGRANK_COLUMNS, "stratified_by", "n_missing", "note"]
COX_STRATIFIED_COLUMNS = [*st.COX_COLUMNS, "n_dropped", "note"]
SITE_META_COLUMNS = ["analysis_set", "endpoint", "model", "term", "site", "method", "log_hr"]
SITE_META_COLUMNS += ["se", "hr", "ci_lower", "ci_upper", "p", "weight_fe", "weight_dl"]
SITE_META_COLUMNS += ["weight_reml", "n", "events", "k", "n_excluded", "q", "q_df", "q_p", "i2"]
SITE_META_COLUMNS += ["h2", "tau2", "note"]


def site_names(adsl: pd.DataFrame) -> list[str]:
    """The sites of the pooled ADSL, in the order they were pooled (the config's order)."""
    return list(dict.fromkeys(adsl[SITE].astype(str)))


def one_site_table(columns: list[str]) -> pd.DataFrame:
    """A table of ``columns`` with one row that says there is one site (every value empty)."""
    row = {c: np.nan for c in columns}
    row["note"] = ONE_SITE_NOTE
    return pd.DataFrame([row], columns=columns)


def _site_sets(adsl: pd.DataFrame) -> dict[str, pd.DataFrame]:
    site = adsl[SITE].astype(str)
    return {name: adsl[(site == name).to_numpy()] for name in site_names(adsl)}


# --------------------------------------------------------------------------- per-site summary


def site_summary(
    adsl: pd.DataFrame, adtte: pd.DataFrame, conf_type: str = "log", conf_level: float = 0.95
) -> pd.DataFrame:
    """Per site and pooled: patients, median PFS and OS, ORR, CBR and median follow-up.

    Parameters
    ----------
    adsl, adtte : pandas.DataFrame
        The pooled analysis datasets (ADSL with ``site`` and ``best_response``).
    conf_type : {"log", "log-log", "plain"}
        Scale of the Kaplan–Meier CI (R ``conf.type``).
    conf_level : float
        Level of every interval.

    Returns
    -------
    pandas.DataFrame
        One row per site, then ``site = "pooled"`` (all patients): ``n``; per endpoint
        (``pfs_``, ``os_``) ``events``, ``median`` and its CI in months (R ``quantile.survfit``;
        empty = not reached); ``n_evaluable``, ``orr`` and ``cbr`` with exact CIs (R
        ``binom.test``); ``median_followup`` and its CI (reverse Kaplan–Meier of OS, months);
        ``note``. With one site: that site's row only, with :data:`ONE_SITE_NOTE`.
    """
    sets = _site_sets(adsl)
    one_site = len(sets) < 2
    if not one_site:
        sets[POOLED] = adsl
    rows = {name: {"site": name, "n": len(subset)} for name, subset in sets.items()}
    for name, endpoint, data in st.endpoint_data(adsl, adtte, sets, []):
        time, event = data["time"].to_numpy(), data["event"].to_numpy()
        median, lower, upper = km_quantile(km_curve(time, event, conf_type, conf_level))
        prefix = endpoint.lower()
        rows[name].update(
            {
                f"{prefix}_events": int(event.sum()),
                f"{prefix}_median": median,
                f"{prefix}_ci_lower": lower,
                f"{prefix}_ci_upper": upper,
            }
        )
        if endpoint == "OS":
            follow = km_quantile(km_curve(time, 1 - event, conf_type, conf_level))
            rows[name].update(dict(zip(FOLLOWUP_COLUMNS, follow, strict=True)))
    response = response_table(sets, [], conf_level).set_index("analysis_set")
    for name, row in rows.items():
        row.update(response.loc[name, RESPONSE_COLUMNS].to_dict())
        row["note"] = ONE_SITE_NOTE if one_site else ""
    return pd.DataFrame(list(rows.values())).reindex(columns=SITE_SUMMARY_COLUMNS)


# --------------------------------------------------------------------------- stratified by site


def logrank_stratified_table(
    adsl: pd.DataFrame, adtte: pd.DataFrame, sets: dict[str, pd.DataFrame], subgroups: list[str]
) -> pd.DataFrame:
    """Log-rank test per subgroup flag stratified by site, as R ``survdiff(... + strata(site))``.

    Per analysis set and endpoint, among patients whose flag is known: observed, expected and
    variance summed over sites (:func:`rwe.survival.logrank` with ``strata``).

    Returns
    -------
    pandas.DataFrame
        The columns of ``logrank.csv``, then ``stratified_by`` (``site``), ``n_missing`` and
        ``note``. With one site: one row holding :data:`ONE_SITE_NOTE`.
    """
    if len(site_names(adsl)) < 2:
        return one_site_table(LOGRANK_STRATIFIED_COLUMNS)
    rows = []
    codes = st.site_codes(adsl, SITE)
    for name, endpoint, data in st.endpoint_data(adsl, adtte, sets, subgroups, codes):
        time, event = data["time"].to_numpy(), data["event"].to_numpy()
        stratum = data[st.STRATUM].to_numpy()
        for var in subgroups:
            if var not in data.columns:
                continue
            values = data[var].to_numpy(dtype=float, na_value=np.nan)
            known = ~np.isnan(values)
            base = (name, endpoint, var)
            level = np.trunc(values[known])
            if not (np.any(level == 0) and np.any(level == 1)):
                note = "not testable: one level has no patients"
                rows.append((*base, np.nan, np.nan, np.nan, SITE, int((~known).sum()), note))
                continue
            test = logrank(time[known], event[known], level, strata=stratum[known])
            rows.append(
                (
                    *base,
                    test["chisq"],
                    test["df"],
                    test["p"],
                    SITE,
                    int((~known).sum()),
                    test["note"],
                )
            )
    return pd.DataFrame(rows, columns=LOGRANK_STRATIFIED_COLUMNS)


def stratified_cox_models(adsl, adtte, sets, covariates) -> list[st.CoxModel]:
    """Univariable and multivariable Cox models stratified by site (R ``+ strata(site)``).

    As :func:`rwe.survival_tables.cox_models` (Efron ties, complete cases, the same notes), with
    a baseline hazard per site; a covariate constant within every site is not estimable and
    dropped with a note. Empty with one site.
    """
    if len(site_names(adsl)) < 2:
        return []
    return st.cox_models(adsl, adtte, sets, covariates, strata=SITE)


def cox_stratified_table(models: list[st.CoxModel], conf_level: float = 0.95) -> pd.DataFrame:
    """``cox.csv``'s columns for the site-stratified models; one note row with one site."""
    if not models:
        return one_site_table(COX_STRATIFIED_COLUMNS)
    return st.cox_table(models, conf_level)


def cox_stratified_diagnostics_table(models: list[st.CoxModel]) -> pd.DataFrame:
    """Diagnostics of the site-stratified models, with ``cox_diagnostics.csv``'s columns.

    Global tests, the concordance within sites and ``cox.zph`` (R, for a model with
    ``strata(site)``); one note row with one site.
    """
    if not models:
        return one_site_table([*st.COX_DIAGNOSTICS_COLUMNS, "note"])
    return st.cox_diagnostics_table(models).assign(note="")


# --------------------------------------------------------------------------- meta-analysis


def site_cox_models(adsl: pd.DataFrame, adtte: pd.DataFrame, covariates) -> list[st.CoxModel]:
    """The multivariable Cox model of each site and endpoint (all patients of the site).

    Fitted as :func:`rwe.survival_tables.cox_models` fits the pooled one (complete cases, a
    covariate constant in the site dropped, a term with monotone likelihood not estimable);
    ``analysis_set`` of each model is the site's name.
    """
    sets = _site_sets(adsl)
    return [
        st.cox_model(name, endpoint, "multivariable", list(covariates), data)
        for name, endpoint, data in st.endpoint_data(adsl, adtte, sets, covariates)
    ]


def _site_estimate(m: st.CoxModel, term: str, z: float) -> dict:
    """One site's row for ``term``: its log HR and Wald CI, or why it is left out."""
    row = {"site": m.analysis_set, "method": "", "n": m.n, "events": m.events}
    reason = m.term_notes.get(term, "") or ("" if m.fit is not None else "no model fitted")
    if reason:
        return {**row, "note": f"left out of the pooling: {reason}"}
    j = m.fit.terms.index(term)
    coef, se = float(m.fit.coef[j]), float(m.fit.se[j])
    return {
        **row,
        "log_hr": coef,
        "se": se,
        "hr": np.exp(coef),
        "ci_lower": np.exp(coef - z * se),
        "ci_upper": np.exp(coef + z * se),
        "p": 2 * stats.norm.sf(abs(coef / se)),
        "note": "",
    }


def site_meta(
    models: list[st.CoxModel], covariates: list[str], conf_level: float = 0.95
) -> pd.DataFrame:
    """Per-site log hazard ratios of each term pooled by inverse variance, as R ``metafor::rma``.

    Parameters
    ----------
    models : list of rwe.survival_tables.CoxModel
        The per-site multivariable models (:func:`site_cox_models`).
    covariates : list of str
        The configured Cox covariates (the terms pooled).
    conf_level : float
        Level of every interval.

    Returns
    -------
    pandas.DataFrame
        Per endpoint and term: one row per site (``method`` empty: ``log_hr``, ``se``, ``hr``
        with its Wald CI and ``p`` as R ``summary(coxph)``; ``weight_fe``, ``weight_dl``,
        ``weight_reml`` in percent as metafor's ``weights()``; ``n``, ``events``; ``note`` says
        why a site is left out: a constant covariate, no events in a level, an infinite
        estimate), then ``site = "pooled"`` rows for ``method`` FE, DL and REML (R
        ``rma(yi, vi, method = ...)``): the pooled log HR, its Wald CI and p, ``k`` sites
        pooled, ``n_excluded`` sites left out, Cochran's ``q`` (``q_df``, ``q_p``), ``i2`` (%),
        ``h2`` and ``tau2``. With one site: one row holding :data:`ONE_SITE_NOTE`.
    """
    if len({m.analysis_set for m in models}) < 2:
        return one_site_table(SITE_META_COLUMNS)
    z = float(stats.norm.ppf(1 - (1 - conf_level) / 2))
    rows = []
    endpoints = list(dict.fromkeys(m.endpoint for m in models))
    for endpoint in endpoints:
        per_site = [m for m in models if m.endpoint == endpoint]
        for term in covariates:
            base = {
                "analysis_set": "all",
                "endpoint": endpoint,
                "model": "multivariable",
                "term": term,
            }
            sites = [{**base, **_site_estimate(m, term, z)} for m in per_site]
            used = [s for s in sites if not s["note"]]
            yi = np.array([s["log_hr"] for s in used])
            vi = np.array([s["se"] ** 2 for s in used])
            left_out = [s for s in sites if s["note"]]
            pooled = []
            for method in META_METHODS:
                res = inverse_variance(yi, vi, method, conf_level)
                if used and np.isfinite(res["tau2"]):
                    w = 1 / (vi + res["tau2"])
                    for s, weight in zip(used, 100 * w / w.sum(), strict=True):
                        s[f"weight_{method.lower()}"] = weight
                notes = [res["note"]] + [f"{s['site']} {s['note']}" for s in left_out]
                pooled.append(
                    {
                        **base,
                        "site": POOLED,
                        "method": method,
                        "log_hr": res["estimate"],
                        "se": res["se"],
                        "hr": np.exp(res["estimate"]),
                        "ci_lower": np.exp(res["ci_lower"]),
                        "ci_upper": np.exp(res["ci_upper"]),
                        "p": res["p"],
                        "k": res["k"],
                        "n_excluded": len(left_out),
                        "q": res["q"],
                        "q_df": res["q_df"],
                        "q_p": res["q_p"],
                        "i2": res["i2"],
                        "h2": res["h2"],
                        "tau2": res["tau2"],
                        "note": "; ".join(n for n in notes if n),
                    }
                )
            rows += sites + pooled
    return pd.DataFrame(rows).reindex(columns=SITE_META_COLUMNS)
