"""Draw every figure (PNG and SVG) into results/figures/<kind>/ and list them in figures.csv."""

import logging
from pathlib import Path

import pandas as pd

from rwe import exposure, plots, safety
from rwe.derive import analysis_sets
from rwe.io import read_adam, write_table


def main(snakemake):
    logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(message)s")
    p = snakemake.params
    adsl, adtte, adae, adlb = (
        read_adam(snakemake.input[k]) for k in ("adsl", "adtte", "adae", "adlb")
    )
    tables = {
        name: pd.read_csv(path) for name, path in zip(p.names, snakemake.input.tables, strict=True)
    }
    ae = safety.combine_hematologic(adae, safety.grade_from_labs(adlb), p.hematologic_source)
    tables["exposure_curves"] = exposure.exposure_curves(adsl, ae, p.conf_level)
    config = {
        "km": {"conf_type": p.conf_type},
        "conf_level": p.conf_level,
        "subgroups": p.subgroups,
        "figures": {"ci_bands": p.ci_bands},
        "min_cell_count": p.min_cell_count,
    }
    out_dir = Path(snakemake.output.km).parent
    index = plots.make_figures(
        adsl, adtte, adlb, tables, analysis_sets(adsl, p.min_regimen_n), config, out_dir
    )
    write_table(index, snakemake.output.index)
    logging.info("%d figures written", len(index))


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
