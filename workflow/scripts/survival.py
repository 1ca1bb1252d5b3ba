"""Kaplan–Meier medians, landmarks and curves, reverse-KM follow-up, log-rank and Cox tables
(with the CI scale and ties of the configured conventions, and both conventions side by side);
PFS under its sensitivity definitions (rows after the primary ones, endpoint PFSALL/PFSMYE);
response compared without immortal-time bias (landmark analysis, time-dependent Cox);
per-site summary, analyses stratified by site and the per-site meta-analysis (with the
aggregate-only sites' estimates), and which analyses each site contributes to."""

import logging
import sys

import pandas as pd

from rwe import aggregates, cox_residuals, landmark, pfs_sensitivity, sites, subgroups
from rwe import survival_tables as st
from rwe.derive import analysis_sets
from rwe.io import read_adam, write_table
from rwe.logs import log_to
from rwe.multiplicity import label_analysis, primary_pairs


def main(snakemake):
    log_to(snakemake.log[0])
    p = snakemake.params
    adsl, adtte = read_adam(snakemake.input.adsl), read_adam(snakemake.input.adtte)
    sets = analysis_sets(adsl, p.min_regimen_n)
    logging.info("analysis sets: %s", ", ".join(f"{k} (n={len(v)})" for k, v in sets.items()))
    ci = {"conf_type": p.conf_type, "conf_level": p.conf_level}
    km = st.km_fits(adsl, adtte, sets, p.subgroups, **ci)
    logging.info("conventions: KM CI on the %s scale, %s ties", p.conf_type, p.ties)
    epv = p.min_events_per_covariate
    primary = primary_pairs(p.primary_comparisons)
    models = st.cox_models(
        adsl, adtte, sets, p.covariates, min_events_per_covariate=epv, ties=p.ties
    )
    tables = {
        "km_medians": st.km_median_table(km, p.min_median_events),
        "km_landmarks": st.km_landmark_table(km, p.landmarks_months),
        "km_curves": st.km_curves(km),
        "followup": st.followup_table(adsl, adtte, sets, **ci),
        "logrank": label_analysis(st.logrank_table(adsl, adtte, sets, p.subgroups), primary),
        "cox": label_analysis(
            st.cox_table(models, p.conf_level, p.min_events),
            primary,
            variable="term",
            only_models=["multivariable"],
        ),
        "subgroup_interactions": subgroups.interaction_table(
            adsl,
            adtte,
            p.subgroups,
            p.compare["treatment"],
            p.compare["levels"],
            primary,
            p.conf_level,
            p.ties,
            p.min_events,
            strata="site" if len(sites.site_names(adsl)) > 1 else None,
        ),
        "cox_diagnostics": st.cox_diagnostics_table(models),
        "cox_influence": cox_residuals.cox_influence_table(models, p.dfbetas_cutoff),
        "landmark": landmark.landmark_table(
            adsl,
            adtte,
            sets,
            p.response_landmarks_months,
            **ci,
            min_events=p.min_median_events,
            ties=p.ties,
        ),
        "cox_time_dependent": landmark.time_dependent_cox_table(
            adsl, adtte, sets, p.covariates, p.conf_level, epv, ties=p.ties
        ),
        "conventions_comparison": st.conventions_comparison(
            adsl, adtte, p.covariates, p.conf_level
        ),
    }
    sensitivity = pfs_sensitivity.sensitivity_tables(
        adsl,
        adtte,
        sets,
        p.subgroups,
        p.covariates,
        p.landmarks_months,
        **ci,
        min_median_events=p.min_median_events,
        min_events_per_covariate=epv,
        ties=p.ties,
        min_events=p.min_events,
    )
    logging.info(
        "PFS sensitivity definitions: %s",
        ", ".join(pfs_sensitivity.sensitivity_endpoints(adtte)) or "none",
    )
    tables = pfs_sensitivity.append_sensitivity(tables, sensitivity)
    try:
        sent = {
            name: aggregates.read_site_aggregates(folder, name, p.aggregate_options)
            for name, folder in p.aggregate_sites.items()
        }
    except aggregates.AggregateError as err:
        logging.error("%s", err)
        print(err, file=sys.stderr)
        sys.exit(1)
    estimates = [aggregates.cox_estimates(name, t) for name, t in sent.items()]
    summary_rows = [aggregates.summary_row(name, t, p.conf_level) for name, t in sent.items()]
    logging.info("aggregate-only sites: %s", ", ".join(sent) or "none")
    stratified = sites.stratified_cox_models(adsl, adtte, sets, p.covariates, p.ties)
    per_site = sites.site_cox_models(adsl, adtte, p.covariates, p.ties)
    meta = sites.site_meta(
        per_site,
        p.covariates,
        p.conf_level,
        pd.concat(estimates, ignore_index=True) if estimates else None,
        method=p.meta["method"],
        test=p.meta["test"],
        auto_knha_below=p.meta["auto_knha_below"],
    )
    tables |= {
        "site_summary": sites.site_summary(adsl, adtte, **ci, aggregate_rows=summary_rows),
        "logrank_stratified": sites.logrank_stratified_table(adsl, adtte, sets, p.subgroups),
        "cox_stratified": sites.cox_stratified_table(stratified, p.conf_level),
        "cox_stratified_diagnostics": sites.cox_stratified_diagnostics_table(stratified),
        "site_meta": meta,
        "site_contributions": sites.site_contributions(sites.site_names(adsl), list(sent), meta),
    }
    for name, frame in tables.items():
        write_table(frame, snakemake.output[name])
        logging.info("%s: %d rows", name, len(frame))


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
