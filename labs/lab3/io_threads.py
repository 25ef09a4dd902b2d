#!/usr/bin/python3
"""io_threads.py -- download every site on a pool of threads, one session
per thread.

The Python twin of io_threads.c: a ThreadPoolExecutor of --workers
threads (5), each with its own requests.Session kept in a threading.local
-- a Session is not safe to share between threads, and one per thread
still reuses connections.

Run:    make lab3 && labs/lab3/io_threads.py --workers 10

Watch:  about --workers times faster than io_sync.py, although Python has
        a global interpreter lock: a thread lets go of it while it waits
        for the network, so the waits overlap.  (On CPU work they do not:
        lab 6's cpu_threads.py.)

Ctrl-C: downloads not started are cancelled (the executor's
        cancel_futures); the ones in flight end; exit 130.

Compare with io_threads.c beside it, and with io_sync.py (lab 2).
"""
import concurrent.futures
import os
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)),
                                "..", "..", "common", "python"))
import conkit  # noqa: E402

DEFAULT_WORKERS = 5
MAX_WORKERS = 1000

thread_local = threading.local()        # each thread's own session


def thread_session(sites, no_session):
    """This thread's session, made the first time it needs one."""
    if no_session:
        return conkit.requests_session(sites)
    if not hasattr(thread_local, "session"):
        thread_local.session = conkit.requests_session(sites)
    return thread_local.session


def worker_number():
    """0 .. workers-1 from the pool's thread name ("io_0", "io_1", ...)."""
    return int(threading.current_thread().name.rsplit("_", 1)[1])


def download_site(index, url, run):
    """One download on this thread's session; returns (status, bytes)."""
    sites, settings, trace, interrupt = run
    worker = worker_number()
    start = conkit.program_us()
    if interrupt.requested():
        trace.record(index, worker, url, start, start, "cancelled")
        return "cancelled", 0
    session = thread_session(sites, settings["no_session"])
    status, size = conkit.download_site(session, url, settings["timeout"])
    if settings["no_session"]:
        session.close()
    trace.record(index, worker, url, start, conkit.program_us(), status)
    if status == "ok" and not settings["quiet"]:
        conkit.print_worker_line(worker, f"Read {size} bytes from {url}")
    return status, size


def main():
    settings = conkit.io_parse_options(
        sys.argv[1:], "Download every site on a pool of threads, one "
        "session per thread.", knob="workers", knob_help="number of threads",
        knob_default=DEFAULT_WORKERS, knob_max=MAX_WORKERS)
    interrupt, sites, trace = conkit.io_start(settings)
    run = (sites, settings, trace, interrupt)

    timer = conkit.Timer()
    done = failed = nbytes = 0
    with concurrent.futures.ThreadPoolExecutor(
            max_workers=settings["concurrency"],
            thread_name_prefix="io") as executor:
        futures = [executor.submit(download_site, index, url, run)
                   for index, url in enumerate(sites.urls)]
        pending = set(futures)
        # wait in short steps: the main thread must come back to Python
        # now and then for a SIGINT handler to run
        while pending and not interrupt.requested():
            _, pending = concurrent.futures.wait(pending, timeout=0.1)
        if interrupt.requested():
            executor.shutdown(wait=True, cancel_futures=True)
    for index, future in enumerate(futures):
        if future.cancelled():
            now = conkit.program_us()
            trace.record(index, 0, sites.urls[index], now, now, "cancelled")
            continue
        status, size = future.result()
        done += status == "ok"
        failed += status == "failed"
        nbytes += size if status == "ok" else 0     # only what downloaded
    return conkit.io_finish(timer, interrupt, trace, len(sites.urls), done,
                            failed, nbytes)


if __name__ == "__main__":
    sys.exit(main())
# SPDX-License-Identifier: MIT
