#!/usr/bin/env bats
# python.bats -- the Python twins (labs/labN/NAME.py) keep their C twins'
# promises: the same lines from the same simulator, the same results=,
# the same trace CSV (drawn by scripts/draw-trace), TLS verified, the
# interrupt contract.  (contract.bats runs the kit-wide checks over both;
# python.slow.bats checks make compare's table.)

load lib/common
load lib/io

setup_file() {
    if [ ! -x /usr/bin/python3 ] ||
        ! /usr/bin/python3 -c 'import requests, aiohttp' 2>/dev/null; then
        return 0                # each check skips with the reason
    fi
    # 20 ms per request, connections at once: quick, and waiting still
    # dominates the downloads
    sim_start --latency 20 --jitter 0 --conn-delay 20
}

teardown_file() {
    sim_stop
}

setup() {
    need_python
}

# has_output FILE PID: FILE holds something; 2 when PID ended first.
has_output() {
    [ ! -s "$1" ] || return 0
    kill -0 "$2" 2>/dev/null || return 2
    return 1
}

# io_twins: the Python twins of the I/O programs that take a list of
# sites (site_programs), by path.
io_twins() {
    local sites twin name
    sites=" $(site_programs | paste -sd' ') "
    for twin in $(kit_python_programs); do
        name="${twin##*/}"
        [[ "$sites" != *" ${name%.py} "* ]] || echo "$twin"
    done
}

# each_io_twin ASSERT: `ASSERT TWIN` for each of the io_twins.
each_io_twin() {
    local program
    for program in $(io_twins); do
        "$1" "$program"
    done
}

@test "python: every labs/*/NAME.py has a C twin labs/*/NAME.c beside it and runs with Debian's python3" {
    local program missing=""
    for program in $(kit_python_programs); do
        [ -f "$KIT/${program%.py}.c" ] || missing+=" $program"
        [ -x "$KIT/$program" ] || missing+=" $program(not executable)"
        [ "$(head -n 1 "$KIT/$program")" = "#!/usr/bin/python3" ] ||
            missing+=" $program(not #!/usr/bin/python3)"
    done
    [ -z "$missing" ] || fail "without a C twin or a runnable header:$missing"
}

@test "python: the I/O twins download the default list with the simulator's sizes, and the simulator served them" {
    each_io_twin assert_default_downloads
}

@test "python: the I/O twins reject bad usage as the C programs do" {
    local program
    for program in $(io_twins); do
        assert_common_usage_errors "$program"
        assert_usage_error "$program" --timeout 0.0001
    done
    assert_usage_error labs/lab3/io_threads.py --workers 0
    assert_usage_error labs/lab4/io_async.py --max-conns abc
}

@test "python: the I/O twins report and count a failing site, the rest complete" {
    each_io_twin assert_failed_site_counted
}

@test "python: the I/O twins say how to start the simulator when it is down" {
    each_io_twin assert_no_simulator_message
}

@test "python: the I/O twins verify TLS against the lab CA (and fail without it)" {
    each_io_twin assert_lab_ca_required
}

@test "python: a local list never follows a redirect off 127.0.0.1" {
    local program file
    file="$(sites_file off.txt "$(sim_url /redirect/offhost)")"
    for program in $(io_twins); do
        run --separate-stderr kit "$program" --sites "$file"
        assert_equal "$status" 1
        stderr_has "redirect refused"
        stderr_has "not on 127.0.0.1"
    done
}

@test "python: one session per worker: io_sync.py opens 2 connections for 20 downloads, --no-session one each" {
    sim_reset
    run --separate-stderr kit labs/lab2/io_sync.py --repeat 10 -q
    assert_success
    assert_equal "$(sim_stat connections_total)" 2
    sim_reset
    run --separate-stderr kit labs/lab2/io_sync.py --repeat 3 -q --no-session
    assert_success
    assert_equal "$(sim_stat connections_total)" 6
}

@test "python: every twin's trace draws with scripts/draw-trace, text and SVG" {
    local line trace="$BATS_TEST_TMPDIR/t.csv"
    while read -r line; do
        rm -f "$trace"
        # shellcheck disable=SC2086
        run --separate-stderr kit $line -q --trace "$trace"
        [ "$status" -le 1 ] || fail "$line: exit $status: $stderr"
        run "$KIT/scripts/draw-trace" "$trace"
        assert_success
        run "$KIT/scripts/draw-trace" --svg --title "$line" "$trace"
        assert_success
        assert_output --partial "<svg"
    done <<'RUNS'
labs/lab2/io_sync.py --repeat 2
labs/lab3/io_threads.py --repeat 4
labs/lab4/io_async.py --repeat 4
labs/lab5/io_fork.py --repeat 4
labs/lab6/cpu_sync.py --n 15 --jobs 4
labs/lab6/cpu_threads.py --n 15 --jobs 4
labs/lab6/cpu_async.py --n 15 --jobs 4
labs/lab6/cpu_fork.py --n 15 --jobs 4
labs/lab7/race_condition.py --increments 1000
labs/lab8/bank.py --seed 3 --transfers 4 --mode async
labs/lab9/scrape_threads.py --pages 5 --fail 2 --fail-fast
RUNS
}

@test "python: the CPU twins print results= identical to the C programs', for fib, squares and math" {
    local work expected program twin
    for work in "fib --n 21" "squares --n 3000" "math --n 2000"; do
        # shellcheck disable=SC2086
        run --separate-stderr kit cpu_sync --work $work --jobs 5 -q
        assert_success
        expected="$(grep '^results=' <<<"$output")"
        [ -n "$expected" ] || fail "cpu_sync printed no results="
        for program in cpu_sync cpu_threads cpu_async cpu_fork; do
            twin="labs/lab6/$program.py"
            # shellcheck disable=SC2086
            run --separate-stderr kit "$twin" --work $work --jobs 5 -q
            assert_success
            assert_line "$expected"
        done
    done
}

@test "python: the CPU twins' job lines match their C twin's" {
    run --separate-stderr kit cpu_sync --work math --n 500 --jobs 3
    assert_success
    local expected="$output"
    run --separate-stderr kit labs/lab6/cpu_sync.py --work math --n 500 \
        --jobs 3
    assert_success
    assert_equal "$(grep -v '^Execution' <<<"$output")" \
        "$(grep -v '^Execution' <<<"$expected")"
}

@test "python: race_condition.py loses updates without a lock (the GIL does not prevent it) and none with one" {
    run --separate-stderr kit labs/lab7/race_condition.py \
        --increments 20000
    assert_success
    [[ "${lines[0]}" =~ ^counter=([0-9]+)\ expected=40000\ lost=([0-9]+)$ ]] ||
        fail "unexpected line: ${lines[0]}"
    [ "${BASH_REMATCH[2]}" -gt 0 ] || fail "no update lost: ${lines[0]}"
    run --separate-stderr kit labs/lab7/race_condition.py \
        --increments 20000 --lock mutex
    assert_success
    assert_line --index 0 "counter=40000 expected=40000 lost=0"
    assert_usage_error labs/lab7/race_condition.py --lock atomic
}

@test "python: bank.py makes bank's transfers from the same seed: sync and locked runs end as bank does" {
    local mode
    run --separate-stderr kit bank --seed 42 -q
    assert_success
    local expected
    expected="$(grep '^final=' <<<"$output")"
    for mode in "--mode sync" "--mode threads --lock mutex" \
        "--mode async --lock mutex"; do
        # shellcheck disable=SC2086
        run --separate-stderr kit labs/lab8/bank.py --seed 42 $mode -q
        assert_success
        assert_line --index 0 "seed=42"
        assert_line "$expected"
        assert_line "sum=5000"
    done
}

@test "python: the scrapers print the C scrapers' results= in page order, a failure as a value" {
    local program expected
    run --separate-stderr kit scrape_sync --pages 8 --fail 3 -q
    assert_equal "$status" 1
    expected="$(grep '^results=' <<<"$output")"
    for program in scrape_sync scrape_threads scrape_async; do
        run --separate-stderr kit "labs/lab9/$program.py" --pages 8 \
            --fail 3 -q
        assert_equal "$status" 1
        assert_line "$expected"
        assert_line "Retrieved 7 of 8 pages, 1 failed, 0 cancelled"
        assert_equal "$stderr" \
            "$program.py: $(sim_url '/page/3?fail=503'): HTTP 503"
    done
}

@test "python: --fail-fast cancels the pages not finished, none fetched after the failure" {
    local program trace="$BATS_TEST_TMPDIR/ff.csv" failed_end
    for program in "scrape_threads --workers 2" \
        "scrape_async --max-conns 2"; do
        # shellcheck disable=SC2086
        run --separate-stderr kit labs/lab9/${program/ /.py } --pages 30 \
            --fail 1 --fail-fast --trace "$trace" -q
        assert_equal "$status" 1
        assert_output --regexp "results=\[\(1, error\('HTTP 503'\)\)"
        grep -q ',cancelled$' "$trace" || fail "$program.py: nothing cancelled"
        failed_end="$(awk -F, '$NF == "failed" { print $(NF-1) }' "$trace")"
        # no page started after the failure ended (cancelled rows are
        # stamped with the moment of the cancel, they never ran)
        awk -F, -v f="$failed_end" 'NR > 1 && $NF == "ok" && $(NF-2) > f {
                bad = 1 } END { exit bad }' "$trace" ||
            fail "$program.py: a page started after the failure: $(cat "$trace")"
    done
}

# interrupt_twin SIGNAL PROGRAM ARGS...: start it, wait for its first
# output line (an event, not the clock), send SIGNAL, wait for the exit.
interrupt_twin() {
    local signal="$1" out="$BATS_TEST_TMPDIR/out"
    shift
    kit_background "$@"
    wait_for 10 has_output "$out" "$KIT_PID" || true
    [ -s "$out" ] || fail "$1: no output line before the signal"
    kill "-$signal" "$KIT_PID"
    status=0
    wait "$KIT_WAIT" || status=$?
    output="$(cat "$out")"
    stderr="$(cat "$BATS_TEST_TMPDIR/err")"
    mapfile -t lines <"$out"
}

@test "python: SIGINT/SIGTERM stop the I/O twins with the summary kept, cancelled rows and 130/143, no child left" {
    local program trace="$BATS_TEST_TMPDIR/i.csv" signal code
    for program in $(io_twins); do
        for signal in INT TERM; do
            code=130
            [ "$signal" = TERM ] && code=143
            rm -f "$trace"
            interrupt_twin "$signal" "$program" --repeat 200 \
                --trace "$trace"
            assert_equal "$status" "$code"
            [[ "${lines[-2]}" =~ ^Downloaded\ [0-9]+\ of\ 400\ sites ]] ||
                fail "$program: no summary: ${lines[-2]:-}"
            [[ "${lines[-1]}" =~ ^Execution\ time: ]] ||
                fail "$program: the timer line is not last"
            stderr_has "interrupted by SIG$signal"
            grep -q ',cancelled$' "$trace" ||
                fail "$program: no cancelled row in the trace"
            [ "$(($(wc -l <"$trace") - 1))" -eq 400 ] ||
                fail "$program: not one trace row per download"
            # the fork()ed workers are gone with their parent (found by
            # this run's own trace path in their command line: other
            # files may run the same program meanwhile)
            run pgrep -f -- "$trace"
            assert_failure
        done
    done
}

@test "python: SIGINT stops the CPU twins: summary kept, the rest cancelled, 130, no worker left" {
    local program trace="$BATS_TEST_TMPDIR/c.csv"
    for program in cpu_sync cpu_threads cpu_fork; do
        rm -f "$trace"
        interrupt_twin INT "labs/lab6/$program.py" --n 28 --jobs 200 \
            --trace "$trace"
        assert_equal "$status" 130
        [[ "${lines[-1]}" =~ ^Execution\ time: ]] ||
            fail "$program.py: the timer line is not last"
        stderr_has "interrupted by SIGINT"
        [ "$(($(wc -l <"$trace") - 1))" -eq 200 ] ||
            fail "$program.py: not one trace row per job"
        grep -q ',cancelled$' "$trace" ||
            fail "$program.py: no cancelled row in the trace"
        run pgrep -f -- "$trace"         # this run's processes only
        assert_failure
    done
}

@test "python: scripts/sweep runs a twin by its name (NAME.py)" {
    run --separate-stderr timeout -k 5 120 "$KIT/scripts/sweep" --table \
        io_threads.py --workers 1,4 -- --repeat 4
    assert_success
    assert_line --regexp '^1 +[0-9.]+ +1\.00x'
    assert_line --regexp '^4 +[0-9.]+ +[0-9.]+x'
    run --separate-stderr "$KIT/scripts/sweep" --table nope.py --workers 1,2
    assert_equal "$status" 2
}

@test "python: a closed stdout (| head -n 1) ends a twin as it ends a C program: SIGPIPE, no traceback, no worker left" {
    local program options
    export ERR="$BATS_TEST_TMPDIR/err"
    for program in labs/lab3/io_threads.py labs/lab5/io_fork.py \
        labs/lab6/cpu_fork.py; do
        options="--repeat 20"
        [[ "$program" != *cpu_fork.py ]] || options="--n 22 --jobs 40"
        # shellcheck disable=SC2086
        run bash -c 'timeout -k 5 30 "$@" 2>"$ERR" | head -n 1
                     echo "exit ${PIPESTATUS[0]}"' _ "$KIT/$program" $options \
            --trace "$ERR.csv"
        assert_line "exit 141"
        run grep -c Traceback "$ERR"
        assert_output 0
        run pgrep -f -- "$ERR.csv"         # this run's processes only
        assert_failure
    done
}
# SPDX-License-Identifier: MIT
