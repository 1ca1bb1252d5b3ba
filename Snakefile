# rwe: real-world-evidence pipeline for multiple myeloma. Table of contents only; see README.md.
from snakemake.utils import min_version

from rwe.config import workflow_config

min_version("9.0")


# The config given with --configfile, else the demo's config/config.yaml (not merged with it,
# so a site list never silently includes the demo), checked as `rwe check --config` checks it:
# every problem listed, then exit without a traceback; defaults filled in from the schema.
config.update(
    workflow_config(
        config,
        f"{workflow.basedir}/workflow/schemas/config.schema.yaml",
        given=workflow.overwrite_configfiles,
    )
)


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/aggregates.smk"
include: "workflow/rules/sites.smk"
include: "workflow/rules/response.smk"
include: "workflow/rules/survival.smk"
include: "workflow/rules/comparative.smk"
include: "workflow/rules/safety.smk"
include: "workflow/rules/published.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/cuts.smk"
include: "workflow/rules/checksums.smk"


rule all:
    input:
        all_outputs(),
    default_target: True
