# Content checksums (rwe.checksums): an output whose bytes changed since it was written is
# removed before the run and made a target, so that it is rebuilt even where what was built
# from it is up to date (a dry run only names it); the digests of the outputs are recorded when
# the run ends. The site jobs take their input files' digests as a parameter (rules/sites.smk),
# so new content re-runs them whatever the file times say.
import sys

from rwe.checksums import changed_outputs, is_dry_run, record_outputs, remove_output

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


onsuccess:
    record_outputs((f for job in workflow.dag.jobs for f in job.output), CHECKSUMS, DIGESTS)
    DIGESTS.save()


onerror:
    record_outputs((f for job in workflow.dag.jobs for f in job.output), CHECKSUMS, DIGESTS)
    DIGESTS.save()
