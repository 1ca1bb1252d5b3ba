rule response:
    input:
        adsl=adam("adsl"),
    output:
        response=report(
            table("response"), caption="../report/response.rst", category="Response"
        ),
        response_tests=report(
            table("response_tests"),
            caption="../report/response_tests.rst",
            category="Response",
        ),
    params:
        min_regimen_n=config["min_regimen_n"],
        subgroups=config["subgroups"],
        conf_level=config["conf_level"],
    conda:
        "../envs/rwe.yaml"
    log:
        results("logs/response.log"),
    benchmark:
        results("benchmarks/response.tsv"),
    script:
        "../scripts/response.py"


STAGE_OUTPUTS["response"] = [table("response"), table("response_tests")]
