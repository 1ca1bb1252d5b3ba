# Site-aware tables (rwe.sites): with one site each holds a note row.
SITE_TABLES = [
    "site_summary",
    "logrank_stratified",
    "cox_stratified",
    "cox_stratified_diagnostics",
    "site_meta",
    "site_contributions",
]


rule survival:
    input:
        adsl=adam("adsl"),
        adtte=adam("adtte"),
        aggregates=aggregate_site_files,
    output:
        km_medians=report(
            table("km_medians"),
            caption="../report/km_medians.rst",
            category="Survival",
        ),
        km_landmarks=report(
            table("km_landmarks"),
            caption="../report/km_landmarks.rst",
            category="Survival",
        ),
        km_curves=adam("km_curves"),
        followup=report(
            table("followup"), caption="../report/followup.rst", category="Survival"
        ),
        logrank=report(
            table("logrank"), caption="../report/logrank.rst", category="Survival"
        ),
        cox=report(table("cox"), caption="../report/cox.rst", category="Survival"),
        cox_diagnostics=report(
            table("cox_diagnostics"),
            caption="../report/cox_diagnostics.rst",
            category="Survival",
        ),
        **{
            name: report(table(name), caption=f"../report/{name}.rst", category="Sites")
            for name in SITE_TABLES
        },
    params:
        min_regimen_n=config["min_regimen_n"],
        subgroups=config["subgroups"],
        conf_type=config["km"]["conf_type"],
        landmarks_months=config["km"]["landmarks_months"],
        covariates=config["cox"]["covariates"],
        conf_level=config["conf_level"],
        aggregate_sites=aggregate_site_folders(),
        aggregate_options=aggregate_options(config),
    conda:
        "../envs/rwe.yaml"
    log:
        results("logs/survival.log"),
    benchmark:
        results("benchmarks/survival.tsv"),
    script:
        "../scripts/survival.py"


STAGE_OUTPUTS["survival"] = [adam("km_curves")] + [
    table(name)
    for name in [
        "km_medians",
        "km_landmarks",
        "followup",
        "logrank",
        "cox",
        "cox_diagnostics",
        *SITE_TABLES,
    ]
]
