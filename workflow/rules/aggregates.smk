# Aggregate-only sites: config entries `name: {aggregates: folder}` (rwe export-aggregates),
# listed by aggregate_sites() of common.smk; read by the survival rule.
from rwe.aggregates import FILES as AGGREGATE_FILES, MANIFEST, aggregate_options


def aggregate_site_folders():
    """Aggregate-only sites: name -> folder, in the config's order."""
    return {site: site_entry(site)["aggregates"] for site in aggregate_sites()}


def aggregate_site_files(wildcards=None):
    """The manifest and tables of every aggregate-only site (inputs of the survival rule)."""
    return [
        str(Path(folder) / name)
        for folder in aggregate_site_folders().values()
        for name in [MANIFEST, *AGGREGATE_FILES.values()]
    ]
