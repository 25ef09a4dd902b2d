#!/usr/bin/python3
"""cpu_threads.py -- CPU-bound jobs on a pool of threads, under the real GIL.

The Python twin of cpu_threads.c: a ThreadPoolExecutor of --workers
threads (5) runs the same --work jobs.  cpu_threads.c --gil simulates
CPython's global interpreter lock; here it is the real one: a thread runs
Python bytecode only while it holds the lock, and hands it over every
--switch-interval ms (sys.setswitchinterval, 5 ms by default).

Run:    labs/lab6/cpu_threads.py --n 27

Watch:  no faster than cpu_sync.py, often a little slower (the lock
        changes hands, the caches go cold): the threads take turns on one
        core.  `top` shows about 100% CPU, never 200%.  The C threads
        without --gil use every core.  (On a free-threaded build, python3.13t,
        make compare gives this program its own column.)

Ctrl-C: jobs not started are cancelled; those running end; exit 130.

Compare with cpu_threads.c --gil beside it, and with cpu_fork.py.
"""
import concurrent.futures
import os
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)),
                                "lib"))
import jobs as lab6  # noqa: E402
from jobs import conkit  # noqa: E402

DEFAULT_WORKERS = 5             # the tutorial's max_workers=5
MAX_WORKERS = 1000


def run_job(jobs, k, run):
    settings, trace, interrupt = run
    worker = int(threading.current_thread().name.rsplit("_", 1)[1])
    start = conkit.program_us()
    if interrupt.requested():
        trace.record(k, worker, jobs.label(k), start, start, "cancelled")
        return None
    result = jobs.run(k)
    trace.record(k, worker, jobs.label(k), start, conkit.program_us(), "ok")
    if not settings["quiet"]:
        lab6.print_job_line(jobs, k, result, "worker", worker)
    return result


def main():
    jobs, pairs, settings = lab6.parse_options(
        sys.argv[1:], "Run CPU-bound jobs on a pool of threads (under "
        "Python's GIL).",
        "  --workers N              threads in the pool (5)\n"
        "  --switch-interval MS     the GIL changes hands after MS "
        "(5)\n", ["workers=", "switch-interval="])
    workers = DEFAULT_WORKERS
    for option, value in pairs:
        if option == "--workers":
            workers = conkit.option_long("--workers", value, 1, MAX_WORKERS)
        else:
            sys.setswitchinterval(conkit.option_double(
                "--switch-interval", value, 0.001, 1000) / 1000)
    interrupt = conkit.Interrupt()
    trace = conkit.Trace(settings["trace"])
    run = (settings, trace, interrupt)

    timer = conkit.Timer()
    with concurrent.futures.ThreadPoolExecutor(
            max_workers=workers, thread_name_prefix="cpu") as executor:
        futures = [executor.submit(run_job, jobs, k, run)
                   for k in range(jobs.count)]
        pending = set(futures)
        while pending and not interrupt.requested():
            _, pending = concurrent.futures.wait(pending, timeout=0.1)
        if interrupt.requested():
            executor.shutdown(wait=True, cancel_futures=True)
    results = []
    for k, future in enumerate(futures):
        if future.cancelled():
            now = conkit.program_us()
            trace.record(k, 0, jobs.label(k), now, now, "cancelled")
            results.append(None)
        else:
            results.append(future.result())
    lab6.print_summary(jobs, results, interrupt)
    return conkit.finish(timer, interrupt, trace)


if __name__ == "__main__":
    sys.exit(main())
# SPDX-License-Identifier: MIT
