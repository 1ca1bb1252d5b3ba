# Data cuts: this run's tables are kept under results/cuts/<data_cut>/ and compared with the
# previous cut's (the most recent other label there): changes.csv and changes_patients.csv.
import json

CUT = config["data_cut"]
CUT_TABLES = [name for name in REPORT_TABLES if name not in ("changes", "changes_patients")]


def previous_cut():
    """Label of the most recent other data cut kept under results/cuts/, or None."""
    kept = []
    for record in Path(results("cuts")).glob("*/cut.json"):
        info = json.loads(record.read_text())
        if info["label"] != CUT:
            kept.append((info["sequence"], info["label"]))
    return max(kept)[1] if kept else None


def previous_cut_files(wildcards):
    label = previous_cut()
    if label is None:
        return {}
    return {
        "previous_tables": [results(f"cuts/{label}/tables/{name}.csv") for name in CUT_TABLES],
        "previous_record": results(f"cuts/{label}/cut.json"),
        "previous_outcomes": adam(f"cuts/{label}/outcomes"),
    }


rule data_cut:
    input:
        unpack(previous_cut_files),
        tables=expand(table("{name}"), name=CUT_TABLES),
        adsl=adam("adsl"),
        adtte=adam("adtte"),
    output:
        changes=report(
            table("changes"), caption="../report/changes.rst", category="Data cuts"
        ),
        changes_patients=report(
            table("changes_patients"),
            caption="../report/changes_patients.rst",
            category="Data cuts",
        ),
        kept=expand(results(f"cuts/{CUT}/tables/{{name}}.csv"), name=CUT_TABLES),
        record=results(f"cuts/{CUT}/cut.json"),
        outcomes=adam(f"cuts/{CUT}/outcomes"),
    params:
        names=CUT_TABLES,
        label=CUT,
        conventions={"conf_type": CONVENTIONS.conf_type, "ties": CONVENTIONS.ties},
    log:
        results("logs/data_cut.log"),
    benchmark:
        results("benchmarks/data_cut.tsv")
    script:
        "../scripts/data_cut.py"


STAGE_OUTPUTS["cuts"] = [table("changes"), table("changes_patients")]
