#!/usr/bin/env bats
# lab7.bats -- checks for race_condition: lost updates without a lock,
# exact counts with a mutex or an atomic add, and ThreadSanitizer seeing
# the difference.
#
# A race is a matter of chance, so the unlocked check counts how many of
# 20 runs lose updates; the locked checks must be exact in every run.

bats_require_minimum_version 1.5.0
load ../../scripts/checks/lib/lab

# lost_of OUTPUT: the Z of "counter=X expected=Y lost=Z".
lost_of() {
    sed -n 's/^counter=[0-9]* expected=[0-9]* lost=\([0-9-]*\)$/\1/p' <<<"$1"
}

# graded: 1
@test "race_condition: prints counter=, expected= and lost= that add up, then the timer" {
    run --separate-stderr kit race_condition --threads 3 --increments 1000 \
        --lock atomic
    assert_success
    assert_equal "${#lines[@]}" 2
    assert_line --index 0 "counter=3000 expected=3000 lost=0"
    assert_line --index 1 --regexp '^Execution time: [0-9]+\.[0-9]{2}s$'

    run --separate-stderr kit race_condition --threads 3 --increments 1000
    assert_success
    assert_line --index 0 --regexp '^counter=[0-9]+ expected=3000 lost=[0-9]+$'
    local counter lost
    counter="$(sed -n 's/^counter=\([0-9]*\) .*/\1/p' <<<"$output")"
    lost="$(lost_of "$output")"
    assert_equal "$((counter + lost))" 3000
}

# graded: 3 retry
@test "race_condition: --lock none loses updates in at least 18 of 20 runs (graded)" {
    need_cores 2
    local run_number lost lossy=0
    for run_number in $(seq 20); do
        run --separate-stderr kit race_condition --lock none
        assert_success
        assert_line --index 0 --regexp '^counter=[0-9]+ expected=2000000 lost=[0-9]+$'
        # lost: from the count, against what the grader asked for (2
        # threads x 1,000,000), never the printed lost=
        lost=$((2000000 - $(counter_of "$output")))
        if [ "$lost" -gt 0 ]; then
            lossy=$((lossy + 1))
        fi
    done
    echo "updates were lost in $lossy of 20 runs"
    [ "$lossy" -ge 18 ]
    # and they are lost by two threads at the counter at once: the
    # grader's ThreadSanitizer build of the same program sees them
    tsan_build race_condition
    run --separate-stderr tsan_run race_condition --lock none \
        --increments 20000
    if [ "$status" -ne 66 ]; then
        echo "# reason: race_condition --lock none: printed lost updates, but the grader's ThreadSanitizer build saw no two threads touch the counter at once" >&3 2>/dev/null || true
        fail "no data race under ThreadSanitizer (status $status): the lost updates are not a race: $stderr"
    fi
}

# counter_of OUTPUT: the N of its "counter=N" line.
counter_of() {
    sed -n 's/^counter=\([0-9]*\) .*/\1/p' <<<"$1" | head -n 1
}

# plain_exact LOCK: the plain build, free running (no --schedule, no
# --explore), 2 threads x 1,000,000 with --lock LOCK, counts exactly, 3
# runs of 3: what a check of the sanitized build or of the turnstile
# found holds in an ordinary run too.
plain_exact() {
    local run_number count
    for run_number in 1 2 3; do
        run --separate-stderr kit race_condition --lock "$1"
        assert_success
        count="$(counter_of "$output")"
        if [ "${count:-0}" -ne 2000000 ]; then
            echo "# reason: race_condition --lock $1: $2, yet a plain run without them counted ${count:-nothing} of 2000000" >&3 2>/dev/null || true
            fail "race_condition --lock $1, a plain run: ${lines[0]:-no output}"
        fi
    done
}

# exact_in_20_runs LOCK: 20 runs with --lock LOCK, every count exact.
exact_in_20_runs() {
    local run_number threads increments
    for run_number in $(seq 20); do
        # sizes that change every run: a printed line cannot be learnt
        threads=$((2 + RANDOM % 3)) increments=$((40000 + RANDOM % 20000))
        run --separate-stderr kit race_condition --lock "$1" \
            --threads "$threads" --increments "$increments"
        assert_success
        assert_line --index 0 "counter=$((threads * increments)) expected=$((threads * increments)) lost=0"
    done
}

# graded: 3 task:lab7.mutex
@test "race_condition: --lock mutex is exact in 20 runs out of 20 (graded)" {
    exact_in_20_runs mutex
}

# graded: 3 task:lab7.atomic
@test "race_condition: --lock atomic is exact in 20 runs out of 20 (graded)" {
    exact_in_20_runs atomic
}

# graded: 1
@test "race_condition: --trace writes one row per thread" {
    local trace="$BATS_TEST_TMPDIR/race.csv"
    run --separate-stderr kit race_condition --threads 3 --increments 1000 \
        --lock mutex --trace "$trace"
    assert_success
    run cat "$trace"
    assert_line --index 0 "id,worker,label,start_us,end_us,status"
    assert_equal "${#lines[@]}" 4
    assert_line --index 3 --regexp '^2,2,add 1000 lock=mutex,[0-9]+,[0-9]+,ok$'
}

# graded: 1
@test "race_condition: --help lists every option and exits 0" {
    run kit race_condition --help
    assert_success
    for option in --threads --increments --lock --window --trace; do
        assert_output --partial -- "$option"
    done
}

# graded: 1
@test "race_condition: bad usage prints one line and exits 2" {
    assert_usage_error race_condition --lock bogus
    [[ "$stderr" == "race_condition: --lock must be one of none, mutex, atomic"*": 'bogus'" ]] ||
        fail "unexpected message: $stderr"
    assert_usage_error race_condition --threads 0
    assert_usage_error race_condition --threads 65
    assert_usage_error race_condition --increments abc
    assert_usage_error race_condition --window -1
    assert_usage_error race_condition --bogus
    assert_usage_error race_condition extra-argument
}

# exact_or_skip LOCK: the checks of the README's graded exercises.  They
# skip (and so score nothing) until the program accepts --lock LOCK.
exact_or_skip() {
    local lock="$1" run_number
    run --separate-stderr kit race_condition --lock "$lock" --increments 1
    if [ "$status" -eq 2 ]; then
        skip "exercise not done yet: race_condition rejects --lock $lock"
    fi
    for run_number in $(seq 20); do
        run --separate-stderr kit race_condition --lock "$lock" \
            --threads 4 --increments 50000
        assert_success
        assert_line --index 0 "counter=200000 expected=200000 lost=0"
    done
}

# Task lab7.spin (add_with_spinlock): a lock that spins.  Evidence: the
# count in 20 runs of the grader's choosing, and the kernel's count of
# the times its threads went to sleep (GNU time's %w).
# graded: 5 task:lab7.spin
@test "race_condition: --lock spin is exact in 20 runs out of 20, and waits by spinning, never asleep in the kernel (graded)" {
    local run_number switches="$BATS_TEST_TMPDIR/switches" sleeps
    # 2 threads, each holding the lock across a long window: the one that
    # waits either spins on its CPU or sleeps (a mutex: hundreds of times).
    # First: is it a spinlock at all (a mutex renamed scores nothing)?
    run --separate-stderr kit_limited "$KIT_TIMEOUT" /usr/bin/time -f '%w' \
        -o "$switches" "$KIT_BIN/race_condition" --lock spin --threads 2 \
        --increments 2000 --window 100000 -q
    assert_success
    sleeps="$(head -n 1 "$switches")"
    [[ "$sleeps" =~ ^[0-9]+$ ]] || fail "no count from /usr/bin/time: $(cat "$switches")"
    [ "$sleeps" -le 40 ] ||
        fail "task lab7.spin: the threads of --lock spin went to sleep in the kernel $sleeps times while they waited for 4000 locks: a spinlock keeps asking on its CPU -- is it a mutex under another name?"
    [ "${lines[0]}" = "counter=4000 expected=4000 lost=0" ] ||
        fail "task lab7.spin: ${lines[0]}: does the spinlock cover the read and the write, with acquire and release order?"
    for run_number in $(seq 20); do
        run --separate-stderr kit race_condition --lock spin \
            --threads 4 --increments 50000
        assert_success
        [ "${lines[0]}" = "counter=200000 expected=200000 lost=0" ] ||
            fail "task lab7.spin: run $run_number: ${lines[0]}: does the spinlock cover the read and the write, with acquire and release order?"
    done
}

@test "exercise: race_condition --lock per-thread (counters summed at the end) is exact in 20 runs out of 20 (graded)" {
    exact_or_skip per-thread
}

# graded: 2
@test "race_condition under ThreadSanitizer: --lock none is reported as a data race (graded)" {
    tsan_build race_condition
    run --separate-stderr tsan_run race_condition --lock none \
        --increments 20000
    assert_equal "$status" 66
    grep -q '^WARNING: ThreadSanitizer: data race' <<<"$stderr" ||
        fail "no data race report on stderr: $stderr"
    grep -q 'ThreadSanitizer: data race .* in add_unlocked$' <<<"$stderr" ||
        fail "the report does not name add_unlocked: $stderr"
}

# tsan_clean LOCK TASK: the grader's TSan build of race_condition finds
# no race with --lock LOCK, and the count is exact.
tsan_clean() {
    tsan_build race_condition
    run --separate-stderr tsan_run race_condition --lock "$1" \
        --increments 20000
    if grep -q 'ThreadSanitizer: data race' <<<"$stderr"; then
        fail "task $2: ThreadSanitizer saw two threads touch the counter at once with --lock $1: does your lock cover the read and the write? $(grep -m1 -A3 'WARNING: ThreadSanitizer' <<<"$stderr")"
    fi
    assert_success
    [ "${lines[0]}" = "counter=40000 expected=40000 lost=0" ] ||
        fail "task $2: lost updates remain with --lock $1: ${lines[0]}"
    plain_exact "$1" "clean under the grader's ThreadSanitizer build"
}

# Task lab7.mutex (add_with_mutex) and lab7.atomic (add_atomically).
# Evidence: the grader's own ThreadSanitizer build.
# graded: 2 task:lab7.mutex
@test "race_condition under ThreadSanitizer: --lock mutex is clean (graded)" {
    tsan_clean mutex lab7.mutex
}

# graded: 2
@test "race_condition under ThreadSanitizer: --lock atomic is clean (graded)" {
    tsan_clean atomic lab7.atomic
}

# ====== Step by step: --schedule and --explore (the turnstile) ======

# explore_counts THREADS INCREMENTS LOCK: run --explore; set SCHEDULES and
# LOSING from its "schedules: N" and "lost an update: L of N" lines.
explore_counts() {
    run --separate-stderr kit race_condition --threads "$1" \
        --increments "$2" --lock "$3" --explore
    assert_success
    SCHEDULES="$(sed -n 's/^schedules: \([0-9]*\).*/\1/p' <<<"$output")"
    LOSING="$(sed -n 's/^lost an update: \([0-9]*\) of [0-9]*$/\1/p' <<<"$output")"
    [ -n "$SCHEDULES" ] && [ -n "$LOSING" ] ||
        fail "no schedules:/lost an update: lines in: $output"
    assert_line "lost an update: $LOSING of $SCHEDULES"
}

# graded: 2
@test "race_condition --schedule: prints each step as it happens, then the count (graded)" {
    run --separate-stderr kit race_condition --threads 2 --increments 1 \
        --schedule ABABAB
    assert_success
    assert_equal "${#lines[@]}" 8
    assert_line --index 0 "A: read counter=0"
    assert_line --index 1 "B: read counter=0"
    assert_line --index 2 "A: compute 0+1=1"
    assert_line --index 3 "B: compute 0+1=1"
    assert_line --index 4 "A: write counter=1"
    assert_line --index 5 "B: write counter=1"
    assert_line --index 6 "counter=1 expected=2 lost=1"
    assert_line --index 7 --regexp '^Execution time: [0-9]+\.[0-9]{2}s$'

    # one thread after the other loses nothing
    run --separate-stderr kit race_condition --threads 2 --increments 1 \
        --schedule BBBAAA
    assert_success
    assert_line --index 0 "B: read counter=0"
    assert_line --index 3 "A: read counter=1"
    assert_line "counter=2 expected=2 lost=0"
}

# graded: 3
@test "race_condition --explore: the counts of the small cases are the multinomial coefficients (graded)" {
    local case threads increments expected
    for case in "2 1" "3 1" "2 2"; do
        read -r threads increments <<<"$case"
        # 3 steps per addition: read, compute, write
        local steps=() t
        for t in $(seq "$threads"); do
            steps+=("$((3 * increments))")
        done
        expected="$(multinomial "${steps[@]}")"
        explore_counts "$threads" "$increments" none
        echo "$threads x $increments: $SCHEDULES schedules (expected $expected), $LOSING lose"
        assert_equal "$SCHEDULES" "$expected"
        # only the runs where one thread does all its steps first are safe
        # with one addition each: N! of them
        if [ "$increments" -eq 1 ]; then
            local safe
            safe="$(awk -v n="$threads" 'BEGIN { f = 1; for (i = 2; i <= n; i++) f *= i; print f }')"
            assert_equal "$LOSING" "$((expected - safe))"
        fi
        [ "$LOSING" -gt 0 ]
    done
    # the atomic add is one step per addition: N! orders, none lose
    explore_counts 3 1 atomic
    assert_equal "$SCHEDULES" "$(multinomial 1 1 1)"
    assert_equal "$LOSING" 0
}

# graded: 3
@test "race_condition --explore: every schedule it calls losing loses when replayed, and no other (graded)" {
    local trace="$BATS_TEST_TMPDIR/explore.csv" row schedule counter verdict
    local replayed=0 case threads increments every
    for case in "2 1 1" "3 1 97" "2 2 53"; do
        read -r threads increments every <<<"$case"
        run --separate-stderr kit race_condition --threads "$threads" \
            --increments "$increments" --explore --trace "$trace"
        assert_success
        local expected=$((threads * increments)) n=0
        while IFS=, read -r _ _ row _ _ verdict; do
            n=$((n + 1))
            [ $(((n - 1) % every)) -eq 0 ] || continue
            schedule="${row%% *}"
            counter="${row#* counter=}"
            run --separate-stderr kit race_condition --threads "$threads" \
                --increments "$increments" --schedule "$schedule" -q
            assert_success
            assert_line "counter=$counter expected=$expected lost=$((expected - counter))"
            if [ "$verdict" = lost ]; then
                [ "$counter" -lt "$expected" ] || fail "$schedule: called lost, counter=$counter"
            else
                assert_equal "$verdict" ok
                assert_equal "$counter" "$expected"
            fi
            replayed=$((replayed + 1))
        done < <(tail -n +2 "$trace")
    done
    echo "replayed $replayed schedules"
    [ "$replayed" -ge 50 ]
}

# graded: 1
@test "race_condition --explore: prints the shortest losing schedule, and it loses when replayed" {
    run --separate-stderr kit race_condition --threads 2 --increments 1 \
        --explore
    assert_success
    assert_line "shortest losing schedule: AABBBA (2 switches)"
    assert_line "replay it: ./race_condition --threads 2 --increments 1 --lock none --schedule AABBBA"
    run --separate-stderr kit race_condition --threads 2 --increments 1 \
        --schedule AABBBA
    assert_success
    assert_line "counter=1 expected=2 lost=1"
}

# graded: 3 task:lab7.mutex
@test "race_condition --explore --lock mutex: no schedule loses an update, proved by exhaustion (graded)" {
    local case threads increments orders
    for case in "2 1" "3 1" "2 2"; do
        read -r threads increments <<<"$case"
        explore_counts "$threads" "$increments" mutex
        echo "$threads x $increments with the mutex: $SCHEDULES schedules, $LOSING lose"
        assert_equal "$LOSING" 0
        # a thread waiting for the lock takes no step: the schedules are
        # the orders of the critical sections, (threads x increments)! /
        # (increments!^threads)
        local sections=() t
        for t in $(seq "$threads"); do
            sections+=("$increments")
        done
        orders="$(multinomial "${sections[@]}")"
        assert_equal "$SCHEDULES" "$orders"
    done
    # the lock is the same lock when no turnstile orders the steps
    plain_exact mutex "no schedule of --explore lost an update"
}

# graded: 1
@test "race_condition --explore: as tasks with no await inside an addition, far fewer schedules and none lose" {
    run --separate-stderr kit race_condition --threads 2 --increments 2 \
        --explore
    assert_success
    assert_line "schedules: 924 = 12!/(6!*6!)"
    assert_line "as tasks (an await between additions, none inside): schedules: 6 = 4!/(2!*2!), lost an update: 0 of 6"
}

# bats test_tags=serial
@test "race_condition --explore: Ctrl-C ends it within a second, counting only the schedules that ran, and says so" {
    # 4 x 3 with the atomic add: 12!/(3!^4) = 369,600 schedules, minutes
    local trace="$BATS_TEST_TMPDIR/explore.csv" runs
    interrupt_on_output INT "$trace" race_condition --threads 4 \
        --increments 3 --lock atomic --explore --trace "$trace"
    assert_equal "$status" 130
    [ "$waited" -le 1500 ] || fail "exited $waited ms after SIGINT"
    runs="$(sed -n 's/^schedules: \([0-9]*\) explored, then interrupted (of 12!\/(3!^4) = 369600 orders of the steps)$/\1/p' <<<"$output")"
    [ -n "$runs" ] || fail "no 'explored, then interrupted' line: $output"
    # the atomic add never loses an update, interrupted or not
    assert_line "lost an update: 0 of $runs"
    refute_line --partial "shortest losing schedule"
    refute_line --partial "replay it"
    refute_line --partial "as tasks"
    assert_line --index "$((${#lines[@]} - 1))" --regexp '^Execution time: '
    assert_equal "$stderr" "race_condition: interrupted by SIGINT: $runs of 369600 schedules finished, the rest cancelled"
    # a row for each schedule counted, and each one whole: 12 steps
    assert_equal "$(($(wc -l <"$trace") - 1))" "$runs"
    run grep -cvE '^[0-9]+,0,[ABCD]{12} counter=12,[0-9]+,[0-9]+,ok$' \
        <(tail -n +2 "$trace")
    assert_output 0
}

@test "race_condition --explore: a long one shows its progress on a terminal, never in a pipe" {
    command -v script >/dev/null ||
        skip "no script(1) (util-linux) to give the program a terminal"
    ctrl_c_on_terminal_and_in_a_pipe race_condition --threads 4 \
        --increments 3 --lock atomic --explore
    [[ "$TTY_OUTPUT" =~ explored\ [0-9]+\ of\ at\ most\ 369600\ schedules ]] ||
        fail "no progress on the terminal: $TTY_OUTPUT"
    # Ctrl-C on the terminal ends it too, with its summary
    assert_equal "$TTY_STATUS" 130
    [[ "$TTY_OUTPUT" == *"explored, then interrupted"* ]] ||
        fail "no interrupted summary on the terminal: $TTY_OUTPUT"
    # the piped run had as long, and its stderr holds only the interrupt
    assert_equal "$status" 130
    [[ "$stderr" =~ ^race_condition:\ interrupted\ by\ SIGINT:\ [0-9]+\ of\ 369600\ schedules\ finished,\ the\ rest\ cancelled$ ]] ||
        fail "not the one interrupt line: $stderr"
}

# graded: 2 task:lab7.mutex
@test "race_condition --schedule: a thread blocked on the lock cannot move, and the run says so (graded)" {
    run --separate-stderr kit race_condition --threads 2 --increments 1 \
        --lock mutex --schedule ABAAAABBBB
    assert_equal "$status" 1
    assert_line --index 0 "A: take lock"
    assert_line --index 1 "B: blocked: waits for the lock, which A holds"
    [[ "$stderr" == *"step 2 of the schedule cannot run: B waits for the lock A holds"* ]] ||
        fail "unexpected message: $stderr"

    run --separate-stderr kit race_condition --threads 2 --increments 1 \
        --lock mutex --schedule AAAAABBBBB
    assert_success
    assert_line "B: take lock"
    assert_line "counter=2 expected=2 lost=0"
}

# graded: 1
@test "race_condition --schedule and --explore: bad schedules and oversized cases are usage errors" {
    local args
    for args in "ABAB" "ABABABA" "AAAABB" "ABCABC" "AB-ABA" "abbaab"; do
        assert_usage_error race_condition --threads 2 --increments 1 \
            --schedule "$args"
    done
    assert_usage_error race_condition --threads 2 --increments 1 --schedule ""
    assert_usage_error race_condition --schedule ABABAB
    assert_usage_error race_condition --threads 2 --increments 1 --explore \
        --schedule ABABAB
    assert_usage_error race_condition --threads 27 --increments 1 --explore
    # 4 x 3: 36!/(9!^4), far more than the cap: refused before starting
    assert_usage_error race_condition --threads 4 --increments 3 --explore
    [[ "$stderr" == *"--explore would run more than 1000000 schedules (36!/(9!^4))"* ]] ||
        fail "unexpected message: $stderr"
}

# graded: 1
@test "race_condition under ThreadSanitizer: --schedule and --explore are clean (the turnstile orders every step)" {
    tsan_build race_condition
    run --separate-stderr tsan_run race_condition --threads 2 \
        --increments 1 --explore
    assert_success
    assert_line "lost an update: 18 of 20"
    if grep -q 'ThreadSanitizer' <<<"$stderr"; then
        fail "TSan reported: $stderr"
    fi
}

# ====== README exercise: a schedule found by hand ======

# Task lab7.answers (labs/lab7/answers.txt).  The schedule is replayed on
# the grader's own build of race_condition, never the student's.
# graded: 3 task:lab7.answers
@test "race_condition: labs/lab7/answers.txt holds a losing schedule found by hand and the predicted count for 2 threads x 3 increments (graded)" {
    local losing count
    # graded: the grader's copy, read as the student's user
    answers_open lab7
    answer losing losing SCHEDULE '[A-Z]*'
    answer count count-2x3 N '[0-9]*'
    # replayed on the grader's own race_condition (kit_ref), not yours
    run --separate-stderr kit_ref race_condition \
        --threads 2 --increments 1 --schedule "$losing"
    assert_success
    [[ "$output" == *"counter=1 expected=2 lost=1"* ]] ||
        fail "task lab7.answers: replayed, losing=$losing loses no update: which step must come between the other thread's read and its write?"
    [ "$count" = "$(multinomial 9 9)" ] ||
        fail "task lab7.answers: count-2x3=$count is not the number of schedules: 2 threads of 9 steps each, in how many orders?"
}

# bats test_tags=serial
@test "race_condition: a thread that cannot be created is said once, the main thread adds for it, the count stays exact" {
    # room for 3 more tasks as nobody: some of the 8 threads cannot start
    # (each adds long enough to still be running when the next is made)
    run_starved 3 race_condition --threads 8 --increments 3000000 --lock mutex
    assert_equal "$status" 0
    [ "${#stderr_lines[@]}" -eq 1 ] || fail "not one line: $stderr"
    [[ "$stderr" == "race_condition: cannot start thread "*" of 8: "* ]] ||
        fail "$stderr"
    assert_line "counter=24000000 expected=24000000 lost=0"
}
# SPDX-License-Identifier: MIT
