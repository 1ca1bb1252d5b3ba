"""Comparative effectiveness of two levels of compare.treatment: tables and figures."""

import logging
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display, before plotnine imports pyplot

from rwe import comparative, comparative_plots, cox_predict  # noqa: E402
from rwe.adjusted_plots import adjusted_curves_plot  # noqa: E402
from rwe.exceptions import ConfigError  # noqa: E402
from rwe.io import read_adam, write_table  # noqa: E402
from rwe.logs import log_to
from rwe.plots import save  # noqa: E402


def main(snakemake):
    log_to(snakemake.log[0])
    p = snakemake.params
    options = dict(p.compare)
    adsl, adtte = read_adam(snakemake.input.adsl), read_adam(snakemake.input.adtte)
    covariates = comparative.comparison_covariates(adsl, options.pop("covariates"))
    try:
        result = comparative.compare(
            adsl,
            adtte,
            covariates=covariates,
            landmarks_months=p.landmarks_months,
            conf_type=p.conf_type,
            ties=p.ties,
            conf_level=p.conf_level,
            pfs_death_events=p.pfs_death_events,
            **options,
        )
    except ConfigError as err:
        logging.error("%s", err)
        print(f"Configuration error: {err}", file=sys.stderr)
        sys.exit(1)
    logging.info("%s: %d patients analysed", result.label, len(result.analysed))
    adjusted, adjusted_curves = cox_predict.comparative_adjusted(
        result.analysed, result.levels, covariates, p.landmarks_months, result.label, p.ties
    )
    result.tables["comparative_adjusted"] = adjusted
    for name, frame in result.tables.items():
        write_table(frame, snakemake.output[name])
        logging.info("%s: %d rows", name, len(frame))
    out_dir = Path(snakemake.output.figures)
    out_dir.mkdir(parents=True, exist_ok=True)
    index = comparative_plots.make_figures(
        result,
        out_dir,
        trim=options["trim"],
        conf_type=p.conf_type,
        conf_level=p.conf_level,
        min_cell_count=p.min_cell_count,
        gfr_cutoff=p.gfr_cutoff,
    )
    if not adjusted_curves.empty:
        ties = "Efron" if p.ties == "efron" else "Breslow"
        caption = (
            f"Cox model of the group and the {len(covariates)} propensity-model covariates "
            f"({ties} ties); every analysed patient given each group in turn and the predicted "
            "curves averaged (R survfit.coxph); exploratory"
        )
        title = f"Direct-adjusted survival: {result.label}"
        plot = adjusted_curves_plot(adjusted_curves, result.levels, title, caption)
        save(plot, out_dir / "adjusted_curves", width=8, height=4.5)
        row = ["adjusted_curves", "comparative", "comparative"]
        index.loc[len(index)] = [*row, f"{out_dir.name}/adjusted_curves", title]
    write_table(index, snakemake.output.figure_index)
    logging.info("figures: %d", len(index))


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
