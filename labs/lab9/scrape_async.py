#!/usr/bin/python3
"""scrape_async.py -- fetch the simulator's /page/1..N as asyncio tasks
on one aiohttp session, gathered in order.

The Python twin of scrape_async.c: a task per page on one event loop.
By default asyncio.gather(..., return_exceptions=True) collects every
page, a failure as a value, in page order whatever order they finished
in.  With --fail-fast the tasks run in an asyncio.TaskGroup (Python
3.11): the first failure cancels every task still running, each
reported `cancelled`.  (Before 3.11 there is no TaskGroup: this program
then cancels them itself, after a gather without return_exceptions.)

Run:    make lab9 && labs/lab9/scrape_async.py --fail 3 --fail-fast

Compare with scrape_async.c beside it, and with scrape_threads.py.
"""
import asyncio
import os
import sys

import aiohttp

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)),
                                "lib"))
import scrape  # noqa: E402
from scrape import conkit  # noqa: E402

DEFAULT_MAX_CONNS = 100


def new_session(settings):
    connector = aiohttp.TCPConnector(limit=settings["max_conns"],
                                     ssl=conkit.ssl_context())
    return aiohttp.ClientSession(connector=connector,
                                 headers={"User-Agent": "conkit/1.0"})


async def fetch_page(number, session, run):
    settings, trace, outcomes, timeout = run
    url = scrape.page_url(settings, number)
    start = conkit.program_us()
    scrape.say_start(settings, number, number)
    try:
        if settings["no_session"]:
            async with new_session(settings) as own:
                async with own.get(url, timeout=timeout) as response:
                    body = await response.text()
        else:
            async with session.get(url, timeout=timeout) as response:
                body = await response.text()
        outcome = scrape.take_name(response.status, body)
    except asyncio.CancelledError:
        trace.record(number, number, url, start, conkit.program_us(),
                     "cancelled")
        scrape.say_end(settings, number, None, number)
        raise
    except Exception as error:
        outcome = scrape.page_error(error, "timed out")
    outcomes[number - 1] = outcome
    if scrape.end_page(settings, trace, number, number, url, start, outcome):
        raise outcome
    return outcome


async def fetch_all(settings, trace, outcomes, interrupt):
    timeout = aiohttp.ClientTimeout(total=settings["timeout"])
    run = (settings, trace, outcomes, timeout)
    numbers = range(1, settings["pages"] + 1)
    tasks = []
    interrupt.cancel_on_signals(tasks)     # the list fills below
    async with new_session(settings) as session:
        if not settings["fail_fast"]:       # collect all
            tasks += [asyncio.create_task(fetch_page(n, session, run))
                      for n in numbers]
            await asyncio.gather(*tasks, return_exceptions=True)
        elif hasattr(asyncio, "TaskGroup"):  # fail fast, Python 3.11+
            try:
                async with asyncio.TaskGroup() as group:
                    tasks += [group.create_task(fetch_page(n, session, run))
                              for n in numbers]
            except BaseException:           # an ExceptionGroup: the
                pass                        # outcomes hold the failures
        else:
            tasks += [asyncio.create_task(fetch_page(n, session, run))
                      for n in numbers]
            try:
                await asyncio.gather(*tasks)
            except Exception:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)


def main():
    settings = scrape.parse_options(
        sys.argv[1:], "Fetch the simulator's /page/1..N as asyncio tasks "
        "on one aiohttp session, gathered in order.",
        max_conns=DEFAULT_MAX_CONNS, fail_fast=True)
    interrupt = conkit.Interrupt()
    trace = conkit.Trace(settings["trace"])
    outcomes = [None] * settings["pages"]   # None: cancelled

    timer = conkit.Timer()
    asyncio.run(fetch_all(settings, trace, outcomes, interrupt))
    return scrape.finish(settings, outcomes, timer, trace, interrupt)


if __name__ == "__main__":
    sys.exit(main())
# SPDX-License-Identifier: MIT
