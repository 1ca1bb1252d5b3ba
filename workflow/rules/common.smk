# Input functions and config lookups shared by the rules. The lists of files, datasets, tables
# and figure kinds are defined once in rwe (rwe.catalog, the report's section registry).
import json
import re
from pathlib import Path

from rwe import config as rwe_config

from rwe.catalog import ADAM, EXTRACT_FILES, FIGURE_KINDS, LAB_SUMMARIES, SITE_TABLES
from rwe.checksums import DigestCache, file_checksums
from rwe.options import ReportOptions
from rwe.report import REPORT_TABLES
from rwe.blocks import block_count
from rwe.survival import resolve_conventions

CUT = config["data_cut"]
# Tables kept with each data cut and compared with the previous cut's.
CUT_TABLES = [name for name in REPORT_TABLES if name not in ("changes", "changes_patients")]


def results(path):
    """Path of an output under the configured results folder."""
    return f"{config['results_dir']}/{path}"


#: Digests of the inputs and outputs, re-used while a file is unchanged (rwe.checksums): a run
#: does not hash gigabytes it has hashed before. Saved when the run ends (checksums.smk), with
#: Snakemake's own state of this working directory (not a result).
DIGESTS = DigestCache(".snakemake/rwe-digests.json")


def adam(name):
    """Path of an analysis dataset (patient level: stays on this machine)."""
    return results(f"adam/{name}.csv")


def table(name):
    """Path of a shareable aggregate table."""
    return results(f"tables/{name}.csv")


# Site entries of the config: a folder (row-level extract), {path: folder, <harmonisation>}
# (row-level with the site's own coding) or {aggregates: folder} (aggregate-only site). The
# lookups are rwe.config's, which `rwe check --config` uses too.
CONFIG_SCHEMA = f"{workflow.basedir}/workflow/schemas/config.schema.yaml"

# One switch for the software conventions (config `conventions`: r | sas), with km.conf_type as
# an explicit override of the CI scale; resolved once, before any rule reads it, and written
# back, so that every rule that reads km.conf_type uses the scale the tables were computed with.
CONVENTIONS = resolve_conventions(config["conventions"], config["km"]["conf_type"])
config["km"]["conf_type"] = CONVENTIONS.conf_type


def site_entry(site):
    """A site's config entry as a mapping (a folder string is {path: folder})."""
    return rwe_config.site_entry(config, site)


def row_level_sites():
    """Sites that send a row-level extract (one `site` job each), in the config's order."""
    return rwe_config.row_level_sites(config)


def aggregate_sites():
    """Sites that send aggregates only (`{aggregates: folder}`): no row-level job."""
    return [site for site in config["sites"] if "aggregates" in site_entry(site)]


def site_folder(site):
    """Folder of a row-level site's extract."""
    return site_entry(site)["path"]


def site_threads(wildcards):
    """Processes of a site job: one per block of its labs.csv (rwe.blocks), at most the config's
    `site_threads`. Snakemake lowers it to --cores on a local run; on a cluster it is the job's
    CPUs (the SLURM profile asks for cpus_per_task = threads). Never read from the submitting
    host: `workflow.cores` is undefined under an executor that takes --jobs only."""
    labs = Path(site_folder(wildcards.site)) / "labs.csv"
    if not labs.is_file():
        return 1
    blocks = block_count(labs, site_options(wildcards.site)["block_bytes"])
    return max(1, min(config["site_threads"], blocks))


def site_options(site):
    """What the site job validates a site with: coding, allow_extra_columns, max_day, on_implausible."""
    options = rwe_config.site_options(config, site, CONFIG_SCHEMA)
    del options["folder"]
    return options


def site_files(wildcards):
    """The files of one site's extract that exist (patients.csv is required)."""
    folder = Path(site_folder(wildcards.site))
    return [str(folder / "patients.csv")] + [
        str(folder / f"{stem}.csv")
        for stem in EXTRACT_FILES[1:]
        if (folder / f"{stem}.csv").is_file()
    ]


def site_output(name, site="{site}"):
    """Path of one site's analysis dataset (or its data_quality / inputs record)."""
    return results(f"adam/sites/{site}/{name}")


def every_site(name):
    """One file per row-level site, in the config's order."""
    return [site_output(name, site) for site in row_level_sites()]


wildcard_constraints:
    site="|".join(re.escape(site) for site in row_level_sites()) or "(?!)",


def report_options():
    """The options of the figures and the report, from the validated config."""
    return ReportOptions.from_config(config)


def figure_folder(kind):
    """Folder of one kind of figure, marked for the Snakemake report with its caption."""
    return report(
        directory(results(f"figures/{kind}")),
        patterns=["{name}.png"],
        caption=f"../report/figure_{kind}.rst",
        category=FIGURE_KINDS[kind].category,
        labels={"figure": "{name}"},
    )


def previous_cut():
    """Label of the most recent other data cut kept under results/cuts/, or None."""
    kept = []
    for record in Path(results("cuts")).glob("*/cut.json"):
        info = json.loads(record.read_text())
        if info["label"] != CUT:
            kept.append((info["sequence"], info["label"]))
    return max(kept)[1] if kept else None


def previous_cut_files(wildcards):
    """The previous data cut's kept tables, record and outcomes (none for the first cut)."""
    label = previous_cut()
    if label is None:
        return {}
    return {
        "previous_tables": [results(f"cuts/{label}/tables/{name}.csv") for name in CUT_TABLES],
        "previous_record": results(f"cuts/{label}/cut.json"),
        "previous_outcomes": adam(f"cuts/{label}/outcomes"),
    }


STAGE_OUTPUTS = {}


def all_outputs():
    """Everything the default target builds: each stage registers its outputs in STAGE_OUTPUTS."""
    return [path for paths in STAGE_OUTPUTS.values() for path in paths]


# Glue steps that take about a second: on a cluster (profiles/slurm) they run in the main
# Snakemake process instead of waiting for a SLURM slot each.
localrules:
    all,
    provenance,
    published_comparison,
    shareable,
    report,
