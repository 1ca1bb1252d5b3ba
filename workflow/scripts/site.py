"""One site: read and validate its extract, harmonise it, derive its analysis datasets.

Writes ADSL, ADRS, ADTTE, ADAE, ADLB and ADRS_DERIVED (IMWG response from the labs) of the
site, the per-patient lab summaries, its data-quality rows, what was read (file, rows, SHA-256,
format) and the counts of its plausibility checks. The laboratory file is parsed here only,
validated and derived block by block (blocks of whole patients when it is large, in as many
processes as the job has threads: :class:`rwe.validate.SiteCheck`); each block's files are
joined in block order. Bad input (and, with plausibility.on_implausible: stop, an implausible
value) fails this site's job alone, with every problem listed, and writes none of its outputs.
"""

import json
import logging
import sys
from pathlib import Path

from rwe import derive, plausibility
from rwe.exceptions import InputError
from rwe.io import write_table
from rwe.logs import log_to
from rwe.validate import SiteCheck


def main(snakemake):
    log_to(snakemake.log[0])
    log = logging.getLogger("site")
    site, p = snakemake.wildcards.site, snakemake.params
    try:
        # The validation `rwe check --config` runs, with the same options (plausibility too).
        with SiteCheck(p.folder, site, **p.options) as checked:
            outputs = {name: snakemake.output[name] for name in derive.LAB_BLOCK_OUTPUTS}
            derived = derive.derive_site_labs(
                checked, outputs, p.nadir_window, p.imwg, workers=snakemake.threads
            )
            findings = checked.finish()
    except InputError as err:
        # One readable list of every problem; nothing of this site is kept.
        for name in derive.LAB_BLOCK_OUTPUTS:
            Path(snakemake.output[name]).unlink(missing_ok=True)
        message = f"Site '{site}' ({p.folder}) was not processed. {err}"
        log.error("%s", message)
        print(message, file=sys.stderr)
        sys.exit(1)
    for item in checked.inputs:
        log.info(
            "read %s/%s: %d rows (%s)", item["site"], item["file"], item["rows"], item["format"]
        )
    write_table(checked.data_quality(), snakemake.output.data_quality)
    write_table(findings, snakemake.output.plausibility)
    for f in plausibility.implausible(findings).itertuples():
        log.warning(
            "implausible: %s, column %s: %s on %d rows", f.file, f.column, f.check, f.n_rows
        )
    typed = checked.tables
    sets = derive.derive_site(typed, p.gfr_cutoff, p.pfs_death_events, derived, p.response_source)
    for name, frame in sets.items():
        write_table(frame, snakemake.output[name])
    with open(snakemake.output.inputs, "w", encoding="utf-8") as fh:
        json.dump(checked.inputs, fh, indent=2)
    log.info(
        "site %s: %d patients validated and derived in %d block(s) by %d process(es); "
        "PFS deaths counted as events: %s",
        site,
        len(typed["patients"]),
        checked.n_blocks,
        min(snakemake.threads, checked.n_blocks),
        p.pfs_death_events,
    )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
