"""One site: read and validate its extract, harmonise it, derive its analysis datasets.

Writes ADSL, ADRS, ADTTE, ADAE and ADLB of the site, its data-quality rows and what was read
(file, rows, SHA-256, format). The laboratory file is parsed here only, and ADLB written from
it directly. Bad input fails this site's job alone, with every problem listed.
"""

import json
import logging
import sys

from rwe import derive, safety
from rwe.exceptions import InputError
from rwe.io import read_site, write_table
from rwe.logs import log_to
from rwe.validate import empty_table, validate_extract


def main(snakemake):
    log_to(snakemake.log[0])
    log = logging.getLogger("site")
    site, p = snakemake.wildcards.site, snakemake.params
    try:
        raw, inputs = read_site(p.folder, site)
        for item in inputs:
            log.info(
                "read %s/%s: %d rows (%s)", item["site"], item["file"], item["rows"], item["format"]
            )
        options = dict(p.coding)
        typed = validate_extract(
            {site: raw},
            options.pop("regimen_aliases"),
            p.allow_extra_columns,
            site_options={site: options},
        )
    except InputError as err:
        # One readable list of every problem; nothing of this site is written.
        message = f"Site '{site}' ({p.folder}) was not processed. {err}"
        log.error("%s", message)
        print(message, file=sys.stderr)
        sys.exit(1)
    del raw  # the text tables: only the typed ones are used
    write_table(derive.data_quality(typed), snakemake.output.data_quality)
    # The laboratory table is large (~90 rows per patient): ADLB is written and released first.
    adlb = derive.derive_adlb(typed.pop("labs", empty_table("labs")))
    write_table(adlb, snakemake.output.adlb)
    # What the safety and figures rules need of the labs, so that nothing parses ADLB again.
    write_table(safety.grade_from_labs(adlb), snakemake.output.lab_grades)
    write_table(safety.patient_nadirs(adlb), snakemake.output.nadirs)
    del adlb
    for name, frame in derive.derive_site(typed, p.gfr_cutoff, p.pfs_death_events).items():
        write_table(frame, snakemake.output[name])
    with open(snakemake.output.inputs, "w", encoding="utf-8") as fh:
        json.dump(inputs, fh, indent=2)
    log.info(
        "site %s: %d patients validated and derived; PFS deaths counted as events: %s",
        site,
        len(typed["patients"]),
        p.pfs_death_events,
    )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
