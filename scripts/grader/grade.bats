#!/usr/bin/env bats
# grade.bats -- checks of the grader (scripts/grade) and of the limits it
# runs students' programs under (scripts/grader/limit).
#
# The quick tier: the limits, the points table, usage; the grader's own
# logic -- points, skips, retries, tasks, the serial split, "did not
# build", limits' reasons, a stopped lab, grade.json, junit.xml, a
# class's CSV and summary, the build's time limit -- on a tiny kit whose
# labs' results are canned TAP (CONKIT_GRADE_CANNED, mini_kit in
# grade.bash), seconds each; and a few gradings of a copy of this kit
# (made once per file, with its binaries) on one or two real checks a
# hostile copy attacks.  The grader end to end on whole kits (full
# marks, a class, Gradescope's run_autograder, copies that fake or
# attack) is in grade.slow.bats (make test-slow).  The helpers both
# share are in grade.bash.  No check asserts an absolute wall time: a
# limit that failed shows as a lab that ran into its own time limit.

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
        wait_for 5 test -s "$pidfile" ||
            fail "no pidfile (CONKIT_NO_CGROUP=$method)"
        grep -q 'trap' "/proc/$(cat "$pidfile")/cmdline" ||
            fail "the pidfile names another process (CONKIT_NO_CGROUP=$method)"
        # the pidfile is out when the command starts, its trap a moment
        # later: a SIGTERM before it would kill bash (143) on a busy
        # machine.  bash has a SIGTERM handler of its own before the
        # trap, so /proc's signal masks cannot tell; its first `sleep`,
        # which comes after the trap, can.
        wait_for 10 pgrep -x -P "$(cat "$pidfile")" sleep >/dev/null ||
            fail "the command never got past its trap"
        kill -TERM "$pid"
        local status=0
        wait "$pid" || status=$?
        assert_equal "$status" 7
    done
}

# ====== scripts/grade's logic, on canned TAP (seconds: no lab runs) ======

@test "grade: a skipped check scores nothing, a check that did not run fails, only retry checks run twice, tasks score apart" {
    local kit canned
    kit="$(student selftest)"
    canned="$(canned tap)"
    # what bats would print: the first run, and the run of the retry
    # checks again (the grader keeps only the checks it asked for)
    cat >"$canned/lab2.tap" <<'TAP'
1..8
ok 1 selftest: passes
ok 2 selftest: skips # skip (on purpose)
ok 3 selftest: task done
not ok 4 selftest: task not done
# (in test file labs/lab2/lab2.bats, line 4)
not ok 5 selftest: fails
# (in test file labs/lab2/lab2.bats, line 6)
#   what fails printed
ok 6 selftest: passes too
not ok 7 selftest: flaky timing
not ok 8 selftest: flaky, not timing
TAP
    cat >"$canned/lab2.again.tap" <<'TAP'
1..4
not ok 1 selftest: task not done
not ok 2 selftest: fails
ok 3 selftest: flaky timing
ok 4 selftest: flaky, not timing
TAP
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

    run --separate-stderr grade_canned "$canned" --kit "$kit" \
        --points "$TABLE"
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
    # in the table's order, one line per check, then tasks and totals
    assert_equal "${#lines[@]}" 13
    assert_line --index 0 --partial "lab2: selftest: passes: OK"
    assert_line --index 8 --partial "lab2: selftest: passes too: OK"
    # the check tagged serial ran apart, alone; only the retry checks
    # that failed ran again
    local out="$BATS_TEST_TMPDIR/out/grade-output"
    run grep -c '^ok\|^not ok' "$out/lab2.serial.tap"
    assert_output 1
    grep -q '^not ok 7 selftest: flaky timing$' "$out/lab2.serial.tap"
    run grep -c '^ok\|^not ok' "$out/lab2.tap"
    assert_output 7
    run grep -o '^not ok [0-9]* .*\|^ok [0-9]* .*' "$out/lab2.again.tap"
    assert_output "not ok 1 selftest: task not done
not ok 2 selftest: fails
ok 3 selftest: flaky timing"
    # the skip's reason and the failures' output are kept
    run cat "$out/lab2-02-selftest-skips.txt"
    assert_output --partial "on purpose"
    run cat "$out/lab2-03-selftest-fails.txt"
    assert_output --partial "what fails printed"
    local json="$BATS_TEST_TMPDIR/out/grade.json"
    run jq -c '.checks[] | select(.name == "selftest: skips")
        | [.points, .earned, .task, .status, .note]' "$json"
    assert_output '[2,0,null,"SKIP","skipped: on purpose"]'
    run jq -c '.checks[] | select(.name == "selftest: task done")
        | [.points, .earned, .task, .status, .retry]' "$json"
    assert_output '[64,64,"lab2.one","OK",false]'
    run jq -c '[.score, .total, .tasks_score, .tasks_total,
        .tasks["lab2.one"].earned, .tasks["lab2.one"].points, .canned,
        .labs_points.lab2]' "$json"
    assert_output '[9,63,320,448,64,192,true,329]'
}

@test "grade: a program that did not build fails exactly the checks that need it; limits' reasons and a stopped lab are on the lines; junit.xml joins the labs' reports" {
    local kit canned out="$BATS_TEST_TMPDIR/out"
    kit="$(student broken)"
    echo 'this is not C;' >>"$kit/labs/lab2/beta.c"
    canned="$(canned tap)"
    # lab1's run was stopped by its time limit before its last check
    cat >"$canned/lab1.tap" <<'TAP'
1..4
ok 1 alpha: runs
# limit: alpha: stopped after 5 s (time limit)
not ok 2 alpha: stopped by a limit
# (in test file labs/lab1/lab1.bats, line 3)
# reason: alpha: ran on 900 ms after SIGTERM
not ok 3 alpha: a reason of its own
TAP
    echo "limit: bats: stopped after 900 s (time limit)" \
        >"$canned/lab1.serial.stopped"
    cat >"$canned/lab1.serial.junit.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<testsuites time="1.0">
<testsuite name="lab1.bats" tests="1" failures="0" errors="0" skipped="0" time="1.0">
    <testcase classname="lab1.bats" name="alpha: runs" time="1.0" />
</testsuite>
</testsuites>
XML
    cat >"$canned/lab2.tap" <<'TAP'
1..2
ok 1 beta: runs
ok 2 beta: needs alpha only
TAP
    sed -e 's/lab1/lab2/g' -e 's/alpha: runs/beta: needs alpha only/' \
        "$canned/lab1.serial.junit.xml" >"$canned/lab2.junit.xml"
    TABLE="$(points_file points \
        "lab1	1	alpha: runs" \
        "lab1	2	alpha: stopped by a limit" \
        "lab1	4	alpha: a reason of its own" \
        "lab1	8	alpha: never reported" \
        "lab2	16	beta: runs" \
        "lab2	32	beta: needs alpha only		alpha")"
    run --separate-stderr grade_canned "$canned" --kit "$kit" \
        --points "$TABLE"
    assert_failure 1
    assert_line "lab1: alpha: runs: OK (1/1)"
    assert_line "lab1: alpha: stopped by a limit: FAIL (0/2) (alpha: stopped after 5 s (time limit)) see grade-output/lab1-02-alpha-stopped-by-a-limit.txt"
    assert_line "lab1: alpha: a reason of its own: FAIL (0/4) (alpha: ran on 900 ms after SIGTERM) see grade-output/lab1-03-alpha-a-reason-of-its-own.txt"
    assert_line "lab1: alpha: never reported: FAIL (0/8) (did not run: lab stopped: stopped after 900 s (time limit)) see grade-output/lab1.serial.tap"
    assert_line "lab2: beta: runs: FAIL (0/16) (beta did not build) see grade-output/build.log"
    assert_line "lab2: beta: needs alpha only: OK (32/32)"
    assert_line "Score: 33/63"
    [[ "$stderr" == *"grade: did not build: beta (see grade-output/build.log)"* ]] ||
        fail "$stderr"
    [[ "$stderr" == *"grade: lab1: lab stopped: stopped after 900 s"* ]] ||
        fail "$stderr"
    [[ "$stderr" == *"CONKIT_GRADE_CANNED: no check runs"* ]] || fail "$stderr"
    grep -q 'beta.c.*error' "$out/grade-output/build.log"
    run jq -c '[.build.not_built, .score, .total, .labs_points,
        (.checks[] | select(.name == "beta: runs") | .output)]' \
        "$out/grade.json"
    assert_output '[["beta"],33,63,{"lab1":1,"lab2":32},"grade-output/build.log"]'
    # one JUnit file of both labs' reports, well formed
    run grep -c '<testcase ' "$out/junit.xml"
    assert_output 2
    /usr/bin/python3 -c 'import sys, xml.etree.ElementTree as e; e.parse(sys.argv[1])' \
        "$out/junit.xml"
}

@test "grade --class: class.csv has one row per submission whatever its name, no cell starts a formula, the summary counts scores and failed checks, skipped entries are said" {
    local class="$BATS_TEST_TMPDIR/class" canned csv name
    canned="$(canned tap)"
    mkdir -p "$class"
    for name in full "=cmd|' -C calc'!A0" "new
line"; do
        cp -a "$MINI" "$class/$name"
        mkdir -p "$canned/$name"
        printf '1..2\nok 1 beta: runs\nok 2 beta: needs alpha only\n' \
            >"$canned/$name/lab2.tap"
        printf 'ok 1 alpha: runs\n' >"$canned/$name/lab1.tap"
    done
    # the formula's kit does not build; the last one's alpha fails
    echo 'this is not C;' >>"$class/=cmd|' -C calc'!A0/labs/lab2/beta.c"
    printf 'not ok 1 alpha: runs\n' >"$canned/new
line/lab1.tap"
    mkdir -p "$class/.hidden"
    echo notes >"$class/notes.txt"
    TABLE="$(points_file points "lab1	1	alpha: runs" \
        "lab2	2	beta: runs" "lab2	4	beta: needs alpha only		alpha")"
    run --separate-stderr grade_canned "$canned" --class "$class" \
        --points "$TABLE"
    assert_success
    # the summary: how many, a histogram of percents, the failed checks
    assert_line "Class: 3 submissions"
    assert_line --regexp '^ +70- 79% # 1$'
    assert_line --regexp '^ +80- 89% # 1$'
    assert_line --regexp '^ +90-100% # 1$'
    assert_line "Checks failed most often:"
    assert_line "  1 lab2: beta: runs"
    assert_line "  1 lab1: alpha: runs"
    csv="$BATS_TEST_TMPDIR/out/class.csv"
    # a header and three rows, one line each, in the folder's order
    run cat "$csv"
    assert_equal "${#lines[@]}" 4
    assert_line --index 0 "name,score,total,lab1,lab2,tasks,tasks_total,seconds,status,failed"
    assert_line --index 1 --regexp "^\"'=cmd\|' -C calc'!A0\",5,7,1,4,0,0,[0-9]+,\"missing\",\"lab2: beta: runs\"$"
    assert_line --index 2 --regexp '^"full",7,7,1,6,0,0,[0-9]+,"full",""$'
    assert_line --index 3 --regexp '^"new\\nline",6,7,0,6,0,0,[0-9]+,"missing","lab1: alpha: runs"$'
    # no cell starts with =, +, - or @ (a spreadsheet's formula)
    run grep -E '(^|,)"?[=+@-]' "$csv"
    assert_failure
    # what was not graded is said, with why
    [[ "$stderr" == *"skipped .hidden: a hidden folder"* ]] || fail "$stderr"
    [[ "$stderr" == *"skipped notes.txt: not a folder"* ]] || fail "$stderr"
}

@test "grade: a build step that sleeps forever is stopped at --build-time, and its programs fail" {
    local kit canned
    kit="$(student sleepy)"
    canned="$(canned tap)"
    printf 'ok 1 beta: runs\n' >"$canned/lab2.tap"
    printf '\nbeta: sleeper\n.PHONY: sleeper\nsleeper:\n\tsh -c "sleep 100000" "$(CURDIR)"\n' \
        >>"$kit/Makefile"
    TABLE="$(points_file points "lab2	1	beta: runs")"
    SECONDS=0
    run --separate-stderr grade_canned "$canned" --kit "$kit" \
        --points "$TABLE" --build-time 3
    assert_failure 1
    assert_line "lab2: beta: runs: FAIL (0/1) (beta did not build: build stopped after 3 s (build time limit)) see grade-output/build.log"
    grep -q '^limit: [a-z]*: stopped after 3 s (time limit)' \
        "$BATS_TEST_TMPDIR/out/grade-output/build.log"
    # far below the default build limit (600 s) it would otherwise wait
    [ "$SECONDS" -lt 120 ] || fail "grading took $SECONDS s"
    run pgrep -f "$GRADE_TMP/"
    assert_failure
}

@test "grade: the checks it runs alone are the ones bats tags serial, in every lab" {
    local file lab ours theirs pristine="$KIT"
    # the grader's own reading of the tags (scripts/grade's serial_checks)
    eval "$(sed -n '/^serial_checks() {$/,/^}$/p' "$KIT/scripts/grade")"
    for file in "$KIT"/labs/lab*/*.bats; do
        lab="$(basename "$(dirname "$file")")"
        ours="$(serial_checks "$lab" | wc -l)"
        theirs="$(bats --count --filter-tags serial "$KIT/labs/$lab"/*.bats)"
        [ "$ours" = "$theirs" ] ||
            fail "$lab: grade finds $ours checks tagged serial, bats $theirs"
        theirs="$(bats --count --filter-tags '!serial' "$KIT/labs/$lab"/*.bats)"
        [ "$((ours + theirs))" = "$(grep -c '^@test ' "$KIT/labs/$lab"/*.bats |
            awk -F: '{ n += $NF } END { print n }')" ]
    done
    # one check tagged and one not, by name
    run serial_checks lab6
    assert_line "cpu_threads: its threads compute at once on 2 cores, none waits for a lock (no GIL in C)"
    run serial_checks lab2
    assert_line "io_sync: --no-session is slower when connecting costs time"
    refute_line "io_sync: --help lists every option and exits 0"
}

# ====== Usage ======

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
    local copy before canned
    copy="$(student tamper)"
    canned="$(canned tap)"
    printf 'ok 1 beta: runs\n' >"$canned/lab2.tap"
    # what a student might try during `make`: append to any grade-points
    # it can find, next to its kit or named by the grader's command line
    cat >"$copy/tamper.sh" <<'SH'
#!/bin/sh
line="lab2	900	beta: runs"
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
    TABLE="$(points_file points "lab2	1	beta: runs")"
    before="$(sha256sum "$TABLE" "$MINI/scripts/grader/points-table" \
        "$MINI/scripts/grade" "$MINI/labs/lab2/lab2.bats")"
    # (the tiny kit's grader, canned TAP: the attack is in the build)
    run --separate-stderr grade_canned "$canned" --kit "$copy" \
        --points "$TABLE"
    assert_success
    assert_line "Score: 1/1"
    assert_equal "$(sha256sum "$TABLE" "$MINI/scripts/grader/points-table" \
        "$MINI/scripts/grade" "$MINI/labs/lab2/lab2.bats")" "$before"
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
