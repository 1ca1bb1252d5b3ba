"""Copy every aggregate table to results/shareable with small cells suppressed (min_cell_count)."""

import logging
from pathlib import Path

import pandas as pd

from rwe.io import write_table
from rwe.privacy import suppress_table


def main(snakemake):
    logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(message)s")
    k = snakemake.params.min_cell_count
    out = Path(snakemake.output[0])
    out.mkdir(parents=True, exist_ok=True)
    for name, path in zip(snakemake.params.names, snakemake.input.tables, strict=True):
        write_table(suppress_table(name, pd.read_csv(path), k), out / f"{name}.csv")
    logging.info("%d tables written; counts below %d suppressed", len(snakemake.params.names), k)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
