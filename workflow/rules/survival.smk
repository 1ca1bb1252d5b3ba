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
        cox_influence=report(
            table("cox_influence"),
            caption="../report/cox_influence.rst",
            category="Survival",
        ),
        landmark=report(
            table("landmark"), caption="../report/landmark.rst", category="Survival"
        ),
        cox_time_dependent=report(
            table("cox_time_dependent"),
            caption="../report/cox_time_dependent.rst",
            category="Survival",
        ),
        conventions_comparison=report(
            table("conventions_comparison"),
            caption="../report/conventions_comparison.rst",
            category="Survival",
        ),
        subgroup_interactions=report(
            table("subgroup_interactions"),
            caption="../report/subgroup_interactions.rst",
            category="Survival",
        ),
        **{
            name: report(table(name), caption=f"../report/{name}.rst", category="Sites")
            for name in SITE_TABLES
        },
    params:
        min_regimen_n=config["min_regimen_n"],
        subgroups=config["subgroups"],
        conf_type=CONVENTIONS.conf_type,
        ties=CONVENTIONS.ties,
        landmarks_months=config["km"]["landmarks_months"],
        response_landmarks_months=config["response_landmarks_months"],
        min_median_events=config["km"]["min_median_events"],
        min_events_per_covariate=config["cox"]["min_events_per_covariate"],
        dfbetas_cutoff=config["cox"]["dfbetas_cutoff"],
        min_events=config["min_events"],
        primary_comparisons=config["primary_comparisons"],
        compare=config["compare"],
        covariates=config["cox"]["covariates"],
        conf_level=config["conf_level"],
        meta=config["meta"],
        aggregate_sites=aggregate_site_folders(),
        aggregate_options=aggregate_options(config),
        aggregate_sha256=file_checksums(aggregate_site_files(), DIGESTS),
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
        "cox_influence",
        "landmark",
        "cox_time_dependent",
        "conventions_comparison",
        "subgroup_interactions",
        *SITE_TABLES,
    ]
]
