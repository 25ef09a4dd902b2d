#!/usr/bin/env bats
# lab4.bats -- checks for io_async: one thread, libcurl on an epoll loop.

load ../../scripts/checks/lib/lab

# 100 ms per request and no jitter: every round of downloads takes
# the same time, so "about one latency" can be checked
sim_for_file --latency 100 --jitter 0 --conn-delay 20

# graded: 2
@test "io_async: every download of the default list succeeds with the right byte counts" {
    assert_default_downloads io_async
}

# graded: 1
@test "io_async: bad usage prints one line and exits 2" {
    assert_common_usage_errors io_async
    assert_count_option_errors io_async --max-conns
}

# graded: 1
@test "io_async: a --max-conns the open-file limit cannot hold is cut down, said once" {
    # a hard limit of 200 descriptors: one per connection, beside the
    # program's own (its epoll set, timerfd, libcurl's socketpair, ...)
    run --separate-stderr kit_limited 30 bash -c \
        'ulimit -n 200 && exec "$0" -q --max-conns 250' \
        "$KIT_BIN/io_async"
    assert_success
    assert_line "Downloaded 100 of 100 sites, $((50 * JYTHON_BYTES + 50 * DICE_BYTES)) bytes"
    assert_fitted io_async --max-conns 250 200
}

@test "io_async: at ulimit -n 20 every download succeeds: the connections fit beside the CA file it reads" {
    # the old budget (half of 20 spare) left no descriptor for reading
    # the lab CA: half the https downloads failed with "Problem with the
    # SSL CA cert", a failure that was not the site's
    run --separate-stderr kit_limited 60 bash -c \
        'ulimit -n 20 && exec "$0" -q' "$KIT_BIN/io_async"
    assert_success
    assert_line "Downloaded 100 of 100 sites, $((50 * JYTHON_BYTES + 50 * DICE_BYTES)) bytes"
    assert_fitted io_async --max-conns 100 20
}

# graded: 1
@test "io_async: with ulimit -n 40, --max-conns 1 works and the default is cut down" {
    run --separate-stderr kit_limited 60 bash -c \
        'ulimit -n 40 && exec "$0" -q --repeat 2 --max-conns 1' \
        "$KIT_BIN/io_async"
    assert_success
    assert_equal "$stderr" ""
    assert_line "Downloaded 4 of 4 sites, $((2 * JYTHON_BYTES + 2 * DICE_BYTES)) bytes"
    run --separate-stderr kit_limited 60 bash -c \
        'ulimit -n 40 && exec "$0" -q' "$KIT_BIN/io_async"
    assert_success
    assert_line "Downloaded 100 of 100 sites, $((50 * JYTHON_BYTES + 50 * DICE_BYTES)) bytes"
    [ "${#stderr_lines[@]}" -eq 1 ] || fail "expected one line: $stderr"
    [[ "$stderr" == "io_async: --max-conns 100 is more than the open-file limit allows"* ]] ||
        fail "$stderr"
}

# graded: 2
# bats test_tags=serial
@test "io_async: SIGINT stops it within a second: finished rows, cancelled rows, summary, exit 130" {
    local trace="$BATS_TEST_TMPDIR/t.csv"
    # 20 downloads one after another at 100 ms: about 2 s in all
    interrupt_run INT line io_async --repeat 10 --max-conns 1 --trace "$trace"
    assert_equal "$status" 130
    [ "$waited" -le 1500 ] || fail "it took $waited ms to stop"
    local done
    done="$(grep -c '^Read ' <<<"$output")" || true
    [ "$done" -ge 1 ] && [ "$done" -lt 20 ] || fail "$done downloads done"
    assert_line --regexp "^Downloaded $done of 20 sites, [0-9]+ bytes$"
    assert_line --regexp '^Execution time: [0-9.]+s$'
    assert_equal "$(grep -c ',ok$' "$trace")" "$done"
    # every site has its row: the finished, the one in flight, the rest
    assert_equal "$(grep -c ',cancelled$' "$trace")" "$((20 - done))"
    # the line every program says (common/interrupt.h)
    [[ "$stderr" == *"io_async: interrupted by SIGINT: $done of 20 downloads finished, the rest cancelled"* ]] ||
        fail "$stderr"
}

# graded: 1
# bats test_tags=serial
@test "io_async: SIGTERM is the same contract, exit 143" {
    # 40 downloads one after another at 100 ms: about 4 s, so the signal
    # as soon as its handlers are in place lands mid-run
    interrupt_run TERM start io_async --repeat 20 --max-conns 1 -q
    assert_equal "$status" 143
    [ "$waited" -le 1500 ] || fail "it took $waited ms to stop"
    assert_line --regexp '^Downloaded [0-9]+ of 40 sites, [0-9]+ bytes$'
}

# graded: 2
@test "io_async: a failing site is reported and counted, the rest complete" {
    assert_failed_site_counted io_async
}

# graded: 1
@test "io_async: without the simulator, one line says how to start it" {
    assert_no_simulator_message io_async
}

# graded: 1
@test "io_async: TLS is verified against the lab CA" {
    assert_lab_ca_required io_async
}

# graded: 3 retry
# bats test_tags=serial
@test "io_async: 1,000 downloads at 100 ms latency are all in flight at once" {
    [ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -ge 1064 ] ||
        skip "needs an open-file limit of 1064, this one is $(ulimit -Hn)"
    # plain HTTP: 1,000 TLS handshakes at once would time the CPU, not
    # the waiting that the event loop overlaps
    local file
    file="$(sites_file dice.txt "$(sim_url /dice)")"
    sim_reset
    run kit io_async -q --sites "$file" --repeat 1000 --max-conns 1000
    assert_success
    assert_line "Downloaded 1000 of 1000 sites, $((1000 * DICE_BYTES)) bytes"
    # The simulator counts the requests it was serving at once: the loop
    # had (nearly) all 1000 waiting together, however busy the machine.
    local peak
    peak="$(sim_stat requests_inflight_peak)"
    [ "${peak:-0}" -ge 900 ] ||
        fail "the simulator served at most ${peak:-0} requests at once"
    # one at a time this would be 1000 x 0.1 s = 100 s; at once about
    # 0.2 s on an idle machine: 10 s leaves room for any load
    ratio_at_least 10 "$(kit_wall)" 1
}

# graded: 2
@test "io_async: runs every download on one thread" {
    # evidence: the threads the kernel ran, counted while it ran -- a
    # default run (100 connections at once) and one connection at a time
    # (20 downloads: about 2 s to look at it)
    local args downloads served
    for args in "-q:100" "-q --repeat 10 --max-conns 1:20"; do
        downloads="${args##*:}"
        args="${args%:*}"
        sim_reset
        # shellcheck disable=SC2086  # the options are words
        kit_threads io_async $args
        assert_success
        [ "$THREADS_SEEN" -gt 0 ] ||
            fail "io_async $args ended before its threads could be counted"
        [ "$THREADS_MOST" -eq 1 ] ||
            fail "io_async $args: /proc showed $THREADS_MOST threads at most while it ran, not 1"
        served="$(sim_downloads /jython /dice)"
        [ "${served:-0}" -eq "$downloads" ] ||
            fail "io_async $args printed $downloads downloads, the simulator served ${served:-0}"
    done
}

# graded: 2
@test "io_async: --max-conns 10 never has more than 10 connections open" {
    sim_reset
    run kit io_async -q --repeat 25 --max-conns 10
    assert_success
    assert_line "Downloaded 50 of 50 sites, $((25 * JYTHON_BYTES + 25 * DICE_BYTES)) bytes"
    local peak
    peak="$(sim_stat connections_peak)"
    [ "$peak" -le 10 ] || fail "the simulator saw $peak connections at once"
    # 5 rounds of 10 at 0.1 s, not 50 x 0.1 s one after another
    ratio_at_least 2.5 "$(kit_wall)" 1
}

# graded: 2
@test "io_async: a site slower than --timeout fails alone, the others finish" {
    local file
    file="$(sites_file slow.txt "$(sim_url /jython https)" \
        "$(sim_url /dice)" "$(sim_url /delay/3000)" "$(sim_url /dice)")"
    run --separate-stderr kit io_async --sites "$file" --timeout 1
    assert_equal "$status" 1
    [ "${#stderr_lines[@]}" -eq 1 ] || fail "expected one error: $stderr"
    [[ "$stderr" == "io_async: $(sim_url /delay/3000): "*imeout* ]] ||
        fail "the error does not name the slow site's timeout: $stderr"
    assert_line "Downloaded 3 of 4 sites, $((JYTHON_BYTES + 2 * DICE_BYTES)) bytes"
    # the 3 s site was given up after 1 s; nobody waited for it
    ratio_at_least 2 "$(kit_wall)" 1
}

# graded: 2
@test "io_async: the session reuses connections, --no-session opens one per download" {
    sim_reset
    run kit io_async -q --repeat 250
    assert_success
    local total
    total="$(sim_stat connections_total)"
    # 500 downloads over the pool of 100 (a few more may be opened at
    # the end, when one site's downloads run out before the other's)
    [ "$total" -le 120 ] || fail "500 downloads opened $total connections"
    sim_reset
    run kit io_async -q --repeat 10 --no-session
    assert_success
    assert_equal "$(sim_stat connections_total)" 20
}

# graded: 1
@test "io_async: --trace has one row per download, all in flight at once" {
    local trace="$BATS_TEST_TMPDIR/t.csv"
    run kit io_async -q --trace "$trace"
    assert_success
    assert_equal "$(($(wc -l <"$trace") - 1))" 100
    # the worker column is the download's own index: 0..99, once each
    run bash -c "tail -n +2 '$trace' | awk -F, '\$1 == \$2' | cut -d, -f2 |
                 sort -n | uniq | wc -l"
    assert_output 100
    # the last download started before the first one ended
    run awk -F, 'NR > 1 { if ($4 > start) start = $4
                          if (end == "" || $5 < end) end = $5 }
                 END { exit !(start < end) }' "$trace"
    assert_success
}

# Task lab4.callbacks (io_async.c: on_socket_change, on_timer_change):
# libcurl tells the loop what to wait for, and the loop sleeps in epoll
# until it comes.
# Evidence: the thread's state in /proc while it runs (asleep in epoll,
# or running), and the simulator's in-flight peak.
# graded: 3 task:lab4.callbacks
@test "io_async: waits in the loop, not in a busy poll: asleep while downloads are in flight" {
    local urls=() i file peak
    for i in $(seq 40); do
        urls+=("$(sim_url /delay/400)")
    done
    file="$(sites_file slow.txt "${urls[@]}")"
    sim_reset
    kit_running io_async -q --sites "$file"
    assert_success
    assert_line --partial "Downloaded 40 of 40 sites,"
    peak="$(sim_stat requests_inflight_peak)"
    [ "${peak:-0}" -ge 20 ] ||
        fail "task lab4.callbacks: at most ${peak:-0} of 40 requests were in flight at once: are the transfers driven from the loop's callbacks?"
    [ "$RUNNING_SEEN" -ge 10 ] ||
        fail "io_async ended before its state could be seen ($RUNNING_SEEN looks)"
    # a loop that waits in epoll sleeps through the 400 ms; one that
    # polls libcurl again and again is always running (or waiting for a
    # CPU, on a busy machine: state R either way)
    [ $((RUNNING_R * 2)) -lt "$RUNNING_SEEN" ] ||
        fail "task lab4.callbacks: /proc saw io_async running in $RUNNING_R of $RUNNING_SEEN looks while its downloads waited on the network: does on_socket_change() watch each socket for just what libcurl asks, and on_timer_change() keep libcurl's deadline, so that run_loop() sleeps until something is ready?"
}
# SPDX-License-Identifier: MIT
