#!/usr/bin/env bats
# lab6.bats -- checks for the CPU-bound lab: cpu_sync, cpu_threads,
# cpu_async and cpu_fork run the same jobs and must print the same exact
# results; their speeds must differ the way the lab says they do.

load ../../scripts/checks/lib/lab

# The machine to itself (scripts/run-checks runs it after the others):
# its checks count CPUs used and compare CPU seconds.
# bats file_tags=serial

bats_require_minimum_version 1.5.0

PROGRAMS=(cpu_sync cpu_threads cpu_async cpu_fork)
EXPECTED="$KIT/expected/lab6"

# results_line OUTPUT: the results=[...] line of a run.
results_line() {
    grep '^results=' <<<"$1"
}

# assert_results EXPECTED_LINE ARGS...: every program, run with ARGS,
# succeeds, prints exactly EXPECTED_LINE as its results, and ends with
# the timer line.
assert_results() {
    local expected="$1" program
    shift
    for program in "${PROGRAMS[@]}"; do
        run kit "$program" -q "$@"
        assert_success
        assert_equal "$(results_line "$output")" "$expected"
        assert_regex "${lines[-1]}" '^Execution time: [0-9]+\.[0-9]{2}s$'
    done
}

# ---- results: exact and identical in all four programs ----------------

# graded: 2
@test "all four programs: fib(35) x 20 gives 9227465 twenty times" {
    local expected="results=[9227465$(printf ', 9227465%.0s' {1..19})]"
    assert_equal "$(cat "$EXPECTED/fib-35.txt")" "$expected"
    assert_results "$expected"
}

# squares_below M: the exact sum of i*i for i < M, (M-1)M(2M-1)/6, for M
# up to about 10^9.  The sum outgrows bash's 64 bits, so the product and
# the division by 3 are done in two base-10^9 digits, as on paper.
squares_below() {
    local m="$1" base=1000000000 half high low carry
    half=$(((m - 1) * m / 2))                   # fits: about 1.25e13
    high=$(((half / base) * (2 * m - 1)))       # half x (2M-1), split
    low=$(((half % base) * (2 * m - 1)))
    high=$((high + low / base))
    low=$((low % base))
    carry=$((high % 3))                         # now divide by 3
    high=$((high / 3))
    low=$(((carry * base + low) / 3))
    if [ "$high" -gt 0 ]; then
        printf '%d%09d\n' "$high" "$low"
    else
        echo "$low"
    fi
}

# graded: 1
@test "all four programs: squares gives the exact 128-bit sums, as Python" {
    # sum of i*i for i < m is (m-1)m(2m-1)/6, computed exactly here
    assert_equal "$(squares_below 10000)" 333283335000
    local k sums=()
    for k in $(seq 0 19); do
        sums+=("$(squares_below $((5000000 + k)))")
    done
    local expected
    expected="results=[$(IFS=,; echo "${sums[*]}" | sed 's/,/, /g')]"
    assert_equal "$(cat "$EXPECTED/squares-5000000.txt")" "$expected"
    assert_results "$expected" --work squares
}

# graded: 1
@test "all four programs: math gives the same doubles as Python's loop" {
    assert_results "$(cat "$EXPECTED/math-200000.txt")" --work math \
        --n 200000
}

# graded: 1
@test "all four programs: math matches Python over 1000 jobs" {
    assert_results "$(cat "$EXPECTED/math-1000-jobs1000.txt")" \
        --work math --n 1000 --jobs 1000
}

# graded: 1 runs:cpu_threads
@test "cpu_threads --gil: the same results under the lock" {
    run kit cpu_threads -q --gil --work squares
    assert_success
    assert_equal "$(results_line "$output")" \
        "$(cat "$EXPECTED/squares-5000000.txt")"
    run kit cpu_threads -q --gil --work math --n 200000
    assert_success
    assert_equal "$(results_line "$output")" \
        "$(cat "$EXPECTED/math-200000.txt")"
}

# graded: 1
@test "all four programs: one line per job, every job exactly once" {
    local program pattern='s/^job \([0-9]*\): fib(25) = 75025 (.*)$/\1/p'
    for program in "${PROGRAMS[@]}"; do
        run kit "$program" --n 25 --jobs 7
        assert_success
        assert_equal "$(sed -n "$pattern" <<<"$output" | sort -n |
            paste -sd' ')" "0 1 2 3 4 5 6"
    done
}

# ---- usage errors ------------------------------------------------------

# graded: 1
@test "all four programs: bad usage prints one line and exits 2" {
    local program
    for program in "${PROGRAMS[@]}"; do
        assert_usage_error "$program" --work nope
        assert_usage_error "$program" --jobs 0
        assert_usage_error "$program" --jobs abc
        assert_usage_error "$program" --n -1
        assert_usage_error "$program" --work fib --n 93
        assert_usage_error "$program" --bogus
        assert_usage_error "$program" extra-argument
    done
    assert_usage_error cpu_threads --workers 0
    assert_usage_error cpu_threads --switch-interval 0
    assert_usage_error cpu_async --yield-every 0
    assert_usage_error cpu_fork --workers 0
}

# ---- the work is really done --------------------------------------------
#
# Wall-clock times swing with whatever else the machine runs; the CPU time
# a run costs does not (the kernel counts it for the program alone), so
# the checks below compare CPU seconds, or count threads the kernel saw.

# cpu_cost PROGRAM ARGS...: the CPU seconds a quiet run of PROGRAM
# costs (kit_cpu: it and its children, as the kernel counted them), less
# what starting it costs (under the grader, scripts/grader/limit's own
# work around it), measured on PROGRAM --help.
cpu_cost() {
    local program="$1" run start
    shift
    kit "$program" -q "$@" >/dev/null || return 1
    run="$(kit_cpu)"
    kit "$program" --help >/dev/null || return 1
    start="$(kit_cpu)"
    awk -v r="$run" -v s="$start" 'BEGIN { printf "%.3f\n", r - s }'
}

# costs_at_least R 'BASE ARGS' 'PROGRAM ARGS': one sample; the run
# PROGRAM ARGS costs at least R times the CPU time of BASE ARGS.
costs_at_least() {
    local base run
    # shellcheck disable=SC2086  # each run is words
    base="$(cpu_cost $2)" || return 1
    # shellcheck disable=SC2086
    run="$(cpu_cost $3)" || return 1
    ratio_at_least "$run" "$base" "$1"
}

# work_scales: one sample; 4 jobs must cost at least 2.5x the CPU of 1.
work_scales() {
    costs_at_least 2.5 'cpu_sync --n 36 --jobs 1' 'cpu_sync --n 36 --jobs 4'
}

# graded: 1 retry runs:cpu_sync
@test "cpu_sync: 4 jobs take about 4 times as long as 1 (nothing folded away)" {
    work_scales || work_scales
}

# ---- parallel or not: who uses the second core ---------------------------
#
# A speed-up measured as one wall-clock ratio against a separately timed
# cpu_sync fails whenever other work takes a core.  What the lesson is
# about can be counted instead: how many threads of the program were
# computing at once.  The kernel keeps, for every thread, the time it
# spent on a CPU and the time it spent ready but waiting for one
# (/proc/PID/task/TID/schedstat); their sum over all threads, divided by
# the wall time, is the number of threads that were computing at once,
# whatever else the machine runs.  A thread waiting for the GIL sleeps
# and counts for nothing.  The first is also the CPUs the program really
# got: printed beside it.

# cores_of PROGRAM ARGS...: run PROGRAM quietly and set AT_ONCE (threads
# computing at once, on average) and CPUS (CPUs the kernel gave it).
# Samples the counters of PROGRAM's threads and its children's about every
# 50 ms, and divides what they grew by the time between the first and
# the last sample.
cores_of() {
    local program="$1" out="$BATS_TEST_TMPDIR/cores.out"
    local samples="$BATS_TEST_TMPDIR/cores.samples" runner pid file
    local on waiting round=0 pids=""
    shift
    kit "$program" -q "$@" >"$out" 2>&1 3>&- &
    runner=$!
    : >"$samples"
    while kill -0 "$runner" 2>/dev/null; do
        # the program is a child of timeout (or scripts/grader/limit): look for
        # it, and its children, in the process table now and then
        if [ $((round % 5)) -eq 0 ] || [ -z "$pids" ]; then
            pids="$(ps -e -o pid=,ppid=,comm= | awk -v root="$runner" \
                -v name="${program:0:15}" '{ parent[$1] = $2; comm[$1] = $3 }
                END { mine[root] = 1
                      do { grew = 0
                           for (p in parent)
                               if (!(p in mine) && (parent[p] in mine)) {
                                   mine[p] = 1; grew = 1 } } while (grew)
                      for (p in mine) if (comm[p] == name) print p }')"
        fi
        if [ -n "$pids" ]; then
            round=$((round + 1))
            for pid in $pids; do
                for file in /proc/"$pid"/task/*/schedstat; do
                    { read -r on waiting _ <"$file"; } 2>/dev/null &&
                        echo "$round $EPOCHREALTIME $file $on $waiting"
                done
            done >>"$samples"
        fi
        sleep 0.05
    done
    wait "$runner" || { cat "$out" >&2; return 1; }
    # Per thread, what its counters grew from the first sample (or its
    # birth) to the last sample in which the most threads were alive,
    # over the time between those two samples: a busy machine may let
    # the sampler run next only after the workers have ended.
    read -r AT_ONCE CPUS WINDOW < <(awk '
        { time[$1] = $2; count[$1]++; on[$1, $3] = $4; ready[$1, $3] = $5
          if (!($3 in born)) born[$3] = $1
          if ($1 > rounds) rounds = $1 }
        END { for (r = 1; r <= rounds; r++)
                  if (count[r] >= most) { most = count[r]; last = r }
              for (t in born) {
                  if (born[t] > last || !((last, t) in on)) continue
                  first = (born[t] == 1)
                  busy += on[last, t] - (first ? on[1, t] : 0)
                  waited += ready[last, t] - (first ? ready[1, t] : 0)
              }
              window = time[last] - time[1]
              if (window <= 0) window = 1e-9
              printf "%.2f %.2f %.2f\n", (busy + waited) / window / 1e9,
                     busy / window / 1e9, window }' "$samples")
    echo "$program $*: $AT_ONCE threads computing at once on average," \
        "$CPUS CPUs used, over ${WINDOW}s"
    ratio_at_least "$WINDOW" 0.3 1 || {
        # the evidence no program can print: the run's wall time as the
        # check measured it and the CPU time the kernel counted
        echo "too short to measure: under 0.3 s between samples" \
             "(a busy machine delayed the sampler, or no work was done):" \
             "$program $*: the kernel counted $(kit_cpu) s of CPU" \
             "in $(kit_wall) s" >&2
        return 1
    }
}

# need_schedstat: skip where the kernel keeps no per-thread counts.
need_schedstat() {
    [ -r /proc/self/schedstat ] ||
        skip "this kernel keeps no scheduler statistics (/proc/PID/schedstat)"
}

# computes_at_once PROGRAM ARGS...: one sample; at least 1.8 of its 2
# threads (or processes) compute at once, on average.
computes_at_once() {
    cores_of "$@" --n 37 || return 1
    ratio_at_least "$AT_ONCE" 1 1.8
}

# Tasks lab6.threads (cpu_threads.c, run_all_jobs) and lab6.processes
# (cpu_fork.c, start_workers): the jobs split over workers.  Evidence: the
# CPU time the kernel counted against this check's clock.
# keeps_two_cores_busy PROGRAM TASK QUESTION: PROGRAM --workers 2 keeps 2
# cores busy at once (two samples at most); else fail naming TASK, with
# QUESTION for the student.
keeps_two_cores_busy() {
    need_cores 2
    need_schedstat
    computes_at_once "$1" --workers 2 ||
        computes_at_once "$1" --workers 2 ||
        fail "task $2: $1 --workers 2 never kept 2 cores busy at once: $3"
}

# graded: 3 retry task:lab6.threads runs:cpu_threads
@test "cpu_threads: its threads compute at once on 2 cores, none waits for a lock (no GIL in C)" {
    keeps_two_cores_busy cpu_threads lab6.threads \
        "does run_all_jobs() start --workers threads, each taking jobs?"
}

# graded: 3 retry task:lab6.processes runs:cpu_fork
@test "cpu_fork: its worker processes compute at once on 2 cores" {
    keeps_two_cores_busy cpu_fork lab6.processes \
        "does start_workers() fork --workers workers?"
}

# one_at_a_time: one sample; with the GIL the threads use at most 1.25
# CPUs on average (one, plus the hand-overs).  (Threads computing at once
# does not tell here: on a busy machine a thread woken to ask for the GIL
# waits long for a CPU, and counts as ready meanwhile.)
one_at_a_time() {
    cores_of cpu_threads --gil --workers 2 --n 37 || return 1
    ratio_at_least 1.25 "$CPUS" 1
}

# graded: 3 retry runs:cpu_threads
@test "cpu_threads --gil: only one thread computes at a time, as Python's threads" {
    need_cores 2
    need_schedstat
    one_at_a_time || one_at_a_time
}

# async_not_faster: one sample; cooperative tasks on one thread cost at
# least 0.9 x the CPU time of the plain loop.
async_not_faster() {
    costs_at_least 0.9 'cpu_sync --n 34' 'cpu_async --n 34'
}

# graded: 2 retry runs:cpu_async,cpu_sync
@test "cpu_async: not faster than cpu_sync (one thread, plus the cost of yielding)" {
    async_not_faster || async_not_faster
}

# ---- how each model runs the jobs ----------------------------------------

# graded: 2 runs:cpu_threads
@test "cpu_threads --gil: the lock changes hands in the middle of jobs" {
    # 20 jobs: dropping the GIL only between jobs would hand it over
    # about 20 times; a 1 ms switch interval forces many more hand-overs
    run kit cpu_threads -q --gil --switch-interval 1 --n 35
    assert_success
    local switches
    switches="$(sed -n 's/^gil_switches=//p' <<<"$output")"
    [ -n "$switches" ] || fail "no gil_switches line: $output"
    [ "$switches" -ge 40 ] || fail "only $switches hand-overs"
}

# graded: 2 runs:cpu_async
@test "cpu_async: tasks interleave -- every job starts before any ends" {
    local trace="$BATS_TEST_TMPDIR/async.csv"
    run kit cpu_async -q --n 27 --jobs 5 --trace "$trace"
    assert_success
    # columns: id,worker,label,start_us,end_us,status
    run awk -F, 'NR > 1 { if ($4 > last_start) last_start = $4
                          if (first_end == "" || $5 < first_end)
                              first_end = $5 }
                 END { exit !(NR == 6 && last_start < first_end) }' "$trace"
    assert_success
}

# graded: 2 runs:cpu_async
@test "cpu_async: a task that never yields runs to the end before the next starts" {
    local trace="$BATS_TEST_TMPDIR/async.csv"
    run kit cpu_async -q --n 27 --jobs 5 --yield-every 1000000000000 \
        --trace "$trace"
    assert_success
    assert_line "yields=0"
    # sorted by start, each job starts after the previous one ended
    run bash -c "tail -n +2 '$trace' | sort -t, -k4,4n |
        awk -F, 'NR > 1 && \$4 < end { bad = 1 } { end = \$5 }
                 END { exit bad }'"
    assert_success
}

# graded: 2 runs:cpu_async
@test "cpu_async: a 10000-step job yielding every 1000 steps yields 9 times" {
    run kit cpu_async -q --work squares --n 10000 --jobs 1 \
        --yield-every 1000
    assert_success
    assert_line "yields=9"
    assert_line "results=[333283335000]"
}

# graded: 2 runs:cpu_fork,cpu_threads
@test "cpu_threads and cpu_fork: jobs spread over exactly --workers workers" {
    local trace="$BATS_TEST_TMPDIR/pool.csv"
    # threads are numbered 0..N-1, processes 1..N (as ForkProcess-K)
    run kit cpu_threads -q --workers 3 --jobs 12 --n 30 --trace "$trace"
    assert_success
    run bash -c "tail -n +2 '$trace' | cut -d, -f2 | sort -u | paste -sd' '"
    assert_regex "$output" '^[0-2]( [0-2])*$'
    run kit cpu_fork -q --workers 3 --jobs 12 --n 30 --trace "$trace"
    assert_success
    run bash -c "tail -n +2 '$trace' | cut -d, -f2 | sort -u | paste -sd' '"
    assert_regex "$output" '^[1-3]( [1-3])*$'
    run bash -c "tail -n +2 '$trace' | cut -d, -f1 | sort -n | paste -sd' '"
    assert_output "$(seq 0 11 | paste -sd' ')"
}

# graded: 1 task:lab6.processes runs:cpu_fork
@test "cpu_fork: SIGTERM to the parent stops and reaps every worker" {
    local parent workers status=0
    # fib(45) x 20 would run for minutes: only the signal can end it
    kit_background cpu_fork -q --n 45 --workers 2
    parent="$KIT_PID"
    ( sleep 30; kill -KILL "$parent" 2>/dev/null ) 3>&- &
    local watchdog=$!
    wait_for 10 has_children "$parent" 2 || true
    workers="$(pgrep -P "$parent" | paste -sd' ')"
    kill -TERM "$parent"
    wait "$KIT_WAIT" || status=$?
    kill "$watchdog" 2>/dev/null || true
    wait "$watchdog" 2>/dev/null || true
    # it ended with 128 + 15 after its workers, and said what it had done
    assert_equal "$status" 143
    [ -n "$workers" ] || fail "no worker processes were seen"
    local worker
    for worker in $workers; do
        ! kill -0 "$worker" 2>/dev/null || fail "worker $worker survived"
    done
    # the message on stderr, then the summary on stdout
    run cat "$BATS_TEST_TMPDIR/err" "$BATS_TEST_TMPDIR/out"
    assert_line --index 0 \
        "cpu_fork: interrupted by SIGTERM: 0 of 20 jobs finished, the rest cancelled"
    assert_line --regexp '^Execution time: [0-9.]+s$'
}

@test "cpu_async: SIGINT stops the loop: cancelled rows, the summary, exit 130" {
    local trace="$BATS_TEST_TMPDIR/t.csv"
    # fib(40) x 20 on one thread would run for a minute or more
    interrupt_run INT start cpu_async --n 40 --trace "$trace"
    assert_equal "$status" 130
    [ "$waited" -le 1500 ] || fail "it took $waited ms to stop"
    assert_equal "$(grep -c ',cancelled$' "$trace")" 20
    assert_line --regexp '^yields=[0-9]+$'
    assert_line --regexp '^Execution time: [0-9.]+s$'
    assert_equal "$stderr" \
        "cpu_async: interrupted by SIGINT: 0 of 20 jobs finished, the rest cancelled"
}
# SPDX-License-Identifier: MIT
