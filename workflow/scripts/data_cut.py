"""Keep this cut's tables and patient outcomes; compare them with the previous cut's."""

import json
import logging
import shutil
from pathlib import Path

import pandas as pd

from rwe.cuts import (
    PATIENT_CHANGE_COLUMNS,
    estimate_changes,
    headline_estimates,
    patient_changes,
    patient_outcomes,
)
from rwe.io import read_adam, read_tables, write_table


def main(snakemake):
    logging.basicConfig(filename=snakemake.log[0], level=logging.INFO, format="%(message)s")
    p, inp, out = snakemake.params, snakemake.input, snakemake.output
    current = read_tables(dict(zip(p.names, inp.tables, strict=True)))
    outcomes = patient_outcomes(read_adam(inp.adsl), read_adam(inp.adtte))
    if "previous_record" in inp.keys():
        record = json.loads(Path(inp.previous_record).read_text())
        previous_label, previous_sequence = record["label"], record["sequence"]
        # Settings of the conventions (CI scale, ties) that differ from the previous cut's; a
        # record written before they were recorded compares nothing.
        before = record.get("conventions", p.conventions)
        conventions_changed = [k for k in ("conf_type", "ties") if before[k] != p.conventions[k]]
        previous = read_tables(dict(zip(p.names, inp.previous_tables, strict=True)))
        patients = patient_changes(read_adam(inp.previous_outcomes), outcomes)
    else:
        previous_label, previous_sequence, previous = "", 0, {}
        conventions_changed = []
        patients = pd.DataFrame(columns=PATIENT_CHANGE_COLUMNS)
    changes = estimate_changes(
        headline_estimates(previous), headline_estimates(current), conventions_changed
    )
    changes.insert(0, "previous_cut", previous_label)
    changes.insert(1, "current_cut", p.label)
    write_table(changes, out.changes)
    write_table(patients, out.changes_patients)
    for source, kept in zip(inp.tables, out.kept, strict=True):
        shutil.copyfile(source, kept)
    write_table(outcomes, out.outcomes)
    record = {"label": p.label, "sequence": previous_sequence + 1, "previous": previous_label}
    record["conventions"] = dict(p.conventions)
    Path(out.record).write_text(json.dumps(record, indent=2) + "\n")
    logging.info("data cut %s compared with %s", p.label, previous_label or "nothing (first cut)")


if __name__ == "__main__":
    main(snakemake)  # noqa: F821
