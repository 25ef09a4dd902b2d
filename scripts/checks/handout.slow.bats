#!/usr/bin/env bats
# handout.slow.bats -- the student's kit that `make handout` derives from
# the TASK marks: it builds and runs, holds no solution text, grades 0 on
# every task; the reference grades full marks on every task; the handout
# with one task's reference code put back grades exactly that task.
#
# Slow (it builds the handout and grades it many times): `make test-slow`
# or `bats scripts/checks/handout.slow.bats` (about 30 minutes on 2 cores;
# HANDOUT_TASKS="lab7.spin lab8.order" puts back only those).  The grades use a points table of
# the task checks only (the kit's own checks are graded elsewhere).

load lib/common

setup_file() {
    export HANDOUT="$BATS_FILE_TMPDIR/handout"
    "$KIT/scripts/handout" --out "$HANDOUT" 2>"$BATS_FILE_TMPDIR/handout.log"
    timeout -k 5 900 make -C "$HANDOUT" --no-print-directory -j2 all \
        >"$BATS_FILE_TMPDIR/build.log" 2>&1
    # the task checks of the table, alone
    export TASK_POINTS="$BATS_FILE_TMPDIR/task-points"
    "$KIT/scripts/grader/points-table" | cut -f1-5 |
        grep -P '^lab[0-9]+\t[0-9]+\t[^\t]+\t[^\t]*task:' >"$TASK_POINTS"
}

# the tasks, one a line: "NAME LAB POINTS"
tasks() {
    awk -F'\t' '{
        match($4, /task:[^ ]+/)
        name = substr($4, RSTART + 5, RLENGTH - 5)
        if (!(name in points)) order[++n] = name
        points[name] += $2; lab[name] = $1
    } END { for (i = 1; i <= n; i++) print order[i], lab[order[i]], points[order[i]] }' \
        "$TASK_POINTS"
}

# grade_tasks KIT OUT [LAB...]: the task checks of KIT, graded.
grade_tasks() {
    local kit="$1" out="$2"
    shift 2
    timeout -k 10 3600 "$KIT/scripts/grade" --kit "$kit" \
        --points "$TASK_POINTS" --out "$out" "$@" \
        >"$out.txt" 2>"$out.log" || true
    [ -f "$out/grade.json" ] ||
        fail "no grade.json for $kit: $(tail -n 5 "$out.log")"
}

@test "handout: builds with -Werror, and every program runs" {
    grep -q -- '-Werror' "$HANDOUT/Makefile"
    run make -C "$HANDOUT" --no-print-directory -q all
    assert_success
    local program
    while read -r program; do
        run timeout 10 "$HANDOUT/$program" --help
        assert_success
    done < <(make -C "$HANDOUT" --no-print-directory -s list-programs)
    # and the ones that need no simulator do their work, exit 0
    run timeout 60 "$HANDOUT/models" -q --trains 2 --steps 2
    assert_success
    run timeout 60 "$HANDOUT/race_condition" --increments 1000 --lock mutex
    assert_success
    run timeout 60 "$HANDOUT/bank" --seed 1 --mode threads --lock mutex -q
    assert_success
    run timeout 60 "$HANDOUT/cpu_fork" --work fib --n 25 --jobs 4 --workers 2 -q
    assert_success
}

@test "handout: its own git history (one commit), a tarball, no answers, no solution line" {
    run git -C "$HANDOUT" rev-list --count HEAD
    assert_output 1
    run git -C "$HANDOUT" status --porcelain
    assert_output ""
    [ -s "$HANDOUT.tar.gz" ]
    run tar -tzf "$HANDOUT.tar.gz"
    assert_line "handout/Makefile"
    refute_line --regexp '/\.git/'
    run find "$HANDOUT/labs" -name answers.txt -o -name INSTRUCTORS.md
    assert_output ""
    # every code line of a cut region (a letter in it, not also outside
    # the regions in the reference) is in no file of the handout --
    # found here apart from scripts/handout's own proof
    local secret="$BATS_TEST_TMPDIR/secret" outside="$BATS_TEST_TMPDIR/outside"
    local file
    : >"$secret"
    : >"$outside"
    while read -r file; do
        awk -v secret="$secret" -v outside="$outside" '
            /\/\* TASK lab[0-9]/ { comment = 1 }
            comment { print >> outside; if (/\*\//) { comment = 0; inside = 1 }; next }
            /\/\* END TASK / { inside = 0 }
            { print >> (inside ? secret : outside) }' "$KIT/$file"
    done < <(cd "$KIT" && grep -rl --include='*.[ch]' '/\* TASK lab[0-9]' common labs)
    sed 's/^[[:space:]]*//; s/[[:space:]]*$//' "$secret" | grep '[A-Za-z]' |
        sort -u >"$secret.sorted"
    # the reference's lines outside every region: unmarked files whole,
    # the marked files' lines outside their regions
    (cd "$KIT" && git ls-files | grep -vxF -f <(grep -rl --include='*.[ch]' '/\* TASK lab[0-9]' common labs) |
        xargs cat -- 2>/dev/null; cat "$outside") |
        sed 's/^[[:space:]]*//; s/[[:space:]]*$//' | sort -u \
        >"$outside.sorted"
    comm -23 "$secret.sorted" "$outside.sorted" >"$secret.only"
    [ -s "$secret.only" ] || fail "no solution lines found in the reference"
    (cd "$HANDOUT" && git ls-files | xargs cat --) |
        sed 's/^[[:space:]]*//; s/[[:space:]]*$//' | sort -u >"$BATS_TEST_TMPDIR/handout"
    run comm -12 "$secret.only" "$BATS_TEST_TMPDIR/handout"
    assert_output ""
}

# assert_tasks_graded KIT OUT MARKS: grade KIT's tasks (grade_tasks,
# into OUT) and find every task, and the Tasks: line, given MARKS:
# `none` of its points, or `all`.
assert_tasks_graded() {
    local total name lab points
    grade_tasks "$1" "$2"
    total="$(tasks | awk '{ t += $3 } END { print t }')"
    run cat "$2.txt"
    assert_line "Tasks: $([ "$3" = all ] && echo "$total" || echo 0)/$total"
    while read -r name lab points; do
        assert_line "task $name: $([ "$3" = all ] && echo "$points" || echo 0)/$points"
    done < <(tasks)
}

@test "handout: grades 0 on every task (Tasks: 0/T)" {
    assert_tasks_graded "$HANDOUT" "$BATS_FILE_TMPDIR/grade-handout" none
}

@test "reference: grades full marks on every task (Tasks: T/T)" {
    assert_tasks_graded "$KIT" "$BATS_FILE_TMPDIR/grade-reference" all
}

# keep_one TASK DIR: the handout with TASK's reference code put back (its
# regions as the reference has them; an answers task: the reference's
# answers file), built.
keep_one() {
    if [[ "$1" == *.answers ]]; then
        "$KIT/scripts/handout" --out "$2" --no-git 2>/dev/null
        cp "$KIT/labs/${1%.answers}/answers.txt" "$2/labs/${1%.answers}/"
    else
        "$KIT/scripts/handout" --out "$2" --keep "$1" --no-git 2>/dev/null
    fi
    cp -a "$HANDOUT/build" "$2/"        # only the changed files rebuild
    timeout -k 5 900 make -C "$2" --no-print-directory -j2 all \
        >"$2.build.log" 2>&1 || fail "$1 put back: the build failed"
}

@test "handout: each task's reference code put back scores exactly that task" {
    local name lab points other other_lab other_points wrong=()
    while read -r name lab points; do
        # HANDOUT_TASKS="lab7.spin lab8.order": only those
        [ -z "${HANDOUT_TASKS:-}" ] ||
            [[ " $HANDOUT_TASKS " == *" $name "* ]] || continue
        local dir="$BATS_FILE_TMPDIR/keep-$name" out="$BATS_FILE_TMPDIR/grade-$name"
        keep_one "$name" "$dir"
        grade_tasks "$dir" "$out" "$lab"
        while read -r other other_lab other_points; do
            [ "$other_lab" = "$lab" ] || continue
            local want="task $other: 0/$other_points"
            [ "$other" != "$name" ] || want="task $other: $other_points/$other_points"
            grep -qxF "$want" "$out.txt" ||
                wrong+=("$name put back: not '$want': $(grep "^task $other:" "$out.txt")")
        done < <(tasks)
        echo "# $name put back: $(grep '^Tasks:' "$out.txt")" >&3
        rm -rf "$dir"
    done < <(tasks)
    [ "${#wrong[@]}" -eq 0 ] || fail "$(printf '%s\n' "${wrong[@]}")"
}

@test "handout: a spinlock that is the mutex renamed, and answers the student's own program agrees with, score 0" {
    local dir="$BATS_FILE_TMPDIR/cheat" out="$BATS_FILE_TMPDIR/grade-cheat"
    # the mutex done right; --lock spin is the handout's stub: the mutex
    keep_one lab7.mutex "$dir"
    # an answer that loses nothing, and a program that says it loses one
    printf 'losing=AAABBB\ncount-2x3=48620\n' >"$dir/labs/lab7/answers.txt"
    sed -i '/^static void print_count(long total, long expected)$/,/^{$/ s/^{$/{ total = expected - 1;/' \
        "$dir/labs/lab7/race_condition.c"
    grep -q '^{ total = expected - 1;' "$dir/labs/lab7/race_condition.c" ||
        fail "could not make the lying race_condition"
    make -C "$dir" --no-print-directory race_condition >/dev/null 2>&1
    run "$dir/race_condition" --threads 2 --increments 1 --schedule AAABBB
    assert_line "counter=1 expected=2 lost=1"
    grade_tasks "$dir" "$out" lab7
    run cat "$out.txt"
    assert_line --regexp '^task lab7\.spin: 0/[0-9]+$'
    assert_line --regexp '^task lab7\.answers: 0/[0-9]+$'
}
# SPDX-License-Identifier: MIT
