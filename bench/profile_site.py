"""Where the `site` job spends its time and memory, by the calls of its main process.

    python bench/profile_site.py bench/data/1000000

runs ``workflow/scripts/site.py`` on one extract folder as ``bench/compare_site.py`` does
(outside Snakemake, the demo config's options, two processes for the laboratory blocks), while
a thread samples the main process every 50 ms: the resident memory, and the two innermost
frames of ``rwe`` or the site script on the stack. Prints the seconds and the highest memory
seen under each pair of frames, then the five highest samples. Worker processes are not
sampled: their blocks show as the time the main process waits in
``rwe.derive.derive_site_labs``.
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

from compare_site import ROOT, run_site  # bench/compare_site.py

INTERVAL_S = 0.05


def _resident_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * 4096


def _where(frame) -> str:
    """The two innermost frames of rwe or the site script: ``outer < inner``."""
    stack = [
        f
        for f in traceback.extract_stack(frame)
        if "/rwe/" in f.filename or "site.py" in f.filename
    ]
    return " < ".join(f"{Path(f.filename).name}:{f.lineno}:{f.name}" for f in stack[-2:])


def main(argv: list[str] | None = None) -> int:
    """Run the site job under the sampler and print where its time and memory went."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="a site extract folder")
    args = parser.parse_args(argv)
    main_thread, samples, done = threading.main_thread().ident, [], threading.Event()

    def sample() -> None:
        while not done.is_set():
            frame = sys._current_frames().get(main_thread)
            samples.append((time.perf_counter(), _resident_bytes(), _where(frame)))
            time.sleep(INTERVAL_S)

    threading.Thread(target=sample, daemon=True).start()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as out:
        run_site(ROOT, str(Path(args.folder).resolve()), Path(out) / "site")
    done.set()
    print(f"site job: {time.perf_counter() - start:.0f} s")
    seconds, highest = collections.Counter(), {}
    for _, resident, where in samples:
        seconds[where] += INTERVAL_S
        highest[where] = max(highest.get(where, 0), resident)
    for where, s in seconds.most_common(25):
        print(f"{s:6.1f} s  {highest[where] / 1e9:5.2f} GB  {where or '(outside rwe)'}")
    for at, resident, where in sorted(samples, key=lambda s: -s[1])[:5]:
        print(f"highest: {resident / 1e9:.2f} GB at {at - start:.0f} s in {where}")
    return 0


if __name__ == "__main__":  # the site job's worker processes import this module
    sys.exit(main())
