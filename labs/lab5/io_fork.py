#!/usr/bin/python3
"""io_fork.py -- download every site on a pool of worker processes, one
session per process.

The Python twin of io_fork.c: a multiprocessing Pool of --workers
processes (one per CPU), started by fork().  Its initializer runs once in
each worker and makes that process's requests.Session: a session cannot
be sent from the parent to a child (it holds sockets), and one per
process still reuses connections.  Each URL goes to a worker through a
pipe (pickled); each result comes back the same way.

Run:    make lab5 && labs/lab5/io_fork.py

Watch:  as fast as the threads with as many workers -- but a process
        costs far more than a thread: make compare's memory and CPU
        columns.

Ctrl-C: the parent stops handing out URLs, terminates the pool (the
        workers ignore the signal itself: the parent decides), reports
        the rest `cancelled`; exit 130.

Compare with io_fork.c beside it, and with io_threads.py (lab 3).
"""
import multiprocessing
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)),
                                "..", "..", "common", "python"))
import conkit  # noqa: E402

MAX_WORKERS = 256

session = None                  # this worker process's own session
settings = None
sites = None


def set_global_session(the_sites, the_settings):
    """The Pool's initializer: runs once in every worker process."""
    global session, settings, sites
    conkit.pool_worker_signals()
    sites, settings = the_sites, the_settings
    if not settings["no_session"]:
        session = conkit.requests_session(sites)


def download_site(job):
    """In a worker: one download; returns what the parent needs for the
    summary and the trace."""
    index, url = job
    worker = multiprocessing.current_process()._identity[0]
    start = conkit.program_us()
    handle = session or conkit.requests_session(sites)
    status, size = conkit.download_site(handle, url, settings["timeout"])
    if session is None:
        handle.close()
    if status == "ok" and not settings["quiet"]:
        conkit.print_worker_line(worker, f"ForkProcess-{worker}:Read {size} "
                                 f"bytes from {url}")
    return index, worker, start, conkit.program_us(), status, size


def main():
    cpus = os.cpu_count() or 1
    the_settings = conkit.io_parse_options(
        sys.argv[1:], "Download every site on a pool of fork()ed processes, "
        "one session per process.", knob="workers",
        knob_help="number of processes, one per CPU by default",
        knob_default=cpus, knob_max=MAX_WORKERS)
    interrupt, the_sites, trace = conkit.io_start(the_settings)

    timer = conkit.Timer()
    done = failed = nbytes = 0
    finished = set()
    jobs = list(enumerate(the_sites.urls))
    pool = multiprocessing.get_context("fork").Pool(
        the_settings["concurrency"], initializer=set_global_session,
        initargs=(the_sites, the_settings))
    results = pool.imap_unordered(download_site, jobs)
    while len(finished) < len(jobs) and not interrupt.requested():
        try:
            # short waits: the parent's SIGINT handler runs in between
            index, worker, start, end, status, size = results.next(0.1)
        except multiprocessing.TimeoutError:
            continue
        finished.add(index)
        trace.record(index, worker, the_sites.urls[index], start, end,
                     status)
        done += status == "ok"
        failed += status == "failed"
        nbytes += size if status == "ok" else 0
    if interrupt.requested():
        pool.terminate()                # stops the workers, mid-download
    else:
        pool.close()
    pool.join()                         # no child left behind
    for index, url in jobs:
        if index not in finished:
            now = conkit.program_us()
            trace.record(index, 0, url, now, now, "cancelled")
    return conkit.io_finish(timer, interrupt, trace, len(jobs), done,
                            failed, nbytes)


if __name__ == "__main__":
    sys.exit(main())
# SPDX-License-Identifier: MIT
