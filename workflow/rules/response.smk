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


# IMWG response derived from the labs (made by the site jobs): agreement with the recorded
# response and duration of / time to response, for both sources.
rule response_agreement:
    input:
        adsl=adam("adsl"),
        adrs_derived=adam("adrs_derived"),
    output:
        agreement=report(
            table("response_agreement"),
            caption="../report/response_agreement.rst",
            category="Response",
        ),
        duration=report(
            table("duration_of_response"),
            caption="../report/duration_of_response.rst",
            category="Response",
        ),
    params:
        min_regimen_n=config["min_regimen_n"],
        conf_type=config["km"]["conf_type"],
        conf_level=config["conf_level"],
        response_source=config["response_source"],
    conda:
        "../envs/rwe.yaml"
    log:
        results("logs/response_agreement.log"),
    benchmark:
        results("benchmarks/response_agreement.tsv"),
    script:
        "../scripts/response_agreement.py"


STAGE_OUTPUTS["response_agreement"] = [
    table("response_agreement"),
    table("duration_of_response"),
]
