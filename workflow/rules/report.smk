# Figures, the reviewer's HTML report and the shareable (small-cell suppressed) tables.

FIGURE_TABLES = [
    "logrank",
    "cox",
    "cox_diagnostics",
    "subgroup_interactions",
    "response",
    "exposure_response",
    "site_meta",
]


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
        options=report_options(),
    threads: 2
    conda:
        "../envs/rwe.yaml"
    log:
        results("logs/figures.log"),
    benchmark:
        results("benchmarks/figures.tsv"),
    script:
        "../scripts/figures.py"


rule report:
    input:
        tables=expand(table("{name}"), name=REPORT_TABLES),
        figures=[
            *expand(results("figures/{kind}"), kind=FIGURE_KINDS),
            results("figures/comparative"),
        ],
        index=[results("figures.csv"), results("figures_comparative.csv")],
        provenance=results("provenance.json"),
    output:
        html=report(
            results("report.html"),
            caption="../report/report_html.rst",
            category="Report",
        ),
        docx=report(
            results("tables.docx"),
            caption="../report/report_docx.rst",
            category="Report",
        ),
    params:
        names=REPORT_TABLES,
        options=report_options(),
    conda:
        "../envs/rwe.yaml"
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
        gfr_cutoff=config["gfr_cutoff"],
    conda:
        "../envs/rwe.yaml"
    log:
        results("logs/shareable.log"),
    benchmark:
        results("benchmarks/shareable.tsv"),
    script:
        "../scripts/shareable.py"


STAGE_OUTPUTS["report"] = [results("report.html"), results("tables.docx"), results("shareable")]
