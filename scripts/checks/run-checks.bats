#!/usr/bin/env bats
# run-checks.bats -- scripts/run-checks itself, on a tiny kit of its own:
# files side by side, the checks tagged serial alone after them, the slow
# tier only when asked for, and the closing count.  Its checks wait for
# each other through files they make (events), never for the clock.

bats_require_minimum_version 1.5.0
load lib/common

# fake_kit: a kit folder holding only run-checks and the bats files the
# check writes into it; prints its path.
fake_kit() {
    local kit="$BATS_TEST_TMPDIR/kit"
    mkdir -p "$kit/scripts/checks" "$kit/labs/lab1" "$kit/labs/lab2"
    cp "$KIT/scripts/run-checks" "$kit/scripts/"
    echo "$kit"
}

# write FILE: a bats file from stdin, each line written with a leading
# '|' that goes (a line of this file that starts with @test would be
# taken by bats as a check of its own, here-document or not).
write() {
    sed 's/^|//' >"$1"
}

# run_checks KIT ARGS...: run that kit's run-checks as a user would: none
# of this bats' own state (BATS_* variables, its libexec on PATH, fd 3,
# where bats writes its TAP) reaches the bats it runs.
run_checks() {
    local kit="$1"
    shift
    run env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$HOME" \
        CONKIT_JOBS="${CONKIT_JOBS:-2}" \
        timeout -k 5 60 "$kit/scripts/run-checks" "$@" 3>&-
}

# await FILE: a line of bats code that waits (10 s at most) for FILE.
await() {
    # shellcheck disable=SC2016  # expanded by the bats that runs it
    printf 'for i in $(seq 500); do [ -e "%s" ] && break; sleep 0.02; done; [ -e "%s" ]' \
        "$1" "$1"
}

@test "run-checks: two files run side by side, each one's checks in turn" {
    local kit marks="$BATS_TEST_TMPDIR/marks"
    kit="$(fake_kit)"
    mkdir -p "$marks"
    # each file's check waits for the other's to have started: run one
    # after the other, the first would wait in vain and fail
    write "$kit/labs/lab1/lab1.bats" <<EOF
|@test "one" { touch "$marks/one"; $(await "$marks/two"); }
EOF
    write "$kit/labs/lab2/lab2.bats" <<EOF
|@test "two" { touch "$marks/two"; $(await "$marks/one"); }
EOF
    run_checks "$kit" lab1 lab2
    assert_success
    assert_line "  ok    one"
    assert_line "  ok    two"
    assert_equal "${lines[-1]}" "2 passed, 0 failed, 0 skipped"
}

@test "run-checks: a check tagged serial runs after every other, alone" {
    local kit marks="$BATS_TEST_TMPDIR/marks"
    kit="$(fake_kit)"
    mkdir -p "$marks"
    # the untagged checks leave a mark while they run; the serial one,
    # written first in its file, must find every one of them done
    write "$kit/labs/lab1/lab1.bats" <<EOF
|# bats test_tags=serial
|@test "alone" {
    [ -e "$marks/a.done" ] && [ -e "$marks/b.done" ]
    [ -z "\$(ls "$marks"/*.running 2>/dev/null)" ]
}
|@test "a" { touch "$marks/a.running"; sleep 0.2; mv "$marks/a.running" "$marks/a.done"; }
EOF
    write "$kit/labs/lab2/lab2.bats" <<EOF
|@test "b" { touch "$marks/b.running"; sleep 0.2; mv "$marks/b.running" "$marks/b.done"; }
EOF
    run_checks "$kit" lab1 lab2
    assert_success
    assert_equal "${lines[-2]}" "  ok    alone"
    assert_equal "${lines[-1]}" "3 passed, 0 failed, 0 skipped"
}

@test "run-checks: *.slow.bats runs only with 'slow'; failures and skips are counted" {
    local kit
    kit="$(fake_kit)"
    write "$kit/scripts/checks/quick.bats" <<'EOF'
|@test "quick ok" { true; }
|@test "quick skip" { skip "not here"; }
|@test "quick fail" { false; }
EOF
    write "$kit/scripts/checks/long.slow.bats" <<'EOF'
|@test "slow one" { true; }
EOF
    run_checks "$kit" all
    assert_failure 1
    refute_line --partial "slow one"
    assert_line "  FAIL  quick fail"
    assert_equal "${lines[-1]}" "1 passed, 1 failed, 1 skipped"
    run_checks "$kit" slow
    assert_success
    refute_line --partial "quick"
    assert_equal "${lines[-1]}" "1 passed, 0 failed, 0 skipped"
}
# SPDX-License-Identifier: MIT
