rule ingest:
    input:
        site_files,
    output:
        validated=expand(results("adam/validated/{stem}.csv"), stem=EXTRACT_FILES),
        inputs=results("adam/validated/inputs.json"),
        data_quality=report(
            table("data_quality"),
            caption="../report/data_quality.rst",
            category="Data",
        ),
    params:
        sites=config["sites"],
        regimen_aliases=config["regimen_aliases"],
        allow_extra_columns=config["allow_extra_columns"],
    log:
        results("logs/ingest.log"),
    benchmark:
        results("benchmarks/ingest.tsv"),
    script:
        "../scripts/ingest.py"


rule provenance:
    input:
        inputs=results("adam/validated/inputs.json"),
    output:
        results("provenance.json"),
    params:
        config=config,
    log:
        results("logs/provenance.log"),
    benchmark:
        results("benchmarks/provenance.tsv"),
    script:
        "../scripts/provenance.py"


STAGE_OUTPUTS["ingest"] = [table("data_quality"), results("provenance.json")]
