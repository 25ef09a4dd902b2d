"""scrape.py -- what lab 9's Python scrapers share: options, pages,
results (as labs/lab9/lib/scrape.c does for the C ones).  How the pages
are fetched at once stays in each program's own file.

    Downloading 07...                  a page starts
    Retrieved 07=Nitrogen              it ended (completion order)
    Failed 07: HTTP 503                or failed
    Cancelled 07                       or was cancelled (--fail-fast)
    Retrieved 19 of 20 pages, 1 failed, 0 cancelled
    results=[(1, 'Hydrogen'), ..., (7, error('HTTP 503')), ...]
    Execution time: 0.12s
"""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)),
                                "..", "..", "..", "common", "python"))
import conkit  # noqa: E402

DEFAULT_PAGES = 20
MAX_PAGES = 118                 # the simulator knows 118 elements
FAIL_STATUS = 503

H1 = re.compile(r"<h1>(.*?)</h1>", re.S)


class PageError(Exception):
    """A page that did not give a name: repr()s as error('HTTP 503')."""

    def __repr__(self):
        return f"error({str(self)!r})"


def parse_options(argv, summary, workers=None, max_conns=None,
                  fail_fast=False):
    """The lab 9 command line; returns a dict of settings."""
    def usage():
        text = (f"usage: {conkit.PROGRAM} [options]\n{summary}\n\noptions:\n"
                f"  --pages N                fetch /page/1 .. /page/N, "
                f"1..{MAX_PAGES} ({DEFAULT_PAGES})\n")
        if workers:
            text += (f"  --workers N              threads in the pool, "
                     f"1..1000 ({workers})\n")
        if max_conns:
            text += (f"  --max-conns N            connections open at once, "
                     f"1..1000 ({max_conns})\n")
        text += "  --fail N                 page N answers HTTP 503 (none)\n"
        if fail_fast:
            text += ("  --fail-fast              the first failure cancels "
                     "every page not finished\n"
                     "                           (off: every page runs, a "
                     "failure is a value)\n")
        text += ("  --no-session             a new connection for every "
                 "page (off: one session)\n"
                 "  --timeout SECONDS        limit per page, at least 0.001 "
                 "(none)\n"
                 "  --base URL               where /page/N lives (the "
                 "simulator)\n"
                 "  --trace FILE             write one CSV row per page\n"
                 "  --color WHEN             colour per worker: auto, "
                 "always, never (auto)\n"
                 "  -q, --quiet              print only the summary lines\n"
                 "  -h, --help               show this help\n")
        return text

    longs = ["pages=", "fail=", "no-session", "timeout=", "base="]
    longs += ["workers="] if workers else []
    longs += ["max-conns="] if max_conns else []
    longs += ["fail-fast"] if fail_fast else []
    pairs, settings = conkit.parse_options(argv, longs, usage)
    settings.update(pages=DEFAULT_PAGES, fail=None, no_session=False,
                    timeout=None, fail_fast=False,
                    base=f"http://127.0.0.1:{conkit.http_port()}",
                    workers=workers, max_conns=max_conns)
    for option, value in pairs:
        name = option[2:].replace("-", "_")
        if option == "--pages":
            settings["pages"] = conkit.option_long(option, value, 1,
                                                   MAX_PAGES)
        elif option == "--fail":
            settings["fail"] = conkit.option_long(option, value, 1,
                                                  MAX_PAGES)
        elif option in ("--workers", "--max-conns"):
            settings[name] = conkit.option_long(option, value, 1, 1000)
        elif option == "--timeout":
            seconds = conkit.option_double(option, value, 0.001, 86400)
            settings["timeout"] = seconds
        elif option == "--base":
            if not value.startswith(("http://", "https://")):
                conkit.usage_error(f"--base must be an http:// or https:// "
                                   f"URL: '{value}'")
            settings["base"] = value.rstrip("/")
        else:
            settings[name] = True
    return settings


def page_url(settings, number):
    url = f"{settings['base']}/page/{number}"
    if number == settings["fail"]:
        url += f"?fail={FAIL_STATUS}"
    return url


def take_name(status, body):
    """The <h1> of a page, or PageError."""
    if status >= 400:
        raise PageError(f"HTTP {status}")
    found = H1.search(body)
    if not found:
        raise PageError("no <h1>")
    return found.group(1).strip()


def page_error(error, fallback=""):
    """What went wrong as a page's outcome: a PageError as it is, any
    other exception as its one line of text (fallback when it has
    none)."""
    if isinstance(error, PageError):
        return error
    return PageError(conkit.failure_text(error) or fallback)


def fetch_name(session, url, timeout):
    """GET url on a requests session: the page's <h1>, or a PageError."""
    try:
        with session.get(url, timeout=timeout) as response:
            return take_name(response.status_code, response.text)
    except Exception as error:
        return page_error(error)


def end_page(settings, trace, number, worker, url, start, outcome):
    """A page has its outcome: a failure said on stderr, its trace row,
    its line.  True when it failed."""
    failed = isinstance(outcome, Exception)
    if failed:
        conkit.report(f"{url}: {outcome}")
    trace.record(number, worker, url, start, conkit.program_us(),
                 "failed" if failed else "ok")
    say_end(settings, number, outcome, worker)
    return failed


def say_start(settings, number, worker=0):
    if not settings["quiet"]:
        conkit.print_worker_line(worker, f"Downloading {number:02d}...")


def say_end(settings, number, outcome, worker=0):
    """Retrieved / Failed / Cancelled, in completion order."""
    if isinstance(outcome, PageError) or isinstance(outcome, Exception):
        if not settings["quiet"]:
            conkit.print_worker_line(worker, f"Failed {number:02d}: "
                                     f"{outcome}")
    elif outcome is None:
        if not settings["quiet"]:
            conkit.print_worker_line(worker, f"Cancelled {number:02d}")
    elif not settings["quiet"]:
        conkit.print_worker_line(worker, f"Retrieved {number:02d}="
                                 f"{outcome}")


def finish(settings, outcomes, timer, trace, interrupt):
    """The summary lines, in input order; returns the exit status.
    outcomes[i]: a name, an exception, or None (cancelled)."""
    names = sum(isinstance(o, str) for o in outcomes)
    failed = sum(isinstance(o, Exception) for o in outcomes)
    cancelled = len(outcomes) - names - failed
    interrupt.report(names + failed, len(outcomes), "pages")
    print(f"Retrieved {names} of {len(outcomes)} pages, {failed} failed, "
          f"{cancelled} cancelled")
    items = []
    for number, outcome in enumerate(outcomes, 1):
        shown = "cancelled()" if outcome is None else repr(outcome)
        items.append(f"({number}, {shown})")
    print("results=[" + ", ".join(items) + "]")
    return conkit.finish(timer, interrupt, trace, failed or cancelled)


class NoSites:
    """For conkit.requests_session(): pages stay on the simulator's
    loopback when --base is on 127.0.0.1."""

    def __init__(self, base):
        self.loopback_only = conkit.on_loopback(base)
# SPDX-License-Identifier: MIT
