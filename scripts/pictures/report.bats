#!/usr/bin/env bats
# report.bats -- the pictures: draw-trace's SVG timing diagrams,
# scripts/sweep's plots, and report.html checked by xmllint and by a real
# browser (headless Chromium renders it to PNG and to the DOM).

load ../checks/lib/common

setup_file() {
    sim_start --latency 5 --jitter 0 --conn-delay 5
    # one report for every check below: it takes a while to make
    REPORT="$BATS_FILE_TMPDIR/report.html"
    export REPORT
    timeout -k 5 300 "$KIT/scripts/report" --out "$REPORT" \
        >"$BATS_FILE_TMPDIR/report.out" 2>&1 || true
}

teardown_file() {
    sim_stop
}

# A trace with every status, a label that needs escaping in XML, a quoted
# field with a comma, and a lock wait.
sample_trace() {
    cat <<'CSV'
id,worker,label,start_us,end_us,status
0,1,http://a/?x=1&y=<2>,1000,51000,ok
1,2,"fib(30), again",2000,40000,failed
2,1,lost one,52000,90000,lost
3,2,cancelled one,41000,60000,cancelled
4,2,wait: lock,60000,70000,ok
CSV
}

# svg_elements FILE NAME: how many <NAME> elements the SVG holds
svg_elements() {
    xmllint --xpath "count(//*[local-name()='$2'])" "$1"
}

@test "draw-trace --svg: valid SVG, a bar with a title per row, every status in the legend" {
    local svg="$BATS_TEST_TMPDIR/t.svg"
    sample_trace >"$BATS_TEST_TMPDIR/t.csv"
    run "$KIT/scripts/draw-trace" --svg --title "io_fork --workers 2" \
        "$BATS_TEST_TMPDIR/t.csv"
    assert_success
    printf '%s\n' "$output" >"$svg"
    run xmllint --noout "$svg"
    assert_success
    # the title names the program and options
    assert_equal "$(xmllint --xpath "string(/*[local-name()='svg']/*[local-name()='title'])" "$svg")" \
        "io_fork --workers 2"
    # five rows: four bars and a wait, each with a hover title
    assert_equal "$(xmllint --xpath "count(//*[local-name()='rect']/*[local-name()='title'])" "$svg")" 5
    run grep -c 'fib(30), again: 38.0 ms, failed' "$svg"
    assert_output 1
    # every status its own colour, named in the legend
    local status colours=()
    for status in ok failed lost cancelled waiting; do
        grep -q ">$status</text>" "$svg" || fail "no '$status' in the legend"
    done
    for status in ok failed lost cancelled; do
        colours+=("$(grep -o "fill=\"#[0-9a-f]*\"[^>]*><title>[^<]*, $status<" \
            "$svg" | head -n 1 | cut -d'"' -f2)")
    done
    assert_equal "$(printf '%s\n' "${colours[@]}" | sort -u | grep -c .)" 4
    # io_fork's lanes are processes
    grep -q '>ForkProcess-1 (process)<' "$svg" || fail "lanes not processes"
    grep -q 'time since the program started (ms)' "$svg" || fail "no axis"
}

@test "draw-trace: lanes named by the program; the text form stays" {
    sample_trace >"$BATS_TEST_TMPDIR/t.csv"
    run "$KIT/scripts/draw-trace" --svg --title "io_async" \
        "$BATS_TEST_TMPDIR/t.csv"
    assert_output --partial '>task 1<'
    run "$KIT/scripts/draw-trace" --svg --title "io_threads" \
        "$BATS_TEST_TMPDIR/t.csv"
    assert_output --partial '>thread 1<'
    run "$KIT/scripts/draw-trace" "$BATS_TEST_TMPDIR/t.csv" 40
    assert_success
    assert_line --index 0 --regexp '^  worker 1 +\|.{40}\|$'
    run "$KIT/scripts/draw-trace" --svg --lanes sideways \
        "$BATS_TEST_TMPDIR/t.csv"
    assert_failure 2
}

@test "draw-trace: a time too large for awk (310 digits) is a one-line error naming file and line, exit 2" {
    local csv="$BATS_TEST_TMPDIR/huge.csv" huge svg
    # a 310-digit number is infinity to awk: the time axis never ended
    huge="$(printf '9%.0s' $(seq 310))"
    { sample_trace; echo "5,1,too late,1000,$huge,ok"; } >"$csv"
    for svg in --svg ""; do          # both forms: SVG and text
        run --separate-stderr timeout -k 5 20 "$KIT/scripts/draw-trace" \
            ${svg:+"$svg"} "$csv"
        assert_equal "$status" 2
        assert_equal "$output" ""
        [ "${#stderr_lines[@]}" -eq 1 ] ||
            fail "${svg:-text}: expected one line on stderr, got: $stderr"
        [[ "$stderr" == "draw-trace: time out of range"*"'$csv' line 7: '99999"* ]] ||
            fail "${svg:-text}: the error does not name file, line, value: $stderr"
    done
}

@test "draw-trace --svg: a label with control bytes, a NUL or broken UTF-8 is still well-formed XML" {
    local csv="$BATS_TEST_TMPDIR/bytes.csv" svg="$BATS_TEST_TMPDIR/bytes.svg"
    # ESC, BEL, NUL, a lone 0xff, U+FFFF (not allowed in XML), and a
    # proper e-acute that must stay as it is (printf's %b writes the
    # bytes: a bash string cannot hold a NUL)
    printf '%b\n' 'id,worker,label,start_us,end_us,status' \
        '0,1,title \0033]0;owned\0007 nul\0000 bad \0377 ffff \0357\0277\0277 caf\0303\0251,1000,51000,ok' \
        '1,2,"a, ""q"" <b> & \0033[31mred",2000,40000,failed' >"$csv"
    run "$KIT/scripts/draw-trace" --svg --title $'io_async \x01--x' "$csv"
    assert_success
    printf '%s\n' "$output" >"$svg"
    run xmllint --noout "$svg"
    assert_success
    # every byte XML cannot hold is shown, as \xHH
    grep -q 'title \\x1b\]0;owned\\x07 nul\\x00 bad \\xff ffff \\xef\\xbf\\xbf café: 50.0 ms, ok' "$svg" ||
        fail "the label is not shown as \\xHH: $(grep -a '50.0 ms' "$svg")"
    grep -q 'a, &quot;q&quot; &lt;b&gt; &amp; \\x1b\[31mred: 38.0 ms, failed' "$svg" ||
        fail "the quoted label is not escaped: $(grep -a '38.0 ms' "$svg")"
    assert_equal "$(xmllint --xpath "string(/*[local-name()='svg']/*[local-name()='title'])" "$svg")" \
        'io_async \x01--x'
}

@test "draw-trace: 20,000 lanes drawn in well under a minute, in worker order (no sort comparing every pair)" {
    local csv="$BATS_TEST_TMPDIR/lanes.csv" svg="$BATS_TEST_TMPDIR/lanes.svg"
    # one worker per row, shuffled (7919 is prime): like io_async's tasks
    # for --repeat 10000.  Comparing every pair of lanes took about 3
    # minutes here; sorted in n log n it takes seconds.  (Not a ratio of
    # two sizes: awk's arrays are hash tables whose cost per lookup grows
    # with their size, so even n log n looks 5-9x slower at 4x the lanes.)
    awk 'BEGIN { print "id,worker,label,start_us,end_us,status"
                 for (i = 0; i < 20000; i++)
                     printf "%d,%d,get %d,%d,%d,ok\n", i,
                         (i * 7919) % 20000, i, i * 10, i * 10 + 500 }' >"$csv"
    run timeout -k 5 60 "$KIT/scripts/draw-trace" --svg --title io_async "$csv"
    assert_success
    printf '%s\n' "$output" >"$svg"
    # the lanes, top to bottom: task 0, task 1, ... task 19999
    grep -o '>task [0-9]*<' "$svg" | tr -dc '0-9\n' >"$BATS_TEST_TMPDIR/order"
    assert_equal "$(wc -l <"$BATS_TEST_TMPDIR/order")" 20000
    seq 0 19999 | cmp -s - "$BATS_TEST_TMPDIR/order" ||
        fail "lanes out of order: $(head -n 5 "$BATS_TEST_TMPDIR/order" | tr '\n' ' ')"
}

@test "draw-trace --svg on a real run: one lane per thread, one bar per download" {
    local csv="$BATS_TEST_TMPDIR/run.trace.csv" svg="$BATS_TEST_TMPDIR/run.svg"
    run kit io_threads -q --repeat 3 --workers 3 --trace "$csv"
    assert_success
    "$KIT/scripts/draw-trace" --svg --title "io_threads --workers 3" \
        "$csv" >"$svg"
    run xmllint --noout "$svg"
    assert_success
    assert_equal "$(grep -c '<title>[^<]*: [0-9.]* ms, ok</title>' "$svg")" 6
    assert_equal "$(grep -c '>thread [0-9]<' "$svg")" 3
}

@test "cpu_threads --gil: its trace shows the GIL hand-offs as waits" {
    local csv="$BATS_TEST_TMPDIR/gil.trace.csv" svg="$BATS_TEST_TMPDIR/gil.svg"
    run kit cpu_threads -q --n 30 --jobs 6 --workers 3 --gil \
        --switch-interval 1 --trace "$csv"
    assert_success
    # one row per job, and the waits beside them
    assert_equal "$(grep -vc 'wait: gil' "$csv")" 7
    [ "$(grep -c ',wait: gil,' "$csv")" -ge 1 ] || fail "no GIL wait traced"
    "$KIT/scripts/draw-trace" --svg --title "cpu_threads --gil" "$csv" >"$svg"
    grep -q '<title>wait: gil: ' "$svg" || fail "the waits are not drawn"
    grep -q '>waiting</text>' "$svg" || fail "no 'waiting' in the legend"
    # without --gil nobody waits for it
    run kit cpu_threads -q --n 27 --jobs 6 --workers 3 --trace "$csv"
    assert_success
    run grep -c 'wait:' "$csv"
    assert_output 0
}

# bats test_tags=serial
@test "sweep: time and speed-up against the value, with the bound, as SVG" {
    command -v gnuplot >/dev/null || skip "gnuplot is not installed (make deps)"
    local svg="$BATS_TEST_TMPDIR/sweep.svg"
    run timeout -k 5 120 "$KIT/scripts/sweep" --out "$svg" cpu_threads \
        --workers 1,2 -- --n 20 --jobs 4
    assert_success
    run xmllint --noout "$svg"
    assert_success
    grep -q 'measured' "$svg" || fail "no measured line"
    grep -q 'ideal speed-up' "$svg" || fail "no bound drawn"
    # the I/O bound: 4 downloads, latency 5 ms, connect 5 ms (sim_start)
    CONKIT_LATENCY=5 CONKIT_CONN_DELAY=5 run timeout -k 5 120 \
        "$KIT/scripts/sweep" --table io_threads --workers 1,4 -- --repeat 2
    assert_success
    assert_line --index 1 --regexp '^1 .* 0\.03 +1\.00x$'
    run "$KIT/scripts/sweep" cpu_threads --workers 3
    assert_failure 2
    run "$KIT/scripts/sweep" no_such_program --workers 1,2
    assert_failure 2
}

@test "report.html: self-contained, well-formed, every figure there" {
    [ -s "$REPORT" ] || fail "no report: $(cat "$BATS_FILE_TMPDIR/report.out")"
    # well-formed as XML, inline SVGs and all
    run xmllint --noout "$REPORT"
    assert_success
    # nothing fetched: no script, stylesheet, image, font or frame from
    # anywhere (the only URLs are the SVG namespace and the downloads'
    # labels in the hover titles)
    run grep -nE '<script|<link|<img|<iframe|@import|@font-face|src=|url\((http|//)' "$REPORT"
    assert_output ""
    # the four models, lab1, the GIL pair, race and bank pairs, two sweeps
    local count
    count="$(svg_elements "$REPORT" svg)"
    [ "$count" -ge 13 ] || fail "only $count SVG figures"
    [ "$(grep -c 'class="missing"' "$REPORT")" -eq 0 ] ||
        fail "a figure is missing: $(grep 'class="missing"' "$REPORT")"
    local program
    for program in io_sync io_threads io_async io_fork "cpu_threads --n 32 --gil" \
        "race_condition --lock none" "bank --mode threads --lock none"; do
        grep -q "<title>$program" "$REPORT" || fail "no diagram of $program"
    done
    grep -q 'on [0-9]* CPUs' "$REPORT" || fail "the machine is not named"
    grep -q 'load average' "$REPORT" || fail "no load average"
    # ids stay unique across the inline figures
    run bash -c "grep -o ' id=\"[^\"]*\"' '$REPORT' | sort | uniq -d"
    assert_output ""
}

# chromium_run ARGS...: headless Chromium on its own profile, offline
chromium_run() {
    timeout -k 5 120 chromium --headless --no-sandbox --disable-gpu \
        --disable-background-networking --disable-component-update \
        --disable-sync --no-first-run --hide-scrollbars \
        --user-data-dir="$BATS_TEST_TMPDIR/profile" \
        --enable-logging=stderr --v=0 "$@"
}

# non_white PNG: the fraction of the picture's pixels that are not white
non_white() {
    /usr/bin/convert "$1" -colorspace Gray -threshold 95% \
        -format '%[fx:1-mean]' info:
}

@test "report.html in a real browser: not blank, every SVG in the DOM, no error" {
    command -v chromium >/dev/null || skip "chromium is not installed (make deps)"
    [ -x /usr/bin/convert ] || skip "ImageMagick is not installed (make deps)"
    [ -s "$REPORT" ] || fail "no report: $(cat "$BATS_FILE_TMPDIR/report.out")"
    local png="$BATS_TEST_TMPDIR/report.png" dom="$BATS_TEST_TMPDIR/dom.html"

    run chromium_run --window-size=1280,3000 --screenshot="$png" \
        "file://$REPORT"
    [ -s "$png" ] || fail "no screenshot: $output"
    # the browser's own complaints about the page (not its dbus noise)
    run grep -E 'CONSOLE|Uncaught|net::ERR_|Failed to load' <<<"$output"
    assert_output ""
    local ink
    ink="$(non_white "$png")"
    awk -v f="$ink" 'BEGIN { exit !(f > 0.03) }' ||
        fail "the page looks blank: only $ink of it is not white"

    chromium_run --dump-dom "file://$REPORT" >"$dom" 2>/dev/null
    local in_file in_dom
    in_file="$(grep -o '<svg ' "$REPORT" | wc -l)"
    in_dom="$(grep -o '<svg ' "$dom" | wc -l)"
    [ "$in_dom" -ge 13 ] && [ "$in_dom" -eq "$in_file" ] ||
        fail "the browser built $in_dom SVGs of the $in_file in the file"
    grep -q 'Four ways to wait' "$dom" || fail "no heading in the DOM"
}

@test "the blank-page test can fail: an empty page is blank" {
    command -v chromium >/dev/null || skip "chromium is not installed (make deps)"
    [ -x /usr/bin/convert ] || skip "ImageMagick is not installed (make deps)"
    local page="$BATS_TEST_TMPDIR/empty.html" png="$BATS_TEST_TMPDIR/empty.png"
    echo '<!DOCTYPE html><html><body></body></html>' >"$page"
    chromium_run --window-size=1280,3000 --screenshot="$png" \
        "file://$page" 2>/dev/null
    [ -s "$png" ] || fail "no screenshot"
    awk -v f="$(non_white "$png")" 'BEGIN { exit !(f < 0.03) }'
}
# SPDX-License-Identifier: MIT
