# Aggregate-only sites: config entries `name: {aggregates: folder}` (rwe export-aggregates).
from rwe.aggregates import FILES as AGGREGATE_FILES, MANIFEST, aggregate_options


def aggregate_site_folders():
    """Sites sent as aggregates only: name -> folder, in the config's order."""
    return {
        name: entry["aggregates"]
        for name, entry in config["sites"].items()
        if isinstance(entry, dict) and "aggregates" in entry
    }


def aggregate_site_files(wildcards=None):
    """The manifest and tables of every aggregate-only site (inputs of the survival rule)."""
    return [
        str(Path(folder) / name)
        for folder in aggregate_site_folders().values()
        for name in [MANIFEST, *AGGREGATE_FILES.values()]
    ]
