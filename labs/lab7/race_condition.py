#!/usr/bin/python3
"""race_condition.py -- threads add to one shared counter and lose updates,
in Python, where the GIL decides when they may.

The Python twin of race_condition.c.  Each of --threads threads adds 1
to a shared counter --increments times, as three steps: read it, wait a
little (--window steps of a busy loop: the pause point), write back the
value read plus one.

Why this loses updates although Python has a GIL: the GIL lets one
thread run bytecode at a time, never two at once -- but it hands the
interpreter to another thread every switch interval
(sys.setswitchinterval; --switch-interval), at a switch point (a call,
a loop's back-edge), and a read-modify-write is several bytecodes.  A
thread whose turn ends between its read and its write comes back and
writes a stale value, wiping out every addition the others made
meanwhile.  The busy loop puts switch points between the read and the
write, and a short switch interval (20 us here, CPython's default is
5 ms) makes switches frequent: the lost updates show in every run.
With --window 0 and --switch-interval 5000 they are fewer, not gone:
the GIL makes the race rarer, never safe.  --lock mutex
(a threading.Lock around the three steps) makes lost=0.  There is no
--lock atomic: Python has no atomic integer.

Run:    labs/lab7/race_condition.py
        labs/lab7/race_condition.py --lock mutex
        labs/lab7/race_condition.py --window 0      (fewer lost)

Compare with race_condition.c beside it (no GIL: the threads really run
at once), and with labs/lab8/bank.py.
"""
import os
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)),
                                "..", "..", "common", "python"))
import conkit  # noqa: E402

MAX_THREADS = 64
DEFAULT_WINDOW = 50
DEFAULT_SWITCH_US = 20          # CPython's own default is 5000 (5 ms)
CHUNK = 4096                    # additions between two looks at Ctrl-C

counter = 0                     # shared by every thread
counter_lock = threading.Lock()


def add(increments, window, lock, interrupt):
    """Add 1, increments times; returns the additions made."""
    global counter
    made = 0
    while made < increments and not interrupt.requested():
        for _ in range(min(CHUNK, increments - made)):
            if lock:
                counter_lock.acquire()
            before = counter                # read
            for _ in range(window):         # the pause point: the GIL may
                pass                        # go to another thread here
            counter = before + 1            # write: DELIBERATE RACE
            if lock:                        # without the lock
                counter_lock.release()
        made += min(CHUNK, increments - made)
    return made


def usage():
    return (f"usage: {conkit.PROGRAM} [options]\n"
            "Threads add 1 to a shared counter, with or without a lock.\n\n"
            "  --threads N                threads adding (2; 1 to 64)\n"
            "  --increments N             additions per thread (1000000)\n"
            "  --lock none|mutex          how the counter is protected "
            "(none)\n"
            "  --window N                 busy-loop steps between reading "
            "and writing\n"
            "                             the counter (50; 0: a plain "
            "counter += 1)\n"
            "  --switch-interval US       the GIL changes hands after US "
            f"microseconds ({DEFAULT_SWITCH_US})\n"
            "  --trace FILE               write one CSV row per thread\n"
            "  --color WHEN               colour: auto, always, never "
            "(auto)\n"
            "  -q, --quiet                summary lines only\n"
            "  -h, --help                 show this help\n")


def main():
    pairs, settings = conkit.parse_options(
        sys.argv[1:], ["threads=", "increments=", "lock=", "window=",
                       "switch-interval="], usage)
    threads, increments, lock, window = 2, 1000000, "none", DEFAULT_WINDOW
    switch_us = DEFAULT_SWITCH_US
    for option, value in pairs:
        if option == "--threads":
            threads = conkit.option_long(option, value, 1, MAX_THREADS)
        elif option == "--increments":
            increments = conkit.option_long(option, value, 1, 10**9)
        elif option == "--lock":
            lock = conkit.option_choice(option, value, ["none", "mutex"])
        elif option == "--window":
            window = conkit.option_long(option, value, 0, 10**6)
        else:
            switch_us = conkit.option_double(option, value, 1, 10**6)
    sys.setswitchinterval(switch_us / 1e6)
    interrupt = conkit.Interrupt()
    trace = conkit.Trace(settings["trace"])
    made = [0] * threads
    spans = [(0, 0)] * threads

    def run(i):
        start = conkit.program_us()
        made[i] = add(increments, window, lock == "mutex", interrupt)
        spans[i] = (start, conkit.program_us())

    timer = conkit.Timer()
    workers = [threading.Thread(target=run, args=(i,))
               for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    expected = sum(made)
    interrupt.report(sum(m == increments for m in made), threads, "threads")
    print(f"counter={counter} expected={expected} lost={expected - counter}")
    timer.print()
    for i in range(threads):
        trace.record(i, i, f"add {made[i]} lock={lock}", spans[i][0],
                     spans[i][1], "ok" if made[i] == increments
                     else "cancelled")
    if trace.close() != 0:
        return conkit.EXIT_WORK_FAILED
    return interrupt.exit_status()


if __name__ == "__main__":
    sys.exit(main())
# SPDX-License-Identifier: MIT
