# Content checksums (rwe.checksums): an output whose bytes changed since it was written is
# removed before the run and made a target, so that it is rebuilt even where what was built
# from it is up to date (a dry run only names it); the digests of the outputs are recorded when
# the run ends. The site jobs take their input files' digests as a parameter (rules/sites.smk),
# so new content re-runs them whatever the file times say.
import sys

from rwe.checksums import changed_outputs, is_dry_run, record_outputs, remove_output
from rwe.rollback import discard as discard_previous, keep_previous, roll_back

CHECKSUMS = results("checksums.sha256")
STAGE_OUTPUTS["rebuilt"] = []

if workflow.is_main_process:
    for path in changed_outputs(CHECKSUMS, DIGESTS):
        if is_dry_run(sys.argv[1:]):
            print(f"rwe: {path} changed since it was written; a run rebuilds it", file=sys.stderr)
        else:
            remove_output(path)
            STAGE_OUTPUTS["rebuilt"].append(path)
            print(f"rwe: {path} changed since it was written: removed, to be rebuilt", file=sys.stderr)


def run_outputs(jobs):
    """Every output of ``jobs``, their benchmarks and the manifest (logs say why a run failed:
    they stay)."""
    return [f for job in jobs for f in [*job.output, job.benchmark] if f] + [CHECKSUMS]


# A run completes or leaves results/ as it was (rwe.rollback): the previous outputs are kept
# aside (hard links) when the run starts and put back if it fails. A row-level site whose job
# finished is kept (--keep-going: the good sites are not read again next time).
onstart:
    keep_previous(run_outputs(workflow.dag.jobs), config["results_dir"])


onsuccess:
    record_outputs((f for job in workflow.dag.jobs for f in job.output), CHECKSUMS, DIGESTS)
    discard_previous(config["results_dir"])
    DIGESTS.save()


onerror:
    kept = [j for j in workflow.dag.jobs if j.rule.name == "site" and workflow.dag.finished(j)]
    undone = [j for j in workflow.dag.jobs if j not in kept]
    roll_back(run_outputs(undone), config["results_dir"])
    if kept:
        record_outputs((f for job in kept for f in job.output), CHECKSUMS, DIGESTS)
    DIGESTS.save()
