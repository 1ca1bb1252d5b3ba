"""Best response by IMWG category with ORR/CBR and Fisher tests by subgroup."""

import logging

from rwe.derive import analysis_sets
from rwe.io import read_adam, write_table
from rwe.response import response_table, response_test_table


def main(snakemake):
    logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(message)s")
    p = snakemake.params
    sets = analysis_sets(read_adam(snakemake.input.adsl), p.min_regimen_n)
    write_table(response_table(sets, p.subgroups, p.conf_level), snakemake.output.response)
    write_table(
        response_test_table(sets, p.subgroups, p.conf_level), snakemake.output.response_tests
    )
    logging.info("response tables for %d analysis sets", len(sets))


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
