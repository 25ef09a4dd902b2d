# grade.bash -- what the grader's checks (grade.bats, grade.slow.bats,
# grade-attacks.slow.bats) share: a copy of the kit as it is (made once
# per file, built, so make has little to do), the C test programs, the
# grader run in a check's folder, points tables for one check, and
# asserts on the grader's lines.
#
#   load ../checks/lib/common
#   load grade

# the points table the checks carry (their "# graded:" lines), once a file
POINTS="$BATS_FILE_TMPDIR/points"
[ -s "$POINTS" ] || "$KIT/scripts/grader/points-table" | cut -f1-5 >"$POINTS"

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
    # the tiny kit the grader's logic is checked on (canned TAP)
    MINI="$BATS_FILE_TMPDIR/mini"
    export MINI
    mini_kit "$MINI"

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

# copy_kit NAME [DIR]: a private copy of the pristine kit in DIR
# (default: this check's folder); prints its path.
copy_kit() {
    local dir="${2:-$BATS_TEST_TMPDIR}"
    mkdir -p "$dir"
    cp -a "$PRISTINE" "$dir/$1"
    echo "$dir/$1"
}

# points_of LAB NAME: the points the table gives that check.
points_of() {
    awk -F'\t' -v lab="$1" -v name="$2" \
        '$1 == lab && $3 == name { print $2 }' "$POINTS"
}

# table_split LAB...: "SCORE TASKS TASK_NAMES": the points of the kit's
# own checks ("Score:") and of the task checks ("Tasks:", a flag
# task:NAME), and how many tasks, in those labs.
table_split() {
    local labs=" $* "
    awk -F'\t' -v labs="$labs" '
        /^lab[0-9]+\t/ && index(labs, " " $1 " ") {
            if ($4 ~ /task:/) { tasks += $2; t = $4
                                sub(/.*task:/, "", t); sub(/[ ,].*/, "", t)
                                names[t] = 1 }
            else score += $2 }
        END { n = 0; for (t in names) n++
              print score + 0, tasks + 0, n }' "$POINTS"
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

# points_table LAB NAME...: a points table of only those checks (their
# lines in the kit's table), in this test's folder; prints its path.
points_table() {
    local lab="$1" file="$BATS_TEST_TMPDIR/points.$RANDOM" name
    shift
    echo '# a points table for one check of grade-attacks.slow.bats' >"$file"
    for name in "$@"; do
        table_line "$lab" "$name" >>"$file"
        grep -qF "$name" "$file" || fail "not in the points table: $name"
    done
    echo "$file"
}

# grade_check KIT LAB NAME...: `run` the grader on KIT's LAB, graded on
# only those checks (their table in $TABLE, for assert_check), its stderr
# apart.
grade_check() {
    local kit="$1" lab="$2"
    shift 2
    TABLE="$(points_table "$lab" "$@")"
    run --separate-stderr grade --kit "$kit" --points "$TABLE" "$lab"
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
    TMPDIR="$GRADE_TMP" "${GRADER:-$KIT}/scripts/grade" \
        --out "$BATS_TEST_TMPDIR/out" "$@"
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
    if CONKIT_LIMIT_QUIET= "$KIT/scripts/grader/limit" -- true 2>&1 |
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
# SPDX-License-Identifier: MIT

# ====== The grader's logic on canned TAP (CONKIT_GRADE_CANNED) ======

# mini_kit DIR: a tiny kit whose grader is this kit's (its scripts/, the
# code under test): a Makefile that builds two one-line programs, alpha
# (labs/lab1) and beta (labs/lab2), and stand-ins for the simulator and
# the reference programs; the labs' bats files only name the checks (the
# grader reads canned TAP instead of running them), with their serial
# tags.  Seconds to grade: no lab runs.
mini_kit() {
    local dir="$1"
    mkdir -p "$dir/labs/lab1" "$dir/labs/lab2" "$dir/common"
    cp -a "$KIT/scripts" "$dir/"
    printf 'int main(void) { return 0; }\n' >"$dir/labs/lab1/alpha.c"
    printf 'int main(void) { return 0; }\n' >"$dir/labs/lab2/beta.c"
    printf '%s\n' 'all: alpha beta' \
        'alpha: labs/lab1/alpha.c' $'\tcc -o $@ labs/lab1/alpha.c' \
        'beta: labs/lab2/beta.c' $'\tcc -o $@ labs/lab2/beta.c' \
        'sitesim io_sync scrape_sync race_condition bank:' \
        $'\tprintf \'#!/bin/sh\\n\' >$@ && chmod +x $@' >"$dir/Makefile"
    # the checks, by name (written with %test: a line starting with @test
    # here would be a check of the file that calls this)
    sed 's/^%test/@test/' >"$dir/labs/lab1/lab1.bats" <<'EOB'
# bats file_tags=serial
%test "alpha: runs" { true; }
%test "alpha: stopped by a limit" { true; }
%test "alpha: a reason of its own" { true; }
%test "alpha: never reported" { true; }
EOB
    sed 's/^%test/@test/' >"$dir/labs/lab2/lab2.bats" <<'EOB'
%test "selftest: passes" { true; }
%test "selftest: skips" { true; }
%test "selftest: task done" { true; }
%test "selftest: task not done" { true; }
%test "selftest: passes too" { true; }
%test "selftest: fails" { true; }
# the one run alone
# bats test_tags=serial
%test "selftest: flaky timing" { true; }
%test "selftest: flaky, not timing" { true; }
%test "beta: runs" { true; }
%test "beta: needs alpha only" { true; }
EOB
}

# canned NAME: a folder for canned TAP (CONKIT_GRADE_CANNED); prints it.
canned() {
    mkdir -p "$BATS_TEST_TMPDIR/$1"
    echo "$BATS_TEST_TMPDIR/$1"
}

# grade_canned DIR ARGS...: grade as the tiny kit's grader does (see
# grade), with DIR's canned TAP.
grade_canned() {
    local dir="$1"
    shift
    GRADER="$MINI" CONKIT_GRADE_CANNED="$dir" grade "$@"
}

# student NAME: a copy of the tiny kit, as a student hands it in; prints
# its path.
student() {
    mkdir -p "$BATS_TEST_TMPDIR/kits"
    cp -a "$MINI" "$BATS_TEST_TMPDIR/kits/$1"
    echo "$BATS_TEST_TMPDIR/kits/$1"
}
