# Comparative effectiveness of two levels of compare.treatment: propensity-score weighting,
# balance, weighted Kaplan-Meier and Cox, RMST, competing risks, E-values (rwe.comparative).
COMPARATIVE_TABLES = [
    "target_trial",
    "comparative_attrition",
    "ps_model",
    "ps_balance",
    "ps_weights",
    "comparative_effects",
    "comparative_km",
    "rmst",
    "comparative_bootstrap",
    "comparative_sensitivity",
    "competing_risks",
    "comparative_adjusted",
]


rule comparative:
    input:
        adsl=adam("adsl"),
        adtte=adam("adtte"),
    output:
        **{
            name: report(
                table(name),
                caption=f"../report/{name}.rst",
                category="Comparative effectiveness",
            )
            for name in COMPARATIVE_TABLES
        },
        figures=report(
            directory(results("figures/comparative")),
            patterns=["{name}.png"],
            caption="../report/figure_comparative.rst",
            category="Comparative effectiveness",
            labels={"figure": "{name}"},
        ),
        figure_index=results("figures_comparative.csv"),
    params:
        compare=config["compare"],
        pfs_death_events=config["pfs_death_events"],
        landmarks_months=config["km"]["landmarks_months"],
        conf_type=CONVENTIONS.conf_type,
        ties=CONVENTIONS.ties,
        conf_level=config["conf_level"],
        min_cell_count=config["min_cell_count"],
        gfr_cutoff=config["gfr_cutoff"],
    conda:
        "../envs/rwe.yaml"
    log:
        results("logs/comparative.log"),
    benchmark:
        results("benchmarks/comparative.tsv"),
    script:
        "../scripts/comparative.py"


STAGE_OUTPUTS["comparative"] = [table(name) for name in COMPARATIVE_TABLES] + [
    results("figures/comparative"),
    results("figures_comparative.csv"),
]
