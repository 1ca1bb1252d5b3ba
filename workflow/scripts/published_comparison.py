"""Write the published-vs-this-run table (empty, with a note, when no reference is configured)."""

import logging

import pandas as pd

from rwe.io import write_table
from rwe.logs import log_to
from rwe.published import COMPARISON_COLUMNS, COMPARISON_EXTRA_COLUMNS, published_comparison


def main(snakemake):
    log_to(snakemake.log[0])
    reference = snakemake.params.reference
    if not reference:
        write_table(
            pd.DataFrame(columns=[*COMPARISON_COLUMNS, *COMPARISON_EXTRA_COLUMNS]),
            snakemake.output[0],
        )
        logging.info("no published reference configured")
        return
    tables = {
        name: pd.read_csv(path)
        for name, path in zip(snakemake.params.names, snakemake.input.tables, strict=True)
    }
    params = snakemake.params
    comparison = published_comparison(tables, reference, params.conf_level, params.gfr_cutoff)
    write_table(comparison, snakemake.output[0])
    logging.info("compared with %s", reference)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
