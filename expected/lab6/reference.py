"""reference.py -- lab 6's expected results, computed by Python itself.

The three job functions of the texts the lab ports, rewritten in a few
lines each, run the way the C programs run them, and printed in the form
the C programs print:

    python3 expected/lab6/reference.py fib 35 20
    results=[9227465, 9227465, ...]

Arguments: WORK (fib, squares or math), N (the --n of the C programs)
and JOBS (their --jobs).  Python's integers never overflow and its floats
are C doubles computed with the C library's pow(), so these lists are the
values the C programs must match exactly.
"""
import sys


def fib(n):
    """Seed 000: the slow recursive Fibonacci."""
    return n if n < 2 else fib(n - 2) + fib(n - 1)


def sum_of_squares(count):
    """Seed 002: sum of i*i for i below count."""
    return sum(i * i for i in range(count))


def power_loop(start, steps):
    """Seed 004: the power loop, from an int start."""
    x = start
    for _ in range(steps):
        x **= 4
        x **= 0.25
        x **= 2
        x **= 0.5
        x += 1
    return x


def main():
    work, n, jobs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if work == "fib":
        results = [fib(n) for _ in range(jobs)]
    elif work == "squares":
        results = [sum_of_squares(n + k) for k in range(jobs)]
    elif work == "math":
        results = [power_loop(k + 1, n) for k in range(jobs)]
    else:
        sys.exit(f"reference.py: unknown work: {work!r}")
    print(f"results={results}")


if __name__ == "__main__":
    main()
