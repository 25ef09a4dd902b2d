#!/usr/bin/env bats
# lab1.bats -- checks for models: the same trains of thought run as
# threads, as cooperative tasks and as processes.
#
# Threads and processes are scheduled by the OS, so their order is never
# checked, only invariants (every step seen once, in order per train, the
# CPUs used).  The tasks' order is fully determined by where they yield,
# so it is checked exactly.

# The machine to itself (scripts/run-checks runs it after the others):
# its checks count CPUs used and compare CPU seconds.
# bats file_tags=serial

bats_require_minimum_version 1.5.0
load ../../scripts/checks/lib/lab

LETTERS=ABCDEFGHIJKLMNOPQRSTUVWXYZ

# field MODEL KEY: the value of the "MODEL: KEY=value" line in $output.
field() {
    sed -n "s/^$1: $2=\\([^ ]*\\).*/\\1/p" <<<"$output"
}

# order_of MODEL: the whole "MODEL: order=..." list in $output.
order_of() {
    sed -n "s/^$1: order=//p" <<<"$output"
}

# round_robin TRAINS STEPS: "A1 B1 C1 A2 B2 C2 ..."
round_robin() {
    local trains="$1" steps="$2" step train order=()
    for ((step = 1; step <= steps; step++)); do
        for ((train = 0; train < trains; train++)); do
            order+=("${LETTERS:train:1}$step")
        done
    done
    echo "${order[*]}"
}

# each_train_in_order ORDER TRAINS STEPS: every train's steps appear
# exactly once each, as 1, 2, ..., STEPS, whatever the interleaving.
each_train_in_order() {
    local order="$1" trains="$2" steps="$3" train letter seen expected
    [ "$(wc -w <<<"$order")" -eq $((trains * steps)) ] || {
        echo "expected $((trains * steps)) steps in: $order" >&2
        return 1
    }
    for ((train = 0; train < trains; train++)); do
        letter="${LETTERS:train:1}"
        seen="$(tr ' ' '\n' <<<"$order" | sed -n "s/^$letter//p" | xargs)"
        expected="$(seq -s ' ' 1 "$steps")"
        [ "$seen" = "$expected" ] || {
            echo "train $letter: steps '$seen', expected '$expected'" >&2
            return 1
        }
    done
}

# interleaved ORDER: succeed when the trains took turns, i.e. some train's
# steps are not all in one block (one after another gives A1..A5 B1..B5).
interleaved() {
    local trains blocks
    trains="$(tr ' ' '\n' <<<"$1" | cut -c1 | sort -u | wc -l)"
    blocks="$(tr ' ' '\n' <<<"$1" | cut -c1 | uniq | wc -l)"
    [ "$blocks" -gt "$trains" ]
}

# more_than_one_cpu LIST: succeed when "0,1"-style LIST names 2+ CPUs.
more_than_one_cpu() {
    [[ "$1" == *,* ]]
}

# parallel MODEL: succeed when $output shows 2+ trains running at once.
parallel() {
    local at_once
    at_once="$(field "$1" at-once)"
    [ -n "$at_once" ] && [ "$at_once" -ge 2 ]
}

# takes_turns_on_several_cpus MODEL TRAINS STEPS: runs MODEL alone; every
# train must take its steps in order, and the trains must take turns on
# more than one CPU, with 2+ running at once.  The machine is shared:
# while other programs keep one CPU busy, the OS may keep every thread or
# process on the other one for a whole run.  Up to five tries, each a
# real run; the first good one ends the loop.
takes_turns_on_several_cpus() {
    local model="$1" trains="$2" steps="$3" try order
    for try in 1 2 3 4 5; do
        run kit models --only "$model" -q --trains "$trains" --steps "$steps"
        assert_success
        order="$(order_of "$model")"
        each_train_in_order "$order" "$trains" "$steps"
        if more_than_one_cpu "$(field "$model" cpus)" &&
            interleaved "$order" && parallel "$model"; then
            return 0
        fi
    done
    echo "in 5 runs the $model never took turns on several CPUs" \
         "at once; the last run:" >&2
    echo "$output" >&2
    return 1
}

# graded: 2 retry task:lab1.threads
@test "models: threads take turns and run at once on more than one CPU" {
    need_cores 2
    takes_turns_on_several_cpus threads 3 10
}

# Task lab1.threads (labs/lab1/models.c, run_threads): one thread per
# train.  Evidence: the threads /proc counts while models runs (it cannot
# print them).
# graded: 3 task:lab1.threads
@test "models: --only threads runs one thread per train" {
    kit_threads models --only threads -q --trains 3 --steps 10
    assert_success
    [ "$THREADS_SEEN" -gt 0 ] ||
        fail "models ended before its threads could be counted"
    [ "$THREADS_MOST" -eq 4 ] ||
        fail "task lab1.threads: /proc showed $THREADS_MOST threads at most while models ran 3 trains, not 4 (main + one per train): does run_threads() start each train with pthread_create()?"
}

# graded: 2
@test "models: the tasks take turns in the same order in every run" {
    run kit models --only tasks -q
    assert_success
    local first
    first="$(order_of tasks)"
    assert_equal "$first" "$(round_robin 3 5)"

    run kit models --only tasks -q
    assert_success
    assert_equal "$(order_of tasks)" "$first"

    run kit models --only tasks -q --trains 4 --steps 3 --work-ms 2
    assert_success
    assert_equal "$(order_of tasks)" "A1 B1 C1 D1 A2 B2 C2 D2 A3 B3 C3 D3"
}

# graded: 2
@test "models: the tasks never use more than one CPU at a time" {
    run kit models --only tasks -q --trains 4
    assert_success
    assert_line --regexp '^tasks: at-once=1 '
    assert_line --regexp '^tasks +1 \([0-9,]+\) +cooperative '
    # one CPU-second of work per second at most, on average too
    local busy
    busy="$(field tasks busy)"
    awk -v b="$busy" 'BEGIN { exit !(b <= 1.01) }' || {
        echo "tasks: busy=$busy CPUs, expected at most 1" >&2
        return 1
    }
}

# graded: 2
@test "models: a global each child process sets is unchanged in the parent" {
    run kit models --only processes -q
    assert_success
    assert_line --regexp '^processes: global before=0 after=0 '
    each_train_in_order "$(order_of processes)" 3 5
}

# graded: 1
@test "models: threads and tasks share the global the trains change" {
    run kit models --only threads -q
    assert_success
    assert_line --regexp '^threads: global before=0 after=[123] '

    # the tasks finish in turn, C last: it is the last to write
    run kit models --only tasks -q
    assert_success
    assert_line --regexp '^tasks: global before=0 after=3 '
}

# graded: 2 retry
@test "models: processes take turns on several CPUs and report every step" {
    need_cores 2
    takes_turns_on_several_cpus processes 4 6
}

# graded: 1
@test "models: the table shows each model, its switching and who decides" {
    run kit models
    assert_success
    local os='the operating system'
    assert_line --regexp '^model +CPUs at once +switching +who decides'
    assert_line --regexp "^threads +[0-9]+ \([0-9,]+\) +preemptive +$os +one\$"
    assert_line --regexp \
        '^tasks +1 \([0-9,]+\) +cooperative +the task, at each yield +one$'
    assert_line --regexp \
        "^processes +[0-9]+ \([0-9,]+\) +preemptive +$os +many\$"
    # one line per train and model, and the timer line last
    [ "$(grep -c ' took 5 steps on cpus ' <<<"$output")" -eq 9 ]
    assert_regex "${lines[-1]}" '^Execution time: [0-9]+\.[0-9]{2}s$'
}

# graded: 1
@test "models: -q prints only the summary lines" {
    run kit models -q --steps 2 --work-ms 2
    assert_success
    refute_line --partial ' took 2 steps '
    assert_line --regexp '^threads: order='
    assert_line --regexp '^processes: cpus='
    assert_regex "${lines[-1]}" '^Execution time: '
}

# graded: 1
@test "models: --trace writes one row per step of every model" {
    local trace="$BATS_TEST_TMPDIR/trace.csv"
    run kit models -q --steps 4 --work-ms 2 --trace "$trace"
    assert_success
    assert_equal "$(head -n 1 "$trace")" \
        "id,worker,label,start_us,end_us,status"
    assert_equal "$(tail -n +2 "$trace" | wc -l)" 36
    assert_equal "$(grep -c ',threads:[ABC] step [1-4],' "$trace")" 12
    assert_equal "$(grep -c ',tasks:[ABC] step [1-4],' "$trace")" 12
    assert_equal "$(grep -c ',processes:[ABC] step [1-4],' "$trace")" 12
    # worker is the train: B is worker 1
    assert_equal "$(grep -c '^[0-9]*,1,[a-z]*:B step ' "$trace")" 12
}

# graded: 1
@test "models: bad usage is one line on stderr, exit 2, and nothing run" {
    local args
    for args in "--steps 0" "--steps abc" "--trains 27" "--work-ms 0" \
                "--only fibers" "--bogus" "--steps" "extra"; do
        # shellcheck disable=SC2086
        run --separate-stderr kit models $args
        assert_equal "$status" 2
        assert_equal "$output" ""
        assert_equal "${#stderr_lines[@]}" 1
        assert_regex "$stderr" '^models: '
    done
    run --separate-stderr kit models --only fibers
    assert_equal "$stderr" \
        "models: --only must be one of threads, tasks, processes: 'fibers'"
}

# graded: 1
@test "models: -h lists every option with its default and exits 0" {
    run kit models -h
    assert_success
    local option
    for option in --steps --trains --work-ms --only --trace --quiet --help; do
        assert_line --partial -- "$option"
    done
}

@test "models: a thread or process that cannot be had is said once, the other trains run, exit 1" {
    # room for 3 more threads or processes as nobody: of 8 trains, some
    # cannot start (each takes long enough to still run when the next is
    # made); the rest report their steps and the run ends as usual
    local model
    for model in threads processes; do
        run_starved 3 models --only "$model" --trains 8 --steps 3 \
            --work-ms 50 -q
        assert_equal "$status" 1
        [ "${#stderr_lines[@]}" -eq 1 ] || fail "$model: not one line: $stderr"
        [[ "$stderr" == "models: cannot "*" train "[A-H]": "* ]] ||
            fail "$model: $stderr"
        assert_line --regexp "^$model: order=.*A1"
        assert_regex "${lines[-1]}" '^Execution time: [0-9]+\.[0-9]{2}s$'
    done
}
# SPDX-License-Identifier: MIT
