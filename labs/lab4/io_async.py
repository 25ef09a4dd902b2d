#!/usr/bin/python3
"""io_async.py -- download every site from one thread: asyncio + aiohttp.

The Python twin of io_async.c: one event loop, one aiohttp.ClientSession
shared by every download (a session belongs to its loop, and all the
tasks run on that one loop), a task per download, gathered.  Its
connector opens at most --max-conns connections at once (100, aiohttp's
own default), as io_async.c caps libcurl's multi handle.

Run:    make lab4 && labs/lab4/io_async.py

Watch:  one thread, yet as fast as many: each `await` hands the thread
        to another download while this one waits.  It pays for that with
        CPU time per task (make compare shows the CPU column).

Ctrl-C: every task still running is cancelled (traced `cancelled`); the
        summary is printed; exit 130.

Compare with io_async.c beside it (the loop written out in C), and with
io_threads.py (lab 3).
"""
import asyncio
import os
import sys

import aiohttp

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)),
                                "..", "..", "common", "python"))
import conkit  # noqa: E402

DEFAULT_MAX_CONNS = 100
MAX_MAX_CONNS = 100000
MAX_REDIRECTS = 10


async def fetch(session, url, timeout, loopback_only):
    """GET url, following redirects by hand so that a local list never
    leaves 127.0.0.1; returns (status code, body length)."""
    for _ in range(MAX_REDIRECTS + 1):
        async with session.get(url, timeout=timeout,
                               allow_redirects=False) as response:
            body = await response.read()
            where = response.headers.get("Location")
            if response.status not in (301, 302, 303, 307, 308) or not where:
                return response.status, len(body)
        url = str(response.url.join(aiohttp.client.URL(where)))
        if not url.startswith(("http://", "https://")):
            raise conkit.RedirectRefused(f"redirect refused: '{url}' is not "
                                         "http or https")
        if loopback_only and not conkit.on_loopback(url):
            raise conkit.RedirectRefused(f"redirect refused: '{url}' is not "
                                         "on 127.0.0.1 (a local list stays "
                                         "offline)")
    raise conkit.RedirectRefused("too many redirects")


async def download_site(index, url, session, run):
    sites, settings, trace, timeout = run
    start = conkit.program_us()
    status, size = "ok", 0
    try:
        if settings["no_session"]:
            async with new_session(settings) as own:
                code, size = await fetch(own, url, timeout,
                                         sites.loopback_only)
        else:
            code, size = await fetch(session, url, timeout,
                                     sites.loopback_only)
        if code >= 400:
            conkit.report(f"{url}: HTTP {code}")
            status = "failed"
    except asyncio.CancelledError:
        trace.record(index, 0, url, start, conkit.program_us(), "cancelled")
        raise
    except asyncio.TimeoutError:
        conkit.report(f"{url}: timed out")
        status = "failed"
    except Exception as error:
        conkit.report(f"{url}: {conkit.failure_text(error)}")
        status = "failed"
    trace.record(index, 0, url, start, conkit.program_us(), status)
    if status == "ok" and not settings["quiet"]:
        conkit.print_worker_line(0, f"Read {size} bytes from {url}")
    return status, size


def new_session(settings):
    connector = aiohttp.TCPConnector(limit=settings["concurrency"],
                                     ssl=conkit.ssl_context())
    return aiohttp.ClientSession(connector=connector,
                                 headers={"User-Agent": "conkit/1.0"})


async def download_all_sites(sites, settings, trace, interrupt):
    timeout = aiohttp.ClientTimeout(total=settings["timeout"])
    run = (sites, settings, trace, timeout)
    async with new_session(settings) as session:    # the one session
        tasks = [asyncio.create_task(download_site(i, url, session, run))
                 for i, url in enumerate(sites.urls)]
        # the first signal cancels every task; the loop notices at once
        interrupt.cancel_on_signals(tasks)
        results = await asyncio.gather(*tasks, return_exceptions=True)
    return [r if isinstance(r, tuple) else ("cancelled", 0) for r in results]


def main():
    settings = conkit.io_parse_options(
        sys.argv[1:], "Download every site from one thread: asyncio tasks "
        "on one aiohttp.ClientSession.", knob="max-conns",
        knob_help="connections open at once",
        knob_default=DEFAULT_MAX_CONNS, knob_max=MAX_MAX_CONNS)
    interrupt, sites, trace = conkit.io_start(settings)

    timer = conkit.Timer()
    results = asyncio.run(download_all_sites(sites, settings, trace,
                                             interrupt))
    done = sum(status == "ok" for status, _ in results)
    failed = sum(status == "failed" for status, _ in results)
    nbytes = sum(size for status, size in results if status == "ok")
    return conkit.io_finish(timer, interrupt, trace, len(sites.urls), done,
                            failed, nbytes)


if __name__ == "__main__":
    sys.exit(main())
# SPDX-License-Identifier: MIT
