#!/usr/bin/env bats
# lab8.bats -- checks for bank: the money is conserved one transfer at a
# time and with a lock; threads and tasks without the lock lose it.
#
# The transfers come from --seed, so sync and every locked run of a seed
# must end with exactly the final= line stored in expected/lab8/ (see
# expected/README.md).  Unlocked runs are a matter of chance: the check
# counts how many of 10 runs break the sum.

bats_require_minimum_version 1.5.0
load ../../scripts/checks/lib/lab

GOLDEN_DIR="$KIT/expected/lab8"

# goldens: the seed-N.txt files of expected/lab8, one per line.
goldens() {
    ls "$GOLDEN_DIR"/seed-*.txt
}

# seed_of FILE: N of expected/lab8/seed-N.txt
seed_of() {
    local name="${1##*/seed-}"
    echo "${name%.txt}"
}

# assert_golden ARGS...: for every stored seed, `bank ARGS --seed N` ends
# with exactly the stored final= and sum= lines.
assert_golden() {
    local golden seed
    for golden in $(goldens); do
        seed="$(seed_of "$golden")"
        run --separate-stderr kit bank -q --seed "$seed" "$@"
        assert_success
        assert_line --index 0 "seed=$seed"
        assert_equal "$(grep -E '^(final|sum)=' <<<"$output")" \
            "$(cat "$golden")"
    done
}

# broken_sums N ARGS...: run `bank -q ARGS` N times; set BROKEN to how
# many runs ended with a sum other than 5000.
broken_sums() {
    local runs="$1" run_number sum
    BROKEN=0
    shift
    for run_number in $(seq "$runs"); do
        run --separate-stderr kit bank -q "$@"
        assert_success
        sum="$(sed -n 's/^sum=\([0-9-]*\)$/\1/p' <<<"$output")"
        [ -n "$sum" ] || fail "no sum= line in: $output"
        if [ "$sum" -ne 5000 ]; then
            BROKEN=$((BROKEN + 1))
        fi
    done
    echo "the sum was wrong in $BROKEN of $runs runs"
}

# graded: 1 task:lab8.transfer
@test "bank: prints seed=, initial=, one dot per transfer, final=, sum= and the timer" {
    run --separate-stderr kit bank --seed 7 --transfers 6 --mode threads \
        --lock mutex
    assert_success
    assert_equal "${#lines[@]}" 6
    assert_line --index 0 "seed=7"
    assert_line --index 1 "initial={'bank_1': 1000, 'bank_2': 1000, 'bank_3': 1000, 'bank_4': 1000, 'bank_5': 1000}"
    assert_line --index 2 "......"
    assert_line --index 3 --regexp "^final=\\{'bank_1': -?[0-9]+, 'bank_2': -?[0-9]+, 'bank_3': -?[0-9]+, 'bank_4': -?[0-9]+, 'bank_5': -?[0-9]+\\}$"
    assert_line --index 4 "sum=5000"
    assert_line --index 5 --regexp '^Execution time: [0-9]+\.[0-9]{2}s$'
}

# graded: 2
@test "bank: sync mode ends with the stored final= for every seed in expected/lab8 (graded)" {
    assert_golden --mode sync
}

# graded: 3 task:lab8.transfer
@test "bank: threads --lock mutex ends with the stored final= for every seed (graded)" {
    assert_golden --mode threads --lock mutex
    # evidence that the lock kept the transfers apart (the right final=
    # can be printed without it: recomputed at the end): a locked run
    # under ThreadSanitizer sees no race
    tsan_build bank
    run --separate-stderr tsan_run bank -q --seed 1 --transfers 10 \
        --mode threads --lock mutex
    [ "$status" -ne 66 ] ||
        fail "the final= lines are right, but ThreadSanitizer saw the threads race on them: $(grep -m1 'WARNING: ThreadSanitizer' <<<"$stderr")"
    assert_success
}

# graded: 3
@test "bank: async --lock mutex ends with the stored final= for every seed (graded)" {
    assert_golden --mode async --lock mutex
}

# graded: 1 task:lab8.transfer
@test "bank: a run without --seed prints its seed, and --seed replays it" {
    run --separate-stderr kit bank -q --mode threads --lock mutex
    assert_success
    assert_line --index 0 --regexp '^seed=[0-9]+$'
    local seed="${lines[0]#seed=}"
    local final
    final="$(grep '^final=' <<<"$output")"

    run --separate-stderr kit bank -q --mode async --lock mutex \
        --seed "$seed"
    assert_success
    assert_line --index 0 "seed=$seed"
    assert_line "$final"
}

# graded: 1
@test "bank: --banks and --transfers change the shape, and sync keeps the sum" {
    run --separate-stderr kit bank --banks 3 --transfers 4 --seed 5
    assert_success
    assert_line --index 1 "initial={'bank_1': 1000, 'bank_2': 1000, 'bank_3': 1000}"
    assert_line --index 2 "...."
    assert_line "sum=3000"
}

# graded: 2 retry
@test "bank: unlocked threads break the sum in at least 8 of 10 runs (graded)" {
    broken_sums 10 --mode threads --lock none
    [ "$BROKEN" -ge 8 ]
}

# graded: 2 retry
@test "bank: unlocked async tasks break the sum in at least 8 of 10 runs (graded)" {
    broken_sums 10 --mode async --lock none
    [ "$BROKEN" -ge 8 ]
}

# graded: 2 retry
# bats test_tags=serial
@test "bank: threads with the lock are still at least 3x faster than sync (graded)" {
    run --separate-stderr kit bank -q --seed 1 --mode sync
    assert_success
    local sync_seconds threads_seconds
    # the wall times this check measured, never the printed timer
    sync_seconds="$(kit_wall)"
    run --separate-stderr kit bank -q --seed 1 --mode threads --lock mutex
    assert_success
    threads_seconds="$(kit_wall)"
    echo "sync ${sync_seconds}s, threads with the lock ${threads_seconds}s"
    ratio_at_least "$sync_seconds" "$threads_seconds" 3
}

# graded: 1
@test "bank: --trace writes one row per transfer" {
    local trace="$BATS_TEST_TMPDIR/bank.csv"
    run --separate-stderr kit bank -q --seed 3 --transfers 4 \
        --mode async --lock mutex --trace "$trace"
    assert_success
    run cat "$trace"
    assert_line --index 0 "id,worker,label,start_us,end_us,status"
    assert_equal "${#lines[@]}" 5
    assert_line --index 4 --regexp '^3,3,bank_[1-5]->bank_[1-5] [0-9]+,[0-9]+,[0-9]+,ok$'
}

# graded: 1
@test "bank: --help lists every option and exits 0" {
    run kit bank --help
    assert_success
    for option in --mode --lock --seed --transfers --banks --trace --quiet; do
        assert_output --partial -- "$option"
    done
}

# graded: 1
@test "bank: bad usage prints one line and exits 2" {
    assert_usage_error bank --banks 1
    assert_equal "$stderr" "bank: --banks must be a whole number from 2 to 100: '1'"
    assert_usage_error bank --lock spin
    assert_usage_error bank --mode nope
    assert_usage_error bank --seed x
    assert_usage_error bank --transfers 0
    assert_usage_error bank --bogus
    assert_usage_error bank extra-argument
}

# graded: 2
@test "bank under ThreadSanitizer: unlocked threads are reported as a data race (graded)" {
    tsan_build bank
    run --separate-stderr tsan_run bank -q --seed 1 --transfers 10 \
        --mode threads --lock none
    assert_equal "$status" 66
    grep -q '^WARNING: ThreadSanitizer: data race' <<<"$stderr" ||
        fail "no data race report on stderr: $stderr"
    grep -q 'ThreadSanitizer: data race .* in update_bank$' <<<"$stderr" ||
        fail "the report does not name update_bank: $stderr"
}

# graded: 2 task:lab8.transfer
@test "bank under ThreadSanitizer: the locked runs are clean (graded)" {
    tsan_build bank
    local mode final run_number
    for mode in threads async; do
        run --separate-stderr tsan_run bank -q --seed 1 --transfers 10 \
            --mode "$mode" --lock mutex
        assert_success
        assert_line "sum=5000"
        if grep -q 'ThreadSanitizer' <<<"$stderr"; then
            fail "task lab8.transfer: --mode $mode --lock mutex: ThreadSanitizer saw two transfers write a bank at once: does transaction_lock cover both banks' updates? $(grep -m1 -A3 'WARNING: ThreadSanitizer' <<<"$stderr")"
        fi
        # the plain build behaves alike: the same run ends the same, and
        # longer ones keep the sum (a lock that is real only when
        # sanitized is no lock)
        final="$(grep '^final=' <<<"$output")"
        for run_number in 1 2 3; do
            if [ "$run_number" -eq 1 ]; then
                run --separate-stderr kit bank -q --seed 1 --transfers 10 \
                    --mode "$mode" --lock mutex
            else
                run --separate-stderr kit bank -q --mode "$mode" --lock mutex
            fi
            assert_success
            if [ "$run_number" -eq 1 ] &&
                [ "$(grep '^final=' <<<"$output")" != "$final" ] ||
                ! grep -qx 'sum=5000' <<<"$output"; then
                echo "# reason: bank --mode $mode --lock mutex: the plain build ended otherwise than the grader's ThreadSanitizer build ($(grep '^sum=' <<<"$output" || echo 'no sum'))" >&3 2>/dev/null || true
                fail "task lab8.transfer: --mode $mode --lock mutex: the plain build does not do what the sanitized one did: $output"
            fi
        done
    done
}

# ====== Step by step: --schedule and --explore (the turnstile) ======

# The small case: 2 transfers over 3 banks.  Seed 42 draws two transfers
# in opposite directions (bank_2 -> bank_1 59, bank_1 -> bank_2 63):
# the pair that can deadlock when each locks `from` first.
SMALL=(--mode threads --transfers 2 --banks 3 --seed 42)

# field_of PREFIX: the number after "PREFIX" at the start of a line.
field_of() {
    sed -n "s/^$1\\([0-9]*\\).*/\\1/p" <<<"$output"
}

# graded: 3
@test "bank --explore: 2 transfers over 3 banks, every interleaving counted and judged (graded)" {
    run --separate-stderr kit bank "${SMALL[@]}" --explore
    assert_success
    assert_line --index 0 "seed=42"
    assert_line "A: bank_2 -> bank_1 59"
    assert_line "B: bank_1 -> bank_2 63"
    # 4 steps each (check, withdraw, check, deposit): 8!/(4!4!)
    assert_line "schedules: $(multinomial 4 4) = 8!/(4!*4!)"
    local broken
    broken="$(field_of 'broke the sum: ')"
    echo "broke the sum: $broken of 70"
    [ "$broken" -gt 0 ] && [ "$broken" -lt 70 ]
    assert_line --regexp '^shortest schedule that breaks it: [AB]{8} \([0-9]+ switches\)$'
    # the tasks: 6 stretches between awaits each, 12!/(6!6!)
    assert_line --regexp "^as tasks \\(--mode async, an await at every sleep\\): schedules: $(multinomial 6 6), broke the sum: [1-9][0-9]* of $(multinomial 6 6)\$"
}

# graded: 3
@test "bank --explore: every schedule that breaks the sum breaks it when replayed, and no other (graded)" {
    local trace="$BATS_TEST_TMPDIR/explore.csv" row schedule sum verdict n=0
    run --separate-stderr kit bank "${SMALL[@]}" --explore --trace "$trace"
    assert_success
    while IFS=, read -r _ _ row _ _ verdict; do
        schedule="${row%% *}"
        sum="${row#* sum=}"
        run --separate-stderr kit bank "${SMALL[@]}" --schedule "$schedule" -q
        assert_success
        assert_line "sum=$sum"
        if [ "$verdict" = lost ]; then
            [ "$sum" -ne 3000 ] || fail "$schedule: called broken, sum=$sum"
        else
            assert_equal "$verdict" ok
            assert_equal "$sum" 3000
        fi
        n=$((n + 1))
    done < <(tail -n +2 "$trace")
    assert_equal "$n" 70
}

# graded: 1
@test "bank --schedule: prints each step as it happens and the balances it leaves" {
    run --separate-stderr kit bank "${SMALL[@]}" --schedule AAABBBBA
    assert_success
    assert_line --index 0 "seed=42"
    assert_line --index 4 "A: check bank_2: 1000"
    assert_line --index 5 "A: withdraw 59: bank_2=941"
    assert_line --index 6 "A: check bank_1: 1000"
    assert_line --index 7 "B: check bank_1: 1000"
    assert_line --index 8 "B: withdraw 63: bank_1=937"
    assert_line --index 9 "B: check bank_2: 941"
    assert_line --index 10 "B: deposit 63: bank_2=1004"
    assert_line --index 11 "A: deposit 59: bank_1=1059"
    assert_line "final={'bank_1': 1059, 'bank_2': 1004, 'bank_3': 1000}"
    assert_line "sum=3063"
}

# graded: 3 task:lab8.transfer
@test "bank --explore --lock mutex: no schedule breaks the sum, proved by exhaustion (graded)" {
    run --separate-stderr kit bank "${SMALL[@]}" --explore --lock mutex
    assert_success
    # a transfer waiting for the lock takes no step: the two orders of
    # the two critical sections
    assert_line --regexp '^schedules: 2 \(of 12!/\(6!\*6!\) = 924 orders'
    assert_line "broke the sum: 0 of 2"
    # the tasks with the async lock: none breaks it either
    assert_line --regexp '^as tasks \(--mode async, an await at every sleep\): schedules: [0-9]+, broke the sum: 0 of [0-9]+$'
}

# graded: 3
@test "bank --explore --lock per-account --order transfer: finds the deadlock and does not hang (graded)" {
    KIT_TIMEOUT=30 run --separate-stderr kit bank "${SMALL[@]}" --explore \
        --lock per-account --order transfer
    assert_success
    assert_line "deadlocked: 2 of 6"
    assert_line "broke the sum: 0 of 6"
    assert_line "shortest deadlock: AB (A waits for B, B waits for A)"

    # replayed, it stops at the deadlock: reported, exit 1, no hang
    KIT_TIMEOUT=30 run --separate-stderr kit bank "${SMALL[@]}" \
        --lock per-account --order transfer --schedule AB
    assert_equal "$status" 1
    assert_line "A: take lock bank_2"
    assert_line "B: take lock bank_1"
    assert_line "deadlock after 2 steps: A waits for B, B waits for A (each waits for a lock another holds: none can go on)"
    assert_line "sum=3000"
}

# Task lab8.order (make_transfers): one lock order.  Evidence: the
# turnstile runs every schedule and sees who waits for whom.
# graded: 3 task:lab8.order
@test "bank --explore --lock per-account --order global: no deadlock in any schedule (graded)" {
    KIT_TIMEOUT=30 run --separate-stderr kit bank "${SMALL[@]}" --explore \
        --lock per-account --order global
    [[ "$output" == *$'\n'"deadlocked: 0 of 2"* ]] ||
        fail "task lab8.order: with --order global the turnstile found $(grep -m1 '^deadlocked:' <<<"$output" || echo 'no deadlocked: line'): two transfers that take their banks' locks in opposite orders can each hold one and wait for the other -- do all transfers take the lower-numbered bank first?"
    assert_success
    assert_line "deadlocked: 0 of 2"
    assert_line "broke the sum: 0 of 2"
    # and the same with transfers that share only one bank (seed 2)
    KIT_TIMEOUT=30 run --separate-stderr kit bank --mode threads \
        --transfers 2 --banks 3 --seed 2 --explore --lock per-account
    assert_success
    assert_line --regexp '^deadlocked: 0 of [0-9]+$'
    assert_line --regexp '^broke the sum: 0 of [0-9]+$'
}

# graded: 2 task:lab8.order
@test "bank --lock per-account: ends with the stored final= for every seed, in threads and async" {
    KIT_TIMEOUT=20 assert_golden --mode threads --lock per-account
    KIT_TIMEOUT=20 assert_golden --mode async --lock per-account
}

# bats test_tags=serial
@test "bank --explore: SIGTERM ends it within a second with the summary of the schedules explored" {
    # 3 transfers: 12!/(4!*4!*4!) = 34,650 schedules, many seconds
    local trace="$BATS_TEST_TMPDIR/explore.csv" runs broken
    interrupt_on_output TERM "$trace" bank --mode threads --transfers 3 \
        --banks 3 --seed 42 --explore --trace "$trace"
    assert_equal "$status" 143
    [ "$waited" -le 1500 ] || fail "exited $waited ms after SIGTERM"
    runs="$(sed -n 's/^schedules: \([0-9]*\) explored, then interrupted (of 12!\/(4!\*4!\*4!) = 34650 orders of the steps)$/\1/p' <<<"$output")"
    [ -n "$runs" ] || fail "no 'explored, then interrupted' line: $output"
    broken="$(field_of 'broke the sum: ')"
    assert_line "broke the sum: $broken of $runs"
    refute_line --partial "as tasks"
    assert_line --index "$((${#lines[@]} - 1))" --regexp '^Execution time: '
    assert_equal "$stderr" "bank: interrupted by SIGTERM: $runs of 34650 schedules finished, the rest cancelled"
    # a row for each schedule counted, each one whole: 12 steps
    assert_equal "$(($(wc -l <"$trace") - 1))" "$runs"
    assert_equal "$(awk -F, 'NR > 1 && $6 == "lost"' "$trace" | wc -l)" "$broken"
    run grep -cvE '^[0-9]+,0,[ABC]{12} sum=[0-9]+,[0-9]+,[0-9]+,(ok|lost)$' \
        <(tail -n +2 "$trace")
    assert_output 0
}

# graded: 1 task:lab8.transfer
@test "bank --schedule: a transfer blocked on a lock cannot move, and the run says so" {
    run --separate-stderr kit bank "${SMALL[@]}" --lock mutex \
        --schedule ABAAAAABBBBB
    assert_equal "$status" 1
    assert_line "A: take lock transaction"
    assert_line "B: blocked: waits for a lock A holds"
    [[ "$stderr" == *"step 2 of the schedule cannot run: B waits for a lock A holds"* ]] ||
        fail "unexpected message: $stderr"
}

# graded: 1
@test "bank --schedule and --explore: bad schedules and oversized cases are usage errors" {
    local schedule
    for schedule in ABAB AAAAABBB ABC AAABBBBAA x; do
        assert_usage_error bank "${SMALL[@]}" --schedule "$schedule"
    done
    assert_usage_error bank --transfers 2 --banks 3 --seed 42 --explore
    assert_usage_error bank --mode async --transfers 2 --explore
    assert_usage_error bank --mode threads --explore
    assert_usage_error bank "${SMALL[@]}" --explore --schedule AB
    assert_usage_error bank "${SMALL[@]}" --lock per-account --order bogus
}

# ====== README exercise: a deadlock of three, found by hand ======

# Task lab8.answers (labs/lab8/answers.txt).  The seed and the schedule
# are replayed on the grader's own build of bank, never the student's.
# graded: 3 task:lab8.answers
@test "bank: labs/lab8/answers.txt names a seed whose 3 transfers deadlock in a cycle, and the schedule that does it (graded)" {
    local seed schedule
    # graded: the grader's copy, read as the student's user
    answers_open lab8
    answer seed seed N '[0-9]*'
    answer schedule deadlock SCHEDULE '[A-Z]*'
    # replayed on the grader's own bank (kit_ref), not yours
    KIT_TIMEOUT=30 run --separate-stderr kit_ref bank --mode threads \
        --transfers 3 --banks 3 --seed "$seed" --lock per-account \
        --order transfer --schedule "$schedule"
    # a cycle of three: each holds one lock and waits for the next
    [[ "$output" =~ (^|$'\n')deadlock\ after\ 3\ steps:\ (A\ waits\ for\ B,\ B\ waits\ for\ C,\ C\ waits\ for\ A|A\ waits\ for\ C,\ B\ waits\ for\ A,\ C\ waits\ for\ B)\  ]] ||
        fail "task lab8.answers: replayed, seed=$seed with deadlock=$schedule is not a cycle of three after 3 steps: $(grep -m1 '^deadlock\|^sum=' <<<"$output"): do the three transfers go round the three banks, and does each take its first lock before any takes a second?"
    assert_equal "$status" 1
    # in the global order the same seed finishes, whatever the schedule
    KIT_TIMEOUT=30 run --separate-stderr kit_ref bank --mode threads \
        --transfers 3 --banks 3 --seed "$seed" --lock per-account -q
    assert_success
    assert_line "sum=3000"
}

# graded: 1 task:lab8.order
@test "bank under ThreadSanitizer: --explore sees the lock-order inversion of --order transfer, none in the global order" {
    tsan_build bank
    run --separate-stderr tsan_run bank "${SMALL[@]}" --explore \
        --lock per-account --order transfer
    assert_equal "$status" 66
    assert_line "deadlocked: 2 of 6"
    grep -q 'WARNING: ThreadSanitizer: lock-order-inversion' <<<"$stderr" ||
        fail "no lock-order-inversion report: $stderr"
    run --separate-stderr tsan_run bank "${SMALL[@]}" --explore \
        --lock per-account --order global
    assert_success
    assert_line "deadlocked: 0 of 2"
    if grep -q 'ThreadSanitizer' <<<"$stderr"; then
        fail "--order global: TSan reported: $stderr"
    fi
}

# bats test_tags=serial
@test "bank: a thread that cannot be created is said once, the main thread makes that transfer, the sum holds" {
    # room for 3 more tasks as nobody: most of the 20 transfers' threads
    # cannot start
    run_starved 3 bank --mode threads --lock mutex --seed 1
    assert_equal "$status" 0
    [ "${#stderr_lines[@]}" -eq 1 ] || fail "not one line: $stderr"
    [[ "$stderr" == "bank: cannot start a thread for transfer "* ]] ||
        fail "$stderr"
    assert_equal "$(grep -E '^(final|sum)=' <<<"$output")" \
        "$(cat "$KIT/expected/lab8/seed-1.txt")"
}

@test "bank: a real deadlock (--lock per-account --order transfer) still ends on SIGTERM, with its summary" {
    # 200 threads over 3 banks, locks in transfer order: some take two
    # locks in opposite orders and wait for each other for good -- no
    # signal pulls a thread out of pthread_mutex_lock.  The signal goes
    # once the program is at work (its first line out); the threads go on
    # into their transfers after it, so the deadlock forms either way.
    kit_background bank --mode threads --lock per-account --order transfer \
        --transfers 200 --banks 3 --seed 7 -q
    wait_for 10 has_line "$BATS_TEST_TMPDIR/out" '^initial=' || true
    interrupt_and_wait TERM bank "$KIT_PID"
    assert_equal "$status" 143
    [ "$waited" -le 3000 ] || fail "bank ran on $waited ms after SIGTERM"
    assert_line --regexp '^sum=[0-9]+$'
    [[ "${lines[-1]}" =~ ^Execution\ time: ]] || fail "no timer line last"
    [[ "$stderr" == *"interrupted by SIGTERM"* ]] || fail "$stderr"
}
# SPDX-License-Identifier: MIT
