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
    "adverse_events",
    "nadir",
    "nadir_tests",
    "exposure_response",
    "exposure_predictions",
]


rule figures:
    input:
        adsl=adam("adsl"),
        adtte=adam("adtte"),
        adae=adam("adae"),
        adlb=adam("adlb"),
        tables=expand(table("{name}"), name=["logrank", "cox", "response", "exposure_response"]),
    output:
        figures=report(
            directory(results("figures")),
            patterns=["{name}.png"],
            caption="../report/figures.rst",
            category="Figures",
        ),
        index=results("figures.csv"),
    params:
        config=config,
    log:
        results("logs/figures.log"),
    script:
        "../scripts/figures.py"


rule report:
    input:
        tables=expand(table("{name}"), name=REPORT_TABLES),
        published=table("published_comparison"),
        figures=results("figures"),
        index=results("figures.csv"),
        provenance=results("provenance.json"),
    output:
        results("report.html"),
    params:
        names=REPORT_TABLES,
        config=config,
    log:
        results("logs/report.log"),
    script:
        "../scripts/report.py"


rule shareable:
    input:
        tables=expand(table("{name}"), name=REPORT_TABLES + ["published_comparison"]),
    output:
        directory(results("shareable")),
    params:
        names=REPORT_TABLES + ["published_comparison"],
        min_cell_count=config["min_cell_count"],
    log:
        results("logs/shareable.log"),
    script:
        "../scripts/shareable.py"


STAGE_OUTPUTS["report"] = [results("report.html"), results("shareable")]
