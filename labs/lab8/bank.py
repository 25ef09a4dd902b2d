#!/usr/bin/python3
"""bank.py -- random transfers between banks: one after another, on
threads, or as asyncio tasks; the money is conserved only when it should
be.

The Python twin of bank.c (the article's bank, as the kit runs it): the
same --seed makes the same transfers (the same splitmix64 generator), so
sync and every locked run end with bank.c's final= line.  Each balance
update reads, sleeps 0.1 ms (a slow database), writes, sleeps again;
each transfer first sleeps 100 ms (verify_user).  A sleep releases the
GIL (threads) or is an await (tasks): another transfer may write the
same balance meanwhile, and the write after it wipes that out.

Run:    labs/lab8/bank.py                          (sync: about 2 s)
        labs/lab8/bank.py --mode threads            (fast, sum is wrong)
        labs/lab8/bank.py --mode threads --lock mutex
        labs/lab8/bank.py --mode async --seed 42    (one thread, wrong)
        labs/lab8/bank.py --mode async --lock mutex --seed 42

Watch:  the GIL does not save the threads here: the race is at the
        sleeps, where any thread may run.  And async tasks race too, at
        their awaits.  (bank.c's --lock per-account, --schedule and
        --explore are the C program's own.)

Compare with bank.c beside it, and with labs/lab7/race_condition.py.
"""
import asyncio
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)),
                                "..", "..", "common", "python"))
import conkit  # noqa: E402

START_BALANCE = 1000
MAX_AMOUNT = 100
VERIFY_USER = 0.1               # seconds
UPDATE_WAIT = 0.0001
MASK = (1 << 64) - 1


def splitmix64(state):
    """(next state, number): bank.c's generator, in 64-bit arithmetic."""
    state = (state + 0x9e3779b97f4a7c15) & MASK
    z = state
    z = ((z ^ (z >> 30)) * 0xbf58476d1ce4e5b9) & MASK
    z = ((z ^ (z >> 27)) * 0x94d049bb133111eb) & MASK
    return state, z ^ (z >> 31)


def make_transfers(seed, count, banks):
    """[(from, to, amount)]: the same list as bank.c's make_transfers()."""
    transfers, state = [], seed
    for _ in range(count):
        state, r = splitmix64(state)
        source = r % banks
        state, r = splitmix64(state)
        target = (source + 1 + r % (banks - 1)) % banks
        state, r = splitmix64(state)
        transfers.append((source, target, 1 + r % MAX_AMOUNT))
    return transfers


class Bank:
    def __init__(self, banks, quiet):
        self.balances = [START_BALANCE] * banks
        self.quiet = quiet
        self.lock = threading.Lock()
        self.spans = {}                 # transfer -> (start_us, end_us)

    def show(self, name):
        items = ", ".join(f"'bank_{b + 1}': {v}"
                          for b, v in enumerate(self.balances))
        print(f"{name}={{{items}}}", flush=True)

    def dot(self):
        if not self.quiet:
            sys.stdout.write(".")
            sys.stdout.flush()

    # ---- sync and threads: time.sleep() releases the GIL ----

    def update(self, bank, change):
        before = self.balances[bank]            # read
        time.sleep(UPDATE_WAIT)                 # DELIBERATE RACE: another
        self.balances[bank] = before + change   # thread may write between
        time.sleep(UPDATE_WAIT)

    def transfer(self, i, source, target, amount, locked):
        start = conkit.program_us()
        time.sleep(VERIFY_USER)                 # verify_user()
        if locked:
            self.lock.acquire()
        self.update(source, -amount)
        self.update(target, amount)
        if locked:
            self.lock.release()
        self.spans[i] = (start, conkit.program_us())
        self.dot()

    # ---- async: an await at every sleep ----

    async def update_async(self, bank, change):
        before = self.balances[bank]
        await asyncio.sleep(UPDATE_WAIT)        # DELIBERATE RACE: another
        self.balances[bank] = before + change   # task may run here
        await asyncio.sleep(UPDATE_WAIT)

    async def transfer_async(self, i, source, target, amount, lock):
        start = conkit.program_us()
        await asyncio.sleep(VERIFY_USER)
        if lock is not None:
            await lock.acquire()
        await self.update_async(source, -amount)
        await self.update_async(target, amount)
        if lock is not None:
            lock.release()
        self.spans[i] = (start, conkit.program_us())
        self.dot()


async def run_async(bank, transfers, locked):
    lock = asyncio.Lock() if locked else None
    await asyncio.gather(*(bank.transfer_async(i, *t, lock)
                           for i, t in enumerate(transfers)))


def usage():
    return (f"usage: {conkit.PROGRAM} [options]\n"
            "Random transfers between banks; the sum must stay the same."
            "\n\n"
            "  --mode sync|threads|async  one by one, a thread per "
            "transfer, or a task\n"
            "                             per transfer on the event loop "
            "(sync)\n"
            "  --lock none|mutex          no lock, or one lock around each "
            "transfer (none)\n"
            "  --seed N                   the transfers to make (random, "
            "printed)\n"
            "  --transfers N              how many transfers (20; 1 to "
            "1000)\n"
            "  --banks N                  how many banks of 1000 (5; 2 to "
            "100)\n"
            "  --trace FILE               write one CSV row per transfer\n"
            "  --color WHEN               colour: auto, always, never "
            "(auto)\n"
            "  -q, --quiet                no dot per transfer\n"
            "  -h, --help                 show this help\n")


def main():
    pairs, settings = conkit.parse_options(
        sys.argv[1:], ["mode=", "lock=", "seed=", "transfers=", "banks="],
        usage)
    mode, lock, seed, count, banks = "sync", "none", None, 20, 5
    for option, value in pairs:
        if option == "--mode":
            mode = conkit.option_choice(option, value,
                                        ["sync", "threads", "async"])
        elif option == "--lock":
            lock = conkit.option_choice(option, value, ["none", "mutex"])
        elif option == "--seed":
            seed = conkit.option_long(option, value, 0, 2**63 - 1)
        elif option == "--transfers":
            count = conkit.option_long(option, value, 1, 1000)
        else:
            banks = conkit.option_long(option, value, 2, 100)
    if seed is None:
        seed = splitmix64(time.time_ns() ^ (os.getpid() << 32))[1] \
            % 1000000000
    interrupt = conkit.Interrupt()
    trace = conkit.Trace(settings["trace"])
    transfers = make_transfers(seed, count, banks)
    bank = Bank(banks, settings["quiet"])

    print(f"seed={seed}")
    bank.show("initial")
    timer = conkit.Timer()
    locked = lock == "mutex"
    if mode == "sync":
        for i, t in enumerate(transfers):
            if interrupt.requested():
                break
            bank.transfer(i, *t, locked)
    elif mode == "threads":
        threads = [threading.Thread(target=bank.transfer,
                                    args=(i, *t, locked))
                   for i, t in enumerate(transfers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    else:
        asyncio.run(run_async(bank, transfers, locked))
    if not settings["quiet"]:
        print()
    bank.show("final")
    print(f"sum={sum(bank.balances)}")
    interrupt.report(len(bank.spans), count, "transfers")
    timer.print()
    for i, (source, target, amount) in enumerate(transfers):
        label = f"bank_{source + 1}->bank_{target + 1} {amount}"
        now = conkit.program_us()
        start, end = bank.spans.get(i, (now, now))
        trace.record(i, 0 if mode == "sync" else i, label, start, end,
                     "ok" if i in bank.spans else "cancelled")
    if trace.close() != 0:
        return conkit.EXIT_WORK_FAILED
    return interrupt.exit_status()


if __name__ == "__main__":
    sys.exit(main())
# SPDX-License-Identifier: MIT
