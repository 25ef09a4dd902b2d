#!/usr/bin/env bats
# lab6.bats -- checks for the CPU-bound lab: cpu_sync, cpu_threads,
# cpu_async and cpu_fork run the same jobs and must print the same exact
# results; their speeds must differ the way the lab says they do.

load ../../scripts/bats/common

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

# seconds PROGRAM ARGS...: run it quietly, print its measured seconds.
seconds() {
    local output
    output="$(kit "$@" -q)" || return 1
    seconds_of "$output"
}

# ---- results: exact and identical in all four programs ----------------

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

@test "all four programs: math gives the same doubles as Python's loop" {
    assert_results "$(cat "$EXPECTED/math-200000.txt")" --work math \
        --n 200000
}

@test "all four programs: math matches Python over 1000 jobs" {
    assert_results "$(cat "$EXPECTED/math-1000-jobs1000.txt")" \
        --work math --n 1000 --jobs 1000
}

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

# work_scales: one sample; 4 jobs must take at least 2.5x as long as 1.
work_scales() {
    local one four
    one="$(seconds cpu_sync --n 38 --jobs 1)" || return 1
    four="$(seconds cpu_sync --n 38 --jobs 4)" || return 1
    ratio_at_least "$four" "$one" 2.5
}

@test "cpu_sync: 4 jobs take about 4 times as long as 1 (nothing folded away)" {
    work_scales || work_scales
}

# ---- speed: who uses the second core ----------------------------------
#
# Each check compares two runs made one after the other, with jobs of
# about 1 s in all.  A check may take a second sample when the first
# fails its margin (other work on this shared machine), never a skip.

# faster_than_sync PROGRAM ARGS...: one sample of PROGRAM >= 1.5x sync.
faster_than_sync() {
    local sync fast
    sync="$(seconds cpu_sync --n 36)" || return 1
    fast="$(seconds "$@" --n 36)" || return 1
    ratio_at_least "$sync" "$fast" 1.5
}

@test "cpu_threads: at least 1.5x faster than cpu_sync on 2 cores (no GIL in C)" {
    need_cores 2
    faster_than_sync cpu_threads || faster_than_sync cpu_threads
}

@test "cpu_fork: at least 1.5x faster than cpu_sync on 2 cores" {
    need_cores 2
    faster_than_sync cpu_fork || faster_than_sync cpu_fork
}

# gil_not_faster: one sample; with the GIL, threads take no less than
# sync_time / 1.2 -- one core at a time, as in Python.
gil_not_faster() {
    local sync gil
    sync="$(seconds cpu_sync --n 36)" || return 1
    gil="$(seconds cpu_threads --gil --n 36)" || return 1
    ratio_at_least "$gil" "$sync" 0.8333
}

@test "cpu_threads --gil: not faster than cpu_sync/1.2 on 2 cores, as Python's threads" {
    need_cores 2
    gil_not_faster || gil_not_faster
}

# async_not_faster: one sample; cooperative tasks on one thread take at
# least 0.9 x the plain loop's time.
async_not_faster() {
    local sync async
    sync="$(seconds cpu_sync --n 35)" || return 1
    async="$(seconds cpu_async --n 35)" || return 1
    ratio_at_least "$async" "$sync" 0.9
}

@test "cpu_async: not faster than cpu_sync (one thread, plus the cost of yielding)" {
    async_not_faster || async_not_faster
}

# ---- how each model runs the jobs ----------------------------------------

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

@test "cpu_async: a 10000-step job yielding every 1000 steps yields 9 times" {
    run kit cpu_async -q --work squares --n 10000 --jobs 1 \
        --yield-every 1000
    assert_success
    assert_line "yields=9"
    assert_line "results=[333283335000]"
}

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

@test "cpu_fork: SIGTERM to the parent stops and reaps every worker" {
    local out="$BATS_TEST_TMPDIR/fork.out" parent workers waited status=0
    # fib(45) x 20 would run for minutes: only the signal can end it
    "$KIT_BIN/cpu_fork" -q --n 45 --workers 2 >"$out" 2>&1 3>&- &
    parent=$!
    ( sleep 30; kill -KILL "$parent" 2>/dev/null ) 3>&- &
    local watchdog=$!
    for waited in $(seq 100); do
        [ "$(pgrep -P "$parent" | wc -l)" -ge 2 ] && break
        sleep 0.1
    done
    workers="$(pgrep -P "$parent" | paste -sd' ')"
    kill -TERM "$parent"
    wait "$parent" || status=$?
    kill "$watchdog" 2>/dev/null || true
    wait "$watchdog" 2>/dev/null || true
    # it died of SIGTERM itself (128 + 15), quietly, after its workers
    assert_equal "$status" 143
    [ -n "$workers" ] || fail "no worker processes were seen"
    local worker
    for worker in $workers; do
        ! kill -0 "$worker" 2>/dev/null || fail "worker $worker survived"
    done
    assert_equal "$(cat "$out")" ""
}

@test "cpu_async: SIGINT stops the loop: cancelled rows, the summary, exit 130" {
    local trace="$BATS_TEST_TMPDIR/t.csv" out="$BATS_TEST_TMPDIR/out"
    local err="$BATS_TEST_TMPDIR/err" pid status=0
    # fib(40) x 20 on one thread would run for a minute or more
    "$KIT_BIN/cpu_async" --n 40 --trace "$trace" >"$out" 2>"$err" 3>&- &
    pid=$!
    sleep 1
    kill -INT "$pid"
    timeout 10 tail --pid="$pid" -f /dev/null || kill -9 "$pid"
    wait "$pid" || status=$?
    assert_equal "$status" 130
    assert_equal "$(grep -c ',cancelled$' "$trace")" 20
    grep -q '^yields=' "$out" || fail "no summary: $(cat "$out")"
    grep -q '^Execution time: ' "$out" || fail "no time: $(cat "$out")"
    assert_equal "$(cat "$err")" \
        "cpu_async: interrupted: 0 of 20 jobs done, the rest cancelled"
}
