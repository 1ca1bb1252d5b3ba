# Input functions and config lookups shared by the rules.
from pathlib import Path

EXTRACT_FILES = ["patients", "responses", "adverse_events", "labs"]
ADAM = ["adsl", "adrs", "adtte", "adae", "adlb"]


def results(path):
    """Path of an output under the configured results folder."""
    return f"{config['results_dir']}/{path}"


def adam(name):
    """Path of an analysis dataset (patient level: stays on this machine)."""
    return results(f"adam/{name}.csv")


def table(name):
    """Path of a shareable aggregate table."""
    return results(f"tables/{name}.csv")


def site_files(wildcards=None):
    """Every file of every configured site extract that exists (patients.csv is required)."""
    files = []
    for folder in config["sites"].values():
        files.append(str(Path(folder) / "patients.csv"))
        files += [
            str(Path(folder) / f"{stem}.csv")
            for stem in EXTRACT_FILES[1:]
            if (Path(folder) / f"{stem}.csv").is_file()
        ]
    return files


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
