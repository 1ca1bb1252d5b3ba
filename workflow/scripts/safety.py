"""Adverse-event tables, nadir blood counts and exposure/dose-response models."""

import logging

from rwe import exposure, safety
from rwe.derive import analysis_sets
from rwe.io import read_adam, write_table
from rwe.logs import log_to


def main(snakemake):
    log_to(snakemake.log[0])
    p = snakemake.params
    adsl, adae = read_adam(snakemake.input.adsl), read_adam(snakemake.input.adae)
    # The site jobs summarised the labs per patient (lab-graded events, nadirs): ADLB, ~90
    # rows per patient, is not read here.
    lab_grades, nadirs = read_adam(snakemake.input.lab_grades), read_adam(snakemake.input.nadirs)
    sets = analysis_sets(adsl, p.min_regimen_n)
    # Treatment-emergent: the reported AEs with onset in each patient's window (the site jobs
    # graded only the blood counts in it).
    windows = safety.nadir_windows(adsl, **p.nadir_window)
    counted_out = safety.window_counts(adae, windows, lab_grades)
    write_table(counted_out, snakemake.output.safety_window)
    for r in counted_out.itertuples():
        logging.info(
            "%s: %d of %d analysed in the treatment-emergent window (%d before, %d after, %d implausible)",
            r.records,
            r.n_analysed,
            r.n_records,
            r.n_before_window,
            r.n_after_window,
            r.n_implausible,
        )
    adae = adae[safety.in_window(adae, windows)]
    ae = safety.combine_hematologic(adae, lab_grades, p.hematologic_source)
    logging.info(
        "hematologic AEs from: %s; %d treatment-emergent AE rows, %d lab-graded events",
        p.hematologic_source,
        len(ae),
        len(safety.lab_events(lab_grades)),
    )
    # Adverse events are also tabulated for every regimen, however small (suppression applies).
    by_regimen = {
        r: adsl[adsl["regimen"] == r] for r in sorted(adsl["regimen"].unique()) if r not in sets
    }
    ae_table = safety.adverse_event_table(
        {**sets, **by_regimen}, ae, p.hematologic_source, p.conf_level
    )
    if ae_table.empty:
        logging.info(
            "no adverse-event records (reported or from labs): adverse_events.csv is empty"
        )
    write_table(ae_table, snakemake.output.adverse_events)
    toxicity = safety.hematologic_toxicity_table(
        {**sets, **by_regimen}, adae, lab_grades, p.conf_level
    )
    write_table(toxicity, snakemake.output.hematologic_toxicity)
    write_table(safety.nadir_table(sets, nadirs), snakemake.output.nadir)
    write_table(safety.nadir_test_table(sets, nadirs), snakemake.output.nadir_tests)
    models, predictions = exposure.exposure_response(
        adsl,
        ae,
        p.predict_at,
        p.cv_folds,
        p.conf_level,
        adjust_for=p.adjust_for,
        min_events=p.min_events,
        chance_auc=p.chance_auc,
    )
    write_table(models, snakemake.output.exposure_response)
    write_table(predictions, snakemake.output.exposure_predictions)
    curves = exposure.exposure_curves(adsl, ae, models, p.conf_level)
    write_table(curves, snakemake.output.exposure_curves)
    logging.info("exposure-response on %s", models["exposure"].iloc[0] if len(models) else "-")


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
