rule safety:
    input:
        adsl=adam("adsl"),
        adae=adam("adae"),
        lab_grades=adam("lab_grades"),
        nadirs=adam("nadirs"),
    output:
        adverse_events=report(
            table("adverse_events"),
            caption="../report/adverse_events.rst",
            category="Safety",
        ),
        hematologic_toxicity=report(
            table("hematologic_toxicity"),
            caption="../report/hematologic_toxicity.rst",
            category="Safety",
        ),
        safety_window=report(
            table("safety_window"), caption="../report/safety_window.rst", category="Safety"
        ),
        nadir=report(table("nadir"), caption="../report/nadir.rst", category="Safety"),
        nadir_tests=report(
            table("nadir_tests"), caption="../report/nadir_tests.rst", category="Safety"
        ),
        exposure_response=report(
            table("exposure_response"),
            caption="../report/exposure_response.rst",
            category="Exposure-response",
        ),
        exposure_predictions=report(
            table("exposure_predictions"),
            caption="../report/exposure_predictions.rst",
            category="Exposure-response",
        ),
        # For the figures (which then need no ADAE): the fitted exposure-response curves.
        exposure_curves=adam("exposure_curves"),
    params:
        min_regimen_n=config["min_regimen_n"],
        hematologic_source=config["safety"]["hematologic_source"],
        nadir_window=config["nadir_window"],
        predict_at=config["exposure"]["predict_at"],
        cv_folds=config["exposure"]["cv_folds"],
        adjust_for=config["exposure"]["adjust_for"],
        chance_auc=config["exposure"]["chance_auc"],
        min_events=config["min_events"],
        conf_level=config["conf_level"],
    conda:
        "../envs/rwe.yaml"
    log:
        results("logs/safety.log"),
    benchmark:
        results("benchmarks/safety.tsv"),
    script:
        "../scripts/safety.py"


STAGE_OUTPUTS["safety"] = [
    table(name)
    for name in [
        "adverse_events",
        "hematologic_toxicity",
        "safety_window",
        "nadir",
        "nadir_tests",
        "exposure_response",
        "exposure_predictions",
    ]
]
