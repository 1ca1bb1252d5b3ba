rule derive:
    input:
        validated=expand(results("adam/validated/{stem}.csv"), stem=EXTRACT_FILES),
    output:
        adsl=adam("adsl"),
        adrs=adam("adrs"),
        adtte=adam("adtte"),
        adae=adam("adae"),
        adlb=adam("adlb"),
        attrition=report(
            table("attrition"), caption="../report/attrition.rst", category="Data"
        ),
        baseline=report(
            table("baseline"), caption="../report/baseline.rst", category="Baseline"
        ),
    params:
        gfr_cutoff=config["gfr_cutoff"],
        pfs_death_events=config["pfs_death_events"],
        min_regimen_n=config["min_regimen_n"],
        subgroups=config["subgroups"],
        covariates=config["cox"]["covariates"],
    log:
        results("logs/derive.log"),
    benchmark:
        results("benchmarks/derive.tsv"),
    script:
        "../scripts/derive.py"


STAGE_OUTPUTS["derive"] = [adam(name) for name in ADAM] + [
    table("attrition"),
    table("baseline"),
]
