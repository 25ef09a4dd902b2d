#!/usr/bin/python3
"""io_sync.py -- download every site, one after another, on one session.

The Python twin of io_sync.c: the same site list, options, output lines
and --trace CSV, with requests in place of libcurl.  One requests.Session
is made once and reused: like the reused libcurl handle, it keeps a
connection open to each host, so only the first download from a host pays
for connecting and for the TLS handshake.

Run:    make lab2 && labs/lab2/io_sync.py       (the simulator must run)
        labs/lab2/io_sync.py --no-session       (a new session each time)

Watch:  the time is about (downloads) x (latency), as in C: the language
        does not matter when the program waits for the network.  make
        compare runs both and shows it.

Ctrl-C: no new download starts; the one in flight ends (its own timeout
        or the simulator's answer, a few ms); the rest are traced
        `cancelled`; the summary is printed; exit 130.

Compare with io_sync.c beside it, and with io_threads.py (lab 3).
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)),
                                "..", "..", "common", "python"))
import conkit  # noqa: E402


def main():
    settings = conkit.io_parse_options(
        sys.argv[1:], "Download every site in turn on one reused "
        "requests.Session.")
    interrupt, sites, trace = conkit.io_start(settings)

    timer = conkit.Timer()
    done = failed = nbytes = 0
    # The session: made once, reused for every download.
    session = None if settings["no_session"] else \
        conkit.requests_session(sites)
    for index, url in enumerate(sites.urls):
        start = conkit.program_us()
        if interrupt.requested():
            trace.record(index, 0, url, start, start, "cancelled")
            continue
        handle = session or conkit.requests_session(sites)
        status, size = conkit.download_site(handle, url,
                                            settings["timeout"])
        trace.record(index, 0, url, start, conkit.program_us(), status)
        if status == "ok":
            done += 1
            nbytes += size
            if not settings["quiet"]:
                conkit.print_worker_line(0, f"Read {size} bytes from {url}")
        else:
            failed += 1
        if session is None:
            handle.close()              # closes its connection too
    if session is not None:
        session.close()
    return conkit.io_finish(timer, interrupt, trace, len(sites.urls), done,
                            failed, nbytes)


if __name__ == "__main__":
    sys.exit(main())
# SPDX-License-Identifier: MIT
