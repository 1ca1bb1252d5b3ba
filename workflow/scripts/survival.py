"""Kaplan–Meier medians and landmarks, reverse-KM follow-up, log-rank and Cox tables."""

import logging

from rwe import survival
from rwe.derive import analysis_sets
from rwe.io import read_adam, write_table


def main(snakemake):
    logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(message)s")
    p = snakemake.params
    adsl, adtte = read_adam(snakemake.input.adsl), read_adam(snakemake.input.adtte)
    sets = analysis_sets(adsl, p.min_regimen_n)
    logging.info("analysis sets: %s", ", ".join(f"{k} (n={len(v)})" for k, v in sets.items()))
    ci = {"conf_type": p.conf_type, "conf_level": p.conf_level}
    tables = {
        "km_medians": survival.km_median_table(adsl, adtte, sets, p.subgroups, **ci),
        "km_landmarks": survival.km_landmark_table(
            adsl, adtte, sets, p.subgroups, p.landmarks_months, **ci
        ),
        "followup": survival.followup_table(adsl, adtte, sets, **ci),
        "logrank": survival.logrank_table(adsl, adtte, sets, p.subgroups),
        "cox": survival.cox_table(adsl, adtte, sets, p.covariates, p.conf_level),
        "cox_diagnostics": survival.cox_diagnostics_table(adsl, adtte, sets, p.covariates),
    }
    for name, frame in tables.items():
        write_table(frame, snakemake.output[name])
        logging.info("%s: %d rows", name, len(frame))


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
