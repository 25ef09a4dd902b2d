#!/usr/bin/python3
"""cpu_fork.py -- CPU-bound jobs on a pool of worker processes.

The Python twin of cpu_fork.c, and the tutorial's answer to the GIL: a
multiprocessing Pool of --workers processes (one per CPU), started by
fork() (ProcessPoolExecutor is the same pool behind futures).  Each
process has its own interpreter and its own GIL, so they compute on
every core at once.  A job's number goes to a worker pickled
through a pipe, its answer comes back the same way.

Run:    labs/lab6/cpu_fork.py --n 27

Watch:  about (cores) times faster than cpu_sync.py -- the one Python
        model that speeds up CPU work; `top` shows one busy process per
        core.

Ctrl-C: the workers ignore the terminal's SIGINT (the parent decides):
        the parent cancels the jobs not started, stops the pool, reaps
        it; exit 130.

Compare with cpu_fork.c beside it, and with cpu_threads.py.
"""
import multiprocessing
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)),
                                "lib"))
import jobs as lab6  # noqa: E402
from jobs import conkit  # noqa: E402

MAX_WORKERS = 256


def run_job(job):
    """In a worker process: job k; returns what the parent traces."""
    jobs, k, quiet = job
    worker = multiprocessing.current_process()._identity[0]
    start = conkit.program_us()
    result = jobs.run(k)
    if not quiet:
        lab6.print_job_line(jobs, k, result, "worker", worker)
    return k, result, worker, start, conkit.program_us()


def main():
    cpus = os.cpu_count() or 1
    jobs, pairs, settings = lab6.parse_options(
        sys.argv[1:], "Run CPU-bound jobs on a pool of worker processes.",
        f"  --workers N              worker processes (number of CPUs: "
        f"{cpus})\n", ["workers="])
    workers = cpus
    for option, value in pairs:
        workers = conkit.option_long("--workers", value, 1, MAX_WORKERS)
    interrupt = conkit.Interrupt()
    trace = conkit.Trace(settings["trace"])
    results = [None] * jobs.count

    timer = conkit.Timer()
    pool = multiprocessing.get_context("fork").Pool(
        workers, initializer=conkit.pool_worker_signals)
    answers = pool.imap_unordered(run_job, [(jobs, k, settings["quiet"])
                                            for k in range(jobs.count)])
    done = 0
    while done < jobs.count and not interrupt.requested():
        try:
            # short waits: the parent's SIGINT handler runs in between
            k, result, worker, start, end = answers.next(0.1)
        except multiprocessing.TimeoutError:
            continue
        results[k] = result
        trace.record(k, worker, jobs.label(k), start, end, "ok")
        done += 1
    if interrupt.requested():
        pool.terminate()        # a long job is not waited for
    else:
        pool.close()
    pool.join()                 # every worker reaped
    for k in range(jobs.count):
        if results[k] is None:
            now = conkit.program_us()
            trace.record(k, 0, jobs.label(k), now, now, "cancelled")
    lab6.print_summary(jobs, results, interrupt)
    return conkit.finish(timer, interrupt, trace)


if __name__ == "__main__":
    sys.exit(main())
# SPDX-License-Identifier: MIT
