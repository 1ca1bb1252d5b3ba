"""Write results/report.html: one self-contained file with every table and figure."""

import json
import logging

import pandas as pd

from rwe.report import write_report


def main(snakemake):
    logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(message)s")
    tables = {
        name: pd.read_csv(path)
        for name, path in zip(snakemake.params.names, snakemake.input.tables, strict=True)
    }
    tables["published_comparison"] = pd.read_csv(snakemake.input.published)
    with open(snakemake.input.provenance, encoding="utf-8") as fh:
        provenance = json.load(fh)
    figures = pd.read_csv(snakemake.input.index)
    write_report(
        tables,
        figures,
        snakemake.input.figures,
        provenance,
        snakemake.params.config,
        snakemake.output[0],
    )
    logging.info("report written with %d tables and %d figures", len(tables), len(figures))


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
