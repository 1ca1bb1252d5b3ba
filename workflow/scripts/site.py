"""One site: read and validate its extract, harmonise it, derive its analysis datasets.

Writes ADSL, ADRS, ADTTE, ADAE, ADLB and ADRS_DERIVED (IMWG response from the labs) of the site, its data-quality rows and what was read
(file, rows, SHA-256, format), and the counts of its plausibility checks. The laboratory file is
parsed here only, validated and derived block by block (blocks of whole patients when it is
large, :class:`rwe.validate.SiteCheck`), ADLB written from each block. Bad input (and, with
plausibility.on_implausible: stop, an implausible value) fails this site's job alone, with every
problem listed, and leaves none of its outputs.
"""

import json
import logging
import sys
from pathlib import Path

from rwe import derive, imwg, plausibility, safety
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
            lab_summaries = derive_labs(checked, snakemake.output.adlb, p)
            findings = checked.finish()
    except InputError as err:
        # One readable list of every problem; nothing of this site is kept.
        Path(snakemake.output.adlb).unlink(missing_ok=True)
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
    for name, table in lab_summaries.items():
        write_table(table, snakemake.output[name])
    derived = imwg.patient_response(lab_summaries["adrs_derived"])
    typed = checked.tables
    sets = derive.derive_site(typed, p.gfr_cutoff, p.pfs_death_events, derived, p.response_source)
    for name, frame in sets.items():
        write_table(frame, snakemake.output[name])
    with open(snakemake.output.inputs, "w", encoding="utf-8") as fh:
        json.dump(checked.inputs, fh, indent=2)
    log.info(
        "site %s: %d patients validated and derived; PFS deaths counted as events: %s",
        site,
        len(typed["patients"]),
        p.pfs_death_events,
    )


def derive_labs(checked, adlb_path, p) -> dict:
    """Write ADLB block by block; return the per-patient summaries of every block.

    The lab grades, the nadirs within each patient's window (implausible values left out) and
    the IMWG response of every assessment, confirmed, are per patient: a block of whole
    patients gives its patients' rows, and the blocks' rows together are the file's.
    """
    windows = safety.nadir_windows(checked.tables["patients"], **p.nadir_window)
    parts = {"lab_grades": [], "nadirs": [], "adrs_derived": []}
    for block, (labs, response_labs) in enumerate(checked.lab_blocks()):
        adlb = derive.derive_adlb(labs)
        del labs
        write_table(adlb, adlb_path, append=block > 0)
        parts["lab_grades"].append(safety.grade_from_labs(adlb))
        exclude = plausibility.implausible_lab_values(adlb)
        parts["nadirs"].append(safety.patient_nadirs(adlb, windows, exclude))
        del adlb
        criteria, confirmations = p.imwg["criteria"], p.imwg["confirmations"]
        parts["adrs_derived"].append(imwg.derive_adrs_imwg(response_labs, criteria, confirmations))
    summaries = {name: derive.concat_blocks(tables) for name, tables in parts.items()}
    summaries["lab_grades"] = safety.order_lab_grades(summaries["lab_grades"])
    return summaries


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
