#!/usr/bin/env bats
# grade.bats -- checks of the grader (scripts/grade) and of the limits it
# runs students' programs under (scripts/grader/limit).
#
# The quick tier: the limits, the points table, usage, and gradings of a
# copy of this kit (made once per file, with its binaries, so make has
# little to do) on one or two checks it breaks -- seconds each.  The
# grader end to end on whole kits (full marks, a class, Gradescope's
# run_autograder, copies that fake or attack) is in grade.slow.bats
# (make test-slow).  The helpers both share are in bats/grade.bash.  No
# check asserts an absolute wall time: a limit that failed shows as a
# lab that ran into its own time limit.

bats_require_minimum_version 1.5.0
load ../checks/lib/common
load grade

# ====== scripts/grader/points-table: the points the checks carry ======

@test "points-table: the graded checks' lines are read whole, and a malformed one is one error naming its file and line" {
    local kit="$BATS_TEST_TMPDIR/kit" count lab points name flags programs where
    # the kit's own: every lab's graded checks, each row complete
    run --separate-stderr "$KIT/scripts/grader/points-table"
    assert_success
    count=0
    # (\037 for TAB: read would fold the empty flags field away)
    while IFS=$'\037' read -r lab points name flags programs where; do
        count=$((count + 1))
        [[ "$lab" =~ ^lab[0-9]+$ ]] || fail "bad lab: $lab"
        [[ "$points" =~ ^[0-9]+$ ]] || fail "bad points for '$name'"
        [ -n "$programs" ] || fail "no programs for '$name'"
        grep -qF "@test \"$name\" {" "$KIT/${where%:*}" ||
            fail "'$name' is not at $where"
    done < <(tr '\t' '\037' <<<"$output")
    [ "$count" -ge 100 ] || fail "only $count graded checks"
    # a tiny kit: flags, runs:, comments between, a check without points
    mkdir -p "$kit/labs/lab1" "$kit/labs/lab2"
    touch "$kit/labs/lab1/one.c" "$kit/labs/lab1/two.c" "$kit/labs/lab2/three.c"
    printf '%s\n' '# graded: 3 retry task:lab1.first' '# bats test_tags=serial' \
        '@test "first" { true; }' '@test "not graded" { true; }' \
        '# graded: 1 runs:two,three' '@test "second" { true; }' \
        >"$kit/labs/lab1/lab1.bats"
    run --separate-stderr "$KIT/scripts/grader/points-table" "$kit"
    assert_success
    assert_equal "$output" "$(printf 'lab1\t3\tfirst\tretry task:lab1.first\tone two\tlabs/lab1/lab1.bats:1\nlab1\t1\tsecond\t\ttwo three\tlabs/lab1/lab1.bats:5')"
    # each malformed line: exit 2, one line with the file and line
    local bad
    for bad in "# graded: many" "# graded: 2 bonus" "# graded: 2 runs:nothing" \
        $'# graded: 1\n# graded: 2' $'# graded: 2\ntrue'; do
        printf '%s\n@test "x" { true; }\n' "$bad" >"$kit/labs/lab2/lab2.bats"
        run --separate-stderr "$KIT/scripts/grader/points-table" "$kit"
        assert_failure 2
        [ "${#stderr_lines[@]}" -eq 1 ] || fail "not one line: $stderr"
        [[ "$stderr" =~ ^points-table:\ labs/lab2/lab2\.bats:[12]:\  ]] ||
            fail "no file and line: $stderr"
    done
    printf '@test "x" { true; }\n# graded: 2\n' >"$kit/labs/lab2/lab2.bats"
    run --separate-stderr "$KIT/scripts/grader/points-table" "$kit"
    assert_failure 2
    assert_equal "$stderr" 'points-table: labs/lab2/lab2.bats:2: a "# graded:" line with no @test after it'
}

# ====== scripts/grader/limit ======

@test "limit: a program that ignores SIGTERM is killed at the time limit" {
    SECONDS=0
    run "$KIT/scripts/grader/limit" --time 1 -- \
        bash -c 'trap "" TERM; while :; do :; done'
    assert_equal "$status" 137
    assert_output --partial "limit: bash: stopped after 1 s (time limit)"
    # killed 2 s after the SIGTERM it ignored (without the kill it would
    # never end): generous for a busy machine
    [ "$SECONDS" -lt 30 ] || fail "took $SECONDS s"
}

@test "limit: output is cut at the cap, and stdout and stderr keep their order" {
    # (without a pids cgroup, limit's own line about it would come first)
    CONKIT_LIMIT_QUIET=1 run "$KIT/scripts/grader/limit" --output 4096 -- \
        bash -c 'echo one; echo two >&2; echo three; head -c 100000 /dev/zero'
    assert_equal "$status" 153                  # SIGXFSZ
    assert_line --index 0 one
    assert_line --index 1 two
    assert_line --index 2 three
    assert_line --partial "output cut at 4096 bytes (output limit)"
    # what was kept is exactly the cap: 14 bytes of lines, then the zeros
    run bash -c "'$KIT/scripts/grader/limit' --output 4096 -- \
        bash -c 'echo one; head -c 100000 /dev/zero' 2>/dev/null | wc -c"
    assert_output 4096
}

@test "limit: at most --procs tasks at once; fork fails beyond, the rest is killed" {
    run "$KIT/scripts/grader/limit" --procs 50 -- "$TOOLS/forker" 300 \
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

# bats test_tags=serial
@test "limit: without a pids cgroup, RLIMIT_NPROC bounds the tasks (as nobody when root)" {
    CONKIT_NO_CGROUP=1 run --separate-stderr "$KIT/scripts/grader/limit" \
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
    CONKIT_NO_CGROUP=1 CONKIT_LIMIT_QUIET=1 run "$KIT/scripts/grader/limit" -- id -u
    if [ "$(id -u)" -eq 0 ]; then
        assert_output 65534
    else
        assert_output "$(id -u)"
    fi
}

@test "limit: a daemon that left the process group and the session is killed, with or without a cgroup" {
    local method
    for method in "" 1; do
        CONKIT_NO_CGROUP="$method" CONKIT_LIMIT_QUIET=1 run "$KIT/scripts/grader/limit" \
            --time 5 -- bash -c "setsid '$TOOLS/forker' 3 --setsid &"
        assert_success
        sleep 0.5
        run pgrep -f "$TOOLS/forker"
        assert_failure
    done
}

@test "limit: --user without a pids cgroup: no mark in the command's environment, what it left is found by uid, another run of the user at once is spared" {
    [ "$(id -u)" -eq 0 ] || skip "needs root (--user is root only)"
    # a user of this check's alone, as the grader's are (made once)
    local user=conkit-limit-check other
    id "$user" >/dev/null 2>&1 ||
        useradd -r -M -d /nonexistent -s /usr/sbin/nologin "$user"
    # another run of the same user, started first and still running
    CONKIT_NO_CGROUP=1 CONKIT_LIMIT_QUIET=1 "$KIT/scripts/grader/limit" \
        --user "$user" --clean-env --time 20 -- sleep 5 3>&- &
    other=$!
    sleep 0.5
    CONKIT_NO_CGROUP=1 CONKIT_LIMIT_QUIET=1 CONKIT_LIMIT_RUN=outer \
        run --separate-stderr "$KIT/scripts/grader/limit" --user "$user" \
        --clean-env --time 20 -- bash -c '
            env
            (setsid bash -c "exec -a innocent sleep 60" &) 3>&-'
    assert_success
    assert_line HOME=/nonexistent
    refute_output --partial CONKIT_LIMIT
    assert_regex "$stderr" 'limit: bash: 1 processes it started still ran when it ended: killed'
    sleep 0.3
    run pgrep -u "$user" -f innocent
    assert_failure
    # the other run was not its to kill
    kill -0 "$other" || fail "the other run of $user was killed"
    run pgrep -u "$user" -x sleep
    assert_success
    wait "$other"
}

@test "limit: --user runs the command without capabilities; it cannot write root's files" {
    [ "$(id -u)" -eq 0 ] || skip "needs root (--user is root only)"
    local file="$BATS_TEST_TMPDIR/root-owned"
    echo pristine >"$file"
    chmod 644 "$file"
    run "$KIT/scripts/grader/limit" --user nobody -- \
        bash -c "id -u; grep CapEff /proc/self/status; echo changed >'$file'"
    assert_line 65534
    assert_line --regexp '^CapEff:[[:space:]]+0+$'
    assert_equal "$(cat "$file")" pristine
}

@test "limit: --clean-env hands the command a fixed environment and no descriptor but 0-2" {
    local names
    # what the grader's bats run has, and a check's sanitizer options
    # (from a known environment: the caller's own -- a simulator's
    # ports exported around the checks, say -- would pass through too)
    run env -i PATH="$PATH" HOME="${HOME:-/root}" LANG=C.UTF-8 \
        TMPDIR="${TMPDIR:-/tmp}" \
        KIT_LIMIT=1 KIT_USER=x KIT_BIN=/x BATS_TEST_NAME=x CONKIT_GRADE_RUN=1 \
        SIM_STATS_KEY=secret TSAN_OPTIONS=exitcode=66 CONKIT_HTTP_PORT=1 \
        "$KIT/scripts/grader/limit" --clean-env -- \
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
    # own /proc/PID/fd with; never 7 or 9, open in limit's caller (limit's
    # own line about a missing pids cgroup goes to stderr, apart)
    run --separate-stderr "$KIT/scripts/grader/limit" --clean-env -- \
        bash -c 'ls /proc/$$/fd' 7>/dev/null 9>/dev/null
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
        CONKIT_NO_CGROUP="$method" CONKIT_LIMIT_QUIET=1 "$KIT/scripts/grader/limit" \
            --time 20 --pidfile "$pidfile" -- \
            bash -c 'trap "exit 7" TERM INT; while :; do sleep 0.1; done' 3>&- &
        pid=$!
        for _ in $(seq 100); do
            [ -s "$pidfile" ] && break
            sleep 0.05
        done
        [ -s "$pidfile" ] || fail "no pidfile (CONKIT_NO_CGROUP=$method)"
        grep -q 'trap' "/proc/$(cat "$pidfile")/cmdline" ||
            fail "the pidfile names another process (CONKIT_NO_CGROUP=$method)"
        # the pidfile is out when the command starts, its trap a moment
        # later: a SIGTERM before it would kill bash (143) on a busy
        # machine.  bash has a SIGTERM handler of its own before the
        # trap, so /proc's signal masks cannot tell; its first `sleep`,
        # which comes after the trap, can.
        local past=""
        for _ in $(seq 200); do
            if pgrep -x -P "$(cat "$pidfile")" sleep >/dev/null; then
                past=yes
                break
            fi
            sleep 0.05
        done
        [ -n "$past" ] || fail "the command never got past its trap"
        kill -TERM "$pid"
        local status=0
        wait "$pid" || status=$?
        assert_equal "$status" 7
    done
}

@test "grade: a skipped check scores nothing, a check that did not run fails, only timing checks run twice, tasks score apart" {
    local copy
    copy="$(copy_kit selftest)"
    # checks with known outcomes, graded by the copy's own grader; the
    # "flaky" ones fail on their first run only
    # (written with %test: a line starting with @test here would be a
    # check of this file)
    sed 's/^%test/@test/' >"$copy/labs/lab2/zz-selftest.bats" <<'EOF'
load ../../scripts/checks/lib/common
%test "selftest: passes" { true; }
%test "selftest: skips" { skip "on purpose"; }
%test "selftest: task done" { true; }
%test "selftest: task not done" { false; }
%test "selftest: passes too" { true; }
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
        "lab2	64	selftest: task done	task:lab2.one" \
        "lab2	128	selftest: task not done	retry task:lab2.one" \
        "lab2	256	selftest: passes too	task:lab2.two")"

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
    # tasks: listed, scored on their own lines, never in the score
    assert_check lab2 "selftest: task done" OK
    assert_check lab2 "selftest: task not done" FAIL
    assert_line --partial "selftest: task done: OK (64/64) [task lab2.one]"
    assert_line "task lab2.one: 64/192"
    assert_line "task lab2.two: 256/256"
    assert_line "Tasks: 320/448"
    # the skip's reason and the failures' output are kept
    run cat "$BATS_TEST_TMPDIR/out/grade-output/lab2-02-selftest-skips.txt"
    assert_output --partial "on purpose"
    local json="$BATS_TEST_TMPDIR/out/grade.json"
    run jq -c '.checks[] | select(.name == "selftest: skips")
        | [.points, .earned, .task, .status]' "$json"
    assert_output '[2,0,null,"SKIP"]'
    run jq -c '.checks[] | select(.name == "selftest: task done")
        | [.points, .earned, .task, .status]' "$json"
    assert_output '[64,64,"lab2.one","OK"]'
    run jq -c '[.score, .total, .tasks_score, .tasks_total,
        .tasks["lab2.one"].earned, .tasks["lab2.one"].points]' "$json"
    assert_output '[9,63,320,448,64,192]'
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
for file in ../grader/labs/lab2/lab2.bats ../../labs/lab2/lab2.bats \
    ../grade-points ../../grade-points; do
    echo "$line" >>"$file" 2>/dev/null && echo "tamper: wrote $file"
done
pid=$$
while [ "$pid" -gt 1 ]; do
    for word in $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null); do
        case "$word" in
        */scripts/grade | */grade-points | *.bats)
            dir="$(dirname "$word")"
            for file in "$word" "$dir/grade-points" "$dir/scripts/grader/grade-points"; do
                [ -f "$file" ] && echo "$line" >>"$file" 2>/dev/null &&
                    echo "tamper: wrote $file"
            done ;;
        esac
    done
    pid="$(awk '{ print $4 }' "/proc/$pid/stat" 2>/dev/null || echo 1)"
done
for file in /tmp/conkit-grade.*/grader/scripts/grader/grade-points \
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
/* daemon.h -- for scripts/grader/grade.bats: leave a daemon, flood stdout. */
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
    # what this check's own folder (the copy, the grader's results and
    # its temporary folders, GRADE_TMP) holds before the grading: other
    # files in /tmp are not this run's
    local before after
    before="$(du -sm "$BATS_TEST_TMPDIR" | cut -f1)"
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
    # nothing of the flood is left in the temporary folders: at most the
    # two checks' capped output (1 MB each) and the results more
    after="$(du -sm "$BATS_TEST_TMPDIR" | cut -f1)"
    [ "$((after - before))" -lt 100 ] ||
        fail "the grading left $((after - before)) MB in $BATS_TEST_TMPDIR"
}

@test "grade: printed-not-produced output scores nothing (io_sync without a network, race_condition's learnt line)" {
    local copy
    copy="$(copy_kit printed)"
    # io_sync prints the 100 lines the check wants and downloads nothing
    cat >"$copy/labs/lab2/io_sync.c" <<'C'
/* io_sync.c -- a cheat for scripts/grader/grade.bats: the expected lines, no
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
/* race_condition.c -- a cheat for scripts/grader/grade.bats: a learnt line. */
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
    grep -rq "printed 50 /jython downloads, the simulator served 0" \
        "$BATS_TEST_TMPDIR/out/grade-output/"
    grep -rqE "expected : counter=[0-9]+ expected=[0-9]+ lost=0" \
        "$BATS_TEST_TMPDIR/out/grade-output/"
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

@test "classroom: the workflow is valid YAML, grades a pristine kit, each lab worth its points in the table, scored check by check (partial credit)" {
    local workflow="$KIT/scripts/grader/classroom.yml" lab json result
    command -v yq >/dev/null || skip "needs yq"
    yq . "$workflow" >/dev/null
    # Classroom's own reporter sends the points
    run yq -r '.jobs[].steps[].uses // empty' "$workflow"
    assert_line "classroom-resources/autograding-grading-reporter@v1"
    run yq -r '.permissions.checks, (.on | map(select(. == "repository_dispatch")) | length)' "$workflow"
    assert_output "write
1"
    # the grader, table and checks come from the instructor's kit at a
    # pinned commit (grader/), never from the student's push (student/)
    run yq -r '.env.GRADER_REF' "$workflow"
    assert_regex "$output" '^[0-9a-f]{40}$'
    # one step per lab of the table: the pristine grader, then its
    # grade.json in the reporter's format; the reporter hears from each
    for lab in $(awk -F'\t' '/^lab[0-9]+\t/ { print $1 }' "$POINTS" | sort -u); do
        run yq -r --arg lab "$lab" '.jobs[].steps[] | select(.id == $lab)
            | .run' "$workflow"
        assert_line --partial " grader/scripts/grade --kit student --out out/$lab $lab "
        assert_line "grader/scripts/grader/classroom-result $lab out/$lab/grade.json >>\"\$GITHUB_OUTPUT\""
        run yq -r '.jobs[].steps[] | select(.uses // "" | test("reporter"))
            | .with.runners | split(",")[]' "$workflow"
        assert_line "$lab"
    done
    # the result: a test per graded check, scored what the grader gave
    # it; max_score the lab's points in the table -- 2 of lab2's checks
    # passed, the rest failed: those 2 checks' points reach Classroom
    json="$BATS_TEST_TMPDIR/grade.json"
    awk -F'\t' '$1 == "lab2" { print $3 "\t" $2 }' "$POINTS" | jq -R -s '
        {checks: [split("\n")[] | select(. != "") | split("\t")
          | {lab: "lab2", name: .[0], points: (.[1] | tonumber)}]
         | to_entries | map(.value + {status: (if .key < 2 then "OK"
             else "FAIL" end), earned: (if .key < 2 then .value.points
             else 0 end), note: "", output: null})}' >"$json"
    run "$KIT/scripts/grader/classroom-result" lab2 "$json"
    assert_success
    result="$(sed 's/^result=//' <<<"$output" | base64 -d)"
    assert_equal "$(jq -r .max_score <<<"$result")" \
        "$(awk -F'\t' '$1 == "lab2" { t += $2 } END { print t }' "$POINTS")"
    assert_equal "$(jq -r '[.tests[].score] | add' <<<"$result")" \
        "$(jq '[.checks[].earned] | add' "$json")"
    assert_equal "$(jq -r '[.tests[] | select(.status == "pass")] | length' <<<"$result")" 2
    assert_equal "$(jq -r '.tests | length' <<<"$result")" \
        "$(jq '.checks | length' "$json")"
    # no grade.json (grading stopped): 0 of the lab's points, an error
    run "$KIT/scripts/grader/classroom-result" lab2 "$BATS_TEST_TMPDIR/none"
    result="$(sed 's/^result=//' <<<"$output" | base64 -d)"
    assert_equal "$(jq -r '[.status, ([.tests[].score] | add)] | @tsv' <<<"$result")" "$(printf 'error\t0')"
}
# SPDX-License-Identifier: MIT
