"""Draw every figure (PNG and SVG) into results/figures and list them in figures.csv."""

import logging

import pandas as pd

from rwe import exposure, plots, safety
from rwe.derive import analysis_sets
from rwe.io import read_adam, write_table


def main(snakemake):
    logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(message)s")
    config = snakemake.params.config
    adsl, adtte, adae, adlb = (
        read_adam(snakemake.input[k]) for k in ("adsl", "adtte", "adae", "adlb")
    )
    names = ["logrank", "cox", "response", "exposure_response"]
    tables = {
        name: pd.read_csv(path) for name, path in zip(names, snakemake.input.tables, strict=True)
    }
    ae = safety.combine_hematologic(
        adae, safety.grade_from_labs(adlb), config["safety"]["hematologic_source"]
    )
    tables["exposure_curves"] = exposure.exposure_curves(adsl, ae, config["conf_level"])
    sets = analysis_sets(adsl, config["min_regimen_n"])
    index = plots.make_figures(adsl, adtte, adlb, tables, sets, config, snakemake.output.figures)
    write_table(index, snakemake.output.index)
    logging.info("%d figures written", len(index))


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
