"""Draw every figure (PNG and SVG) into results/figures/<kind>/ and list them in figures.csv."""

import logging
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display, before plotnine imports pyplot

import pandas as pd  # noqa: E402

from rwe import plots  # noqa: E402
from rwe.derive import analysis_sets  # noqa: E402
from rwe.io import read_adam, write_table  # noqa: E402


def main(snakemake):
    logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(message)s")
    p = snakemake.params
    adsl, nadirs = read_adam(snakemake.input.adsl), read_adam(snakemake.input.nadirs)
    tables = {
        name: pd.read_csv(path) for name, path in zip(p.names, snakemake.input.tables, strict=True)
    }
    tables["km_curves"] = pd.read_csv(snakemake.input.km_curves, dtype={"level": str})
    tables["exposure_curves"] = pd.read_csv(snakemake.input.exposure_curves)
    out_dir = Path(snakemake.output.km).parent
    index = plots.make_figures(
        adsl,
        nadirs,
        tables,
        analysis_sets(adsl, p.options.min_regimen_n),
        p.options,
        out_dir,
        workers=snakemake.threads,
    )
    write_table(index, snakemake.output.index)
    logging.info("%d figures written with %d processes", len(index), snakemake.threads)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
