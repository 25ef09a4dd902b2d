#!/usr/bin/env bats
# lab5.bats -- checks for io_fork: fork()ed workers, one session each.

load ../../scripts/checks/lib/lab

# 20 ms per request keeps the default list quick; the slow checks
# below use /delay/MS sites to stretch a run where they need time
sim_for_file --latency 20 --jitter 0 --conn-delay 20

# ====== Running io_fork in the background ======
#
# Some checks must act while io_fork runs (look at its workers, signal
# it, kill a worker), so they start it with &, not with `run kit`.

# start_io_fork ARGS...: start io_fork (under the limits of every kit
# run); its pid goes in FORK_PID, the pid to wait for in FORK_WAIT.
start_io_fork() {
    kit_background io_fork "$@"
    FORK_PID="$KIT_PID"
    FORK_WAIT="$KIT_WAIT"
}

# wait_for_workers N: wait (5 s at most) until io_fork has N child
# processes; their pids go in WORKER_PIDS.
wait_for_workers() {
    wait_for 5 has_children "$FORK_PID" "$1" || true
    WORKER_PIDS=("${CHILD_PIDS[@]}")
    [ "${#WORKER_PIDS[@]}" -eq "$1" ] ||
        fail "expected $1 worker processes, saw ${#WORKER_PIDS[@]}"
}

# finish_io_fork: wait (30 s at most) for io_fork to end; then status,
# output, lines, stderr and stderr_lines hold what `run` would give.
finish_io_fork() {
    if ! wait_for 30 is_gone "$FORK_PID"; then
        kill -9 "$FORK_PID"
        fail "io_fork did not finish within 30 s"
    fi
    status=0
    wait "$FORK_WAIT" || status=$?
    output="$(cat "$BATS_TEST_TMPDIR/out")"
    stderr="$(cat "$BATS_TEST_TMPDIR/err")"
    mapfile -t lines <<<"$output"
    mapfile -t stderr_lines <<<"$stderr"
}

# assert_gone PID...: none of these processes exists any more (not even
# as a zombie waiting to be reaped).
assert_gone() {
    local pid
    for pid in "$@"; do
        [ ! -e "/proc/$pid" ] ||
            fail "task lab5.reap: worker $pid is still in /proc ($(awk '{ print "state " $3 }' "/proc/$pid/stat" 2>/dev/null), Z = a zombie nobody waited for): does worker_gone() waitpid() for it?"
    done
}

# slow_sites N MS: a sites file of N downloads that each take MS more ms.
slow_sites() {
    local urls=() i
    for i in $(seq "$1"); do
        urls+=("$(sim_url "/delay/$2")")
    done
    sites_file "slow-$1-$2.txt" "${urls[@]}"
}

# count PATTERN TEXT: how many lines of TEXT match the extended regex.
count() {
    grep -cE "$1" <<<"$2" || true
}

# ====== The I/O contract, as for labs 2-3 ======

# graded: 2
@test "io_fork: every download of the default list succeeds with the right byte counts" {
    assert_default_downloads io_fork
}

# graded: 1
@test "io_fork: --quiet prints only the summary and the timer line" {
    run --separate-stderr kit io_fork -q --repeat 5 --workers 2
    assert_success
    assert_equal "${#lines[@]}" 2
    assert_line --index 0 \
        "Downloaded 10 of 10 sites, $((5 * JYTHON_BYTES + 5 * DICE_BYTES)) bytes"
}

# graded: 1
@test "io_fork: --help lists every option and exits 0" {
    run kit io_fork --help
    assert_success
    for option in --workers --sites --repeat --timeout --no-session \
        --trace --quiet; do
        assert_output --partial -- "$option"
    done
}

# graded: 1
@test "io_fork: bad usage prints one line and exits 2" {
    assert_common_usage_errors io_fork
    assert_count_option_errors io_fork --workers
    assert_usage_error io_fork --workers 257
    assert_usage_error io_fork --timeout -1
}

# graded: 1
@test "io_fork: a failing site is reported and counted, the rest complete" {
    assert_failed_site_counted io_fork --workers 2
}

# graded: 1
@test "io_fork: without the simulator, one line says how to start it" {
    assert_no_simulator_message io_fork
}

# graded: 1
@test "io_fork: TLS is verified against the lab CA" {
    assert_lab_ca_required io_fork
}

# ====== Processes ======

# graded: 2
@test "io_fork: the ForkProcess-K names seen are exactly 1..--workers" {
    run --separate-stderr kit io_fork --repeat 10 --workers 3
    assert_success
    local names
    names="$(sed -n 's/^ForkProcess-\([0-9]*\):Read .*/\1/p' <<<"$output" |
        sort -n | uniq | paste -sd' ')"
    assert_equal "$names" "1 2 3"
    run --separate-stderr kit io_fork --repeat 2 --workers 1
    assert_success
    assert_equal "$(count '^ForkProcess-1:Read ' "$output")" 4
    assert_equal "$(count '^ForkProcess-' "$output")" 4
}

# graded: 1
@test "io_fork: --trace writes one row per download, worker column = K" {
    local trace="$BATS_TEST_TMPDIR/t.csv"
    run kit io_fork -q --repeat 5 --workers 4 --trace "$trace"
    assert_success
    run cat "$trace"
    assert_line --index 0 "id,worker,label,start_us,end_us,status"
    assert_equal "${#lines[@]}" 11
    local workers ids
    workers="$(tail -n +2 "$trace" | cut -d, -f2 | sort -n | uniq | paste -sd' ')"
    assert_equal "$workers" "1 2 3 4"
    # ids 0..9 once each, every row ok, end after start
    ids="$(tail -n +2 "$trace" | cut -d, -f1 | sort -n | paste -sd' ')"
    assert_equal "$ids" "0 1 2 3 4 5 6 7 8 9"
    run awk -F, 'NR > 1 && ($6 != "ok" || $5 < $4) { bad++ }
                 END { exit bad > 0 }' "$trace"
    assert_success
}

# graded: 2
@test "io_fork: runs --workers child processes and leaves none behind" {
    start_io_fork -q --workers 4 --sites "$(slow_sites 8 300)"
    wait_for_workers 4
    finish_io_fork
    assert_success
    assert_line "Downloaded 8 of 8 sites, $((8 * 15)) bytes"
    assert_gone "${WORKER_PIDS[@]}"
}

# graded: 3 task:lab5.initializer
@test "io_fork: each worker process keeps one session (one connection per host per worker)" {
    sim_reset
    run kit io_fork -q --repeat 10 --workers 3
    assert_success
    assert_equal "$(sim_downloads /jython /dice)" 20
    # the initializer makes one handle per process: at most 3 x 2 hosts
    [ "$(sim_stat connections_total)" -le 6 ] ||
        fail "task lab5.initializer: the simulator saw $(sim_stat connections_total) connections for 20 downloads by 3 workers from 2 hosts (6 at most): does worker_initializer() make the worker's session, once, after the fork?"
}

# graded: 1
@test "io_fork: --no-session opens one connection per download" {
    sim_reset
    run kit io_fork -q --repeat 10 --workers 3 --no-session
    assert_success
    assert_equal "$(sim_stat connections_total)" 20
}

# graded: 2 retry
@test "io_fork: work is handed out as workers free up (a slow site holds up only its worker)" {
    local urls=("$(sim_url /delay/1500)") i file
    for i in $(seq 20); do
        urls+=("$(sim_url /dice)")
    done
    file="$(sites_file one-slow.txt "${urls[@]}")"
    run --separate-stderr kit io_fork --workers 2 --sites "$file"
    assert_success
    # whoever took the slow site did (about) nothing else: the other
    # worker took the 20 quick ones; fixed halves would give it 10 more
    local slow_worker its_downloads
    slow_worker="$(sed -n 's/^\(ForkProcess-[0-9]*\):Read .*delay.*/\1/p' \
        <<<"$output")"
    [ -n "$slow_worker" ] || fail "the slow site was not downloaded"
    its_downloads="$(count "^$slow_worker:Read " "$output")"
    [ "$its_downloads" -le 2 ] ||
        fail "$slow_worker did $its_downloads downloads"
}

# graded: 3 retry runs:io_sync,io_fork
# bats test_tags=serial
@test "io_fork: with 4 workers is at least 2x faster than io_sync on slow sites" {
    local file sync_seconds
    file="$(slow_sites 16 100)"
    # the baseline: the reference io_sync (graded: the grader's build)
    run kit_ref io_sync -q --sites "$file"
    assert_success
    # the wall time this check measured, never the printed timer
    sync_seconds="$(kit_wall)"
    run kit io_fork -q --workers 4 --sites "$file"
    assert_success
    # 16 x 120 ms in turn against 4 rounds of 4 at once
    ratio_at_least "$sync_seconds" "$(kit_wall)" 2
}

# ====== Signals and dying workers ======

# graded: 1
# bats test_tags=serial
@test "io_fork: SIGINT mid-run is passed on to the workers, all reaped, exit 130" {
    # 10 s downloads: only a signal passed on to the workers ends them soon
    start_io_fork -q --workers 2 --sites "$(slow_sites 4 10000)"
    wait_for_workers 2
    sleep 0.3
    kill -INT "$FORK_PID"           # the parent only, not its workers
    finish_io_fork
    assert_equal "$status" 130
    assert_equal "$stderr" \
        "io_fork: interrupted by SIGINT: 0 of 4 downloads finished, the rest cancelled"
    assert_line "Downloaded 0 of 4 sites, 0 bytes"
    ratio_at_least 5 "$(seconds_of "$output")" 1
    assert_gone "${WORKER_PIDS[@]}"
}

# graded: 1
# bats test_tags=serial
@test "io_fork: SIGTERM mid-run is passed on to the workers, all reaped, exit 143" {
    start_io_fork -q --workers 3 --sites "$(slow_sites 6 10000)"
    wait_for_workers 3
    sleep 0.3
    kill -TERM "$FORK_PID"
    finish_io_fork
    assert_equal "$status" 143
    assert_equal "$stderr" \
        "io_fork: interrupted by SIGTERM: 0 of 6 downloads finished, the rest cancelled"
    [[ "${lines[-1]}" =~ ^Execution\ time:\ [0-9]+\.[0-9]{2}s$ ]] ||
        fail "last line is not the timer line: ${lines[-1]}"
    ratio_at_least 5 "$(seconds_of "$output")" 1
    assert_gone "${WORKER_PIDS[@]}"
}

# graded: 2 task:lab5.reap
@test "io_fork: a worker killed mid-run is reaped, its download reported lost, the rest finish" {
    start_io_fork --workers 2 --sites "$(slow_sites 30 100)"
    wait_for_workers 2
    sleep 0.5
    kill -9 "${WORKER_PIDS[0]}"
    # reaped at once, while the run goes on: no zombie
    wait_for 2 test ! -e "/proc/${WORKER_PIDS[0]}" || true
    kill -0 "$FORK_PID" || fail "io_fork ended too early for this check"
    assert_gone "${WORKER_PIDS[0]}"
    finish_io_fork
    assert_equal "$status" 1
    assert_equal \
        "$(count '^io_fork: ForkProcess-[12] died \(signal 9\)$' "$stderr")" 1
    local read lost
    read="$(count '^ForkProcess-[12]:Read 15 bytes from ' "$output")"
    lost="$(count '^io_fork: http://[^ ]*: lost: ForkProcess-[12] died' \
        "$stderr")"
    # what it held is failed, never dropped; the survivor did the rest
    [ "$lost" -ge 1 ] || fail "no lost download reported"
    assert_equal "$((read + lost))" 30
    assert_line "Downloaded $read of 30 sites, $((read * 15)) bytes"
    assert_gone "${WORKER_PIDS[@]}"
}

# graded: 2 task:lab5.reap
@test "io_fork: when every worker dies, every download not done is reported" {
    start_io_fork -q --workers 2 --sites "$(slow_sites 20 200)"
    wait_for_workers 2
    sleep 0.3
    kill -9 "${WORKER_PIDS[@]}"
    finish_io_fork
    assert_equal "$status" 1
    [ "$(count 'died \(signal 9\)$' "$stderr")" -eq 2 ] ||
        fail "task lab5.reap: this check killed both workers with SIGKILL, io_fork reported $(count 'died \(signal 9\)$' "$stderr") deaths: does worker_gone() read the status waitpid() gives?"
    local done_count lost never
    done_count="$(sed -n 's/^Downloaded \([0-9]*\) of 20 sites.*/\1/p' \
        <<<"$output")"
    lost="$(count ': lost: ForkProcess-' "$stderr")"
    never="$(count ': not downloaded: no worker left$' "$stderr")"
    [ -n "$done_count" ] || fail "no summary line"
    assert_equal "$((done_count + lost + never))" 20
    [ "$never" -ge 1 ] || fail "expected downloads that were never taken"
}

# bats test_tags=serial
@test "io_fork: a worker that cannot start is said once; every download done is exit 0" {
    local file
    file="$(starved_sites 20)"
    # room for 4 more tasks: the parent, its timeout and two workers
    run_starved 4 io_fork --workers 8 -q --sites "$file"
    assert_success
    [ "${#stderr_lines[@]}" -eq 1 ] || fail "not one line: $stderr"
    [[ "$stderr" =~ ^io_fork:\ cannot\ start\ ForkProcess-[0-9]+:\ .*:\ carrying\ on\ with\ [0-9]+\ of\ 8\ workers$ ]] ||
        fail "$stderr"
    assert_line "Downloaded 20 of 20 sites, $((20 * DICE_BYTES)) bytes"
    rm -rf "$(dirname "$file")"
}

@test "io_fork: --workers 16 at ulimit -n 20 is fitted to the limit before any fork, said once" {
    # two pipe ends per worker in the parent: the old code forked until
    # pipe() failed ("cannot start ForkProcess-7: Too many open files")
    run --separate-stderr kit_limited 60 bash -c \
        'ulimit -n 20 && exec "$0" -q --workers 16' "$KIT_BIN/io_fork"
    assert_success
    assert_line "Downloaded 100 of 100 sites, $((50 * JYTHON_BYTES + 50 * DICE_BYTES)) bytes"
    assert_fitted io_fork --workers 16 20
}

@test "io_fork: Ctrl-C to the whole process group ends it cleanly, 20 times in a row" {
    local file run_number pid status err="$BATS_TEST_TMPDIR/err"
    file="$(slow_sites 80 50)"
    for run_number in $(seq 20); do
        # its own process group, as a terminal's foreground job has
        setsid "$KIT_BIN/io_fork" --workers 4 --sites "$file" \
            >"$BATS_TEST_TMPDIR/out" 2>"$err" 3>&- &
        pid=$!
        # once its first download is done (workers at work), then at a
        # moment chance picks within 0.4 s: each run is cut elsewhere
        wait_started "$pid" "$BATS_TEST_TMPDIR/out"
        sleep "$(printf '0.%02d' $((RANDOM % 40)))"
        kill -INT -- "-$pid"            # what Ctrl-C does
        timeout 10 tail --pid="$pid" -f /dev/null || kill -9 -- "-$pid"
        status=0
        wait "$pid" || status=$?
        [ "$status" -eq 130 ] ||
            fail "run $run_number: exit $status: $(cat "$err")"
        # the workers got the group's SIGINT too: none may be reported
        # as dead, nor its download as lost
        ! grep -qE 'died|lost|no worker left' "$err" ||
            fail "run $run_number: $(cat "$err")"
        [ "$(wc -l <"$err")" -eq 1 ] &&
            grep -q '^io_fork: interrupted by SIGINT: ' "$err" ||
            fail "run $run_number: $(cat "$err")"
        [ -z "$(pgrep -g "$pid")" ] ||
            fail "run $run_number: processes left in its group"
    done
}
# SPDX-License-Identifier: MIT
