#!/usr/bin/env bats
# handout.bats -- scripts/handout's marks, quickly (no build, no grade;
# scripts/checks/handout.slow.bats builds and grades the handout).

load lib/common

# a_kit: a tiny kit (scripts/handout and one marked lab file) in a
# folder of its own; prints its path.
a_kit() {
    local kit="$BATS_TEST_TMPDIR/kit"
    mkdir -p "$kit/scripts" "$kit/labs/lab1" "$kit/common"
    cp "$KIT/scripts/handout" "$kit/scripts/"
    printf 'all:\n' >"$kit/Makefile"
    echo "$kit"
}

# handout_refuses KIT SOURCE MESSAGE: with SOURCE (printf %b escapes) as
# the tiny KIT's one lab file, scripts/handout fails saying MESSAGE.
handout_refuses() {
    printf '%b' "$2" >"$1/labs/lab1/x.c"
    run "$1/scripts/handout" --out "$1/out" --no-git
    assert_failure
    assert_output --partial "$3"
}

@test "handout: the tasks marked in the source are the tasks the graded checks name, each with its checks" {
    local marked graded table
    marked="$("$KIT/scripts/handout" --list | cut -d' ' -f1 | sort -u)"
    table="$("$KIT/scripts/grader/points-table")"
    # (an answers task, labN.answers, has a file, not a region)
    graded="$(grep -oP '[\t ]task:\K[^\t ]+' <<<"$table" |
        grep -v '\.answers$' | sort -u)"
    [ -n "$marked" ] || fail "no task marks"
    assert_equal "$marked" "$graded"
    local answers
    for answers in $(grep -oP '[\t ]task:\Klab[0-9]+(?=\.answers)' <<<"$table" |
        sort -u); do
        [ -f "$KIT/labs/$answers/answers.txt" ] ||
            fail "task $answers.answers: no labs/$answers/answers.txt in the reference"
    done
    # every lab of the course has one at least
    local lab
    for lab in lab1 lab2 lab3 lab4 lab5 lab6 lab7 lab8 lab9; do
        grep -q "^$lab\." <<<"$marked" || fail "$lab has no task"
    done
}

@test "handout: LABS=\"3\" cuts lab 3's tasks only; the stub replaces the region, the marks stay" {
    local out="$BATS_TEST_TMPDIR/h"
    run "$KIT/scripts/handout" --out "$out" --labs 3 --no-git
    assert_success
    cmp "$KIT/labs/lab2/io_sync.c" "$out/labs/lab2/io_sync.c"
    cmp "$KIT/labs/lab7/race_condition.c" "$out/labs/lab7/race_condition.c"
    [ -f "$out/labs/lab7/answers.txt" ]         # lab 7 not cut
    run grep -c '/\* END TASK lab3\.pool \*/' "$out/labs/lab3/io_threads.c"
    assert_output 1
    # the stub, at the region's indentation, instead of the loop
    grep -qx '    long started = 0;' "$out/labs/lab3/io_threads.c"
    refute grep -q 'pthread_create(&workers' "$out/labs/lab3/io_threads.c"
    [ ! -e "$out/labs/INSTRUCTORS.md" ]
    # a folder it did not make is refused
    mkdir "$BATS_TEST_TMPDIR/mine"
    touch "$BATS_TEST_TMPDIR/mine/notes"
    run "$KIT/scripts/handout" --out "$BATS_TEST_TMPDIR/mine" --no-git
    assert_failure 2
    [ -f "$BATS_TEST_TMPDIR/mine/notes" ]
}

@test "handout: a mark left open, an END without its TASK, a stub line that ends the comment are refused" {
    local kit
    kit="$(a_kit)"
    handout_refuses "$kit" '/* TASK lab1.x: open.\n */\nint x;\n' \
        "TASK lab1.x is never closed"
    handout_refuses "$kit" 'int x;\n/* END TASK lab1.x */\n' \
        "END TASK without its TASK"
    handout_refuses "$kit" '/* TASK lab1.x: bad.\n *     int x = 0; */\nint x = 1;\n/* END TASK lab1.x */\n' \
        "a stub line cannot end the comment"
    handout_refuses "$kit" '/* TASK lab1.x: ok.\n *     int x = 0;\n */\nint x = 1;\n/* END TASK lab1.y */\n' \
        "END TASK lab1.y closes TASK lab1.x"
}

@test "handout: a stub that gives the answer away is refused" {
    local kit file
    kit="$(a_kit)"
    file="$kit/labs/lab1/x.c"
    printf '/* TASK lab1.x: the answer.\n *     int x = 0;\n */\nint x = 42;\n/* END TASK lab1.x */\n' >"$file"
    run "$kit/scripts/handout" --out "$kit/out" --no-git
    assert_success
    grep -qx 'int x = 0;' "$kit/out/labs/lab1/x.c"
    refute grep -q 'int x = 42;' "$kit/out/labs/lab1/x.c"
    # a stub that is the answer
    printf '/* TASK lab1.x: the answer.\n *     int x = 42;\n */\nint x = 42;\n/* END TASK lab1.x */\n' >"$file"
    run "$kit/scripts/handout" --out "$kit/out" --no-git
    assert_failure 1
    assert_line "handout: solution text in the handout:"
    assert_line "  int x = 42;"
    # a line the reference also has outside every region is not secret
    printf 'int x = 42;\n' >"$kit/common/given.c"
    run "$kit/scripts/handout" --out "$kit/out" --no-git
    assert_success
}

@test "handout: --keep TASK leaves that task's code as the reference has it" {
    local out="$BATS_TEST_TMPDIR/k"
    run "$KIT/scripts/handout" --out "$out" --keep lab3.pool --no-git
    assert_success
    # lab3.session is still cut
    run cmp -s "$KIT/labs/lab3/io_threads.c" "$out/labs/lab3/io_threads.c"
    assert_failure
    grep -q 'pthread_create(&workers\[started\].thread' "$out/labs/lab3/io_threads.c"
    refute grep -q 'pthread_setspecific(session_key, session)' \
        "$out/labs/lab3/io_threads.c"
    run "$KIT/scripts/handout" --out "$out" --keep lab3.nothing --no-git
    assert_failure 2
    assert_output "handout: no such task: 'lab3.nothing' (see --list)"
}
# SPDX-License-Identifier: MIT
