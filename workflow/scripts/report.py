"""Write results/report.html: one self-contained file with every table and figure."""

import json
import logging
from pathlib import Path

import pandas as pd

from rwe.io import read_tables
from rwe.report import write_report


def main(snakemake):
    logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(message)s")
    tables = read_tables(dict(zip(snakemake.params.names, snakemake.input.tables, strict=True)))
    with open(snakemake.input.provenance, encoding="utf-8") as fh:
        provenance = json.load(fh)
    figures = pd.read_csv(snakemake.input.index)
    figure_dir = Path(snakemake.input.figures[0]).parent
    write_report(
        tables, figures, figure_dir, provenance, snakemake.params.options, snakemake.output[0]
    )
    logging.info("report written from %d tables", len(tables))


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
