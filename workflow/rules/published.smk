# The seed paper's published figures next to this run's (meaningful for the demo extract).
from rwe.published import COMPARED_TABLES


rule published_comparison:
    input:
        tables=expand(table("{name}"), name=COMPARED_TABLES),
    output:
        report(
            table("published_comparison"),
            caption="../report/published_comparison.rst",
            category="Published vs this run",
        ),
    params:
        reference=config["report"]["published_reference"],
        conf_level=config["conf_level"],
        gfr_cutoff=config["gfr_cutoff"],
        names=COMPARED_TABLES,
    conda:
        "../envs/rwe.yaml"
    log:
        results("logs/published_comparison.log"),
    benchmark:
        results("benchmarks/published_comparison.tsv"),
    script:
        "../scripts/published_comparison.py"


if config["report"]["published_reference"]:
    STAGE_OUTPUTS["published"] = [table("published_comparison")]
