#!/usr/bin/env bats
# python.slow.bats -- make compare's table comes from runs made just now,
# and its Python rows show the lessons: no speed-up from threads on CPU
# work (the GIL), one on downloads.  Slow tier (make test-slow, CI): one
# compare run takes half a minute with the machine to itself.  The Python
# twins' own contract is python.bats, in make test.

load lib/common

setup() {
    need_python
}

# compare_once: run make compare's script once for the checks below
# (its own simulator, its own folder), keeping its runs.  They are tagged
# serial: compare measures times and CPU seconds, so it runs with the
# machine to itself (scripts/run-checks' second phase), once.
compare_once() {
    local keep="$BATS_FILE_TMPDIR/compare"
    if [ ! -s "$BATS_FILE_TMPDIR/compare.txt" ]; then
        timeout -k 5 300 nice "$KIT/scripts/compare" \
            --out "$BATS_FILE_TMPDIR/report.html" --keep "$keep" \
            >"$BATS_FILE_TMPDIR/compare.txt" 2>&1 ||
            fail "compare failed: $(cat "$BATS_FILE_TMPDIR/compare.txt")"
    fi
    COMPARE="$(cat "$BATS_FILE_TMPDIR/compare.txt")"
}

# compare_cell PROGRAM LANG COLUMN: one cell of compare's printed tables
# (COLUMN counts from 1 after the language: 1 is "work s").
compare_cell() {
    awk -v p="$1" -v l="$2" -v c="$3" '
        /^[a-z]/ && $1 == p && $2 == l && NF >= 14 { print $(2 + c); exit }
    ' <<<"$COMPARE"
}

# bats test_tags=serial
@test "compare: C and Python rows for every twin, and every download row was served by compare's own simulator just now" {
    compare_once
    local program lang
    for program in io_sync io_threads io_async io_fork cpu_sync \
        cpu_threads cpu_async cpu_fork; do
        for lang in C Python; do
            [ -n "$(compare_cell "$program" "$lang" 1)" ] ||
                fail "no $lang row for $program: $COMPARE"
        done
    done
    # the requests column: counted by the simulator after a reset before
    # each run -- 20 downloads each, so the rows are this run's
    for program in io_sync io_threads io_async io_fork; do
        for lang in C Python; do
            assert_equal "$(compare_cell "$program" "$lang" 10)" 20
        done
    done
    # and the traces of those runs are in compare's folder: 20 rows each
    [ "$(($(wc -l <"$BATS_FILE_TMPDIR/compare/io_threads.py.csv") - 1))" \
        -eq 20 ] || fail "io_threads.py's trace is not 20 rows"
    grep -q 'compare: begin' "$BATS_FILE_TMPDIR/report.html" ||
        fail "no compare section in the report"
    [ "$(grep -c '<svg' "$BATS_FILE_TMPDIR/report.html")" -ge 4 ] ||
        fail "fewer than two pairs of timing diagrams"
    grep -q '^- Python threads on CPU work:' <<<"$COMPARE" ||
        fail "no lesson drawn: $COMPARE"
}

# bats test_tags=serial
@test "compare: Python threads never keep more than one core busy on CPU work (the GIL), and overlap the downloads" {
    compare_once
    local cores overlap
    # CPU s / wall s of the run, as the kernel counted them: whatever the
    # machine's load, the GIL lets one thread compute at a time
    cores="$(compare_cell cpu_threads Python 5)"
    awk -v c="$cores" 'BEGIN { exit !(c <= 1.1) }' ||
        fail "cpu_threads.py kept $cores cores busy: more than the GIL allows"
    # the downloads in flight at once, from io_threads.py's own trace
    overlap="$(compare_cell io_threads Python 6)"
    [ "$overlap" -ge 4 ] ||
        fail "io_threads.py had at most $overlap downloads at once (5 threads)"
}

# bats test_tags=serial
@test "compare (timing): Python threads give no speed-up on CPU work, and one on downloads" {
    compare_once
    local program cpu io wall wait
    # a speed-up is a ratio of wall times: it means something only when
    # the runs got the CPUs they asked for.  Each run's time spent waiting
    # for a CPU (the machine's other work) is in the CPU wait column.
    for program in cpu_sync cpu_threads io_sync io_threads; do
        wall="$(compare_cell "$program" Python 3)"
        wait="$(compare_cell "$program" Python 12)"
        if awk -v w="$wait" -v t="$wall" 'BEGIN { exit !(w > 0.2 * t) }'
        then
            skip "the machine is too busy to time: $program.py waited $wait s of its $wall s for a CPU"
        fi
    done
    cpu="$(compare_cell cpu_threads Python 2)"
    io="$(compare_cell io_threads Python 2)"
    # speed-ups against Python's own sync run, measured in the same run:
    # the GIL keeps CPU work on one core; downloads overlap
    awk -v s="${cpu%x}" 'BEGIN { exit !(s < 1.3) }' ||
        fail "Python cpu_threads: ${cpu} against cpu_sync.py (the GIL " \
             "should keep it near 1x)"
    awk -v s="${io%x}" 'BEGIN { exit !(s > 2) }' ||
        fail "Python io_threads: ${io} against io_sync.py (5 threads " \
             "should overlap the waits)"
}
# SPDX-License-Identifier: MIT
