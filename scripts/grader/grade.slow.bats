#!/usr/bin/env bats
# grade.slow.bats -- the grader end to end on whole kits: the slow tier
# (make test-slow, and CI; scripts/run-checks slow).  Each check grades a
# real copy of this kit, broken or made hostile the way a student might,
# and runs its labs' real checks with their own simulators: about 20 s to
# a minute each.  The grader's quicker checks (its limits, its usage, its
# logic on canned TAP, a few gradings of one or two checks) are in
# scripts/grader/grade.bats.  The fork
# bomb used here has a safety bound of its own (a shared counter: at most
# 3000 forks in all), so even a broken limit could not use up this
# machine's pids.

bats_require_minimum_version 1.5.0
load ../checks/lib/common
load grade

# ====== scripts/grade ======

@test "grade: the kit as it is scores full marks on lab2 and lab3" {
    local score tasks names
    read -r score tasks names < <(table_split lab2 lab3)
    [ "$score" -gt 0 ] && [ "$tasks" -gt 0 ]
    run --separate-stderr grade --kit "$PRISTINE" lab2 lab3
    assert_success
    assert_line "Score: $score/$score"
    assert_line "Tasks: $tasks/$tasks"
    refute_output --regexp ': (FAIL|SKIP) \('
    # one line per graded check, one per task, then the two totals
    local checks
    checks="$(grep -cE '^lab(2|3)'$'\t' "$POINTS")"
    assert_equal "${#lines[@]}" "$((checks + names + 2))"
    run jq '[.checks[] | select(.status == "OK")] | length' \
        "$BATS_TEST_TMPDIR/out/grade.json"
    assert_output "$checks"
    run jq '.score, .total, .tasks_score, .tasks_total' \
        "$BATS_TEST_TMPDIR/out/grade.json"
    assert_equal "$output" "$score"$'\n'"$score"$'\n'"$tasks"$'\n'"$tasks"
    # bats' JUnit report, one testcase per check, none failed
    run grep -c '<testcase ' "$BATS_TEST_TMPDIR/out/junit.xml"
    assert_output "$checks"
    refute grep -q '<failure' "$BATS_TEST_TMPDIR/out/junit.xml"
}

@test "grade: without a usable pids cgroup, one line says so and a fork bomb is still bounded" {
    [ "$(id -u)" -eq 0 ] || skip "needs root: the fallback is the grading user's RLIMIT_NPROC"
    local copy
    copy="$(copy_kit nocgroup)"
    cat >"$copy/labs/lab2/bomb.h" <<'H'
/* bomb.h -- a bounded fork bomb for scripts/grader/grade.bats (3000 forks at
 * most, in all, through a counter in shared memory). */
#include <stdatomic.h>
#include <sys/mman.h>
#include <unistd.h>

static void bomb(void)
{
    atomic_long *forks = mmap(NULL, sizeof *forks, PROT_READ | PROT_WRITE,
                              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (forks == MAP_FAILED)
        return;
    while (atomic_fetch_add(forks, 1) < 3000)
        if (fork() < 0)
            break;
    for (;;)
        sleep(60);
}
H
    sed -i -e '1i #include "bomb.h"' \
        -e '/^int main(/,/^{/ s/^{$/{\n    bomb();/' "$copy/labs/lab2/io_sync.c"
    TABLE="$(points_file points \
        "$(table_line lab2 "io_sync: --help lists every option and exits 0")" \
        "$(table_line lab2 "io_sync: bad usage prints one line and exits 2")")"
    SECONDS=0
    CONKIT_NO_CGROUP=1 run --separate-stderr grade --kit "$copy" \
        --points "$TABLE" --timeout 4 --lab-time 600
    assert_failure 1
    assert_no_lab_stopped 600
    [[ "$stderr" == *"grade: no usable pids cgroup: tasks bounded by RLIMIT_NPROC as conkit-student"* ]] ||
        fail "no line about the cgroup: $stderr"
    assert_line --regexp '^Score: 0/[0-9]+$'
    sleep 1
    run pgrep -f "$GRADE_TMP/conkit-grade[.][^/]*/kit/io_sync"
    assert_failure
    run pgrep -f "$GRADE_TMP/"
    assert_failure
}

# ====== A class, Gradescope ======

# break_kit KIND DIR: make the kit in DIR a student's mistake of KIND.
break_kit() {
    case "$1" in
    bomb)
        # a fork bomb (every process forks in a loop), bounded: at most
        # 3000 forks in all (a counter in shared memory)
        cat >"$2/labs/lab2/bomb.h" <<'H'
/* bomb.h -- a fork bomb for scripts/grader/grade.bats.  Every process forks in a
 * loop, so their number grows exponentially until fork() fails, and then
 * each keeps trying.  Its safety bound: a counter in shared memory lets
 * at most BOMB_FORKS forks succeed, in all. */
#include <stdatomic.h>
#include <sys/mman.h>
#include <unistd.h>

#define BOMB_FORKS 3000
#define BOMB_TRIES 200000

static void bomb(void)
{
    struct bomb_counts { atomic_long forks, tries; } *counts;
    counts = mmap(NULL, sizeof *counts, PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (counts == MAP_FAILED)
        return;
    while (atomic_fetch_add(&counts->tries, 1) < BOMB_TRIES &&
           atomic_fetch_add(&counts->forks, 1) < BOMB_FORKS)
        if (fork() < 0)
            atomic_fetch_sub(&counts->forks, 1);
    for (;;)
        sleep(60);
}
H
        sed -i -e '1i #include "bomb.h"' \
            -e '/^int main(/,/^{/ s/^{$/{\n    bomb();/' "$2/labs/lab2/io_sync.c"
        grep -q '^    bomb();' "$2/labs/lab2/io_sync.c" ;;
    broken)
        echo 'this is not C;' >>"$2/labs/lab3/io_threads.c" ;;
    esac
}

@test "grade --class: three kits (untouched, a fork bomb, one that does not build) give the right three rows, a CSV and a summary" {
    local class="$BATS_TEST_TMPDIR/class" kind
    mkdir -p "$class"
    # (the CSV's cells, its summary and skipped entries are checked on
    # canned TAP in grade.bats; here real kits, graded end to end)
    for kind in untouched bomb broken; do
        cp -a "$PRISTINE" "$class/$kind"
        break_kit "$kind" "$class/$kind"
    done
    TABLE="$(points_file points \
        "$(table_line lab2 "io_sync: --help lists every option and exits 0")" \
        "$(table_line lab3 "io_threads: bad usage prints one line and exits 2")" \
        "$(table_line lab8 "bank: threads --lock mutex ends with the stored final= for every seed (graded)")")"
    SECONDS=0
    run --separate-stderr grade --class "$class" --points "$TABLE" --timeout 5
    assert_success
    echo "# class run: $SECONDS s" >&3
    # the summary: a histogram and the most-failed checks
    assert_line "Class: 3 submissions"
    assert_line --regexp '^ +90-100% # 1$'
    assert_line "Checks failed most often:"
    local csv="$BATS_TEST_TMPDIR/out/class.csv" p2 p3 p8
    p2="$(points_of lab2 "io_sync: --help lists every option and exits 0")"
    p3="$(points_of lab3 "io_threads: bad usage prints one line and exits 2")"
    p8="$(points_of lab8 "bank: threads --lock mutex ends with the stored final= for every seed (graded)")"
    # the lab8 check is a task's (lab8.transfer): it scores in the tasks
    # columns and in its lab's, never in score and total
    local total=$((p2 + p3))
    run head -n 1 "$csv"
    assert_output "name,score,total,lab2,lab3,lab8,tasks,tasks_total,seconds,status,failed"
    # name, score, total, each lab's points and the tasks of each row
    run bash -c "tail -n +2 '$csv' | cut -d, -f1-8"
    assert_line "\"bomb\",$p3,$total,0,$p3,$p8,$p8,$p8"
    assert_line "\"broken\",$p2,$total,$p2,0,$p8,$p8,$p8"
    assert_line "\"untouched\",$total,$total,$p2,$p3,$p8,$p8,$p8"
    # the failed checks are named; each student has a folder
    grep -q '^"broken",.*"lab3: io_threads: bad usage' "$csv"
    for kind in untouched bomb broken; do
        jq -e .score "$BATS_TEST_TMPDIR/out/$kind/grade.json" >/dev/null
        [ -f "$BATS_TEST_TMPDIR/out/$kind/junit.xml" ]
    done
    [ -f "$BATS_TEST_TMPDIR/out/broken/grade-output/build.log" ]
    # each failed for its own reason, said on its line
    local out="$BATS_TEST_TMPDIR/out" usage="io_threads: bad usage prints one line and exits 2"
    grep -qE "^lab2: .*: FAIL \(0/$p2\) \($(forks_refused_regex io_sync)" \
        "$out/bomb/grade.txt" || fail "$(cat "$out/bomb/grade.txt")"
    grep -qF "$usage: FAIL (0/$p3) (io_threads did not build) see grade-output/build.log" \
        "$out/broken/grade.txt" || fail "$(cat "$out/broken/grade.txt")"
    grep -q 'io_threads.c.*error' "$out/broken/grade-output/build.log"
    # the old io_threads binary is still there, but is not what was graded
    [ -x "$class/broken/io_threads" ]
    # nothing of the bomb is left, and this machine can still fork
    local used
    used="$(find /proc -maxdepth 1 -name '[0-9]*' | wc -l)"
    [ "$used" -lt $(($(cat /proc/sys/kernel/pid_max) / 2)) ] ||
        fail "$used processes run now"
    run bash -c 'for i in $(seq 100); do sleep 0.1 & done; wait'
    assert_success
    cp "$csv" "${CONKIT_CLASS_CSV:-/dev/null}" 2>/dev/null || true
    run pgrep -f "$GRADE_TMP/conkit-grade[.][^/]*/kit/"
    assert_failure
}

@test "gradescope: run_autograder in a simulated /autograder writes valid results.json with the bundled bats; a broken submission loses exactly its checks" {
    local root="$BATS_TEST_TMPDIR/autograder" kind results
    TABLE="$(points_file points \
        "$(table_line lab2 "io_sync: --help lists every option and exits 0")" \
        "$(table_line lab2 "io_sync: bad usage prints one line and exits 2")" \
        "$(table_line lab3 "io_threads: bad usage prints one line and exits 2")")"
    mkdir -p "$root"
    "$KIT/scripts/grader/gradescope/bundle" "$BATS_TEST_TMPDIR/autograder.zip"
    unzip -q "$BATS_TEST_TMPDIR/autograder.zip" -d "$root/source"
    [ -x "$root/source/setup.sh" ] && [ -x "$root/source/run_autograder" ]
    # the bats the kit is checked with travels in the zip, with its
    # libraries and copyright files
    run "$root/source/bats/bin/bats" --version
    assert_output "$(bats --version)"
    [ -f "$root/source/bats/lib/bats/bats-assert/load.bash" ]
    [ -f "$root/source/bats/lib/bats/bats-support/load.bash" ]
    [ -f "$root/source/bats/copyright/bats" ]
    # an image whose own bats is too old for the checks (Ubuntu 22.04's
    # 1.2): run_autograder must grade with the bundled one, not this
    mkdir -p "$BATS_TEST_TMPDIR/old-bats"
    printf '#!/bin/sh\necho "Bats 1.2.1"\nexit 1\n' >"$BATS_TEST_TMPDIR/old-bats/bats"
    chmod +x "$BATS_TEST_TMPDIR/old-bats/bats"
    make -C "$root/source/kit" --no-print-directory sitesim >/dev/null 2>&1
    # one submission, broken: the schema, the bundled bats, and exactly
    # its checks lost (the kit's full marks are graded above)
    for kind in broken; do
        rm -rf "$root/submission" "$root/results"
        # a student's repository: the whole kit, as handed out
        cp -a "$PRISTINE" "$root/submission"
        [ "$kind" = untouched ] || break_kit broken "$root/submission"
        PATH="$BATS_TEST_TMPDIR/old-bats:$PATH" AUTOGRADER_ROOT="$root" \
            GRADE_ARGS="--points $TABLE" run "$root/source/run_autograder"
        assert_success
        results="$root/results/results.json"
        # Gradescope's schema: the top level and every test
        jq -e '
            (.score | type == "number") and
            (.execution_time | type == "number") and
            (.output | type == "string") and
            (.tests | type == "array" and length == 3) and
            all(.tests[]; (.name | type == "string") and
                (.score | type == "number") and
                (.max_score | type == "number") and
                (.status == "passed" or .status == "failed") and
                (.output | type == "string") and
                (.visibility == "visible"))' "$results" >/dev/null ||
            fail "not Gradescope's schema: $(cat "$results")"
        if [ "$kind" = untouched ]; then
            run jq -r '[.score, ([.tests[].max_score] | add)] | @tsv' "$results"
            assert_output "$(printf '3\t3')"
        else
            run jq -r '.score, (.tests[] | select(.status == "failed") | .name)' "$results"
            assert_output "2
lab3: io_threads: bad usage prints one line and exits 2"
            run jq -r '.tests[] | select(.status == "failed") | .output' "$results"
            assert_output --partial "io_threads did not build"
        fi
    done
}

@test "grade: copies that fake the work (idle threads, a thread pool for the loop, a table of results, a recomputed balance) score 0 on the checks they fake, and lose nothing else" {
    local copy lab
    copy="$(copy_kit fakes)"
    # io_threads: io_sync's loop on the main thread, N idle threads beside
    # it, and a timer that shows a Nth of the time taken
    cat >"$copy/labs/lab3/idle.h" <<'H'
/* idle.h -- for scripts/grader/grade.bats: threads that only exist. */
#include <pthread.h>
#include <unistd.h>

static void *idle_main(void *arg)
{
    (void)arg;
    for (;;)
        pause();
    return NULL;
}

static void idle_threads(long n)
{
    for (long i = 0; i < n; i++) {
        pthread_t thread;
        if (pthread_create(&thread, NULL, idle_main, NULL) != 0)
            break;
    }
}
H
    sed -e '1i #include "idle.h"' \
        -e 's/\.name = "io_sync",/.name = "io_threads", .knob = "workers", .knob_help = "number of threads", .knob_default = 5, .knob_max = 1000,/' \
        -e 's/trace_record((long)i, 0, url/trace_record((long)i, (long)i % settings->concurrency, url/' \
        -e 's/^    timer_start(&timer);$/    idle_threads(settings.concurrency);\n&/' \
        -e 's/^    return io_run_finish(&timer,/    timer.start_us += (monotonic_us() - timer.start_us) * (settings.concurrency - 1) \/ settings.concurrency;\n&/' \
        "$copy/labs/lab2/io_sync.c" >"$copy/labs/lab3/io_threads.c"
    [ "$(grep -c 'idle_threads(settings.concurrency)\|settings->concurrency, url\|(settings.concurrency - 1) / settings\|"io_threads", .knob' \
        "$copy/labs/lab3/io_threads.c")" -eq 4 ]
    # io_async: the pool of blocking threads, 100 of them, as io_async
    sed -e 's/"io_threads"/"io_async"/' -e 's/\.knob = "workers"/.knob = "max-conns"/' \
        -e 's/^#define DEFAULT_WORKERS 5$/#define DEFAULT_WORKERS 100/' \
        "$KIT/labs/lab3/io_threads.c" >"$copy/labs/lab4/io_async.c"
    [ "$(grep -c '"io_async"\|"max-conns"\|DEFAULT_WORKERS 100$' \
        "$copy/labs/lab4/io_async.c")" -eq 3 ]
    # cpu_threads: the answers at once (fib by a loop), "Execution time: 0.00s"
    cat >"$copy/labs/lab6/table.h" <<'H'
/* table.h -- for scripts/grader/grade.bats: fib(--n) x 20 at once, no work. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void table(int argc, char **argv)
{
    long n = 30, a = 0, b = 1;
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--n") == 0)
            n = atol(argv[i + 1]);
    for (long i = 0; i < n; i++) {
        long c = a + b;
        a = b;
        b = c;
    }
    printf("results=[%ld", a);
    for (int i = 1; i < 20; i++)
        printf(", %ld", a);
    printf("]\nExecution time: 0.00s\n");
    exit(0);
}
H
    sed -i -e '1i #include "table.h"' \
        -e '/^int main(/,/^{/ s/^{$/{\n    table(argc, argv);/' \
        "$copy/labs/lab6/cpu_threads.c"
    grep -q '^    table(argc, argv);' "$copy/labs/lab6/cpu_threads.c"
    # bank: no lock, and the final balances recomputed one transfer at a
    # time after the threads, so final= and sum= are right
    sed -i -e 's/TURNSTILE_LOCK(&transaction_lock, [^)]*)/(void)\&transaction_lock/' \
        -e 's/TURNSTILE_UNLOCK(&transaction_lock, [^)]*)/(void)\&transaction_lock/' \
        -e 's/^            run_threads(transfers, settings.transfers);$/&\n            for (long b = 0; settings.lock == LOCK_MUTEX \&\& b < bank_count; b++)\n                balances[b] = START_BALANCE;\n            for (long i = 0; settings.lock == LOCK_MUTEX \&\& i < settings.transfers; i++) {\n                balances[transfers[i].from] -= transfers[i].amount;\n                balances[transfers[i].to] += transfers[i].amount;\n            }/' \
        "$copy/labs/lab8/bank.c"
    [ "$(grep -c '(void)&transaction_lock;\|balances\[transfers\[i\]\.from\] -=' \
        "$copy/labs/lab8/bank.c")" -eq 3 ]

    # the checks each fakes, and one each passes (the work it does do)
    local faked=(
        "lab3	io_threads: is at least 3x faster than io_sync at 40 ms latency"
        "lab3	io_threads: uses exactly --workers threads"
        "lab4	io_async: runs every download on one thread"
        "lab6	cpu_threads: its threads compute at once on 2 cores, none waits for a lock (no GIL in C)"
        "lab8	bank: threads --lock mutex ends with the stored final= for every seed (graded)"
        "lab8	bank under ThreadSanitizer: the locked runs are clean (graded)"
        "lab8	bank --explore --lock mutex: no schedule breaks the sum, proved by exhaustion (graded)")
    local honest=(
        "lab3	io_threads: every download of the default list succeeds with the right byte counts"
        "lab4	io_async: every download of the default list succeeds with the right byte counts")
    # and every other graded check of lab8 that is no task (a task's
    # checks fail on the handout, not here): bank loses exactly what the
    # lock is for
    local name
    while IFS=$'\t' read -r _ _ name _; do
        [[ " ${faked[*]} " == *"lab8	$name "* ]] || honest+=("lab8	$name")
    done < <(grep -P '^lab8\t' "$POINTS" | grep -F '(graded)' | grep -v -F 'task:')
    local line lines=()
    # (the fakes fail every time: no second run of their timing checks)
    for line in "${faked[@]}"; do
        lines+=("$(table_line "${line%%$'\t'*}" "${line#*$'\t'}" |
            sed 's/\tretry\t/\t\t/')")
    done
    for line in "${honest[@]}"; do
        lines+=("$(table_line "${line%%$'\t'*}" "${line#*$'\t'}")")
    done
    TABLE="$(points_file points "${lines[@]}")"
    [ "$(grep -c '^lab' "$TABLE")" -eq "$((${#faked[@]} + ${#honest[@]}))" ]
    [ "${#honest[@]}" -ge 10 ]

    run --separate-stderr grade --kit "$copy" --points "$TABLE" \
        lab3 lab4 lab6 lab8
    assert_failure 1
    for line in "${faked[@]}"; do
        assert_check "${line%%$'\t'*}" "${line#*$'\t'}" FAIL
    done
    for line in "${honest[@]}"; do
        assert_check "${line%%$'\t'*}" "${line#*$'\t'}" OK
    done
    # each failure names its evidence (files: the lab, the check's
    # number in the table above)
    local out="$BATS_TEST_TMPDIR/out/grade-output"
    assert_evidence "[01]\.[0-9]+ requests were in flight on average over the run \(5 workers\)" \
        "$out"/lab3-01-*.txt
    assert_evidence "[01]\.[0-9]+ requests were in flight on average over the run with 7 workers" \
        "$out"/lab3-02-*.txt
    assert_evidence "io_async -q: /proc showed [0-9]+ threads at most while it ran, not 1" \
        "$out"/lab4-01-*.txt
    assert_evidence "cpu_threads .*: the kernel counted [0-9.]+ s of CPU" \
        "$out"/lab6-01-*.txt
    assert_evidence "ThreadSanitizer saw the threads race" "$out"/lab8-01-*.txt
}

@test "grade: 10,000 forked children under ThreadSanitizer and an io_async deaf to SIGTERM stop at their limits, with the reason on the line" {
    local copy
    copy="$(copy_kit hostile)"
    # race_condition forks 10,000 children that sleep, then does its work
    cat >"$copy/labs/lab7/children.h" <<'H'
/* children.h -- for scripts/grader/grade.bats: 10,000 sleeping children. */
#include <unistd.h>

static void children(void)
{
    for (int i = 0; i < 10000; i++)
        if (fork() == 0) {
            sleep(60);
            _exit(0);
        }
}
H
    sed -i -e '1i #include "children.h"' \
        -e '/^int main(/,/^{/ s/^{$/{\n    children();/' \
        "$copy/labs/lab7/race_condition.c"
    grep -q '^    children();' "$copy/labs/lab7/race_condition.c"
    # io_async ignores SIGTERM
    sed -i -e '1i #include <signal.h>' \
        -e 's/^    interrupt_install();.*$/&\n    signal(SIGTERM, SIG_IGN);/' \
        "$copy/labs/lab4/io_async.c"
    grep -q '^    signal(SIGTERM, SIG_IGN);' "$copy/labs/lab4/io_async.c"
    local tsan="race_condition under ThreadSanitizer: --lock none is reported as a data race (graded)"
    local term="io_async: SIGTERM is the same contract, exit 143"
    local int="io_async: SIGINT stops it within a second: finished rows, cancelled rows, summary, exit 130"
    TABLE="$(points_file points "$(table_line lab7 "$tsan")" \
        "$(table_line lab4 "$term")" "$(table_line lab4 "$int")")"
    [ "$(grep -c '^lab' "$TABLE")" -eq 3 ]

    SECONDS=0
    run --separate-stderr grade --kit "$copy" --points "$TABLE" \
        --timeout 5 --lab-time 600 lab4 lab7
    assert_failure 1
    assert_no_lab_stopped 600
    # each stopped by its own limit, the reason on its line; no lab was
    # stopped (so nothing "did not run") and SIGINT still works
    assert_line --regexp "^lab7: $(regex_quote "$tsan"): FAIL \(0/[0-9]+\) \(.*$(forks_refused_regex race_condition)"
    assert_line --regexp "^lab4: $(regex_quote "$term"): FAIL \(0/[0-9]+\) \(.*io_async: (still running 10 s after SIGTERM|ran on [0-9]+ ms after SIGTERM)"
    assert_check lab4 "$int" OK
    refute_output --partial "did not run"
    sleep 1
    run pgrep -f "$GRADE_TMP/conkit-grade[.][^/]*/kit/(build/thread/bin/)?(race_condition|io_async)"
    assert_failure
}

# SPDX-License-Identifier: MIT
