"""Write results/provenance.json: input hashes, row counts, config, package versions, commit, time."""

import json
import logging

from rwe.logs import log_to
from rwe.provenance import provenance_record


def main(snakemake):
    log_to(snakemake.log[0])
    inputs = []
    for path in snakemake.input.inputs:  # one record per site, in the config's order
        with open(path, encoding="utf-8") as fh:
            inputs += json.load(fh)
    record = provenance_record(inputs, dict(snakemake.params.config), snakemake.scriptdir)
    with open(snakemake.output[0], "w", encoding="utf-8") as fh:
        json.dump(record, fh, indent=2, default=str)
    logging.info("provenance of %d input files written", len(inputs))


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
