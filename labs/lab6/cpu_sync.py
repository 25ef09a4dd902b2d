#!/usr/bin/python3
"""cpu_sync.py -- CPU-bound jobs one after another on one thread.

The Python twin of cpu_sync.c: the same --work jobs (labs/lab6/lib/
jobs.py), the same job lines and results=.  The baseline of lab 6, in
the language the tutorial measured.

Run:    labs/lab6/cpu_sync.py --n 27

Watch:  the same fib(n) takes Python some 50 to 100 times as long as C:
        every call is an interpreted function call on boxed integers.
        That ratio, not the speed-ups, is what the language costs
        (make compare).

Ctrl-C: the job in progress ends (Python runs the handler between two
        bytecodes, then the loop stops); the rest are `cancelled`; exit
        130.

Compare with cpu_sync.c beside it, and with cpu_threads.py.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)),
                                "lib"))
import jobs as lab6  # noqa: E402
from jobs import conkit  # noqa: E402


def main():
    jobs, _, settings = lab6.parse_options(
        sys.argv[1:], "Run CPU-bound jobs one after another on one thread.")
    interrupt = conkit.Interrupt()
    trace = conkit.Trace(settings["trace"])
    results = [None] * jobs.count

    timer = conkit.Timer()
    for k in range(jobs.count):
        start = conkit.program_us()
        if interrupt.requested():
            trace.record(k, 0, jobs.label(k), start, start, "cancelled")
            continue
        results[k] = jobs.run(k)
        trace.record(k, 0, jobs.label(k), start, conkit.program_us(), "ok")
        if not settings["quiet"]:
            lab6.print_job_line(jobs, k, results[k], "worker", 0)
    lab6.print_summary(jobs, results, interrupt)
    return conkit.finish(timer, interrupt, trace)


if __name__ == "__main__":
    sys.exit(main())
# SPDX-License-Identifier: MIT
