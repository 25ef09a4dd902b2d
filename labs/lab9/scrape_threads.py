#!/usr/bin/python3
"""scrape_threads.py -- fetch the simulator's /page/1..N on a pool of
threads: futures, read in order.

The Python twin of scrape_threads.c (whose pool and futures are written
out in C): a ThreadPoolExecutor, one future per page, one
requests.Session per thread.  The pages finish in any order (the
Retrieved lines), yet results= is in page order: the futures are read
in the order they were submitted.  --fail-fast: the first failure calls
executor.shutdown(cancel_futures=True), so every page not yet started
is cancelled (never fetched); the ones running end.

Run:    make lab9 && labs/lab9/scrape_threads.py --fail 3 --fail-fast

Compare with scrape_threads.c beside it, and with scrape_async.py.
"""
import concurrent.futures
import os
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)),
                                "lib"))
import scrape  # noqa: E402
from scrape import conkit  # noqa: E402

thread_local = threading.local()


def fetch_page(number, run):
    """In a pool thread: one page on this thread's session."""
    settings, sites, trace, stopped = run
    worker = int(threading.current_thread().name.rsplit("_", 1)[1]) + 1
    url = scrape.page_url(settings, number)
    start = conkit.program_us()
    if stopped.is_set():        # a failure (--fail-fast) or Ctrl-C came
        trace.record(number, worker, url, start, start, "cancelled")
        scrape.say_end(settings, number, None, worker)
        return None             # first: this page is never fetched
    scrape.say_start(settings, number, worker)
    if settings["no_session"]:
        session = conkit.requests_session(sites)
    else:
        if not hasattr(thread_local, "session"):
            thread_local.session = conkit.requests_session(sites)
        session = thread_local.session
    outcome = scrape.fetch_name(session, url, settings["timeout"])
    if settings["no_session"]:
        session.close()
    if scrape.end_page(settings, trace, number, worker, url, start, outcome):
        if settings["fail_fast"]:
            stopped.set()
        raise outcome
    return outcome


def main():
    default_workers = min(32, (os.cpu_count() or 1) + 4)   # the executor's
    settings = scrape.parse_options(
        sys.argv[1:], "Fetch the simulator's /page/1..N on a pool of "
        "threads (futures, read in order).", workers=default_workers,
        fail_fast=True)
    interrupt = conkit.Interrupt()
    trace = conkit.Trace(settings["trace"])
    stopped = threading.Event()     # set by a failure, and by Ctrl-C
    run = (settings, scrape.NoSites(settings["base"]), trace, stopped)
    numbers = range(1, settings["pages"] + 1)

    timer = conkit.Timer()
    with concurrent.futures.ThreadPoolExecutor(
            max_workers=settings["workers"],
            thread_name_prefix="page") as executor:
        futures = [executor.submit(fetch_page, n, run) for n in numbers]
        pending = set(futures)
        while pending and not interrupt.requested():
            done, pending = concurrent.futures.wait(
                pending, timeout=0.1,
                return_when=concurrent.futures.FIRST_EXCEPTION)
            if stopped.is_set():
                break
        if interrupt.requested():
            stopped.set()
        if pending:     # a failure with --fail-fast, or Ctrl-C: the
            # pages not started are cancelled, those running end
            executor.shutdown(wait=True, cancel_futures=True)
    outcomes = []
    for number, future in zip(numbers, futures):   # in submission order
        if future.cancelled():
            now = conkit.program_us()
            trace.record(number, 0, scrape.page_url(settings, number), now,
                         now, "cancelled")
            scrape.say_end(settings, number, None)
            outcomes.append(None)
        else:
            outcomes.append(future.exception() or future.result())
    return scrape.finish(settings, outcomes, timer, trace, interrupt)


if __name__ == "__main__":
    sys.exit(main())
# SPDX-License-Identifier: MIT
