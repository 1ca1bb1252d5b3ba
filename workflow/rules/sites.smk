# Row-level sites: one `site` job each (read, validate, harmonise, derive), in parallel; then
# one `pool` job concatenates their analysis datasets. Aggregate-only sites have no job here.


rule site:
    input:
        site_files,
    output:
        **{name: site_output(f"{name}.csv") for name in ADAM + LAB_SUMMARIES},
        data_quality=site_output("data_quality.csv"),
        plausibility=site_output("plausibility.csv"),
        inputs=site_output("inputs.json"),
    params:
        folder=lambda wildcards: site_folder(wildcards.site),
        options=lambda wildcards: site_options(wildcards.site),
        # New content re-runs the job even when the files carry older times (rwe.checksums).
        sha256=lambda wildcards: file_checksums(site_files(wildcards), DIGESTS),
        gfr_cutoff=config["gfr_cutoff"],
        pfs_death_events=config["pfs_death_events"],
        nadir_window=config["nadir_window"],
        response_source=config["response_source"],
        imwg=config["imwg"],
    threads: site_threads
    conda:
        "../envs/rwe.yaml"
    log:
        results("logs/site/{site}.log"),
    benchmark:
        results("benchmarks/site/{site}.tsv")
    script:
        "../scripts/site.py"


rule pool:
    input:
        **{name: every_site(f"{name}.csv") for name in ADAM + LAB_SUMMARIES},
        data_quality=every_site("data_quality.csv"),
        plausibility=every_site("plausibility.csv"),
    output:
        **{name: adam(name) for name in ADAM + LAB_SUMMARIES},
        attrition=report(
            table("attrition"), caption="../report/attrition.rst", category="Data"
        ),
        baseline=report(
            table("baseline"), caption="../report/baseline.rst", category="Baseline"
        ),
        data_quality=report(
            table("data_quality"),
            caption="../report/data_quality.rst",
            category="Data",
        ),
        plausibility=report(
            table("plausibility"),
            caption="../report/plausibility.rst",
            category="Data",
        ),
    params:
        min_regimen_n=config["min_regimen_n"],
        subgroups=config["subgroups"],
        covariates=config["cox"]["covariates"],
    conda:
        "../envs/rwe.yaml"
    log:
        results("logs/pool.log"),
    benchmark:
        results("benchmarks/pool.tsv")
    script:
        "../scripts/pool.py"


# Its own step (on the login node of a cluster): it records the whole config, so a changed
# option re-runs this second-long step and the report only, not the pool and every analysis.
rule provenance:
    input:
        inputs=every_site("inputs.json"),
    output:
        results("provenance.json"),
    params:
        config=config,
    conda:
        "../envs/rwe.yaml"
    log:
        results("logs/provenance.log"),
    benchmark:
        results("benchmarks/provenance.tsv")
    script:
        "../scripts/provenance.py"


STAGE_OUTPUTS["sites"] = [adam(name) for name in ADAM] + [
    table("attrition"),
    table("baseline"),
    table("data_quality"),
    table("plausibility"),
    results("provenance.json"),
]
