#!/usr/bin/env bats
# grade.bats -- checks of the grader (scripts/grade) and of the limits it
# runs students' programs under (scripts/limit).
#
# Each grading check grades a copy of this kit (made once per file, with
# its binaries, so make has little to do) that a test has broken the way
# a student might -- several mistakes in one copy where each touches its
# own lab, one class run for the kits that break the grader's own limits
# -- on the few checks it fakes or breaks only.  The lab runs are most of
# the file's time (about 20 minutes on a busy 2-core machine).  No check
# asserts an absolute wall time: a limit that failed shows as a lab that
# ran into its own time limit.  The fork bomb used here has a safety
# bound of its own (a shared counter: at most 3000 forks in all), so even
# a broken limit could not use up this machine's pids.

bats_require_minimum_version 1.5.0
load bats/common

POINTS="$KIT/scripts/grade-points"

setup_file() {
    # test programs, in a folder every user may read (limit may run them
    # as nobody)
    TOOLS="$(mktemp -d "${TMPDIR:-/tmp}/conkit-grade-tools.XXXXXX")"
    chmod 755 "$TOOLS"
    export TOOLS
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

teardown_file() {
    rm -rf "$TOOLS"
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

# grade ARGS...: run the grader with its results in this test's folder,
# and its temporary folders in $BATS_TEST_TMPDIR/tmp (GRADE_TMP), so that
# a check looking for what it left behind (`pgrep -f "$GRADE_TMP/"`)
# never finds another grader's, run beside this one.  The student's user
# must pass through every folder above it.
grade() {
    local dir="$GRADE_TMP"
    mkdir -p "$GRADE_TMP"
    while [ "$dir" != / ] && [ "$dir" != . ]; do
        chmod o+x "$dir"
        dir="$(dirname "$dir")"
    done
    TMPDIR="$GRADE_TMP" "$KIT/scripts/grade" --out "$BATS_TEST_TMPDIR/out" "$@"
}

setup() {
    GRADE_TMP="$BATS_TEST_TMPDIR/tmp"
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

# forks_refused_regex PROGRAM: what limit says of a program that ran into
# its task limit.  With a pids cgroup, the forks it refused (counted by the
# kernel); without one (a container), nothing counts refusals: then the
# time limit or the processes it left running are the evidence named.
forks_refused_regex() {
    if CONKIT_LIMIT_QUIET= "$KIT/scripts/limit" -- true 2>&1 |
        grep -q "no usable pids cgroup"; then
        echo "$1: (stopped after [0-9]+ s \\(time limit\\)|[0-9]+ processes it started still ran when it ended)"
    else
        echo "$1: fork or thread creation refused [0-9]+ times \\(limit of [0-9]+ tasks\\)"
    fi
}

# assert_no_lab_stopped LAB_TIME: the last grade run (its stderr in
# $stderr) ended every program at the program's own limits: no lab ran
# into its time limit (LAB_TIME, the run's --lab-time), however slow or
# busy this machine.  (No absolute time: a lab that was stopped is the
# sign of a limit that did not work.)
assert_no_lab_stopped() {
    [[ "$stderr" != *"lab stopped"* ]] || fail "a lab hit its limit: $stderr"
    [ "$SECONDS" -lt "$1" ] ||
        fail "grading took $SECONDS s, the lab time limit was $1 s"
}

# assert_evidence REGEX FILE: a failed check's output FILE names its
# evidence (an extended regex); else the file is shown.
assert_evidence() {
    grep -qE "$1" "$2" 2>/dev/null ||
        fail "no '$1' in $2: $(cat "$2" 2>&1)"
}

# build_c NAME: compile the C program on stdin to $TOOLS/NAME.
build_c() {
    cat >"$TOOLS/$1.c"
    cc -O2 -Wall -o "$TOOLS/$1" "$TOOLS/$1.c"
}

# ====== scripts/grade-points ======

@test "grade-points: every check in the table exists in its lab's bats files" {
    local lab points name flag needs extra missing=0 count=0 program
    while IFS=$'\x1f' read -r lab points name flag needs extra; do
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
        # the programs it needs are programs of the kit
        for program in $needs; do
            compgen -G "$KIT/labs/lab*/$program.c" >/dev/null ||
                fail "'$name' needs '$program', which is no program"
        done
    done < <(tr '\t' '\037' <"$POINTS")
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
    # killed 2 s after the SIGTERM it ignored (without the kill it would
    # never end): generous for a busy machine
    [ "$SECONDS" -lt 30 ] || fail "took $SECONDS s"
}

@test "limit: output is cut at the cap, and stdout and stderr keep their order" {
    # (without a pids cgroup, limit's own line about it would come first)
    CONKIT_LIMIT_QUIET=1 run "$KIT/scripts/limit" --output 4096 -- \
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
    run "$KIT/scripts/limit" --procs 50 -- "$TOOLS/forker" 300 \
        --setsid
    assert_success
    local forked failed
    forked="$(sed -n 's/^forked=\([0-9]*\) .*/\1/p' <<<"$output")"
    failed="$(sed -n 's/.* failed=\([0-9]*\)$/\1/p' <<<"$output")"
    [ "$forked" -le 50 ] || fail "forked $forked children with --procs 50"
    [ "$failed" -ge 250 ] || fail "only $failed forks failed"
    # the children that left the process group did not outlive the run
    sleep 0.5
    run pgrep -f "$TOOLS/forker"
    assert_failure
}

@test "limit: without a pids cgroup, RLIMIT_NPROC bounds the tasks (as nobody when root)" {
    CONKIT_NO_CGROUP=1 run --separate-stderr "$KIT/scripts/limit" \
        --procs 20 -- "$TOOLS/forker" 100
    assert_success
    if [ "$(id -u)" -eq 0 ]; then
        # one line says why, and what bounds the tasks instead
        assert_equal "${stderr_lines[0]}" "limit: no usable pids cgroup here: tasks are bounded by RLIMIT_NPROC as uid 65534"
    fi
    # nothing counts the refused forks: the children it left asleep are
    # the evidence said
    assert_equal "${#stderr_lines[@]}" "$(($(id -u) == 0 ? 2 : 1))"
    assert_regex "${stderr_lines[-1]}" '^limit: forker: [0-9]+ processes it started still ran when it ended: killed \(limit of 20 tasks\)$'
    local forked
    forked="$(sed -n 's/^forked=\([0-9]*\) .*/\1/p' <<<"$output")"
    [ -n "$forked" ] && [ "$forked" -le 20 ] ||
        fail "forked ${forked:-?} children with --procs 20"
    # no cgroup: what is left of the process group is killed
    sleep 0.5
    run pgrep -f "$TOOLS/forker"
    assert_failure
    CONKIT_NO_CGROUP=1 CONKIT_LIMIT_QUIET=1 run "$KIT/scripts/limit" -- id -u
    if [ "$(id -u)" -eq 0 ]; then
        assert_output 65534
    else
        assert_output "$(id -u)"
    fi
}

@test "limit: a daemon that left the process group and the session is killed, with or without a cgroup" {
    local method
    for method in "" 1; do
        CONKIT_NO_CGROUP="$method" CONKIT_LIMIT_QUIET=1 run "$KIT/scripts/limit" \
            --time 5 -- bash -c "setsid '$TOOLS/forker' 3 --setsid &"
        assert_success
        sleep 0.5
        run pgrep -f "$TOOLS/forker"
        assert_failure
    done
}

@test "limit: --user runs the command without capabilities; it cannot write root's files" {
    [ "$(id -u)" -eq 0 ] || skip "needs root (--user is root only)"
    local file="$BATS_TEST_TMPDIR/root-owned"
    echo pristine >"$file"
    chmod 644 "$file"
    run "$KIT/scripts/limit" --user nobody -- \
        bash -c "id -u; grep CapEff /proc/self/status; echo changed >'$file'"
    assert_line 65534
    assert_line --regexp '^CapEff:[[:space:]]+0+$'
    assert_equal "$(cat "$file")" pristine
}

@test "limit: --clean-env hands the command a fixed environment and no descriptor but 0-2" {
    local names
    # what the grader's bats run has, and a check's sanitizer options
    KIT_LIMIT=1 KIT_USER=x KIT_BIN=/x BATS_TEST_NAME=x CONKIT_GRADE_RUN=1 \
        SIM_STATS_KEY=secret TSAN_OPTIONS=exitcode=66 CONKIT_HTTP_PORT=1 \
        run "$KIT/scripts/limit" --clean-env -- \
        bash -c 'env; ls /proc/self/fd' 7>/dev/null 9>/dev/null
    assert_success
    names="$(sed -n 's/^\([A-Za-z_][A-Za-z_0-9]*\)=.*/\1/p' <<<"$output" |
        grep -vxE 'PWD|SHLVL|_|OLDPWD|TERM|TZ|NO_COLOR' | sort | paste -sd' ')"
    # CONKIT_LIMIT_RUN (limit's mark) only when no pids cgroup holds what
    # the command starts
    names="${names/CONKIT_LIMIT_RUN /}"
    assert_equal "$names" "CONKIT_HTTP_PORT HOME LANG PATH TMPDIR TSAN_OPTIONS"
    refute_output --partial secret
    # descriptors: 0, 1, 2, and the one ls (bash execs it) reads its
    # own /proc/PID/fd with; never 7 or 9, open in limit's caller
    run "$KIT/scripts/limit" --clean-env -- bash -c 'ls /proc/$$/fd' \
        7>/dev/null 9>/dev/null
    assert_output "0
1
2
3"
}

@test "limit: SIGTERM to limit is passed on to the command, --pidfile names it" {
    # with this machine's pids cgroup (if any), and without one (a
    # container's): there limit forks before the command starts
    local pid method pidfile
    for method in "" 1; do
        pidfile="$BATS_TEST_TMPDIR/pid$method"
        CONKIT_NO_CGROUP="$method" CONKIT_LIMIT_QUIET=1 "$KIT/scripts/limit" \
            --time 20 --pidfile "$pidfile" -- \
            bash -c 'trap "exit 7" TERM; while :; do sleep 0.1; done' 3>&- &
        pid=$!
        for _ in $(seq 100); do
            [ -s "$pidfile" ] && break
            sleep 0.05
        done
        [ -s "$pidfile" ] || fail "no pidfile (CONKIT_NO_CGROUP=$method)"
        grep -q 'trap' "/proc/$(cat "$pidfile")/cmdline" ||
            fail "the pidfile names another process (CONKIT_NO_CGROUP=$method)"
        kill -TERM "$pid"
        local status=0
        wait "$pid" || status=$?
        assert_equal "$status" 7
    done
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
    run jq '[.checks[] | select(.status == "OK")] | length' \
        "$BATS_TEST_TMPDIR/out/grade.json"
    assert_output "$checks"
    run jq '.score, .total' "$BATS_TEST_TMPDIR/out/grade.json"
    assert_equal "$output" "$total"$'\n'"$total"
    # bats' JUnit report, one testcase per check, none failed
    run grep -c '<testcase ' "$BATS_TEST_TMPDIR/out/junit.xml"
    assert_output "$checks"
    refute grep -q '<failure' "$BATS_TEST_TMPDIR/out/junit.xml"
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
    local json="$BATS_TEST_TMPDIR/out/grade.json"
    run jq -c '.checks[] | select(.name == "selftest: skips")
        | [.points, .earned, .exercise, .status]' "$json"
    assert_output '[2,0,false,"SKIP"]'
    run jq -c '.checks[] | select(.name == "selftest: exercise done")
        | [.points, .earned, .exercise, .status]' "$json"
    assert_output '[64,64,true,"OK"]'
    run jq -c '[.score, .total, .exercises, .exercises_total]' "$json"
    assert_output '[9,63,64,192]'
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

# ====== Student copies that try to fool or harm the grader ======

@test "grade: a Makefile that writes to the grader (relative paths, /proc ancestors) leaves it untouched" {
    [ "$(id -u)" -eq 0 ] || skip "needs root: the student's code runs as the grading user only then"
    local copy before
    copy="$(copy_kit tamper)"
    # what a student might try during `make`: append to any grade-points
    # it can find, next to its kit or named by the grader's command line
    cat >"$copy/tamper.sh" <<'SH'
#!/bin/sh
line="lab2	900	io_sync: --help lists every option and exits 0"
for file in ../grader/scripts/grade-points ../../scripts/grade-points \
    ../scripts/grade-points; do
    echo "$line" >>"$file" 2>/dev/null && echo "tamper: wrote $file"
done
pid=$$
while [ "$pid" -gt 1 ]; do
    for word in $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null); do
        case "$word" in
        */scripts/grade | */grade-points | *.bats)
            dir="$(dirname "$word")"
            for file in "$word" "$dir/grade-points" "$dir/scripts/grade-points"; do
                [ -f "$file" ] && echo "$line" >>"$file" 2>/dev/null &&
                    echo "tamper: wrote $file"
            done ;;
        esac
    done
    pid="$(awk '{ print $4 }' "/proc/$pid/stat" 2>/dev/null || echo 1)"
done
for file in /tmp/conkit-grade.*/grader/scripts/grade-points \
    /tmp/conkit-grade.*/grade-points /tmp/conkit-grade.*/grader/labs/lab2/lab2.bats; do
    [ -f "$file" ] && echo "$line" >>"$file" 2>/dev/null &&
        echo "tamper: wrote $file"
done
exit 0
SH
    printf '\nall: tamper\n.PHONY: tamper\ntamper:\n\t-@sh ./tamper.sh\n' \
        >>"$copy/Makefile"
    TABLE="$(points_file points \
        "$(table_line lab2 "io_sync: --help lists every option and exits 0")")"
    before="$(sha256sum "$TABLE" "$POINTS" "$KIT/scripts/grade" \
        "$KIT/labs/lab2/lab2.bats")"
    run --separate-stderr grade --kit "$copy" --points "$TABLE"
    assert_success
    assert_line "Score: 1/1"
    assert_equal "$(sha256sum "$TABLE" "$POINTS" "$KIT/scripts/grade" \
        "$KIT/labs/lab2/lab2.bats")" "$before"
    # the build ran (as the grading user) and wrote nothing outside its
    # own copy of the kit (a relative "scripts/..." is its own file)
    grep -q 'cannot create' "$BATS_TEST_TMPDIR/out/grade-output/build.log"
    run grep -E 'tamper: wrote (/|\.\./)' \
        "$BATS_TEST_TMPDIR/out/grade-output/build.log"
    assert_failure
}

@test "grade: a daemon left behind and 1 GB of output cost their checks, quickly, and leave nothing behind" {
    local copy
    copy="$(copy_kit daemon)"
    # at the start of main: a double-forked daemon in its own session that
    # holds stdout open, then a flood on stdout
    cat >"$copy/labs/lab7/daemon.h" <<'H'
/* daemon.h -- for scripts/grade.bats: leave a daemon, flood stdout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void daemon_and_flood(void)
{
    static char block[1 << 16];
    long long left = 1LL << 30;                 /* 1 GB */
    if (fork() == 0) {
        setsid();
        if (fork() == 0) {
            sleep(600);                         /* holds stdout open */
            _exit(0);
        }
        _exit(0);
    }
    memset(block, 'x', sizeof block);
    while (left > 0 && write(1, block, sizeof block) > 0)
        left -= (long long)sizeof block;
    exit(0);
}
H
    sed -i -e '1i #include "daemon.h"' \
        -e '/^int main(/,/^{/ s/^{$/{\n    daemon_and_flood();/' \
        "$copy/labs/lab7/race_condition.c"
    grep -q '^    daemon_and_flood();' "$copy/labs/lab7/race_condition.c"
    TABLE="$(points_file points \
        "$(table_line lab7 "race_condition: prints counter=, expected= and lost= that add up, then the timer")" \
        "$(table_line lab7 "race_condition under ThreadSanitizer: --lock none is reported as a data race (graded)")")"
    [ "$(grep -c '^lab7' "$TABLE")" -eq 2 ]
    SECONDS=0
    run --separate-stderr grade --kit "$copy" --points "$TABLE" --timeout 20 \
        --lab-time 600
    assert_failure 1
    assert_no_lab_stopped 600
    assert_line --regexp '^Score: 0/[0-9]+$'
    # each failed check says what stopped it, on its own line
    assert_equal "$(grep -c ': FAIL (0/.*output cut at' <<<"$output")" 2
    sleep 1
    run pgrep -f "$GRADE_TMP/conkit-grade[.][^/]*/kit/"
    assert_failure
    # nothing of the flood is left in the temporary folders
    run bash -c "du -sm '${TMPDIR:-/tmp}' 2>/dev/null | cut -f1"
    [ "$output" -lt 900 ] || fail "${TMPDIR:-/tmp} holds $output MB"
}

@test "grade: without a usable pids cgroup, one line says so and a fork bomb is still bounded" {
    [ "$(id -u)" -eq 0 ] || skip "needs root: the fallback is the grading user's RLIMIT_NPROC"
    local copy
    copy="$(copy_kit nocgroup)"
    cat >"$copy/labs/lab2/bomb.h" <<'H'
/* bomb.h -- a bounded fork bomb for scripts/grade.bats (3000 forks at
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
    nolock)
        sed -i -e 's/TURNSTILE_LOCK(&transaction_lock, [^)]*)/(void)\&transaction_lock/' \
            -e 's/TURNSTILE_UNLOCK(&transaction_lock, [^)]*)/(void)\&transaction_lock/' \
            "$2/labs/lab8/bank.c"
        grep -q '(void)&transaction_lock;' "$2/labs/lab8/bank.c" ;;
    loop)
        sed -i -e '1i #include <signal.h>' \
            -e '/^int main(/,/^{/ s/^{$/{\n    signal(SIGTERM, SIG_IGN);\n    for (;;) { }/' \
            "$2/labs/lab3/io_threads.c"
        grep -q 'for (;;) { }' "$2/labs/lab3/io_threads.c" ;;
    bomb)
        # a fork bomb (every process forks in a loop), bounded: at most
        # 3000 forks in all (a counter in shared memory)
        cat >"$2/labs/lab2/bomb.h" <<'H'
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
H
        sed -i -e '1i #include "bomb.h"' \
            -e '/^int main(/,/^{/ s/^{$/{\n    bomb();/' "$2/labs/lab2/io_sync.c"
        grep -q '^    bomb();' "$2/labs/lab2/io_sync.c" ;;
    broken)
        echo 'this is not C;' >>"$2/labs/lab3/io_threads.c" ;;
    esac
}

@test "grade --class: five kits give the right five rows, a CSV and a summary" {
    local class="$BATS_TEST_TMPDIR/class" kind
    mkdir -p "$class"
    for kind in untouched nolock loop bomb broken; do
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
    assert_line "Class: 5 submissions"
    assert_line --regexp '^ +90-100% # 1$'
    assert_line "Checks failed most often:"
    local csv="$BATS_TEST_TMPDIR/out/class.csv" p2 p3 p8
    p2="$(points_of lab2 "io_sync: --help lists every option and exits 0")"
    p3="$(points_of lab3 "io_threads: bad usage prints one line and exits 2")"
    p8="$(points_of lab8 "bank: threads --lock mutex ends with the stored final= for every seed (graded)")"
    local total=$((p2 + p3 + p8))
    run head -n 1 "$csv"
    assert_output "name,score,total,lab2,lab3,lab8,exercises,exercises_total,seconds,status,failed"
    # name, score, total and each lab's points of each row
    run bash -c "tail -n +2 '$csv' | cut -d, -f1-6"
    assert_line "\"bomb\",$((p3 + p8)),$total,0,$p3,$p8"
    assert_line "\"broken\",$((p2 + p8)),$total,$p2,0,$p8"
    assert_line "\"loop\",$((p2 + p8)),$total,$p2,0,$p8"
    assert_line "\"nolock\",$((p2 + p3)),$total,$p2,$p3,0"
    assert_line "\"untouched\",$total,$total,$p2,$p3,$p8"
    # the failed checks are named; each student has a folder
    grep -q '^"nolock",.*"lab8: bank: threads --lock mutex' "$csv"
    grep -q '^"broken",.*"lab3: io_threads: bad usage' "$csv"
    for kind in untouched nolock loop bomb broken; do
        jq -e .score "$BATS_TEST_TMPDIR/out/$kind/grade.json" >/dev/null
        [ -f "$BATS_TEST_TMPDIR/out/$kind/junit.xml" ]
    done
    [ -f "$BATS_TEST_TMPDIR/out/broken/grade-output/build.log" ]
    # each failed for its own reason, said on its line
    local out="$BATS_TEST_TMPDIR/out" usage="io_threads: bad usage prints one line and exits 2"
    grep -qF "$usage: FAIL (0/$p3) (io_threads: stopped after 5 s (time limit))" \
        "$out/loop/grade.txt" || fail "$(cat "$out/loop/grade.txt")"
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
    "$KIT/scripts/gradescope/bundle" "$BATS_TEST_TMPDIR/autograder.zip"
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
    for kind in untouched broken; do
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

@test "grade: printed-not-produced output scores nothing (io_sync without a network, race_condition's learnt line)" {
    local copy
    copy="$(copy_kit printed)"
    # io_sync prints the 100 lines the check wants and downloads nothing
    cat >"$copy/labs/lab2/io_sync.c" <<'C'
/* io_sync.c -- a cheat for scripts/grade.bats: the expected lines, no
 * downloads. */
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    const char *http = getenv("CONKIT_HTTP_PORT");
    const char *https = getenv("CONKIT_HTTPS_PORT");
    for (int i = 0; i < 50; i++) {
        printf("Read 10966 bytes from https://127.0.0.1:%s/jython\n", https);
        printf("Read 272 bytes from http://127.0.0.1:%s/dice\n", http);
    }
    printf("Downloaded 100 of 100 sites, %d bytes\n", 50 * 10966 + 50 * 272);
    printf("Execution time: 0.01s\n");
    return 0;
}
C
    # race_condition prints the line the old check always asked for
    cat >"$copy/labs/lab7/race_condition.c" <<'C'
/* race_condition.c -- a cheat for scripts/grade.bats: a learnt line. */
#include <stdio.h>

int main(void)
{
    printf("counter=200000 expected=200000 lost=0\nExecution time: 0.01s\n");
    return 0;
}
C
    TABLE="$(points_file points \
        "$(table_line lab2 "io_sync: every download of the default list succeeds with the right byte counts")" \
        "$(table_line lab7 "race_condition: --lock mutex is exact in 20 runs out of 20 (graded)")")"
    [ "$(grep -c '^lab' "$TABLE")" -eq 2 ]
    run --separate-stderr grade --kit "$copy" --points "$TABLE"
    assert_failure 1
    assert_line --regexp '^Score: 0/[0-9]+$'
    # each failure names its evidence
    grep -rq "printed 100 downloads, the simulator served 0" \
        "$BATS_TEST_TMPDIR/out/grade-output/"
    grep -rqE "expected : counter=[0-9]+ expected=[0-9]+ lost=0" \
        "$BATS_TEST_TMPDIR/out/grade-output/"
}

@test "grade: copies that fake the work (idle threads, a thread pool for the loop, a table of results, a recomputed balance) score 0 on the checks they fake, and lose nothing else" {
    local copy lab
    copy="$(copy_kit fakes)"
    # io_threads: io_sync's loop on the main thread, N idle threads beside
    # it, and a timer that shows a Nth of the time taken
    cat >"$copy/labs/lab3/idle.h" <<'H'
/* idle.h -- for scripts/grade.bats: threads that only exist. */
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
/* table.h -- for scripts/grade.bats: fib(--n) x 20 at once, no work. */
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
    # and every other graded check of lab8 (the exercise skips on this
    # kit either way): bank loses exactly what the lock is for
    local name
    while IFS=$'\t' read -r _ _ name _; do
        [[ " ${faked[*]} " == *"lab8	$name "* ]] || honest+=("lab8	$name")
    done < <(grep -P '^lab8\t' "$POINTS" | grep -F '(graded)' | grep -v -F 'exercise:')
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
/* children.h -- for scripts/grade.bats: 10,000 sleeping children. */
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

@test "grade: a build step that sleeps forever is stopped at --build-time, and its programs fail" {
    local copy
    copy="$(copy_kit sleepy)"
    printf '\nio_sync: sleeper\n.PHONY: sleeper\nsleeper:\n\tsh -c "sleep 100000" "$(CURDIR)"\n' \
        >>"$copy/Makefile"
    TABLE="$(points_file points \
        "$(table_line lab2 "io_sync: --help lists every option and exits 0")")"
    SECONDS=0
    run --separate-stderr grade --kit "$copy" --points "$TABLE" \
        --build-time 5
    assert_failure 1
    assert_line --partial "io_sync: --help lists every option and exits 0: FAIL (0/1) (io_sync did not build: build stopped after 5 s (build time limit)) see grade-output/build.log"
    grep -q '^limit: [a-z]*: stopped after 5 s (time limit)' \
        "$BATS_TEST_TMPDIR/out/grade-output/build.log"
    # far below the default build limit (600 s) it would otherwise wait
    [ "$SECONDS" -lt 300 ] || fail "grading took $SECONDS s"
    run pgrep -f "$GRADE_TMP/"
    assert_failure
}

@test "grade --class: class.csv cells never start a formula, one row per submission whatever its name, skipped entries are said" {
    local class="$BATS_TEST_TMPDIR/class" csv
    mkdir -p "$class/=cmd|' -C calc'!A0" "$class/+plus" "$class/new
line" "$class/.hidden"
    echo notes >"$class/notes.txt"
    TABLE="$(points_file points \
        "$(table_line lab2 "io_sync: --help lists every option and exits 0")")"
    run --separate-stderr grade --class "$class" --points "$TABLE"
    assert_success
    csv="$BATS_TEST_TMPDIR/out/class.csv"
    # a header and three rows, one line each; the summary counts three
    assert_equal "$(wc -l <"$csv")" 4
    assert_line "Class: 3 submissions"
    # no cell starts with =, +, - or @ (a spreadsheet's formula)
    run grep -E '(^|,)"?[=+@-]' "$csv"
    assert_failure
    grep -qF "\"'=cmd|' -C calc'!A0\"," "$csv"
    grep -qF '"new\nline",' "$csv"
    # what was not graded is said, with why
    [[ "$stderr" == *"skipped .hidden: a hidden folder"* ]] || fail "$stderr"
    [[ "$stderr" == *"skipped notes.txt: not a folder"* ]] || fail "$stderr"
}

@test "classroom: the workflow is valid YAML, grades with Classroom's actions and a pristine kit, each lab worth its points in the table" {
    local workflow="$KIT/scripts/classroom.yml" lab
    command -v yq >/dev/null || skip "needs yq"
    yq . "$workflow" >/dev/null
    # Classroom's own actions: a command grader per lab, the reporter
    run yq -r '.jobs[].steps[].uses // empty' "$workflow"
    assert_line "classroom-resources/autograding-command-grader@v1"
    assert_line "classroom-resources/autograding-grading-reporter@v1"
    run yq -r '.permissions.checks, (.on | map(select(. == "repository_dispatch")) | length)' "$workflow"
    assert_output "write
1"
    # the grader, table and checks come from the instructor's kit at a
    # pinned commit (grader/), never from the student's push (student/)
    run yq -r '.env.GRADER_REF' "$workflow"
    assert_regex "$output" '^[0-9a-f]{40}$'
    run yq -r '.jobs[].steps[] | select(.uses // "" | test("command-grader"))
        | .with.command' "$workflow"
    for line in "${lines[@]}"; do
        [[ "$line" == *" grader/scripts/grade --kit student "* ]] || fail "$line"
    done
    # one test per lab of the table, worth the lab's points; the
    # reporter hears from every one
    for lab in $(awk -F'\t' '/^lab[0-9]+\t/ { print $1 }' "$POINTS" | sort -u); do
        run yq -r --arg lab "$lab" '.jobs[].steps[] | select(.id == $lab)
            | .with["max-score"]' "$workflow"
        assert_output "$(awk -F'\t' -v lab="$lab" \
            '$1 == lab && $4 != "exercise" { t += $2 } END { print t }' "$POINTS")"
        run yq -r '.jobs[].steps[] | select(.uses // "" | test("reporter"))
            | .with.runners | split(",")[]' "$workflow"
        assert_line "$lab"
    done
}
