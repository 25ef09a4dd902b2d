#!/usr/bin/python3
"""scrape_sync.py -- fetch the simulator's /page/1..N one after another and
take each page's <h1>.

The Python twin of scrape_sync.c, the baseline of lab 9: one
requests.Session, a plain loop; a failed page is a value in the list,
error('HTTP 503'), and the others still run.

Run:    make lab9 && labs/lab9/scrape_sync.py --fail 7

Compare with scrape_sync.c beside it, and with scrape_threads.py.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)),
                                "lib"))
import scrape  # noqa: E402
from scrape import conkit  # noqa: E402


def main():
    settings = scrape.parse_options(
        sys.argv[1:], "Fetch the simulator's /page/1..N one after another "
        "and take each <h1>.")
    interrupt = conkit.Interrupt()
    trace = conkit.Trace(settings["trace"])
    sites = scrape.NoSites(settings["base"])
    outcomes = [None] * settings["pages"]

    timer = conkit.Timer()
    session = None if settings["no_session"] else \
        conkit.requests_session(sites)
    for number in range(1, settings["pages"] + 1):
        url = scrape.page_url(settings, number)
        start = conkit.program_us()
        if interrupt.requested():
            trace.record(number, 0, url, start, start, "cancelled")
            continue
        scrape.say_start(settings, number)
        handle = session or conkit.requests_session(sites)
        outcome = scrape.fetch_name(handle, url, settings["timeout"])
        if session is None:
            handle.close()
        outcomes[number - 1] = outcome
        scrape.end_page(settings, trace, number, 0, url, start, outcome)
    return scrape.finish(settings, outcomes, timer, trace, interrupt)


if __name__ == "__main__":
    sys.exit(main())
# SPDX-License-Identifier: MIT
