#!/usr/bin/env bats
# lab8.bats -- checks for bank: the money is conserved one transfer at a
# time and with a lock; threads and tasks without the lock lose it.
#
# The transfers come from --seed, so sync and every locked run of a seed
# must end with exactly the final= line stored in expected/lab8/ (see
# expected/README.md).  Unlocked runs are a matter of chance: the check
# counts how many of 10 runs break the sum.

bats_require_minimum_version 1.5.0
load ../../scripts/bats/common
load ../../scripts/bats/tsan

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

@test "bank: sync mode ends with the stored final= for every seed in expected/lab8 (graded)" {
    assert_golden --mode sync
}

@test "bank: threads --lock mutex ends with the stored final= for every seed (graded)" {
    assert_golden --mode threads --lock mutex
}

@test "bank: async --lock mutex ends with the stored final= for every seed (graded)" {
    assert_golden --mode async --lock mutex
}

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

@test "bank: --banks and --transfers change the shape, and sync keeps the sum" {
    run --separate-stderr kit bank --banks 3 --transfers 4 --seed 5
    assert_success
    assert_line --index 1 "initial={'bank_1': 1000, 'bank_2': 1000, 'bank_3': 1000}"
    assert_line --index 2 "...."
    assert_line "sum=3000"
}

@test "bank: unlocked threads break the sum in at least 8 of 10 runs (graded)" {
    broken_sums 10 --mode threads --lock none
    [ "$BROKEN" -ge 8 ]
}

@test "bank: unlocked async tasks break the sum in at least 8 of 10 runs (graded)" {
    broken_sums 10 --mode async --lock none
    [ "$BROKEN" -ge 8 ]
}

@test "bank: threads with the lock are still at least 3x faster than sync (graded)" {
    run --separate-stderr kit bank -q --seed 1 --mode sync
    assert_success
    local sync_seconds threads_seconds
    sync_seconds="$(seconds_of "$output")"
    run --separate-stderr kit bank -q --seed 1 --mode threads --lock mutex
    assert_success
    threads_seconds="$(seconds_of "$output")"
    echo "sync ${sync_seconds}s, threads with the lock ${threads_seconds}s"
    ratio_at_least "$sync_seconds" "$threads_seconds" 3
}

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

@test "bank: --help lists every option and exits 0" {
    run kit bank --help
    assert_success
    for option in --mode --lock --seed --transfers --banks --trace --quiet; do
        assert_output --partial -- "$option"
    done
}

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

@test "exercise: bank --lock per-bank (one lock per bank, taken in order) ends with the stored final= and never deadlocks (graded)" {
    run --separate-stderr kit bank --lock per-bank --transfers 1
    if [ "$status" -eq 2 ]; then
        skip "exercise not done yet: bank rejects --lock per-bank"
    fi
    # a deadlock would hang: give each run far more than it needs
    KIT_TIMEOUT=10 assert_golden --mode threads --lock per-bank
    local run_number
    for run_number in $(seq 5); do
        KIT_TIMEOUT=10 run --separate-stderr kit bank -q --mode threads \
            --lock per-bank --transfers 200 --banks 3
        assert_success
        assert_line "sum=3000"
    done
}

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

@test "bank under ThreadSanitizer: the locked runs are clean (graded)" {
    tsan_build bank
    local mode
    for mode in threads async; do
        run --separate-stderr tsan_run bank -q --seed 1 --transfers 10 \
            --mode "$mode" --lock mutex
        assert_success
        assert_line "sum=5000"
        if grep -q 'ThreadSanitizer' <<<"$stderr"; then
            fail "--mode $mode --lock mutex: TSan reported: $stderr"
        fi
    done
}
