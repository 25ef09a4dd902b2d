"""reference.py -- lab 6's expected results, computed a second way.

The C programs compute each job the slow way on purpose (that is the
work being timed).  This script reaches the same numbers by other routes,
so that a check comparing the two catches a wrong C program:

    fib      iteratively, in n additions, instead of ~2^n recursive calls
    squares  from the closed form (m-1) m (2m-1) / 6, in exact integers
    math     the same chain of pow() calls, written with math.pow on
             floats (bit-for-bit what C's pow() gives)

    python3 expected/lab6/reference.py fib 35 20
    results=[9227465, 9227465, ...]

Arguments: WORK (fib, squares or math), N (the --n of the C programs) and
JOBS (their --jobs).  The list prints in the form the C programs print.
"""
import math
import sys


def fibonacci(n):
    previous, current = 0, 1
    for _ in range(n):
        previous, current = current, previous + current
    return previous


def squares_below(m):
    # 0*0 + 1*1 + ... + (m-1)*(m-1)
    return (m - 1) * m * (2 * m - 1) // 6


def power_walk(start, steps):
    # Each step raises to the 4th, takes the 4th root, squares, takes the
    # square root and adds one; start**4 <= 20**4 is exact in a double,
    # so starting from a float changes nothing.
    value = float(start)
    for _ in range(steps):
        value = math.pow(value, 4.0)
        value = math.pow(value, 0.25)
        value = math.pow(value, 2.0)
        value = math.pow(value, 0.5)
        value += 1.0
    return value


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: reference.py fib|squares|math N JOBS")
    work, n, jobs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if work == "fib":
        results = [fibonacci(n)] * jobs
    elif work == "squares":
        results = [squares_below(n + k) for k in range(jobs)]
    elif work == "math":
        results = [power_walk(k + 1, n) for k in range(jobs)]
    else:
        sys.exit(f"reference.py: unknown work: {work!r}")
    print(f"results={results}")


if __name__ == "__main__":
    main()
# SPDX-License-Identifier: MIT
