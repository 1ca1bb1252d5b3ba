"""Pool the sites' analysis datasets; write the attrition, baseline, data-quality and plausibility tables.

Each dataset is the sites' files concatenated as bytes (ADLB is never parsed here); attrition
and baseline are computed on the pooled ADSL and ADTTE.
"""

import logging

import pandas as pd

from rwe import derive
from rwe.catalog import EXTRACT_FILES
from rwe.io import concatenate_csv, pool_csv, read_adam, write_table
from rwe.tables import baseline_table


def pooled_by_file(paths: list[str]) -> pd.DataFrame:
    """The sites' data-quality (or plausibility) rows, by file (patients, responses …), then site."""
    # As text: the numbers are copied as the site jobs wrote them, not parsed and re-printed.
    rows = pd.concat(
        [pd.read_csv(path, dtype=str, keep_default_na=False) for path in paths], ignore_index=True
    )
    stem = rows["file"].str.rsplit("/", n=1).str[1].str.removesuffix(".csv")
    order = stem.map({name: i for i, name in enumerate(EXTRACT_FILES)})
    return rows.iloc[order.argsort(kind="stable")].reset_index(drop=True)


def main(snakemake):
    logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(message)s")
    p = snakemake.params
    # ADLB and its per-patient summaries: bytes only; their headers are the same at every site.
    for name in ("adlb", "lab_grades", "nadirs"):
        concatenate_csv(snakemake.input[name], snakemake.output[name])
    for name in ("adsl", "adrs", "adtte", "adae"):
        pool_csv(snakemake.input[name], snakemake.output[name])
    for name in ("data_quality", "plausibility"):
        write_table(pooled_by_file(snakemake.input[name]), snakemake.output[name])
    adsl = read_adam(snakemake.output.adsl)
    adtte = read_adam(snakemake.output.adtte)
    write_table(
        derive.attrition(adsl, adtte, p.subgroups, p.covariates), snakemake.output.attrition
    )
    write_table(
        baseline_table(derive.analysis_sets(adsl, p.min_regimen_n)), snakemake.output.baseline
    )
    logging.info("pooled %d patients of %d site(s)", len(adsl), len(snakemake.input.adsl))


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
