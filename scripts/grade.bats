#!/usr/bin/env bats
# grade.bats -- checks of the grader (scripts/grade) and of the limits it
# runs students' programs under (scripts/limit).
#
# Each grading check grades a copy of this kit (made once per file, with
# its binaries, so make has little to do) that a test has broken the way
# a student might, on one or two labs only, so the whole file stays
# under two minutes.  The fork bomb used here has a safety bound of its
# own (a shared counter: at most 3000 forks in all), so even a broken
# limit could not use up this machine's pids.

bats_require_minimum_version 1.5.0
load bats/common

POINTS="$KIT/scripts/grade-points"

setup_file() {
    # the kit as it is now, without its git history or runtime state
    PRISTINE="$BATS_FILE_TMPDIR/kit"
    export PRISTINE
    mkdir -p "$PRISTINE"
    tar -C "$KIT" --exclude=./.git --exclude=./.sitesim \
        --exclude=./grade-output --exclude=./grade.json -cf - . |
        tar -C "$PRISTINE" -xf -
    make -C "$PRISTINE" --no-print-directory -j2 all >/dev/null 2>&1 || true

    build_c forker <<'EOF'
/* forker N [--setsid]: the parent alone forks N children that sleep
 * (in a session of their own with --setsid); it prints how many forks
 * worked and failed, and leaves.  Linear: at most N processes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 0, ok = 0, failed = 0;
    for (int i = 0; i < n; i++) {
        pid_t pid = fork();
        if (pid == 0) {
            if (argc > 2 && strcmp(argv[2], "--setsid") == 0)
                setsid();       /* leave the process group */
            sleep(60);
            _exit(0);
        }
        if (pid < 0)
            failed++;
        else
            ok++;
    }
    printf("forked=%d failed=%d\n", ok, failed);
    return 0;                   /* the children are left behind, asleep */
}
EOF
}

# copy_kit NAME: a private copy of the pristine kit; prints its path.
copy_kit() {
    cp -a "$PRISTINE" "$BATS_TEST_TMPDIR/$1"
    echo "$BATS_TEST_TMPDIR/$1"
}

# points_of LAB NAME: the points the table gives that check.
points_of() {
    awk -F'\t' -v lab="$1" -v name="$2" \
        '$1 == lab && $3 == name { print $2 }' "$POINTS"
}

# table_total LAB...: the points of those labs in the table.
table_total() {
    local labs=" $* "
    awk -F'\t' -v labs="$labs" '
        /^lab[0-9]+\t/ && index(labs, " " $1 " ") { total += $2 }
        END { print total + 0 }' "$POINTS"
}

# points_file NAME LINES...: a points table for one test (LINES are
# "lab<TAB>points<TAB>name[<TAB>retry]"); prints its path.
points_file() {
    local file="$BATS_TEST_TMPDIR/$1"
    shift
    printf '# a points table for one check of grade.bats\n' >"$file"
    printf '%s\n' "$@" >>"$file"
    echo "$file"
}

# table_line LAB NAME: the table's own line for that check.
table_line() {
    awk -F'\t' -v lab="$1" -v name="$2" '$1 == lab && $3 == name' "$POINTS"
}

# grade ARGS...: run the grader with its results in this test's folder.
grade() {
    "$KIT/scripts/grade" --out "$BATS_TEST_TMPDIR/out" "$@"
}

# assert_check LAB NAME STATUS: the grader's line for that check says
# STATUS ("OK" with full points, "FAIL"/"SKIP" with none).
assert_check() {
    local points earned
    points="$(awk -F'\t' -v lab="$1" -v name="$2" \
        '$1 == lab && $3 == name { print $2 }' "${TABLE:-$POINTS}")"
    [ -n "$points" ] || fail "no points for '$2' in ${TABLE:-$POINTS}"
    earned=0
    [ "$3" != OK ] || earned="$points"
    assert_line --regexp "^$1: $(regex_quote "$2"): $3 \($earned/$points\)"
}

# regex_quote TEXT: TEXT with the characters special in an ERE escaped.
regex_quote() {
    # shellcheck disable=SC2001
    sed 's/[][\.*^$+?(){}|]/\\&/g' <<<"$1"
}

# build_c NAME: compile the C program on stdin to $BATS_FILE_TMPDIR/NAME.
build_c() {
    cat >"$BATS_FILE_TMPDIR/$1.c"
    cc -O2 -Wall -o "$BATS_FILE_TMPDIR/$1" "$BATS_FILE_TMPDIR/$1.c"
}

# ====== scripts/grade-points ======

@test "grade-points: every check in the table exists in its lab's bats files" {
    local lab points name flag extra missing=0 count=0
    while IFS=$'\t' read -r lab points name flag extra; do
        [[ "$lab" =~ ^lab[0-9]+$ ]] || continue
        count=$((count + 1))
        [[ "$points" =~ ^[0-9]+$ ]] || fail "bad points for '$name': '$points'"
        [ -z "$flag" ] || [ "$flag" = retry ] || [ "$flag" = exercise ] ||
            fail "bad flag: '$flag'"
        [ -z "$extra" ] || fail "too many fields on the line of '$name'"
        if ! grep -qF "@test \"$name\" {" "$KIT/labs/$lab"/*.bats; then
            echo "not in labs/$lab/*.bats: $name" >&2
            missing=$((missing + 1))
        fi
    done <"$POINTS"
    [ "$count" -gt 0 ] || fail "no checks in $POINTS"
    [ "$missing" -eq 0 ]
}

# ====== scripts/limit ======

@test "limit: a program that ignores SIGTERM is killed at the time limit" {
    SECONDS=0
    run "$KIT/scripts/limit" --time 1 -- \
        bash -c 'trap "" TERM; while :; do :; done'
    assert_equal "$status" 137
    assert_output --partial "limit: bash: stopped after 1 s (time limit)"
    [ "$SECONDS" -lt 10 ] || fail "took $SECONDS s"
}

@test "limit: output is cut at the cap, and stdout and stderr keep their order" {
    run "$KIT/scripts/limit" --output 4096 -- \
        bash -c 'echo one; echo two >&2; echo three; head -c 100000 /dev/zero'
    assert_equal "$status" 153                  # SIGXFSZ
    assert_line --index 0 one
    assert_line --index 1 two
    assert_line --index 2 three
    assert_line --partial "output cut at 4096 bytes (output limit)"
    # what was kept is exactly the cap: 14 bytes of lines, then the zeros
    run bash -c "'$KIT/scripts/limit' --output 4096 -- \
        bash -c 'echo one; head -c 100000 /dev/zero' 2>/dev/null | wc -c"
    assert_output 4096
}

@test "limit: at most --procs tasks at once; fork fails beyond, the rest is killed" {
    run "$KIT/scripts/limit" --procs 50 -- "$BATS_FILE_TMPDIR/forker" 300 \
        --setsid
    assert_success
    local forked failed
    forked="$(sed -n 's/^forked=\([0-9]*\) .*/\1/p' <<<"$output")"
    failed="$(sed -n 's/.* failed=\([0-9]*\)$/\1/p' <<<"$output")"
    [ "$forked" -le 50 ] || fail "forked $forked children with --procs 50"
    [ "$failed" -ge 250 ] || fail "only $failed forks failed"
    # the children that left the process group did not outlive the run
    sleep 0.5
    run pgrep -f "$BATS_FILE_TMPDIR/forker"
    assert_failure
}

@test "limit: without a pids cgroup, RLIMIT_NPROC bounds the tasks (as nobody when root)" {
    CONKIT_LIMIT_METHOD=nproc run "$KIT/scripts/limit" --procs 20 -- \
        "$BATS_FILE_TMPDIR/forker" 100
    assert_success
    local forked
    forked="$(sed -n 's/^forked=\([0-9]*\) .*/\1/p' <<<"$output")"
    [ -n "$forked" ] && [ "$forked" -le 20 ] ||
        fail "forked ${forked:-?} children with --procs 20"
    # no cgroup: what is left of the process group is killed
    sleep 0.5
    run pgrep -f "$BATS_FILE_TMPDIR/forker"
    assert_failure
    CONKIT_LIMIT_METHOD=nproc run "$KIT/scripts/limit" -- id -u
    if [ "$(id -u)" -eq 0 ]; then
        assert_output 65534
    else
        assert_output "$(id -u)"
    fi
}

# ====== scripts/grade ======

@test "grade: the kit as it is scores full marks on lab2 and lab3" {
    local total
    total="$(table_total lab2 lab3)"
    [ "$total" -gt 0 ]
    run --separate-stderr grade --kit "$PRISTINE" lab2 lab3
    assert_success
    assert_line "Score: $total/$total"
    refute_output --regexp ': (FAIL|SKIP) \('
    # one line per graded check, then the score
    local checks
    checks="$(grep -cE '^lab(2|3)'$'\t' "$POINTS")"
    assert_equal "${#lines[@]}" "$((checks + 1))"
    run grep -c '"status": "OK"' "$BATS_TEST_TMPDIR/out/grade.json"
    assert_output "$checks"
    grep -q "\"score\": $total," "$BATS_TEST_TMPDIR/out/grade.json"
}

@test "grade: bank without its mutex loses exactly the locked-threads checks of lab8" {
    local copy locked=() name
    copy="$(copy_kit nolock)"
    # a student who deleted the lock: the calls become no-ops that build
    sed -i -e 's/pthread_mutex_lock(&transaction_lock)/((void)\&transaction_lock, 0)/' \
        -e 's/pthread_mutex_unlock(&transaction_lock)/((void)\&transaction_lock, 0)/' \
        "$copy/labs/lab8/bank.c"
    [ "$(grep -c '(void)&transaction_lock, 0' "$copy/labs/lab8/bank.c")" -eq 2 ]
    # lab8's graded checks that do not depend on chance; the exercise
    # skips on this kit either way
    TABLE="$BATS_TEST_TMPDIR/points"
    grep -P '^lab8\t' "$POINTS" | grep -F '(graded)' |
        grep -v -F 'exercise:' >"$TABLE"
    locked=("bank: threads --lock mutex ends with the stored final= for every seed (graded)"
        "bank under ThreadSanitizer: the locked runs are clean (graded)"
        "bank --explore --lock mutex: no schedule breaks the sum, proved by exhaustion (graded)")
    for name in "${locked[@]}"; do
        grep -qF "$name" "$TABLE" || fail "not graded: $name"
    done
    local total lost
    total="$(awk -F'\t' '{ s += $2 } END { print s }' "$TABLE")"
    lost=0
    for name in "${locked[@]}"; do
        lost=$((lost + $(points_of lab8 "$name")))
    done

    run --separate-stderr grade --kit "$copy" --points "$TABLE" lab8
    assert_failure 1
    assert_line "Score: $((total - lost))/$total"
    while IFS=$'\t' read -r _ _ name _; do
        if [[ " ${locked[*]} " == *" $name "* ]]; then
            assert_check lab8 "$name" FAIL
        else
            assert_check lab8 "$name" OK
        fi
    done <"$TABLE"
}

@test "grade: an io_threads that loops forever fails its checks within the time limit" {
    local copy
    copy="$(copy_kit loop)"
    # spins at the start of main and ignores SIGTERM: only SIGKILL ends it
    sed -i -e '1i #include <signal.h>' \
        -e '/^int main(/,/^{/ s/^{$/{\n    signal(SIGTERM, SIG_IGN);\n    for (;;) { }/' \
        "$copy/labs/lab3/io_threads.c"
    grep -q 'for (;;) { }' "$copy/labs/lab3/io_threads.c"
    TABLE="$(points_file points \
        "$(table_line lab3 "io_threads: every download of the default list succeeds with the right byte counts")" \
        "$(table_line lab3 "io_threads: bad usage prints one line and exits 2")" \
        "$(table_line lab3 "io_threads: uses exactly --workers threads")")"
    [ "$(grep -c '^lab3' "$TABLE")" -eq 3 ]

    SECONDS=0
    run --separate-stderr grade --kit "$copy" --points "$TABLE" --timeout 3
    assert_failure 1
    # three checks, each stopped at 3 s + 2 s for SIGKILL, plus setup
    [ "$SECONDS" -lt 60 ] || fail "grading took $SECONDS s"
    assert_line "Score: 0/$(awk -F'\t' '/^lab/ { s += $2 } END { print s }' "$TABLE")"
    assert_equal "$(grep -c ': FAIL (0/' <<<"$output")" 3
    grep -rq "limit: io_threads: stopped after 3 s (time limit)" \
        "$BATS_TEST_TMPDIR/out/grade-output/"
    run pgrep -f "$copy/io_threads"
    assert_failure
}

@test "grade: a fork bomb in io_sync costs its checks, not the machine" {
    local copy
    copy="$(copy_kit bomb)"
    cat >"$copy/labs/lab2/bomb.h" <<'EOF'
/* bomb.h -- a fork bomb for scripts/grade.bats.  Every process forks in a
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
EOF
    sed -i -e '1i #include "bomb.h"' \
        -e '/^int main(/,/^{/ s/^{$/{\n    bomb();/' "$copy/labs/lab2/io_sync.c"
    grep -q '^    bomb();' "$copy/labs/lab2/io_sync.c"
    TABLE="$(points_file points \
        "$(table_line lab2 "io_sync: --help lists every option and exits 0")" \
        "$(table_line lab2 "io_sync: --quiet prints only the summary and the timer line")")"
    [ "$(grep -c '^lab2' "$TABLE")" -eq 2 ]

    SECONDS=0
    run --separate-stderr grade --kit "$copy" --points "$TABLE" --timeout 4
    assert_failure 1
    [ "$SECONDS" -lt 60 ] || fail "grading took $SECONDS s"
    assert_line --regexp '^Score: 0/[0-9]+$'
    assert_equal "$(grep -c ': FAIL (0/' <<<"$output")" 2
    grep -rq "fork or thread creation refused" \
        "$BATS_TEST_TMPDIR/out/grade-output/"
    # nothing of the bomb is left, and this machine can still fork
    sleep 1
    run pgrep -f "$copy/io_sync"
    assert_failure
    local used
    used="$(find /proc -maxdepth 1 -name '[0-9]*' | wc -l)"
    [ "$used" -lt $(($(cat /proc/sys/kernel/pid_max) / 2)) ] ||
        fail "$used processes run now"
    run bash -c 'for i in $(seq 100); do sleep 0.1 & done; wait'
    assert_success
}

@test "grade: a skipped check scores nothing, a check that did not run fails, only timing checks run twice, exercises score apart" {
    local copy
    copy="$(copy_kit selftest)"
    # checks with known outcomes, graded by the copy's own grader; the
    # "flaky" ones fail on their first run only
    # (written with %test: a line starting with @test here would be a
    # check of this file)
    sed 's/^%test/@test/' >"$copy/labs/lab2/zz-selftest.bats" <<'EOF'
load ../../scripts/bats/common
%test "selftest: passes" { true; }
%test "selftest: skips" { skip "on purpose"; }
%test "selftest: exercise done" { true; }
%test "selftest: exercise not done" { skip "not done yet"; }
%test "selftest: fails" { false; }
%test "selftest: flaky timing" {
    [ -e "$KIT/flaky-timing" ] || { touch "$KIT/flaky-timing"; false; }
}
%test "selftest: flaky, not timing" {
    [ -e "$KIT/flaky-other" ] || { touch "$KIT/flaky-other"; false; }
}
EOF
    TABLE="$(points_file points \
        "lab2	1	selftest: passes" \
        "lab2	2	selftest: skips" \
        "lab2	4	selftest: fails	retry" \
        "lab2	8	selftest: flaky timing	retry" \
        "lab2	16	selftest: flaky, not timing" \
        "lab2	32	selftest: a check no bats file has" \
        "lab2	64	selftest: exercise done	exercise" \
        "lab2	128	selftest: exercise not done	exercise")"

    run --separate-stderr "$copy/scripts/grade" --kit "$copy" \
        --points "$TABLE" --out "$BATS_TEST_TMPDIR/out"
    assert_failure 1
    assert_check lab2 "selftest: passes" OK
    assert_check lab2 "selftest: skips" SKIP
    assert_check lab2 "selftest: fails" FAIL
    assert_check lab2 "selftest: flaky timing" OK
    assert_check lab2 "selftest: flaky, not timing" FAIL
    assert_check lab2 "selftest: a check no bats file has" FAIL
    assert_line --partial "selftest: a check no bats file has: FAIL (0/32) (did not run)"
    assert_line --partial "selftest: flaky timing: OK (8/8) (passed when run again)"
    assert_line --partial "selftest: fails: FAIL (0/4) (failed twice)"
    assert_line "Score: 9/63"
    # exercises: listed, scored on their own line, never in the score
    assert_check lab2 "selftest: exercise done" OK
    assert_check lab2 "selftest: exercise not done" SKIP
    assert_line "Exercises: 64/192 (not in the score)"
    # the skip's reason and the failures' output are kept
    run cat "$BATS_TEST_TMPDIR/out/grade-output/lab2-02-selftest-skips.txt"
    assert_output --partial "on purpose"
    grep -q '"name": "selftest: skips", "points": 2, "earned": 0, "exercise": false, "status": "SKIP"' \
        "$BATS_TEST_TMPDIR/out/grade.json"
    grep -q '"name": "selftest: exercise done", "points": 64, "earned": 64, "exercise": true, "status": "OK"' \
        "$BATS_TEST_TMPDIR/out/grade.json"
    grep -q '"score": 9,' "$BATS_TEST_TMPDIR/out/grade.json"
    grep -q '"exercises": 64,' "$BATS_TEST_TMPDIR/out/grade.json"
}

@test "grade: a program that does not build fails its checks, and the log is kept" {
    local copy
    copy="$(copy_kit broken)"
    echo 'this is not C;' >>"$copy/labs/lab3/io_threads.c"
    TABLE="$(points_file points \
        "$(table_line lab2 "io_sync: --help lists every option and exits 0")" \
        "$(table_line lab3 "io_threads: bad usage prints one line and exits 2")" \
        "$(table_line lab3 "io_threads: is at least 3x faster than io_sync at 40 ms latency")")"
    run --separate-stderr grade --kit "$copy" --points "$TABLE"
    assert_failure 1
    assert_check lab2 "io_sync: --help lists every option and exits 0" OK
    assert_line --partial "io_threads: bad usage prints one line and exits 2: FAIL (0/1) (io_threads did not build) see grade-output/build.log"
    assert_check lab3 "io_threads: is at least 3x faster than io_sync at 40 ms latency" FAIL
    grep -q 'io_threads.c.*error' "$BATS_TEST_TMPDIR/out/grade-output/build.log"
    # the old io_threads binary is still there, but is not what was graded
    [ -x "$copy/io_threads" ]
}

@test "grade: bad usage prints one line and exits 2" {
    run --separate-stderr grade --kit "$BATS_TEST_TMPDIR/no-such-kit"
    assert_equal "$status" 2
    assert_equal "$stderr" "grade: no such kit folder: '$BATS_TEST_TMPDIR/no-such-kit'"
    run --separate-stderr grade --timeout abc
    assert_equal "$status" 2
    run --separate-stderr grade lab99
    assert_equal "$status" 2
    [[ "$stderr" == *"lab99 has no graded checks"* ]] || fail "$stderr"
    printf 'lab2 2 spaces, not tabs\n' >"$BATS_TEST_TMPDIR/bad-points"
    run --separate-stderr grade --points "$BATS_TEST_TMPDIR/bad-points"
    assert_equal "$status" 2
    [[ "$stderr" == *"bad-points:1: "* ]] || fail "$stderr"
}
