"""Derive ADSL, ADRS, ADTTE, ADAE, ADLB, the attrition and the baseline tables."""

import logging

from rwe import derive
from rwe.io import read_adam, read_text_table, write_table
from rwe.tables import baseline_table

RESPONSE_COLUMNS = ["site", "patient_id", "day", "response"]


def main(snakemake):
    logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(message)s")
    p = snakemake.params
    # The laboratory table is large (~90 rows per patient) and only passed through here, as
    # text; written and released first, so it is never in memory with the other tables.
    write_table(
        derive.derive_adlb(read_text_table(snakemake.input.validated[3])), snakemake.output.adlb
    )
    patients, adverse_events = (read_adam(snakemake.input.validated[i]) for i in (0, 2))
    # ~12 assessments per patient: texts as categoricals (a fraction of the memory of strings).
    responses = read_adam(snakemake.input.validated[1], RESPONSE_COLUMNS, text_as_category=True)
    adsl = derive.derive_adsl(patients, responses, p.gfr_cutoff)
    adtte = derive.derive_adtte(adsl, p.pfs_death_events)
    outputs = {
        "adsl": adsl,
        "adrs": derive.derive_adrs(adsl),
        "adtte": adtte,
        "adae": derive.derive_adae(adverse_events),
        "attrition": derive.attrition(adsl, adtte, p.subgroups, p.covariates),
        "baseline": baseline_table(derive.analysis_sets(adsl, p.min_regimen_n)),
    }
    for name, frame in outputs.items():
        write_table(frame, snakemake.output[name])
    logging.info(
        "derived %d patients; PFS deaths counted as events: %s", len(adsl), p.pfs_death_events
    )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
