"""Running one measurement of a benchmark in a fresh process, so that its peak memory is its own.

A benchmark script calls ``measure_in_fresh_process(__file__, **job)``: the script runs again with
``--worker=<job as JSON>``, its ``measure(job)`` prints ``report(...)``, and the parent gets the
result back as a dict.
"""

import json
import resource
import subprocess
import sys


def measure_in_fresh_process(script: str, *, show_stderr: bool = False, **job) -> dict:
    """Runs ``script --worker=JSON(job)`` and returns the JSON object it printed last.

    The worker's stderr is kept for the ``CalledProcessError`` a failure raises, or shown as it
    comes with ``show_stderr`` (progress of a long measurement)."""
    output = subprocess.run([sys.executable, script, f"--worker={json.dumps(job)}"],
                            stdout=subprocess.PIPE,
                            stderr=None if show_stderr else subprocess.PIPE,
                            text=True, check=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def peak_rss_mib() -> float:
    """This process's peak resident memory so far, in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def report(**result) -> None:
    """Prints a worker's result, with the process's peak RSS in MiB as ``peak_mib``."""
    print(json.dumps({**result, "peak_mib": peak_rss_mib()}))
