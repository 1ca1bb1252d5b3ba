"""Read and validate every site extract; write the typed tables, what was read, and missingness."""

import json
import logging
import sys

from rwe.derive import data_quality
from rwe.exceptions import InputError
from rwe.io import EXTRACT_FILES, read_site, write_table
from rwe.validate import empty_table, validate_extract


def main(snakemake):
    logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(message)s")
    log = logging.getLogger("ingest")
    try:
        raw, inputs = {}, []
        for site, folder in snakemake.params.sites.items():
            raw[site], site_inputs = read_site(folder, site)
            inputs += site_inputs
        for item in inputs:
            log.info(
                "read %s/%s: %d rows (%s)", item["site"], item["file"], item["rows"], item["format"]
            )
        typed = validate_extract(
            raw, snakemake.params.regimen_aliases, snakemake.params.allow_extra_columns
        )
    except InputError as err:
        # One readable list of every problem; nothing is written.
        log.error("%s", err)
        print(err, file=sys.stderr)
        sys.exit(1)
    n_sites = len(raw)
    del raw  # the text tables: only the typed ones are written
    for stem, path in zip(EXTRACT_FILES, snakemake.output.validated, strict=True):
        write_table(typed.get(stem, empty_table(stem)), path)
    with open(snakemake.output.inputs, "w", encoding="utf-8") as fh:
        json.dump(inputs, fh, indent=2)
    write_table(data_quality(typed), snakemake.output.data_quality)
    log.info("validated %d patients from %d site(s)", len(typed["patients"]), n_sites)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
