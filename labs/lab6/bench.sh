#!/usr/bin/env bash
# bench.sh -- how much faster cpu_threads and cpu_fork run than cpu_sync,
# for 1, 2, 4 and 8 workers, and the parallel efficiency that gives.
#
#   labs/lab6/bench.sh                  fib(36) x 20, best of 3 runs
#   labs/lab6/bench.sh --repeat 5 --n 38 --work fib
#
# speed-up   = sync time / threads (or fork) time
# efficiency = speed-up / cores the run could use, min(workers, cores);
#              1.00 means every usable core did useful work all the time.
#
# Runs are interleaved round by round and the best of --repeat is kept:
# on a shared machine other work only ever adds time.  The spread
# (slowest / fastest) of each column is printed too, so a noisy
# measurement shows as noisy.
set -euo pipefail

kit="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# read_options, positive_whole_numbers
source "$kit/scripts/pictures/bench-options.bash"

repeat=3
n=36
work=fib
workers_list="1 2 4 8"

usage() {
    echo "usage: $0 [--repeat R] [--n N] [--work fib|squares|math]" \
         "[--workers 'LIST']"
}

read_options usage --repeat=repeat --n=n --work=work \
    --workers=workers_list -- "$@"
# shellcheck disable=SC2086  # the list splits into its numbers
positive_whole_numbers "$repeat" "$n" $workers_list
case "$work" in
fib|squares|math) ;;
*) echo "bench.sh: --work must be fib, squares or math: '$work'" >&2; exit 2 ;;
esac

cd "$kit"
make -s cpu_sync cpu_threads cpu_fork
cores="$(nproc)"

# seconds PROGRAM ARGS...: the program's own "Execution time" in seconds.
seconds() {
    local program="$1"
    shift
    "./$program" -q --work "$work" --n "$n" "$@" |
        sed -n 's/^Execution time: \([0-9.]*\)s$/\1/p'
}

# stats TIMES...: "best spread" of a list of seconds.
stats() {
    printf '%s\n' "$@" | sort -g |
        awk 'NR == 1 { best = $1 } { worst = $1 }
             END { printf "%.2f %.2f", best, (best > 0 ? worst / best : 0) }'
}

echo "lab 6 benchmark: --work $work --n $n, 20 jobs, best of $repeat," \
     "$cores cores"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

# Round after round: the baseline, then every pool size, so that a busy
# moment on the machine spreads over all columns instead of one.
declare -A times
sync_times=()
for _ in $(seq "$repeat"); do
    sync_times+=("$(seconds cpu_sync)")
    for workers in $workers_list; do
        times[threads,$workers]+=" $(seconds cpu_threads --workers "$workers")"
        times[fork,$workers]+=" $(seconds cpu_fork --workers "$workers")"
    done
done

# cpu_sync does not depend on --workers: one baseline, its best run
read -r sync sync_spread <<<"$(stats "${sync_times[@]}")"
echo "cpu_sync: best $sync s, spread $sync_spread (slowest / fastest)"
printf '%-8s %9s %8s %6s %7s %8s %6s %s\n' workers threads_s speed-up \
    eff fork_s speed-up eff "spread(t/f)"
for workers in $workers_list; do
    # shellcheck disable=SC2086  # the lists are words on purpose
    read -r threads threads_spread <<<"$(stats ${times[threads,$workers]})"
    # shellcheck disable=SC2086
    read -r fork fork_spread <<<"$(stats ${times[fork,$workers]})"
    usable=$(( workers < cores ? workers : cores ))
    awk -v w="$workers" -v s="$sync" -v t="$threads" -v f="$fork" \
        -v u="$usable" -v ts="$threads_spread" -v fs="$fork_spread" \
        'BEGIN { printf "%-8s %9.2f %8.2f %6.2f %7.2f %8.2f %6.2f " \
                        "%.2f/%.2f\n", w, t, s / t, s / t / u, f, s / f,
                        s / f / u, ts, fs }'
done

echo "load average after:  $(cut -d' ' -f1-3 /proc/loadavg)"
echo "target: with workers >= cores, speed-up >= 0.9 x $cores" \
     "(efficiency >= 0.90)"
# SPDX-License-Identifier: MIT
