"""jobs.py -- the CPU work of lab 6's Python twins and how its results
print: the same jobs as labs/lab6/lib/jobs.c, so that results= reads the
same in C and in Python.

    fib      fib(n) the slow way: about 1.6^n calls
    squares  the sum of i*i for i < n + k (job k)
    math     the async/threads/locks article's power loop, n passes,
             from k + 1 (job k)

Python's ints never overflow, so squares needs no 128-bit trick, and its
floats are C doubles computed with the C library's pow(): jobs.c was
written to give these very numbers.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)),
                                "..", "..", "..", "common", "python"))
import conkit  # noqa: E402

WORKS = ["fib", "squares", "math"]
DEFAULT_N = {"fib": 35, "squares": 5000000, "math": 2000000}
MAX_N = {"fib": 92, "squares": 10**12, "math": 10**12}
DEFAULT_JOBS = 20
MAX_JOBS = 1000

USAGE = (
    "  --work fib|squares|math  what each job computes (fib)\n"
    "  --jobs N                 how many jobs (20)\n"
    "  --n N                    job size: fib(N) (35), squares below\n"
    "                           N+k (5000000), math steps (2000000)\n")
USAGE_COMMON = (
    "  --trace FILE             write one CSV row per job\n"
    "  --color WHEN             colour: auto, always, never (auto)\n"
    "  -q, --quiet              print only the summary lines\n"
    "  -h, --help               show this help\n")


def fib(n):
    return n if n < 2 else fib(n - 2) + fib(n - 1)


def squares(count):
    return sum(i * i for i in range(count))


def power_loop(start, steps):
    x = start                   # an int: the first x ** 4 is exact
    for _ in range(steps):
        x **= 4
        x **= 0.25              # now a float, for good
        x **= 2
        x **= 0.5
        x += 1
    return x


class Jobs:
    """--work, --jobs, --n: what to run."""

    def __init__(self, work="fib", count=DEFAULT_JOBS, n=None):
        self.work, self.count = work, count
        self.n = DEFAULT_N[work] if n is None else n

    def input(self, k):
        return {"fib": self.n, "squares": self.n + k, "math": k + 1}[
            self.work]

    def label(self, k):
        return f"{self.work}({self.input(k)})"

    def run(self, k):
        """Job k, start to end, on this thread."""
        value = self.input(k)
        if self.work == "fib":
            return fib(value)
        if self.work == "squares":
            return squares(value)
        return power_loop(value, self.n)


def parse_options(argv, summary, extra_usage="", extra_longs=()):
    """The lab 6 command line: returns (jobs, the other pairs, common
    settings)."""
    def usage():
        return (f"usage: {conkit.PROGRAM} [options]\n{summary}\n\n" + USAGE
                + extra_usage + USAGE_COMMON)

    pairs, common = conkit.parse_options(
        argv, ["work=", "jobs=", "n="] + list(extra_longs), usage)
    work, count, n_text, rest = "fib", DEFAULT_JOBS, None, []
    for option, value in pairs:
        if option == "--work":
            work = conkit.option_choice("--work", value, WORKS)
        elif option == "--jobs":
            count = conkit.option_long("--jobs", value, 1, MAX_JOBS)
        elif option == "--n":
            n_text = value
        else:
            rest.append((option, value))
    n = None if n_text is None else \
        conkit.option_long("--n", n_text, 1, MAX_N[work])
    return Jobs(work, count, n), rest, common


def print_job_line(jobs, k, result, runner, runner_id):
    conkit.print_worker_line(runner_id, f"job {k}: {jobs.label(k)} = "
                             f"{result!r} ({runner} {runner_id})")


def print_summary(jobs, results, interrupt):
    """results= in job order when every job was done, then the
    interrupt's line if there was one."""
    done = sum(r is not None for r in results)
    if done == jobs.count:
        print("results=[" + ", ".join(repr(r) for r in results) + "]",
              flush=True)
    interrupt.report(done, jobs.count, "jobs")
# SPDX-License-Identifier: MIT
