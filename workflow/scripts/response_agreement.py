"""Derived vs recorded best response (cross-table, kappa); duration of and time to response."""

import logging

from rwe.derive import analysis_sets
from rwe.imwg import (
    RESPONSE_SOURCES,
    duration_of_response_table,
    patient_response,
    response_agreement_table,
)
from rwe.io import read_adam, write_table
from rwe.logs import log_to


def main(snakemake):
    log_to(snakemake.log[0])
    p = snakemake.params
    adsl = read_adam(snakemake.input.adsl)
    derived = patient_response(read_adam(snakemake.input.adrs_derived))
    write_table(response_agreement_table(adsl, p.conf_level), snakemake.output.agreement)
    # The configured source first; the derived one only when some patient has lab responses.
    sources = [p.response_source, *(s for s in RESPONSE_SOURCES if s != p.response_source)]
    sources = [s for s in sources if s == "recorded" or len(derived)]
    sets = analysis_sets(adsl, p.min_regimen_n)
    table = duration_of_response_table(sets, derived, sources, p.conf_type, p.conf_level)
    write_table(table, snakemake.output.duration)
    logging.info("%d patients with a derived best response; sources %s", len(derived), sources)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
