"""One site: read and validate its extract, harmonise it, derive its analysis datasets.

Writes ADSL, ADRS, ADTTE, ADAE, ADLB and ADRS_DERIVED (IMWG response from the labs) of the site, its data-quality rows and what was read
(file, rows, SHA-256, format), and the counts of its plausibility checks. The laboratory file is
parsed here only, and ADLB written from it directly. Bad input (and, with
plausibility.on_implausible: stop, an implausible value) fails this site's job alone, with every
problem listed.
"""

import json
import logging
import sys

from rwe import derive, imwg, plausibility, safety
from rwe.exceptions import InputError
from rwe.io import write_table
from rwe.logs import log_to
from rwe.validate import check_site, empty_table


def main(snakemake):
    log_to(snakemake.log[0])
    log = logging.getLogger("site")
    site, p = snakemake.wildcards.site, snakemake.params
    try:
        # The validation `rwe check --config` runs, with the same options (plausibility too).
        typed, inputs, findings = check_site(p.folder, site, **p.options)
        response_labs = typed.pop("response_labs")
    except InputError as err:
        # One readable list of every problem; nothing of this site is written.
        message = f"Site '{site}' ({p.folder}) was not processed. {err}"
        log.error("%s", message)
        print(message, file=sys.stderr)
        sys.exit(1)
    for item in inputs:
        log.info(
            "read %s/%s: %d rows (%s)", item["site"], item["file"], item["rows"], item["format"]
        )
    write_table(derive.data_quality(typed), snakemake.output.data_quality)
    write_table(findings, snakemake.output.plausibility)
    for f in plausibility.implausible(findings).itertuples():
        log.warning(
            "implausible: %s, column %s: %s on %d rows", f.file, f.column, f.check, f.n_rows
        )
    windows = safety.nadir_windows(typed["patients"], **p.nadir_window)
    # The laboratory table is large (~90 rows per patient): ADLB is written and released first.
    adlb = derive.derive_adlb(typed.pop("labs", empty_table("labs")))
    write_table(adlb, snakemake.output.adlb)
    # What the safety and figures rules need of the labs, so that nothing parses ADLB again.
    write_table(safety.grade_from_labs(adlb), snakemake.output.lab_grades)
    nadirs = safety.patient_nadirs(adlb, windows, plausibility.implausible_lab_values(adlb))
    write_table(nadirs, snakemake.output.nadirs)
    del adlb
    # IMWG response of every assessment derived from the labs, confirmed; best response.
    adrs_derived = imwg.derive_adrs_imwg(response_labs, p.imwg["criteria"], p.imwg["confirmations"])
    write_table(adrs_derived, snakemake.output.adrs_derived)
    derived = imwg.patient_response(adrs_derived)
    sets = derive.derive_site(typed, p.gfr_cutoff, p.pfs_death_events, derived, p.response_source)
    for name, frame in sets.items():
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
