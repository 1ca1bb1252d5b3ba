# Data cuts: this run's tables are kept under results/cuts/<data_cut>/ and compared with the
# previous cut's (the most recent other label there): changes.csv and changes_patients.csv.
# CUT, CUT_TABLES and previous_cut_files are in common.smk.


rule data_cut:
    input:
        unpack(previous_cut_files),
        tables=expand(table("{name}"), name=CUT_TABLES),
        adsl=adam("adsl"),
        adtte=adam("adtte"),
    output:
        changes=report(
            table("changes"), caption="../report/changes.rst", category="Data cuts"
        ),
        changes_patients=report(
            table("changes_patients"),
            caption="../report/changes_patients.rst",
            category="Data cuts",
        ),
        kept=expand(results(f"cuts/{CUT}/tables/{{name}}.csv"), name=CUT_TABLES),
        record=results(f"cuts/{CUT}/cut.json"),
        outcomes=adam(f"cuts/{CUT}/outcomes"),
    params:
        names=CUT_TABLES,
        label=CUT,
    conda:
        "../envs/rwe.yaml"
    log:
        results("logs/data_cut.log"),
    benchmark:
        results("benchmarks/data_cut.tsv")
    script:
        "../scripts/data_cut.py"


STAGE_OUTPUTS["cuts"] = [table("changes"), table("changes_patients")]
