#!/usr/bin/env bats
# faults.bats -- every program keeps its word when it is interrupted or
# fed junk (the promise in common/interrupt.h, and the site-file rules of
# the I/O programs in common/sites.h): the kit-wide checks.
# The per-lab ones (io_threads at a low thread limit, io_fork and a
# process-group Ctrl-C) are in labs/lab3 and labs/lab5.

load lib/common
load lib/io

sim_for_file --latency 50 --jitter 0 --conn-delay 5

# The simulator's broken answers (scripts/sitesim/http_server.c), and the two
# redirects a local list must refuse.
FAULTS="fault/reset fault/close fault/short fault/stall fault/drip
fault/bigheader fault/badchunk redirect/offhost redirect/file"

@test "the fault matrix covers the four io_* programs at least" {
    run site_programs
    assert_success
    local program
    for program in io_sync io_threads io_async io_fork; do
        assert_line "$program"
    done
}

@test "every I/O program, each fault in a good list: one stderr line, the good ones done, exit 1, no hang past --timeout" {
    local program fault file seconds
    for program in $(site_programs); do
        for fault in $FAULTS; do
            file="$(sites_file "faults.txt" "$(sim_url /dice)" \
                "$(sim_url "/$fault")" "$(sim_url /jython https)" \
                "$(sim_url /dice)")"
            KIT_TIMEOUT=30 run --separate-stderr kit "$program" -q \
                --sites "$file" --timeout 1
            [ "$status" -eq 1 ] ||
                fail "$program /$fault: exit $status, not 1: $stderr"
            [ "${#stderr_lines[@]}" -eq 1 ] ||
                fail "$program /$fault: not one stderr line: $stderr"
            [[ "$stderr" == "$program: $(sim_url "/$fault"): "* ]] ||
                fail "$program /$fault: the line does not name it: $stderr"
            assert_line "Downloaded 3 of 4 sites, $((JYTHON_BYTES + 2 * DICE_BYTES)) bytes"
            # a 1 s timeout and three quick sites: a few seconds at most
            seconds="$(seconds_of "$output")"
            ratio_at_least 6 "$seconds" 1 ||
                fail "$program /$fault: $seconds s with --timeout 1"
        done
    done
}

@test "every I/O program: a bodiless answer and a hostile page are downloads like any other, nothing of them printed raw" {
    local program file control=$'[\x01-\x09\x0b-\x1f\x7f]'
    # 204 and an empty 200 carry 0 bytes; the hostile page's heading holds
    # a forged timer line and a terminal escape (scripts/sitesim/http_server.c)
    file="$(sites_file hostile.txt "$(sim_url /status/204)" \
        "$(sim_url '/page/2?empty=1')" "$(sim_url '/page/1?title=hostile')")"
    for program in $(site_programs); do
        run --separate-stderr kit "$program" --sites "$file"
        assert_success
        assert_line --regexp '^Downloaded 3 of 3 sites, [0-9]+ bytes$'
        assert_equal "$(grep -c '^Execution time' <<<"$output")" 1
        ! LC_ALL=C grep -q "$control" <<<"$output$stderr" ||
            fail "$program printed a control byte: $(cat -A <<<"$output")"
    done
}

@test "every I/O program: a refused redirect and a giant header are said as what they are" {
    local program file
    for program in $(site_programs); do
        file="$(sites_file off.txt "$(sim_url /redirect/offhost)")"
        run --separate-stderr kit "$program" --sites "$file"
        assert_equal "$status" 1
        stderr_has "redirect refused: 'http://127.0.0.2:"
        stderr_has "is not on 127.0.0.1"
        file="$(sites_file file.txt "$(sim_url /redirect/file)")"
        run --separate-stderr kit "$program" --sites "$file"
        assert_equal "$status" 1
        stderr_has "redirect refused: 'file:///etc/hostname' is not http or https"
        file="$(sites_file big.txt "$(sim_url /fault/bigheader)")"
        run --separate-stderr kit "$program" --sites "$file"
        assert_equal "$status" 1
        stderr_has "response header too large"
    done
}

@test "every I/O program: a local list never leaves 127.0.0.1, even by a redirect" {
    local program file listener seen="$BATS_TEST_TMPDIR/seen"
    file="$(sites_file off.txt "$(sim_url /redirect/offhost)")"
    for program in $(site_programs); do
        # a listener where the redirect points (127.0.0.2, the simulator's
        # port) notes any connection: none may come
        : >"$seen"
        timeout 30 perl -MIO::Socket::INET -e '
            my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.2",
                LocalPort => $ARGV[0], Listen => 5, ReuseAddr => 1)
                or die "cannot listen: $!\n";
            $| = 1; print "listening\n";
            while (my $c = $s->accept) { print "connected\n"; close $c }
        ' "$CONKIT_HTTP_PORT" >"$seen" 2>&1 3>&- &
        listener=$!
        wait_for 5 test -s "$seen" || true
        grep -q '^listening$' "$seen" ||
            skip "cannot listen on 127.0.0.2: $(cat "$seen")"
        run --separate-stderr kit "$program" --sites "$file" --timeout 5
        kill "$listener" 2>/dev/null || true
        wait "$listener" 2>/dev/null || true
        assert_equal "$status" 1
        ! grep -q '^connected$' "$seen" ||
            fail "$program connected to 127.0.0.2"
    done
}

@test "every I/O program: --timeout below 1 ms is a usage error, never 'no limit'" {
    local program file
    file="$(sites_file stall.txt "$(sim_url /fault/stall)")"
    for program in $(site_programs); do
        KIT_TIMEOUT=10 assert_usage_error "$program" --sites "$file" \
            --timeout 0.0009
        stderr_has "--timeout must be 0 (none) or at least 0.001 seconds: '0.0009'"
        # the smallest accepted one is a real limit: 1 ms, not 0
        KIT_TIMEOUT=10 run --separate-stderr kit "$program" --sites "$file" \
            --timeout 0.001
        assert_equal "$status" 1
        stderr_has "Timeout was reached"
    done
}

@test "every I/O program: /dev/zero and NUL bytes are usage errors naming file and line" {
    local program file
    for program in $(site_programs); do
        # an endless file of NULs: once read as blank lines, forever
        KIT_TIMEOUT=10 assert_usage_error "$program" --sites /dev/zero
        stderr_has "/dev/zero:1: a NUL byte"
        # a NUL inside a comment used to hide the rest of the line
        file="$BATS_TEST_TMPDIR/nul.txt"
        { printf '# a comment\0'; head -c 4000 /dev/zero | tr '\0' x
          printf '\n%s\n' "$(sim_url /dice)"; } >"$file"
        KIT_TIMEOUT=10 assert_usage_error "$program" --sites "$file"
        stderr_has "nul.txt:1: a NUL byte"
        # ... and cut a URL short: .../di\0ce fetched /di
        printf '%s\n%s\0ce\n' "$(sim_url /dice)" "$(sim_url /di)" >"$file"
        KIT_TIMEOUT=10 assert_usage_error "$program" --sites "$file"
        stderr_has "nul.txt:2: a NUL byte"
        # any other control byte: not a text file either
        printf '%s\n\001\n' "$(sim_url /dice)" >"$file"
        KIT_TIMEOUT=10 assert_usage_error "$program" --sites "$file"
        stderr_has "nul.txt:2: control character 0x01"
    done
}

@test "every I/O program: a file that never ends stops at a line limit" {
    local program
    for program in $(site_programs); do
        KIT_TIMEOUT=30 assert_usage_error "$program" \
            --sites <(yes "$(sim_url /dice)")
        stderr_has ":100001: too many lines (at most 100000)"
    done
}

@test "every I/O program: a UTF-8 byte order mark and CRLF line ends are accepted" {
    local program file="$BATS_TEST_TMPDIR/editor.txt"
    printf '\357\273\277# saved by an editor\r\n%s\r\n%s\r\n' \
        "$(sim_url /dice)" "$(sim_url /jython https)" >"$file"
    for program in $(site_programs); do
        run --separate-stderr kit "$program" --sites "$file"
        assert_success
        assert_line "Downloaded 2 of 2 sites, $((DICE_BYTES + JYTHON_BYTES)) bytes"
        assert_equal "$stderr" ""
    done
}

@test "every I/O program: --repeat x lines is capped with a clear error" {
    local program
    for program in $(site_programs); do
        # the local list has 2 sites: 2,000,000 downloads
        KIT_TIMEOUT=10 assert_usage_error "$program" --repeat 1000000
        stderr_has "--repeat 1000000 times 2 sites is more than 1000000 downloads"
    done
}

# ====== Interrupted ======

@test "every I/O program: a CONKIT_CA naming a missing file is one line naming both, exit 2" {
    local program missing="$BATS_TEST_TMPDIR/no-such-ca.pem"
    while read -r program; do
        CONKIT_CA="$missing" run --separate-stderr kit "$program" -q
        assert_equal "$status" 2
        assert_equal "$stderr" \
            "$program: CONKIT_CA names '$missing': No such file or directory"
        assert_equal "$output" ""
    done < <(kit_io_programs)
}

@test "io_fork and cpu_fork: when no worker can start, one line, and the run still ends with its timer line, exit 1" {
    local file
    file="$(starved_sites 4)"
    run_starved 0 io_fork -q --sites "$file"
    assert_equal "$status" 1
    assert_equal "$stderr" "io_fork: cannot start ForkProcess-1: Resource temporarily unavailable: no worker, none of 4 downloads done"
    assert_line "Downloaded 0 of 4 sites, 0 bytes"
    [[ "${lines[-1]}" =~ ^Execution\ time:\ [0-9]+\.[0-9]{2}s$ ]] ||
        fail "last line is not the timer line: ${lines[-1]:-}"
    rm -rf "$(dirname "$file")"
    run_starved 0 cpu_fork --n 20 --jobs 4
    assert_equal "$status" 1
    assert_equal "$stderr" "cpu_fork: fork: Resource temporarily unavailable: no worker, none of 4 jobs run"
    refute_line --partial "results="       # no result of a job never run
    [[ "${lines[-1]}" =~ ^Execution\ time:\ [0-9]+\.[0-9]{2}s$ ]] ||
        fail "last line is not the timer line: ${lines[-1]:-}"
}

# A run of each program long enough to interrupt, how many trace rows it
# has in all, and when to signal it (as interrupt_run's WHEN: `line` once
# its first line of output is out, `start` once its handlers are in place,
# for a program that prints nothing while it works): "PROGRAM ROWS WHEN
# ARGS...", the `long` lines of labs/labN/runs.  Each lasts 10 s or more
# on an idle machine: a run that could end first (race_condition with its
# threads one after another took 3.3 s) makes the check fail for the
# wrong reason.  Every program of the kit has one (checked below), so a
# new program joins these checks.
long_runs() {
    lab_runs long
}

@test "every program has a long run for the interrupt checks" {
    local program
    for program in $(kit_programs); do
        long_runs | grep -q "^$program " ||
            fail "$program has no long line in its labs/labN/runs"
    done
}

# interrupt_long_run SIGNAL PROGRAM ROWS WHEN ARGS...: start a long run in
# its own process group, wait for WHEN (as in long_runs), send SIGNAL
# to the program alone, and check the contract: exit 128 + signal number
# within seconds, the summary and the timer line, a complete trace (one
# row per unit of work: finished ones plus `cancelled` ones), every
# finished download's row kept, no process of its group left.
interrupt_long_run() {
    local signal="$1" program="$2" rows="$3" when="$4"
    shift 4
    local out="$BATS_TEST_TMPDIR/$program.out" err="$BATS_TEST_TMPDIR/$program.err"
    local trace="$BATS_TEST_TMPDIR/$program.trace.csv" pid status=0 waited
    local file=""
    [ "$when" != line ] || file="$out"
    rm -f "$out" "$err" "$trace"
    setsid "$KIT_BIN/$program" "$@" --trace "$trace" >"$out" 2>"$err" 3>&- &
    pid=$!
    # its handler in place (a background job starts with SIGINT ignored
    # until then) and, for `line`, its first result out
    wait_started "$pid" $file
    kill -"$signal" "$pid" || fail "$program ended before the signal"
    timeout 15 tail --pid="$pid" -f /dev/null || kill -9 -- "-$pid"
    wait "$pid" || status=$?
    local want=130
    [ "$signal" = TERM ] && want=143
    [ "$status" -eq "$want" ] ||
        fail "$program: exit $status, not $want: $(cat "$err")"
    [ -z "$(pgrep -g "$pid")" ] ||
        fail "$program: processes left: $(pgrep -g "$pid" | paste -sd' ')"
    # the summary says the run was cut short
    cat "$out" "$err" | grep -qE 'interrupted|cancelled' ||
        fail "$program: no summary of what was done: $(cat "$err")"
    [[ "$(tail -n 1 "$out")" =~ ^Execution\ time:\ [0-9]+\.[0-9]{2}s$ ]] ||
        fail "$program: last line is not the timer: $(tail -n 1 "$out")"
    [ "$(head -n 1 "$trace")" = "id,worker,label,start_us,end_us,status" ] ||
        fail "$program: no trace header"
    # one row per unit of work, each id once, each with a status
    local got unique
    got="$(tail -n +2 "$trace" | wc -l)"
    unique="$(tail -n +2 "$trace" | cut -d, -f1 | sort -u | wc -l)"
    [ "$unique" -eq "$got" ] || fail "$program: trace ids repeat"
    [ "$got" -eq "$rows" ] ||
        fail "$program: $got trace rows, not $rows"
    local cancelled
    cancelled="$(grep -c ',cancelled$' "$trace" || true)"
    [ "$cancelled" -ge 1 ] || fail "$program: no cancelled row"
    # every download printed as done has its `ok` row (a download's
    # label is its URL; mixed's hash rows are not downloads)
    local read ok
    read="$(grep -c 'Read [0-9]* bytes from ' "$out" || true)"
    ok="$(grep -cE ',https?://[^,]*,[0-9]+,[0-9]+,ok$' "$trace" || true)"
    if [ "$read" -gt 0 ]; then
        [ "$read" -eq "$ok" ] ||
            fail "$program: $read downloads printed, $ok ok rows"
    fi
}

@test "every program: SIGINT mid-run: exit 130, the summary, a complete trace, no process left" {
    local program rows when args
    while read -r program rows when args; do
        # shellcheck disable=SC2086
        interrupt_long_run INT "$program" "$rows" "$when" $args
    done < <(long_runs)
}

@test "every program: SIGTERM mid-run: exit 143, the summary, a complete trace, no process left" {
    local program rows when args
    while read -r program rows when args; do
        # shellcheck disable=SC2086
        interrupt_long_run TERM "$program" "$rows" "$when" $args
    done < <(long_runs)
}

# stalled_only: wait (30 s at most) until the simulator's log shows a
# /fault/stall request in flight and nothing else in flight: the program
# under test is stuck on stalls alone.
stalled_only() {
    wait_for 30 stalls_alone
}

# stalls_alone: stalled_only's event, seen once.
stalls_alone() {
    timeout 10 curl -sf "$(sim_url /stats/log)" | awk '
        $2 == -1 { if ($5 ~ /\/fault\/stall$/) stall++; else other++ }
        END { exit !(stall > 0 && other == 0) }' || return 1
}

# bats test_tags=serial
@test "every I/O program: a stalled download is abandoned within a second of SIGINT" {
    local program file pid status started ended
    file="$(sites_file stall.txt "$(sim_url /dice)" "$(sim_url /fault/stall)")"
    for program in $(site_programs); do
        sim_reset
        "$KIT_BIN/$program" --sites "$file" --repeat 4 \
            >"$BATS_TEST_TMPDIR/out" 2>&1 3>&- &
        pid=$!
        wait_started "$pid"
        stalled_only || fail "$program never got stuck on /fault/stall"
        started="$(date +%s%N)"
        kill -INT "$pid"
        timeout 15 tail --pid="$pid" -f /dev/null || kill -9 "$pid"
        ended="$(date +%s%N)"
        status=0
        wait "$pid" || status=$?
        assert_equal "$status" 130
        # "within a second": libcurl calls back about once a second while
        # it waits; 3 s leaves room for a loaded machine
        [ $(((ended - started) / 1000000)) -lt 3000 ] ||
            fail "$program took $(((ended - started) / 1000000)) ms to stop"
    done
}
# SPDX-License-Identifier: MIT
