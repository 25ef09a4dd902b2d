#!/usr/bin/env bats
# lab9.bats -- checks for the scrapers: results in input order though
# finished out of order, futures, gather, collect-all vs fail-fast.

load ../../scripts/checks/lib/lab

# 50 ms +- 20 ms per page: pages finish in a shuffled order, and
# twenty of them one after another take about a second
sim_for_file --latency 50 --jitter 20 --conn-delay 20

# The elements, 1..118, as the kit knows them -- written out here, not
# read from the simulator or from a program's output.
ELEMENTS=(Hydrogen Helium Lithium Beryllium Boron Carbon Nitrogen Oxygen
    Fluorine Neon Sodium Magnesium Aluminium Silicon Phosphorus Sulfur
    Chlorine Argon Potassium Calcium Scandium Titanium Vanadium Chromium
    Manganese Iron Cobalt Nickel Copper Zinc Gallium Germanium Arsenic
    Selenium Bromine Krypton Rubidium Strontium Yttrium Zirconium Niobium
    Molybdenum Technetium Ruthenium Rhodium Palladium Silver Cadmium Indium
    Tin Antimony Tellurium Iodine Xenon Caesium Barium Lanthanum Cerium
    Praseodymium Neodymium Promethium Samarium Europium Gadolinium Terbium
    Dysprosium Holmium Erbium Thulium Ytterbium Lutetium Hafnium Tantalum
    Tungsten Rhenium Osmium Iridium Platinum Gold Mercury Thallium Lead
    Bismuth Polonium Astatine Radon Francium Radium Actinium Thorium
    Protactinium Uranium Neptunium Plutonium Americium Curium Berkelium
    Californium Einsteinium Fermium Mendelevium Nobelium Lawrencium
    Rutherfordium Dubnium Seaborgium Bohrium Hassium Meitnerium
    Darmstadtium Roentgenium Copernicium Nihonium Flerovium Moscovium
    Livermorium Tennessine Oganesson)

SCRAPERS=(scrape_sync scrape_threads scrape_async)

# expected_results N [FAIL_PAGE]: the results= line for pages 1..N, page
# FAIL_PAGE an HTTP 503 error value
expected_results() {
    local n="$1" fail="${2:-0}" i line="results=["
    for ((i = 1; i <= n; i++)); do
        [ "$i" -eq 1 ] || line+=", "
        if [ "$i" -eq "$fail" ]; then
            line+="($i, error('HTTP 503'))"
        else
            line+="($i, '${ELEMENTS[i - 1]}')"
        fi
    done
    echo "$line]"
}

# trace_order FILE: the page numbers of the ok rows, in end-time order
trace_order() {
    tail -n +2 "$1" | sort -t, -k5,5n | awk -F, '$6 == "ok" { print $1 }' |
        paste -sd' '
}

# graded: 3
@test "scrape_*: the twenty names, right and in input order, identical across the three (graded)" {
    local program
    for program in "${SCRAPERS[@]}"; do
        run --separate-stderr kit "$program"
        assert_success
        assert_equal "$stderr" ""
        assert_line "$(expected_results 20)"
        assert_line "Retrieved 20 of 20 pages, 0 failed, 0 cancelled"
        assert_line "Downloading 07..."
        assert_line "Retrieved 07=Nitrogen"
        [[ "${lines[-1]}" =~ ^Execution\ time:\ [0-9]+\.[0-9]{2}s$ ]] ||
            fail "$program: the last line is not the timer: ${lines[-1]}"
        # one Downloading and one Retrieved line per page
        assert_equal "$(grep -c '^Downloading [0-9][0-9]\.\.\.$' <<<"$output")" 20
        assert_equal "$(grep -c '^Retrieved [0-9][0-9]=' <<<"$output")" 20
    done
}

# graded: 1 runs:scrape_async
@test "scrape_async: all 118 pages carry the kit's element names" {
    run --separate-stderr kit scrape_async -q --pages 118
    assert_success
    assert_line "$(expected_results 118)"
}

# graded: 1 runs:scrape_sync
@test "scrape_sync: pages start and end strictly one after another, in order" {
    run kit scrape_sync --pages 5
    assert_success
    local expected="" i
    for i in 1 2 3 4 5; do
        expected+="Downloading 0$i... Retrieved 0$i=${ELEMENTS[i - 1]} "
    done
    assert_equal "$(head -n 10 <<<"$output" | paste -sd' ') " "$expected"
}

# graded: 2 retry runs:scrape_async,scrape_threads
@test "scrape_threads and scrape_async: the trace shows pages finishing out of input order (graded)" {
    local program trace="$BATS_TEST_TMPDIR/t.csv" inorder tries order
    inorder="$(seq 1 20 | paste -sd' ')"
    for program in scrape_threads scrape_async; do
        # jitter makes the same order twice in a row unlikely; three
        # runs all in input order would be a bug
        for tries in 1 2 3; do
            rm -f "$trace"
            run kit "$program" -q --trace "$trace"
            assert_success
            assert_line "$(expected_results 20)"
            assert_equal "$(($(wc -l <"$trace") - 1))" 20
            order="$(trace_order "$trace")"
            [ "$order" = "$inorder" ] || break
        done
        [ "$order" != "$inorder" ] ||
            fail "$program: pages finished in input order three times"
    done
}

# graded: 2
@test "scrape_*: one failing page is exactly one error value at its index, the rest complete, exit 1 (graded)" {
    local program
    for program in "${SCRAPERS[@]}"; do
        run --separate-stderr kit "$program" --fail 7
        assert_equal "$status" 1
        assert_line "$(expected_results 20 7)"
        assert_line "Retrieved 19 of 20 pages, 1 failed, 0 cancelled"
        assert_line "Failed 07: HTTP 503"
        assert_equal "$stderr" \
            "$program: $(sim_url '/page/7?fail=503'): HTTP 503"
    done
}

# graded: 2
@test "scrape_*: a page that answers 204, 304 or an empty 200 is a failed page, said alike by all three, never the page before it (graded)" {
    local program how code session base
    for how in fail=204 fail=304 empty=1; do
        code="${how#fail=}"
        [ "$how" != empty=1 ] || code=200
        # page 2 alone answers with no body; page 1 before it is a page
        base="$(sim_url "/on/2/$how")"
        for program in "${SCRAPERS[@]}"; do
            for session in "" --no-session; do
                # shellcheck disable=SC2086
                run --separate-stderr kit "$program" --pages 3 $session \
                    --base "$base"
                assert_equal "$status" 1
                assert_line "Retrieved 01=Hydrogen"
                assert_line "Failed 02: empty answer (HTTP $code)"
                assert_line "Retrieved 03=Lithium"
                assert_line "Retrieved 2 of 3 pages, 1 failed, 0 cancelled"
                assert_line "results=[(1, 'Hydrogen'), (2, error('empty answer (HTTP $code)')), (3, 'Lithium')]"
                assert_equal "$stderr" \
                    "$program: $base/page/2: empty answer (HTTP $code)"
            done
        done
    done
}

# graded: 2
@test "scrape_*: an <h1> with control bytes, quotes and 300 characters is printed escaped, cut visibly, and results= still parses (graded)" {
    local program start tail shown quoted control
    # the simulator's hostile heading (scripts/sitesim/http.c), escaped:
    # 104 bytes, then x up to 300 bytes; the first 200 are kept
    start='Mallory\nExecution time: 9.99s\r\x1b]0;owned\x07 it'\''s a "name" with a back\\slash and a DEL \x7f, then a long tail: '
    tail="$(printf 'x%.0s' {1..96})... (300 bytes in all)"
    shown="${start}${tail}"
    # as Python's repr() quotes it: both quotes inside, so '...' and \'
    quoted="'${start//\'/\\\'}${tail}'"
    control=$'[\x01-\x09\x0b-\x1f\x7f]'
    for program in "${SCRAPERS[@]}"; do
        run --separate-stderr kit "$program" --pages 3 \
            --base "$(sim_url /on/2/title=hostile)"
        assert_success
        assert_equal "$stderr" ""
        assert_line "Retrieved 02=$shown"
        assert_line "results=[(1, 'Hydrogen'), (2, $quoted), (3, 'Lithium')]"
        # nothing the server sent reaches the terminal as it is: one
        # timer line, the last, and no control byte but the line ends
        assert_equal "$(grep -c '^Execution time' <<<"$output")" 1
        [[ "${lines[-1]}" =~ ^Execution\ time:\ [0-9]+\.[0-9]{2}s$ ]] ||
            fail "$program: the last line is not the timer: ${lines[-1]}"
        ! LC_ALL=C grep -q "$control" <<<"$output" ||
            fail "$program printed a control byte: $(cat -A <<<"$output")"
    done
}

# bats test_tags=serial
@test "scrape_threads: when no worker thread can start, it says so once, fetches the pages itself and ends with the timer line" {
    run_starved 0 scrape_threads --pages 3 --workers 4
    assert_success
    assert_equal "${#stderr_lines[@]}" 1
    [[ "$stderr" == "scrape_threads: cannot start worker 1 of 4: "* ]] ||
        fail "$stderr"
    assert_line "$(expected_results 3)"
    [[ "${lines[-1]}" =~ ^Execution\ time:\ [0-9]+\.[0-9]{2}s$ ]] ||
        fail "the last line is not the timer: ${lines[-1]}"
}

# fail_fast_check PROGRAM OPTIONS...: run with --fail 3 --fail-fast and
# check the report: exit 1, page 3 an error, every other page a name or
# cancelled(), each cancelled page said, at least one cancelled
fail_fast_check() {
    local program="$1" try
    shift
    # With every page on the wire at once and a jittered latency, page 3
    # is the last to come back in about one run in twenty: then nothing
    # is left to cancel, rightly.  Up to three runs (the simulator's
    # counts reset before each), until one has pages to cancel.
    for try in 1 2 3; do
        sim_reset
        run --separate-stderr kit "$program" --fail 3 --fail-fast "$@" \
            --trace "$BATS_TEST_TMPDIR/ff.csv"
        [[ "$output" != *"cancelled()"* ]] || break
    done
    assert_equal "$status" 1
    local results cancelled i
    results="$(grep '^results=' <<<"$output")"
    [[ "$results" == *"(3, error('HTTP 503'))"* ]] || fail "$results"
    for ((i = 1; i <= 20; i++)); do
        [ "$i" -eq 3 ] && continue
        [[ "$results" == *"($i, '${ELEMENTS[i - 1]}')"* ||
           "$results" == *"($i, cancelled())"* ]] ||
            fail "page $i is neither its name nor cancelled: $results"
    done
    cancelled="$(grep -o 'cancelled()' <<<"$results" | wc -l)"
    [ "$cancelled" -ge 1 ] || fail "nothing was cancelled: $results"
    assert_equal "$(grep -c '^Cancelled [0-9][0-9]$' <<<"$output")" \
        "$cancelled"
    assert_equal "$(grep -c ',cancelled$' "$BATS_TEST_TMPDIR/ff.csv")" \
        "$cancelled"
    assert_line --regexp "^Retrieved [0-9]+ of 20 pages, 1 failed, $cancelled cancelled$"
}

# graded: 3 runs:scrape_async
@test "scrape_async --fail-fast: the failure cancels the rest mid-flight; no page request arrives after it (graded)" {
    # every page is on the wire at once; the failure drops the others
    fail_fast_check scrape_async
    local log failed_done late
    log="$(timeout 10 curl -sf "$(sim_stats_url /log)")"
    failed_done="$(awk '$5 == "/page/3?fail=503" { print $2 }' <<<"$log")"
    [ -n "$failed_done" ] || fail "the simulator never saw page 3: $log"
    late="$(awk -v t="$failed_done" \
        '$5 ~ /^\/page\// && $1 > t' <<<"$log")"
    assert_equal "$late" ""
}

# Task lab9.failfast (scrape_threads.c, download_page): the first failure
# cancels the queued futures.  Evidence: the pages the simulator was
# asked for.
# graded: 3 task:lab9.failfast runs:scrape_threads
@test "scrape_threads --fail-fast: queued pages are cancelled, none is started after the failure (graded)" {
    local trace="$BATS_TEST_TMPDIR/ff.csv" failed_end late requested ran
    sim_reset
    # two workers, twenty pages: most are still queued when page 3 fails
    run --separate-stderr kit scrape_threads --workers 2 --fail-fast \
        --pages 20 --fail 3 -q
    requested="$(timeout 10 curl -sf "$(sim_stats_url /log)" |
        grep -c ' /page/')"
    [ "$requested" -le 6 ] ||
        fail "task lab9.failfast: page 3 failed, and the simulator was still asked for $requested of 20 pages: does a failed page cancel every future still queued?"
    sim_reset
    fail_fast_check scrape_threads --workers 2
    # on the program's own clock: no page started after the failure was
    # seen (a page already running on the other worker may finish)
    failed_end="$(awk -F, '$6 == "failed" { print $5 }' "$trace")"
    late="$(awk -F, -v t="$failed_end" \
        'NR > 1 && $6 != "cancelled" && $4 > t' "$trace")"
    assert_equal "$late" ""
    # and on the simulator's: it was asked for exactly the pages that ran
    requested="$(timeout 10 curl -sf "$(sim_stats_url /log)" |
        grep -c ' /page/')"
    ran="$(tail -n +2 "$trace" | grep -vc ',cancelled$')"
    assert_equal "$requested" "$ran"
}

# graded: 2 task:lab9.failfast runs:scrape_threads
@test "scrape_threads --fail-fast: a started page cannot be cancelled and keeps its result, a queued one is cancelled (graded)" {
    local trace="$BATS_TEST_TMPDIR/ff.csv" failed_end running page i
    # three workers: when page 3 fails, the two others are in the middle
    # of a page (a page takes 30..70 ms, taking the next a few us)
    fail_fast_check scrape_threads --workers 3
    failed_end="$(awk -F, '$6 == "failed" { print $5 }' "$trace")"
    # pages started before the failure ended and still running after it:
    # their futures were running, so cancelling must have left them be
    running="$(awk -F, -v t="$failed_end" \
        'NR > 1 && $1 != 3 && $4 < t && $5 > t { print $1 }' "$trace")"
    [ -n "$running" ] ||
        fail "no page was running when page 3 failed: $(cat "$trace")"
    for page in $running; do
        grep -q "^$page,[0-9]*,.*,ok\$" "$trace" ||
            fail "page $page was running at the failure and was not ok"
        printf -v i '%02d' "$page"
        assert_line "Retrieved $i=${ELEMENTS[page - 1]}"
        assert_line --partial "($page, '${ELEMENTS[page - 1]}')"
    done
    # every page that started ended with its own result, never cancelled:
    # a cancelled page is one that never began
    for i in $(sed -n 's/^Downloading \([0-9][0-9]\)\.\.\.$/\1/p' \
                   <<<"$output"); do
        refute_line "Cancelled $i"
    done
}

# Task lab9.gather (scrape_threads.c, future_result): main gathers the
# pages in input order, asleep until each future settles.  Evidence: the
# main thread's state in /proc while the pages are in flight.
# graded: 3 task:lab9.gather runs:scrape_threads
@test "scrape_threads: waits for its futures asleep, not polling (the main thread sleeps while pages are in flight)" {
    kit_running scrape_threads --pages 40 --workers 4 -q
    assert_success
    assert_output --partial "results=[(1, 'Hydrogen'), (2, 'Helium'),"
    [ "$RUNNING_SEEN" -ge 10 ] ||
        fail "scrape_threads ended before its state could be seen ($RUNNING_SEEN looks)"
    [ $((RUNNING_R * 2)) -lt "$RUNNING_SEEN" ] ||
        fail "task lab9.gather: /proc saw the main thread of scrape_threads running in $RUNNING_R of $RUNNING_SEEN looks while its pages waited on the network: does future_result() sleep on the future's condition variable (pthread_cond_wait) until a worker settles it?"
}

# graded: 3 retry
# bats test_tags=serial
@test "scrape_threads and scrape_async: at least 3x faster than scrape_sync (graded)" {
    local sync threads async
    # the baseline: the reference scrape_sync (graded: the grader's build)
    run kit_ref scrape_sync -q
    assert_success
    # the wall times this check measured, never the printed timer
    sync="$(kit_wall)"
    run kit scrape_threads -q
    assert_success
    threads="$(kit_wall)"
    run kit scrape_async -q
    assert_success
    async="$(kit_wall)"
    ratio_at_least "$sync" "$threads" 3
    ratio_at_least "$sync" "$async" 3
}

# graded: 1 runs:scrape_async,scrape_threads
@test "scrape_threads and scrape_async: a session reuses connections, --no-session opens one per page" {
    local program
    for program in scrape_threads scrape_async; do
        sim_reset
        run kit "$program" -q --no-session
        assert_success
        assert_equal "$(sim_stat connections_total)" 20
    done
    sim_reset
    run kit scrape_threads -q --workers 2
    assert_success
    # one connection per worker, kept for all its pages
    [ "$(sim_stat connections_total)" -le 2 ] ||
        fail "2 workers opened $(sim_stat connections_total) connections"
    sim_reset
    run kit scrape_async -q --max-conns 4
    assert_success
    [ "$(sim_stat connections_peak)" -le 4 ] ||
        fail "--max-conns 4 had $(sim_stat connections_peak) open at once"
}

# graded: 2
@test "scrape_*: TSan finds no race in the threaded and async scrapers (graded)" {
    run timeout -k 5 600 make -C "$KIT" --no-print-directory -j2 \
        SAN=thread scrape_threads scrape_async
    assert_success
    local line
    for line in "scrape_threads --workers 8" \
                "scrape_threads --fail 3 --fail-fast --workers 3" \
                "scrape_threads --no-session" "scrape_async" \
                "scrape_async --fail 3 --fail-fast"; do
        # shellcheck disable=SC2086
        TSAN_OPTIONS="halt_on_error=1" run --separate-stderr \
            timeout -k 5 120 "$KIT/build/thread/bin/"$line -q
        [ "$status" -le 1 ] || fail "$line: exit $status: $stderr"
        ! grep -q 'ThreadSanitizer' <<<"$stderr" || fail "$line: $stderr"
    done
}

# graded: 1
@test "scrape_*: bad usage prints one line and exits 2" {
    local program
    for program in "${SCRAPERS[@]}"; do
        assert_usage_error "$program" --pages 0
        assert_usage_error "$program" --pages 119
        assert_usage_error "$program" --pages
        assert_usage_error "$program" --fail abc
        assert_usage_error "$program" --timeout 0
        assert_usage_error "$program" --base ftp://127.0.0.1/
        assert_usage_error "$program" --color purple
        assert_usage_error "$program" extra
    done
    assert_usage_error scrape_sync --workers 4
    assert_usage_error scrape_sync --fail-fast
    assert_usage_error scrape_sync --max-conns 4
    assert_usage_error scrape_threads --max-conns 4
    assert_usage_error scrape_threads --workers 0
    assert_usage_error scrape_async --workers 4
    assert_usage_error scrape_async --max-conns 0
}

# graded: 1
@test "scrape_*: -h lists every option with its default and exits 0" {
    local program option
    for program in "${SCRAPERS[@]}"; do
        run --separate-stderr kit "$program" -h
        assert_success
        assert_line --index 0 "usage: $program [options]"
        for option in "--pages N" "--fail N" --no-session \
                      "--timeout SECONDS" "--base URL" "--trace FILE" \
                      "--color WHEN" "-q, --quiet" "-h, --help"; do
            assert_line --partial "  $option "
        done
        assert_line --partial "(20)"
    done
    run kit scrape_threads -h
    assert_line --partial "--workers N"
    assert_line --partial "min(32, CPUs + 4) = $(($(nproc) + 4 < 32 ? $(nproc) + 4 : 32))"
    assert_line --partial "--fail-fast"
    run kit scrape_async -h
    assert_line --partial "--max-conns N"
    assert_line --partial "--fail-fast"
}

# graded: 1
@test "scrape_*: a server that refuses connections fails every page, said per page, exit 1" {
    local program port
    port="$(free_port)"
    for program in "${SCRAPERS[@]}"; do
        run --separate-stderr kit "$program" --pages 3 \
            --base "http://127.0.0.1:$port"
        assert_equal "$status" 1
        assert_line "Retrieved 0 of 3 pages, 3 failed, 0 cancelled"
        assert_line "results=[(1, error(\"Couldn't connect to server\")), (2, error(\"Couldn't connect to server\")), (3, error(\"Couldn't connect to server\"))]"
        assert_equal "${#stderr_lines[@]}" 3
    done
}

# graded: 1 runs:scrape_async
@test "scrape_async: with ulimit -n 40 the connections are cut down, said once, and every page still comes" {
    # under the limits (and, graded, as the student's user) of every run
    run --separate-stderr kit_limited 60 bash -c \
        'ulimit -n 40 && exec "$0" -q --pages 118' \
        "$KIT_BIN/scrape_async"
    assert_success
    assert_line "$(expected_results 118)"
    [ "${#stderr_lines[@]}" -eq 1 ] || fail "not one line: $stderr"
    [[ "$stderr" =~ ^scrape_async:\ --max-conns\ 100\ is\ more\ than\ the\ open-file\ limit\ allows\ \(ulimit\ -Hn\ 40,\ [0-9]+\ files\ for\ the\ program,\ 1\ for\ each\):\ using\ [0-9]+$ ]] ||
        fail "$stderr"
}

@test "scrape_threads: --workers 32 at ulimit -n 40 is fitted to the limit, said once, and every page comes" {
    # every thread's session holds sockets: the old code started all 32
    # and pages failed with "Couldn't connect"
    run --separate-stderr bash -c \
        'ulimit -n 40 && exec timeout 60 "$0" -q --pages 118 --workers 32' \
        "$KIT_BIN/scrape_threads"
    assert_success
    assert_line "$(expected_results 118)"
    [ "${#stderr_lines[@]}" -eq 1 ] || fail "not one line: $stderr"
    [[ "$stderr" =~ ^scrape_threads:\ --workers\ 32\ is\ more\ than\ the\ open-file\ limit\ allows\ \(ulimit\ -Hn\ 40,\ [0-9]+\ files\ for\ the\ program,\ [0-9]+\ for\ each\):\ using\ [0-9]+$ ]] ||
        fail "$stderr"
}

# graded: 1
@test "scrape_*: the simulator's fault paths and bad redirects fail each page with a reason, never a crash or a hang" {
    local program fault
    for program in "${SCRAPERS[@]}"; do
        for fault in fault/reset fault/close fault/short fault/stall \
                     fault/drip fault/bigheader fault/badchunk \
                     redirect/offhost redirect/file; do
            # BASE?/page/N: the page number rides in the query, so every
            # request hits the fault; the two redirects lead off
            # 127.0.0.1 and to file://, and must be refused
            run --separate-stderr kit "$program" --pages 2 --timeout 0.5 \
                --base "$(sim_url "/$fault")?"
            assert_equal "$status" 1
            assert_line "Retrieved 0 of 2 pages, 2 failed, 0 cancelled"
            assert_line --regexp "^results=\[\(1, error\(.+\)\), \(2, error\(.+\)\)\]$"
            assert_equal "${#stderr_lines[@]}" 2
        done
    done
}

# graded: 1
@test "scrape_*: without the simulator, one line says how to start it" {
    local program
    for program in "${SCRAPERS[@]}"; do
        CONKIT_HTTP_PORT="$(free_port)" CONKIT_HTTPS_PORT="$(free_port)" \
            run --separate-stderr kit "$program"
        assert_equal "$status" 1
        assert_equal "$output" ""
        [[ "$stderr" == "$program: the site simulator is not running on "*"make serve" ]] ||
            fail "$stderr"
    done
}

# graded: 1
@test "scrape_*: a page slower than --timeout fails alone, said once, exit 1" {
    local program
    for program in "${SCRAPERS[@]}"; do
        # pages take 30..70 ms: a 10 ms limit fails every one of them
        run --separate-stderr kit "$program" --pages 3 --timeout 0.01
        assert_equal "$status" 1
        assert_line "Retrieved 0 of 3 pages, 3 failed, 0 cancelled"
        assert_line "results=[(1, error('Timeout was reached')), (2, error('Timeout was reached')), (3, error('Timeout was reached'))]"
        assert_equal "${#stderr_lines[@]}" 3
    done
}

# graded: 2
# bats test_tags=serial
@test "scrape_*: SIGINT stops within a second: finished and cancelled rows, summary, exit 130; SIGTERM 143 (graded)" {
    local line program trace="$BATS_TEST_TMPDIR/int.csv" cancelled
    # 118 pages, one at a time: about 6 s, so the signal finds work left
    for line in "scrape_sync" "scrape_threads --workers 1" \
                "scrape_async --max-conns 1"; do
        program="${line%% *}"
        rm -f "$trace"
        # shellcheck disable=SC2086
        # once page 1 is in (the check wants its result kept)
        interrupt_run INT 'line:Retrieved 01=' $line --pages 118 \
            --trace "$trace"
        assert_equal "$status" 130
        [ "$waited" -le 1500 ] || fail "$line took $waited ms to stop"
        assert_line --regexp '^Retrieved [0-9]+ of 118 pages, 0 failed, [0-9]+ cancelled$'
        assert_line --regexp "^results=\[\(1, 'Hydrogen'\), "
        assert_line --regexp '^Execution time: [0-9.]+s$'
        cancelled="$(grep -o 'cancelled()' <<<"$output" | wc -l)"
        [ "$cancelled" -ge 100 ] || fail "$line: $cancelled cancelled"
        # a row for every page: finished ones ok, the rest cancelled
        assert_equal "$(($(wc -l <"$trace") - 1))" 118
        assert_equal "$(grep -c ',cancelled$' "$trace")" "$cancelled"
        # shellcheck disable=SC2086
        interrupt_run TERM start $line --pages 118 -q
        assert_equal "$status" 143
        [ "$waited" -le 1500 ] || fail "$line took $waited ms to stop"
    done
}
# SPDX-License-Identifier: MIT
