#!/usr/bin/env bats
# color.bats -- colour on a terminal only (common/color.h):
# --color always colours, the default never colours a pipe or a file,
# NO_COLOR turns auto off, --color bogus is a usage error.

load lib/common

ESC=$'\033['

sim_for_file --latency 5 --jitter 0 --conn-delay 5

# Small runs that always print a line with colour (the I/O labs' "Read"
# lines, lab1's trains, lab6's job lines): the `colour` lines of
# labs/labN/runs.
colour_runs() {
    lab_runs colour
}

# Those, and runs whose lesson line turns red when it goes wrong (lost
# updates, a broken bank sum) and any other program once: the `pipe`
# lines.
every_run() {
    colour_runs
    lab_runs pipe
}

@test "--color always: escape codes on stdout (each worker its own colour)" {
    local line
    while read -r line; do
        # shellcheck disable=SC2086
        run --separate-stderr kit $line --color always
        assert_success
        [[ "$output" == *"$ESC"* ]] || fail "$line --color always: no colour"
    done < <(colour_runs)
    # two threads, two colours
    run --separate-stderr kit io_threads --repeat 4 --workers 2 \
        --color always
    assert_success
    [ "$(grep -o $'\033\\[[0-9;]*m' <<<"$output" | sort -u |
        grep -vc '\[0m')" -ge 2 ] || fail "one colour for two threads"
}

@test "--color always: a failure on stderr is red" {
    run --separate-stderr kit io_sync --sites /no/such/file --color always
    assert_failure 2
    [[ "$stderr" == *$'\033[1;31m'* ]] || fail "not red: $stderr"
}

@test "the default: no escape code through a pipe or into a file" {
    local line out="$BATS_TEST_TMPDIR/out"
    while read -r line; do
        # shellcheck disable=SC2086
        kit $line >"$out" 2>&1 || true
        ! grep -q $'\033' "$out" || fail "$line: escape codes in a file"
        # shellcheck disable=SC2086
        run kit $line
        [[ "$output" != *$'\033'* ]] || fail "$line: escape codes in a pipe"
    done < <(every_run)
}

@test "on a terminal: colour by default, none with NO_COLOR or --color never" {
    command -v script >/dev/null || skip "no script(1) to make a terminal"
    local cmd="$KIT_BIN/io_threads --repeat 2 --workers 2"
    # a terminal that shows colour, whatever this shell's own TERM is (a
    # container's or CI's is often dumb or unset) and without NO_COLOR
    unset NO_COLOR
    export TERM=xterm-256color
    run timeout -k 5 60 script -qec "$cmd" /dev/null
    assert_success
    [[ "$output" == *"$ESC"* ]] || fail "no colour on a terminal: $output"
    NO_COLOR=1 run timeout -k 5 60 script -qec "$cmd" /dev/null
    assert_success
    [[ "$output" != *$'\033'* ]] || fail "NO_COLOR=1 still coloured"
    run timeout -k 5 60 script -qec "$cmd --color never" /dev/null
    assert_success
    [[ "$output" != *$'\033'* ]] || fail "--color never still coloured"
    # TERM=dumb cannot show colour
    TERM=dumb run timeout -k 5 60 script -qec "$cmd" /dev/null
    [[ "$output" != *$'\033'* ]] || fail "TERM=dumb still coloured"
}

@test "every program: --color takes auto, always or never; else exit 2" {
    local program
    for program in $(kit_programs); do
        run --separate-stderr kit "$program" --help
        assert_output --partial "--color WHEN"
        assert_usage_error "$program" --color bogus
        assert_usage_error "$program" --color
    done
}
# SPDX-License-Identifier: MIT
