# Input functions and config lookups shared by the rules.
import re
from pathlib import Path

from rwe import config as rwe_config

EXTRACT_FILES = ["patients", "responses", "adverse_events", "labs"]
ADAM = ["adsl", "adrs", "adtte", "adae", "adlb"]
# Per-patient summaries of the laboratory values, made by each site job (the only step that
# parses labs.csv) for the safety and figures rules: lab-graded CTCAE events and nadirs.
LAB_SUMMARIES = ["lab_grades", "nadirs"]


def results(path):
    """Path of an output under the configured results folder."""
    return f"{config['results_dir']}/{path}"


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


def site_options(site):
    """What the site job validates a site with: coding, allow_extra_columns, max_day."""
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


STAGE_OUTPUTS = {}


def all_outputs():
    """Everything `rule all` builds: each stage registers its outputs in STAGE_OUTPUTS."""
    return [path for paths in STAGE_OUTPUTS.values() for path in paths]


# Glue steps that take about a second: on a cluster (profiles/slurm) they run in the main
# Snakemake process instead of waiting for a SLURM slot each.
localrules:
    all,
    provenance,
    published_comparison,
    shareable,
    report,
