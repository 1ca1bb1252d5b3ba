"""Site-aware tables of a multi-site cohort: per-site summary, stratified tests, meta-analysis.

Built from the R-port numerics of :mod:`rwe.survival` and :mod:`rwe.meta` and the table
machinery of :mod:`rwe.survival_tables`; the pooled ADSL has a ``site`` column.

- :func:`site_summary` — per site and pooled: KM median PFS and OS (R ``quantile.survfit``),
  ORR and CBR with Clopper–Pearson CIs (R ``binom.test``), median follow-up (reverse KM).
- :func:`logrank_stratified_table` — R ``survdiff(Surv(time, status) ~ flag + strata(site))``.
- :func:`stratified_cox_models` — R ``coxph(Surv(time, status) ~ x + strata(site))``, read by
  :func:`rwe.survival_tables.cox_table` and :func:`rwe.survival_tables.cox_diagnostics_table`.
- :func:`site_cox_models` and :func:`site_meta` — the multivariable Cox model of each site, and
  each term's per-site log hazard ratios pooled by inverse variance as R ``metafor::rma``: the
  prespecified analysis of config ``meta`` (default REML with Hartung–Knapp intervals below
  ``meta.auto_knha_below`` sites) with its prediction interval and Q-profile CIs of τ², τ, I²
  and H², then fixed effect and random effects with Wald intervals as sensitivity analyses.

With one site nothing is stratified or pooled: each table is one row holding
:data:`ONE_SITE_NOTE`, never a number.

``tests/r/sites_reference.R`` recomputes every table with R and ``tests/test_sites_parity.py``
compares them at 1e-4.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special  # the kernels of scipy.stats' norm and chi2, without its import cost

from rwe import survival_tables as st
from rwe.aggregates import ESTIMATE_COLUMNS
from rwe.meta import heterogeneity_ci, inverse_variance, resolve_test
from rwe.response import response_table
from rwe.survival import km_curve, km_quantile, logrank

SITE = "site"
POOLED = "pooled"
ONE_SITE_NOTE = "one site: nothing stratified or pooled"
POOLED_ROW_LEVEL_NOTE = "patients of the row-level sites (aggregate-only sites cannot be pooled)"
#: metafor ``method`` -> reader's name.
META_METHODS = {
    "FE": "Fixed effect",
    "DL": "Random effects (DerSimonian–Laird)",
    "REML": "Random effects (REML)",
}
#: metafor ``test`` -> reader's name.
META_TESTS = {"z": "Wald z", "knha": "Hartung–Knapp"}
#: ``role`` of a pooled row of ``site_meta.csv``.
PRESPECIFIED, SENSITIVITY = "prespecified", "sensitivity"
SITE_SUMMARY_COLUMNS = ["site", "n"]
for _endpoint in ("pfs", "os"):
    SITE_SUMMARY_COLUMNS += [f"{_endpoint}_{c}" for c in ("events", "median", "ci_lower")]
    SITE_SUMMARY_COLUMNS += [f"{_endpoint}_ci_upper"]
RESPONSE_COLUMNS = ["n_evaluable", "orr", "orr_ci_lower", "orr_ci_upper", "cbr", "cbr_ci_lower"]
RESPONSE_COLUMNS += ["cbr_ci_upper"]
FOLLOWUP_COLUMNS = ["median_followup", "followup_ci_lower", "followup_ci_upper"]
SITE_SUMMARY_COLUMNS += [*RESPONSE_COLUMNS, *FOLLOWUP_COLUMNS, "note"]
LOGRANK_STRATIFIED_COLUMNS = [*st.LOGRANK_COLUMNS, "stratified_by", "n_missing", "note"]
COX_STRATIFIED_COLUMNS = [*st.COX_COLUMNS, "n_dropped", *st.COX_FIRTH_COLUMNS, "note"]
SITE_META_COLUMNS = ["analysis_set", "endpoint", "model", "term", "site", "method", "test"]
SITE_META_COLUMNS += ["role", "log_hr", "se", "hr", "ci_lower", "ci_upper", "p", "df"]
SITE_META_COLUMNS += ["pi_lower", "pi_upper", "weight_fe", "weight_dl", "weight_reml", "n"]
SITE_META_COLUMNS += ["events", "k", "n_excluded", "sites", "q", "q_df", "q_p", "i2"]
SITE_META_COLUMNS += ["i2_ci_lower", "i2_ci_upper", "h2", "h2_ci_lower", "h2_ci_upper", "tau2"]
SITE_META_COLUMNS += ["tau2_ci_lower", "tau2_ci_upper", "tau", "tau_ci_lower", "tau_ci_upper"]
SITE_META_COLUMNS += ["note"]
#: The keys of a row of ``site_meta.csv``; the other columns but ``role``, ``sites`` and ``note``
#: are numbers.
SITE_META_KEYS = ["analysis_set", "endpoint", "model", "term", "site", "method", "test"]


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
    adsl: pd.DataFrame,
    adtte: pd.DataFrame,
    conf_type: str = "log",
    conf_level: float = 0.95,
    aggregate_rows: list[dict] | None = None,
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
    aggregate_rows : list of dict, optional
        The rows of aggregate-only sites (:func:`rwe.aggregates.summary_row`), placed after the
        row-level sites; the pooled row holds the row-level sites' patients only, and says so.

    Returns
    -------
    pandas.DataFrame
        One row per site, then ``site = "pooled"`` (all patients; only with two row-level
        sites or more): ``n``; per endpoint
        (``pfs_``, ``os_``) ``events``, ``median`` and its CI in months (R ``quantile.survfit``;
        empty = not reached); ``n_evaluable``, ``orr`` and ``cbr`` with exact CIs (R
        ``binom.test``); ``median_followup`` and its CI (reverse Kaplan–Meier of OS, months);
        ``note``. With one site: that site's row only, with :data:`ONE_SITE_NOTE`.
    """
    aggregate_rows = list(aggregate_rows or [])
    sets = _site_sets(adsl)
    one_site = len(sets) + len(aggregate_rows) < 2
    if len(sets) > 1:
        sets[POOLED] = adsl
    rows = {name: {"site": name, "n": len(subset)} for name, subset in sets.items()}
    for name, endpoint, data in st.endpoint_data(adsl, adtte, sets, []):
        time, event = data["time"].to_numpy(), data["event"].to_numpy()
        entry = st.entry_of(data)
        median, lower, upper = km_quantile(
            km_curve(time, event, conf_type, conf_level, entry=entry)
        )
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
            follow = km_quantile(km_curve(time, 1 - event, conf_type, conf_level, entry=entry))
            rows[name].update(dict(zip(FOLLOWUP_COLUMNS, follow, strict=True)))
    response = response_table(sets, [], conf_level).set_index("analysis_set")
    for name, row in rows.items():
        row.update(response.loc[name, RESPONSE_COLUMNS].to_dict())
        row["note"] = ONE_SITE_NOTE if one_site else ""
    if aggregate_rows and POOLED in rows:
        rows[POOLED]["note"] = POOLED_ROW_LEVEL_NOTE
    pooled = [rows.pop(POOLED)] if POOLED in rows else []
    table = pd.DataFrame([*rows.values(), *aggregate_rows, *pooled])
    counts = [c for c in ("n", "pfs_events", "os_events", "n_evaluable") if c in table]
    table[counts] = table[counts].astype("Float64").round().astype("Int64")
    return table.reindex(columns=SITE_SUMMARY_COLUMNS)


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
        entry = st.entry_of(data)
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
            test = logrank(
                time[known],
                event[known],
                level,
                strata=stratum[known],
                entry=None if entry is None else entry[known],
            )
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


def stratified_cox_models(adsl, adtte, sets, covariates, ties="efron") -> list[st.CoxModel]:
    """Univariable and multivariable Cox models stratified by site (R ``+ strata(site)``).

    As :func:`rwe.survival_tables.cox_models` (``ties`` from the conventions, complete cases,
    the same notes), with
    a baseline hazard per site; a covariate constant within every site is not estimable and
    dropped with a note. Empty with one site.
    """
    if len(site_names(adsl)) < 2:
        return []
    return st.cox_models(adsl, adtte, sets, covariates, strata=SITE, ties=ties)


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
    return st.cox_diagnostics_table(models)


# --------------------------------------------------------------------------- meta-analysis


def site_cox_models(
    adsl: pd.DataFrame, adtte: pd.DataFrame, covariates, ties: str = "efron"
) -> list[st.CoxModel]:
    """The multivariable Cox model of each site and endpoint (all patients of the site).

    Fitted as :func:`rwe.survival_tables.cox_models` fits the pooled one (complete cases, a
    covariate constant in the site dropped, a term with monotone likelihood not estimable);
    ``analysis_set`` of each model is the site's name.
    """
    sets = _site_sets(adsl)
    return [
        st.cox_model(name, endpoint, "multivariable", list(covariates), data, ties=ties)
        for name, endpoint, data in st.endpoint_data(adsl, adtte, sets, covariates)
    ]


def model_estimates(models: list[st.CoxModel], covariates: list[str]) -> pd.DataFrame:
    """Each per-site model's log HR and standard error per term, or why the site is left out.

    Returns
    -------
    pandas.DataFrame
        :data:`rwe.aggregates.ESTIMATE_COLUMNS` (``site`` is the model's ``analysis_set``), the
        form in which an aggregate-only site sends its estimates
        (:func:`rwe.aggregates.cox_estimates`).
    """
    rows = []
    for m in models:
        for term in covariates:
            row = {"site": m.analysis_set, "endpoint": m.endpoint, "term": term, "n": m.n}
            row |= {"events": m.events, "log_hr": np.nan, "se": np.nan}
            reason = m.term_notes.get(term, "") or ("" if m.fit is not None else "no model fitted")
            if not reason:
                j = m.fit.terms.index(term)
                row |= {"log_hr": float(m.fit.coef[j]), "se": float(m.fit.se[j])}
            rows.append({**row, "note": reason})
    return pd.DataFrame(rows, columns=ESTIMATE_COLUMNS)


def _site_estimate(e: dict, z: float) -> dict:
    """One site's row for a term: its log HR and Wald CI, or why it is left out."""
    row = {"site": e["site"], "method": "", "n": e["n"], "events": e["events"]}
    if e["note"] or not np.isfinite(e["log_hr"]):
        return {**row, "note": f"left out of the pooling: {e['note'] or 'no estimate'}"}
    coef, se = e["log_hr"], e["se"]
    return {
        **row,
        "log_hr": coef,
        "se": se,
        "hr": np.exp(coef),
        "ci_lower": np.exp(coef - z * se),
        "ci_upper": np.exp(coef + z * se),
        "p": 2 * special.ndtr(-(abs(coef / se))),
        "note": "",
    }


def pooled_label(method: str, test: str, role: str) -> str:
    """Reader's name of a pooled row: ``Prespecified: Random effects (REML), Hartung–Knapp``.

    The Wald z test is the default and unsaid (``Sensitivity: Fixed effect``).
    """
    name = META_METHODS.get(method, method)
    if test and test != "z":  # Wald z is the default, unsaid
        name += f", {META_TESTS.get(test, test)}"
    return f"{role.capitalize()}: {name}" if role else name


def _pooled_sites(used: list[dict], aggregate: set[str]) -> str:
    """``site1, site2 (patient rows); site3 (aggregates)``: the sites of one pooling."""
    kinds = [
        (ROW_LEVEL, [s["site"] for s in used if s["site"] not in aggregate]),
        (AGGREGATE, [s["site"] for s in used if s["site"] in aggregate]),
    ]
    return "; ".join(f"{', '.join(names)} ({kind})" for kind, names in kinds if names)


def meta_analyses(method: str, test: str, k: int, auto_knha_below: int) -> list[tuple]:
    """The pooled rows of one term: ``(method, test, role)``, the prespecified one first.

    The prespecified analysis is config ``meta.method`` with ``meta.test`` resolved for the
    ``k`` sites pooled (:func:`rwe.meta.resolve_test`); the sensitivity analyses are every
    method of :data:`META_METHODS` with the Wald z test, but the prespecified one.
    """
    chosen = (method, resolve_test(test, method, k, auto_knha_below))
    others = [(m, "z") for m in META_METHODS if (m, "z") != chosen]
    return [(*chosen, PRESPECIFIED), *[(m, t, SENSITIVITY) for m, t in others]]


def site_meta(
    models: list[st.CoxModel],
    covariates: list[str],
    conf_level: float = 0.95,
    aggregate_estimates: pd.DataFrame | None = None,
    method: str = "REML",
    test: str = "auto",
    auto_knha_below: int = 10,
) -> pd.DataFrame:
    """Per-site log hazard ratios of each term pooled by inverse variance, as R ``metafor``.

    Parameters
    ----------
    models : list of rwe.survival_tables.CoxModel
        The per-site multivariable models (:func:`site_cox_models`).
    covariates : list of str
        The configured Cox covariates (the terms pooled).
    conf_level : float
        Level of every interval.
    aggregate_estimates : pandas.DataFrame, optional
        The multivariable estimates of aggregate-only sites
        (:func:`rwe.aggregates.cox_estimates`), pooled with the row-level sites' by the same
        code; an estimate withheld at the site (small cells) leaves the site out, counted.
    method, test, auto_knha_below
        Config ``meta.method`` (FE, DL, REML), ``meta.test`` (auto, knha, z) and
        ``meta.auto_knha_below``: the prespecified analysis (:func:`meta_analyses`).

    Returns
    -------
    pandas.DataFrame
        Per endpoint and term: one row per site (``method`` empty: ``log_hr``, ``se``, ``hr``
        with its Wald CI and ``p`` as R ``summary(coxph)``; ``weight_fe``, ``weight_dl``,
        ``weight_reml`` in percent as metafor's ``weights()``; ``n``, ``events``; ``note`` says
        why a site is left out: a constant covariate, no events in a level, an infinite
        estimate), then ``site = "pooled"`` rows, ``role`` ``prespecified`` first, then each
        ``sensitivity`` analysis (``method`` FE, DL, REML; ``test`` z or knha, as R
        ``rma(yi, vi, method, test)``): the pooled log HR, its CI and p (t on ``df`` = k − 1
        under knha), the prediction interval ``pi_lower``, ``pi_upper`` (R ``predict``; none
        for FE), ``k`` sites pooled and which (``sites``: patient rows or aggregates),
        ``n_excluded`` sites left out, Cochran's ``q`` (``q_df``, ``q_p``), ``i2`` (%), ``h2``,
        ``tau2`` and ``tau`` with Q-profile CIs (R ``confint``; random effects only; an
        undefined bound is empty and the note says why). With fewer than two sites estimating
        a term, one prespecified row with the reason. With one site in all: one row holding
        :data:`ONE_SITE_NOTE`.
    """
    estimates = model_estimates(models, covariates)
    aggregate = set()
    if aggregate_estimates is not None and len(aggregate_estimates):
        sent = aggregate_estimates[ESTIMATE_COLUMNS]
        estimates = (
            pd.concat([estimates, sent], ignore_index=True) if len(estimates) else sent.copy()
        )
        aggregate = set(aggregate_estimates["site"].astype(str))
    if estimates["site"].nunique() < 2:
        return one_site_table(SITE_META_COLUMNS)
    z = float(special.ndtri(1 - (1 - conf_level) / 2))
    rows = []
    for endpoint in dict.fromkeys(estimates["endpoint"]):
        for term in covariates:
            base = {
                "analysis_set": "all",
                "endpoint": endpoint,
                "model": "multivariable",
                "term": term,
            }
            of_term = estimates[(estimates["endpoint"] == endpoint) & (estimates["term"] == term)]
            sites = [{**base, **_site_estimate(e, z)} for e in of_term.to_dict("records")]
            used = [s for s in sites if not s["note"]]
            yi = np.array([s["log_hr"] for s in used])
            vi = np.array([s["se"] ** 2 for s in used])
            left_out = [f"{s['site']} {s['note']}" for s in sites if s["note"]]
            pooled_base = {
                **base,
                "site": POOLED,
                "k": len(used),
                "n_excluded": len(sites) - len(used),
                "sites": _pooled_sites(used, aggregate),
            }
            if len(used) < 2:
                reason = (
                    f"not estimable: only {used[0]['site']} estimates this term, nothing to pool"
                    if used
                    else "not estimable: no site estimates this term"
                )
                chosen = (method, resolve_test(test, method, len(used), auto_knha_below))
                pooled = [
                    {
                        **pooled_base,
                        "method": chosen[0],
                        "test": chosen[1],
                        "role": PRESPECIFIED,
                        "note": "; ".join([reason, *left_out]),
                    }
                ]
                rows += sites + pooled
                continue
            for m in META_METHODS:  # weights as metafor's weights(): the same under z and knha
                res = inverse_variance(yi, vi, m, conf_level)
                if np.isfinite(res["tau2"]):
                    w = 1 / (vi + res["tau2"])
                    for s, weight in zip(used, 100 * w / w.sum(), strict=True):
                        s[f"weight_{m.lower()}"] = weight
            pooled = []
            for m, t, role in meta_analyses(method, test, len(used), auto_knha_below):
                res = inverse_variance(yi, vi, m, conf_level, t)
                ci = {"ci_note": ""}
                if m != "FE" and np.isfinite(res["tau2"]):
                    ci = heterogeneity_ci(yi, vi, res["tau2"], conf_level)
                notes = [res["note"], ci["ci_note"], *left_out]
                log_scale = {c: res[c] for c in ("ci_lower", "ci_upper", "pi_lower", "pi_upper")}
                pooled.append(
                    {
                        **pooled_base,
                        **{c: v for c, v in ci.items() if c != "ci_note"},
                        **{c: np.exp(v) for c, v in log_scale.items()},
                        "method": m,
                        "test": t,
                        "role": role,
                        "log_hr": res["estimate"],
                        "se": res["se"],
                        "hr": np.exp(res["estimate"]),
                        "p": res["p"],
                        "df": res["df"],
                        "q": res["q"],
                        "q_df": res["q_df"],
                        "q_p": res["q_p"],
                        "i2": res["i2"],
                        "h2": res["h2"],
                        "tau2": res["tau2"],
                        "tau": res["tau"],
                        "note": "; ".join(n for n in notes if n),
                    }
                )
            rows += sites + pooled
    return pd.DataFrame(rows).reindex(columns=SITE_META_COLUMNS)


# --------------------------------------------------------------------------- contributions

#: Analysis -> what it is, in the order of the report.
ANALYSES = {
    "baseline": "Baseline characteristics, attrition, data quality",
    "response": "Response of the pooled cohort (ORR, CBR, tests)",
    "survival": "Kaplan–Meier, log-rank and Cox of the pooled cohort",
    "stratified": "Log-rank and Cox stratified by site",
    "meta_analysis": "Meta-analysis of the per-site Cox models",
    "site_summary": "Per-site summary (median PFS and OS, ORR, CBR, follow-up)",
    "safety": "Adverse events and nadir blood counts",
    "exposure": "Exposure–response",
}
ROW_LEVEL, AGGREGATE = "patient rows", "aggregates"
SITE_CONTRIBUTION_COLUMNS = ["site", "kind", "analysis", "description", "contributes", "reason"]


def _meta_reason(meta: pd.DataFrame, site: str) -> tuple[bool, str]:
    """Whether ``site`` is in the meta-analysis, and how many of its estimates were pooled."""
    if _is_one_site(meta):
        return False, "only one site: nothing pooled"
    rows = meta[(meta["site"] == site) & (meta["method"].fillna("") == "")]
    notes = rows["note"].fillna("").astype(str)
    used = int((notes == "").sum())
    reason = f"{used} of {len(rows)} estimates (endpoint × covariate) pooled"
    left = rows[notes != ""]
    if len(left):
        reason += "; left out: " + "; ".join(
            f"{r.endpoint} {r.term} ({r.note.removeprefix('left out of the pooling: ')})"
            for r in left.itertuples()
        )
    return used > 0, reason


def _is_one_site(table: pd.DataFrame) -> bool:
    return len(table) > 0 and bool((table["note"] == ONE_SITE_NOTE).all())


def site_contributions(
    row_level: list[str], aggregate_only: list[str], meta: pd.DataFrame
) -> pd.DataFrame:
    """Which analyses each site could contribute to, and why not.

    A site that sent patient rows is in every analysis of the pooled cohort, in the analyses
    stratified by site when at least two sites sent rows, and in the meta-analysis. An
    aggregate-only site (:mod:`rwe.aggregates`) is in the meta-analysis (its exported Cox
    estimates) and has its row of the per-site summary; every analysis that needs patient rows
    (pooled KM, log-rank and Cox, stratified models, pooled response, safety, exposure) cannot
    use it.

    Parameters
    ----------
    row_level, aggregate_only : list of str
        The site names of each kind, in the config's order.
    meta : pandas.DataFrame
        :func:`site_meta` of the run (how many of each site's estimates were pooled).

    Returns
    -------
    pandas.DataFrame
        One row per site and analysis: ``site``, ``kind`` (``patient rows`` or
        ``aggregates``), ``analysis`` (a key of :data:`ANALYSES`), ``description``,
        ``contributes`` (``yes``/``no``) and ``reason``.
    """
    rows = []
    for site in [*row_level, *aggregate_only]:
        aggregate = site in aggregate_only
        in_meta, meta_reason = _meta_reason(meta, site)
        for analysis, description in ANALYSES.items():
            if analysis == "meta_analysis":
                yes, reason = in_meta, meta_reason
            elif analysis == "site_summary":
                yes = True
                reason = "from its KM and response aggregates" if aggregate else "patient rows"
            elif aggregate:
                yes, reason = False, "needs patient rows"
            elif analysis == "stratified" and len(row_level) < 2:
                yes, reason = False, "the only site with patient rows: nothing to stratify"
            else:
                yes, reason = True, "patient rows"
            kind = AGGREGATE if aggregate else ROW_LEVEL
            rows.append((site, kind, analysis, description, "yes" if yes else "no", reason))
    return pd.DataFrame(rows, columns=SITE_CONTRIBUTION_COLUMNS)
