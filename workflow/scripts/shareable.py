"""Copy every aggregate table to results/shareable with small cells suppressed (min_cell_count)."""

import logging
from pathlib import Path

from rwe.io import read_tables, write_table
from rwe.logs import log_to
from rwe.privacy import suppress_tables


def main(snakemake):
    log_to(snakemake.log[0])
    k = snakemake.params.min_cell_count
    out = Path(snakemake.output[0])
    out.mkdir(parents=True, exist_ok=True)
    tables = read_tables(dict(zip(snakemake.params.names, snakemake.input.tables, strict=True)))
    params = snakemake.params
    shown = suppress_tables(tables, k, params.published_reference, params.gfr_cutoff)
    for name, frame in shown.items():
        write_table(frame, out / f"{name}.csv")
    logging.info("%d tables written; counts from 1 to %d suppressed", len(tables), max(k - 1, 0))


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
