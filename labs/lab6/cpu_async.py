#!/usr/bin/python3
"""cpu_async.py -- CPU-bound jobs as asyncio tasks on one thread.

The Python twin of cpu_async.c: every job is a task, all gathered.  fib
is written as a coroutine (`await fib(n - 2)`), the tutorial's shape;
every --yield-every steps of a job (fib calls, squares, power-loop
passes) it awaits asyncio.sleep(0), which hands the thread to the other
tasks -- an `await` of a coroutine alone never does.

Run:    labs/lab6/cpu_async.py --n 25

Watch:  slower than cpu_sync.py: one thread does all the work, and each
        call now builds a coroutine frame.  The tasks take turns; none
        runs in parallel.

Ctrl-C: the loop cancels every task (at its next await); exit 130.

Compare with cpu_async.c beside it (the frames kept by hand), and with
labs/lab4/io_async.py, where the same loop overlaps waiting.
"""
import asyncio
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)),
                                "lib"))
import jobs as lab6  # noqa: E402
from jobs import conkit  # noqa: E402

DEFAULT_YIELD_EVERY = 10000


class Steps:
    """A job's step counter: pause() is due every yield_every steps."""

    def __init__(self, yield_every):
        self.every, self.count, self.yields = yield_every, 0, 0

    async def step(self):
        self.count += 1
        if self.count % self.every == 0:
            self.yields += 1
            await asyncio.sleep(0)      # every other task runs a turn


async def fib(n, steps):
    await steps.step()
    if n < 2:
        return n
    return await fib(n - 2, steps) + await fib(n - 1, steps)


async def run_job(jobs, k, steps):
    value = jobs.input(k)
    if jobs.work == "fib":
        return await fib(value, steps)
    if jobs.work == "squares":
        total = 0
        for i in range(value):
            total += i * i
            await steps.step()
        return total
    x = value
    for _ in range(jobs.n):
        x = ((x ** 4) ** 0.25) ** 2
        x = x ** 0.5 + 1
        await steps.step()
    return x


async def job_task(jobs, k, steps, run):
    settings, trace = run
    start = conkit.program_us()
    try:
        result = await run_job(jobs, k, steps)
    except asyncio.CancelledError:
        trace.record(k, k, jobs.label(k), start, conkit.program_us(),
                     "cancelled")
        raise
    trace.record(k, k, jobs.label(k), start, conkit.program_us(), "ok")
    if not settings["quiet"]:
        lab6.print_job_line(jobs, k, result, "task", k)
    return result


async def run_all_jobs(jobs, steps, run, interrupt):
    tasks = [asyncio.create_task(job_task(jobs, k, steps[k], run))
             for k in range(jobs.count)]
    interrupt.cancel_on_signals(tasks)
    results = await asyncio.gather(*tasks, return_exceptions=True)
    return [None if isinstance(r, BaseException) else r for r in results]


def main():
    jobs, pairs, settings = lab6.parse_options(
        sys.argv[1:], "Run CPU-bound jobs as asyncio tasks on one thread.",
        "  --yield-every N          steps of a job between yields "
        f"({DEFAULT_YIELD_EVERY})\n", ["yield-every="])
    yield_every = DEFAULT_YIELD_EVERY
    for option, value in pairs:
        yield_every = conkit.option_long("--yield-every", value, 1,
                                         10**12)
    interrupt = conkit.Interrupt()
    trace = conkit.Trace(settings["trace"])
    steps = [Steps(yield_every) for _ in range(jobs.count)]

    timer = conkit.Timer()
    results = asyncio.run(run_all_jobs(jobs, steps, (settings, trace),
                                       interrupt))
    lab6.print_summary(jobs, results, interrupt)
    print(f"yields={sum(s.yields for s in steps)}")
    return conkit.finish(timer, interrupt, trace)


if __name__ == "__main__":
    sys.exit(main())
# SPDX-License-Identifier: MIT
