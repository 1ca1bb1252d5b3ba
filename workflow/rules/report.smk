# Figures, the reviewer's HTML report and the shareable (small-cell suppressed) tables.

REPORT_TABLES = [
    "attrition",
    "data_quality",
    "baseline",
    "response",
    "response_tests",
    "km_medians",
    "km_landmarks",
    "followup",
    "logrank",
    "cox",
    "cox_diagnostics",
    "site_summary",
    "logrank_stratified",
    "cox_stratified",
    "cox_stratified_diagnostics",
    "site_meta",
    "site_contributions",
    "adverse_events",
    "nadir",
    "nadir_tests",
    "exposure_response",
    "exposure_predictions",
    "published_comparison",
    "changes",
    "changes_patients",
]
FIGURE_TABLES = ["logrank", "cox", "response", "exposure_response", "site_meta"]
# Figure kind -> (category in the Snakemake report); one folder and one caption per kind.
FIGURE_KINDS = {
    "km": "Survival",
    "forest": "Cox regression",
    "response": "Response",
    "nadir": "Safety",
    "exposure": "Exposure-response",
    "swimmer": "Survival",
    "meta": "Sites",
}


def figure_folder(kind):
    """Folder of one kind of figure, marked for the Snakemake report with its caption."""
    return report(
        directory(results(f"figures/{kind}")),
        patterns=["{name}.png"],
        caption=f"../report/figure_{kind}.rst",
        category=FIGURE_KINDS[kind],
        labels={"figure": "{name}"},
    )


rule figures:
    input:
        adsl=adam("adsl"),
        nadirs=adam("nadirs"),
        exposure_curves=adam("exposure_curves"),
        km_curves=adam("km_curves"),
        tables=expand(table("{name}"), name=FIGURE_TABLES),
    output:
        **{kind: figure_folder(kind) for kind in FIGURE_KINDS},
        index=results("figures.csv"),
    params:
        names=FIGURE_TABLES,
        conf_type=config["km"]["conf_type"],
        conf_level=config["conf_level"],
        subgroups=config["subgroups"],
        ci_bands=config["figures"]["ci_bands"],
        max_patients=config["figures"]["max_patients"],
        min_cell_count=config["min_cell_count"],
        min_regimen_n=config["min_regimen_n"],
    threads: 2
    log:
        results("logs/figures.log"),
    benchmark:
        results("benchmarks/figures.tsv"),
    script:
        "../scripts/figures.py"


rule report:
    input:
        tables=expand(table("{name}"), name=REPORT_TABLES),
        figures=expand(results("figures/{kind}"), kind=FIGURE_KINDS),
        index=results("figures.csv"),
        provenance=results("provenance.json"),
    output:
        report(
            results("report.html"),
            caption="../report/report_html.rst",
            category="Report",
        ),
    params:
        names=REPORT_TABLES,
        config=config,
    log:
        results("logs/report.log"),
    benchmark:
        results("benchmarks/report.tsv"),
    script:
        "../scripts/report.py"


rule shareable:
    input:
        tables=expand(table("{name}"), name=REPORT_TABLES),
    output:
        report(
            directory(results("shareable")),
            patterns=["{name}.csv"],
            caption="../report/report_shareable.rst",
            category="Shareable tables",
            labels={"table": "{name}"},
        ),
    params:
        names=REPORT_TABLES,
        min_cell_count=config["min_cell_count"],
        published_reference=config["report"]["published_reference"],
    log:
        results("logs/shareable.log"),
    benchmark:
        results("benchmarks/shareable.tsv"),
    script:
        "../scripts/shareable.py"


STAGE_OUTPUTS["report"] = [results("report.html"), results("shareable")]
