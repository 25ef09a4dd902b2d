#!/usr/bin/env bats
# lab2.bats -- checks for io_sync: one thread, one reused session.

load ../../scripts/checks/lib/lab

# small latency keeps the checks quick; the connection delay makes a
# new connection cost something, as on a real network
sim_for_file --latency 10 --jitter 0 --conn-delay 50

# graded: 2
@test "io_sync: every download of the default list succeeds with the right byte counts" {
    assert_default_downloads io_sync
}

# graded: 1
@test "io_sync: --quiet prints only the summary and the timer line" {
    run --separate-stderr kit io_sync -q --repeat 5
    assert_success
    assert_equal "${#lines[@]}" 2
    assert_line --index 0 "Downloaded 10 of 10 sites, $((5 * JYTHON_BYTES + 5 * DICE_BYTES)) bytes"
}

# graded: 1
@test "io_sync: --help lists every option and exits 0" {
    run kit io_sync --help
    assert_success
    for option in --sites --repeat --timeout --no-session --trace --quiet; do
        assert_output --partial -- "$option"
    done
}

# graded: 1
@test "io_sync: bad usage prints one line and exits 2" {
    assert_common_usage_errors io_sync
    assert_usage_error io_sync --timeout -1
}

# graded: 2
@test "io_sync: a failing site is reported and counted, the rest complete" {
    assert_failed_site_counted io_sync
}

# graded: 1
@test "io_sync: without the simulator, one line says how to start it" {
    assert_no_simulator_message io_sync
}

# graded: 2
@test "io_sync: TLS is verified against the lab CA" {
    assert_lab_ca_required io_sync
}

# Task lab2.session (labs/lab2/io_sync.c, download_all_sites): one
# handle made once and reused.  Evidence: the simulator's connection
# counts for this run, which io_sync cannot print or reset.
# graded: 2 task:lab2.session
@test "io_sync: the session opens one connection per host" {
    local connections
    sim_reset
    run kit io_sync -q --repeat 10
    assert_success
    assert_equal "$(sim_downloads /jython /dice)" 20
    connections="$(sim_stat connections_total)"
    [ "${connections:-0}" -le 2 ] ||
        fail "task lab2.session: the simulator saw $connections connections for 20 downloads from 2 hosts: is one handle made once, before the loop, and used for every download?"
    assert_equal "$(sim_stat http_connections_total)" 1
    assert_equal "$(sim_stat https_connections_total)" 1
}

# graded: 1
@test "io_sync: --no-session opens one connection per download" {
    sim_reset
    run kit io_sync -q --repeat 10 --no-session
    assert_success
    assert_equal "$(sim_downloads /jython /dice)" 20
    assert_equal "$(sim_stat connections_total)" 20
}

# graded: 3 retry task:lab2.session
# bats test_tags=serial
@test "io_sync: --no-session is slower when connecting costs time" {
    local with_session
    run kit io_sync -q --repeat 10
    assert_success
    with_session="$(kit_wall)"
    run kit io_sync -q --repeat 10 --no-session
    assert_success
    # 20 x (10 ms + 50 ms connecting) against 20 x 10 ms + 2 x 50 ms, as
    # this check timed them (never the programs' own lines)
    ratio_at_least "$(kit_wall)" "$with_session" 1.5 ||
        fail "task lab2.session: with the session io_sync took ${with_session} s, without it $(kit_wall) s: does every download after a host's first reuse the open connection?"
}

# graded: 1
@test "io_sync: redirects are followed" {
    file="$(sites_file redirect.txt "$(sim_url /redirect)")"
    run --separate-stderr kit io_sync --sites "$file"
    assert_success
    assert_line "Read $DICE_BYTES bytes from $(sim_url /redirect)"
}

# graded: 1
@test "io_sync: --trace writes one row per download" {
    run kit io_sync -q --repeat 3 --trace "$BATS_TEST_TMPDIR/t.csv"
    assert_success
    run cat "$BATS_TEST_TMPDIR/t.csv"
    assert_line --index 0 "id,worker,label,start_us,end_us,status"
    assert_equal "${#lines[@]}" 7
    # one worker, ids 0..5, every row ok, end after start
    run awk -F, 'NR > 1 && ($2 != 0 || $6 != "ok" || $5 < $4) { bad++ }
                 END { exit bad > 0 }' "$BATS_TEST_TMPDIR/t.csv"
    assert_success
}

@test "io_sync: an open-file limit too low for one download is one clear line, no download tried" {
    # 8 descriptors: stdio, the interrupt pipe, then no room for the
    # session's sockets; the old code tried anyway and failed about half
    # the downloads with "Couldn't connect"
    run --separate-stderr kit_limited 60 bash -c \
        'ulimit -n 8 && exec "$0" -q' "$KIT_BIN/io_sync"
    assert_equal "$status" 1
    [ "${#stderr_lines[@]}" -eq 1 ] || fail "not one line: $stderr"
    [[ "$stderr" =~ ^io_sync:\ the\ open-file\ limit\ is\ too\ low\ \(ulimit\ -Hn\ 8\):\ it\ needs\ [0-9]+\ files\ at\ least ]] ||
        fail "$stderr"
    assert_equal "$output" ""
}
# SPDX-License-Identifier: MIT
