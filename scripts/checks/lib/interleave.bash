# interleave.bash -- helpers for the checks of --schedule and --explore
# (labs/interleave/, labs 7 and 8).
#
#   load ../../scripts/checks/lib/interleave
#   assert_equal "$schedules" "$(multinomial 3 3)"     # 20

# multinomial STEPS...: (s1 + s2 + ...)! / (s1! s2! ...), by awk with its
# own factorials -- computed apart from the program's count.
multinomial() {
    awk 'function fact(n,  f, i) { f = 1; for (i = 2; i <= n; i++) f *= i; return f }
         BEGIN { sum = 0; den = 1
                 for (i = 1; i < ARGC; i++) { sum += ARGV[i]; den *= fact(ARGV[i]) }
                 printf "%d\n", fact(sum) / den }' "$@"
}

# answers_open LAB: the README exercise's answers (labs/LAB/answers.txt,
# the grader's copy read as the student's user) in ANSWERS; fails (task
# LAB.answers) when there are none yet.
answers_open() {
    ANSWERS_NAME="labs/$1/answers.txt"
    ANSWERS="$(kit_own_copy "$KIT_BIN/$ANSWERS_NAME")"
    [ -f "$ANSWERS" ] || fail "task $1.answers: no $ANSWERS_NAME yet"
}

# answer VARIABLE KEY WHAT REGEX: set VARIABLE to the value of the line
# KEY=VALUE in ANSWERS (VALUE matching the sed REGEX, trailing blanks
# allowed); fails naming the line (KEY=WHAT) when there is none.
answer() {
    local value
    value="$(sed -n "s/^$2=\\($4\\)[[:space:]]*\$/\\1/p" "$ANSWERS")"
    [ -n "$value" ] || fail "no line $2=$3 in $ANSWERS_NAME"
    printf -v "$1" '%s' "$value"
}

# ctrl_c_on_terminal_and_in_a_pipe PROGRAM ARGS...: run PROGRAM twice at
# once, one on a terminal (script(1) gives it one) and one with its output
# in files (kit_background).  When the one on the terminal has shown a
# progress line ("explored N of at most M schedules", 20 s at most), both
# have run as long: type Ctrl-C on the terminal, SIGINT the other.  Sets
# TTY_OUTPUT (what the terminal showed, \r kept) and TTY_STATUS, and for
# the piped run status, output, stderr, lines and waited (interrupt_run's).
ctrl_c_on_terminal_and_in_a_pipe() {
    local program="$1" typescript="$BATS_TEST_TMPDIR/tty"
    local keys="$BATS_TEST_TMPDIR/keys" words arg runner ctl
    shift
    words="exec '$KIT_BIN/$program'"
    for arg in "$@"; do
        words+=" '$arg'"
    done
    kit_background "$program" "$@"
    # the keyboard: a fifo held open here, so the terminal never sees EOF
    mkfifo "$keys"
    exec {ctl}<>"$keys"
    kit_limited "$KIT_TIMEOUT" script -qfec "$words" "$typescript" \
        <"$keys" >/dev/null 2>&1 &
    runner=$!
    wait_for 20 has_line "$typescript" 'explored [0-9]+ of at most' || true
    printf '\003' >&"$ctl"             # Ctrl-C, as typed
    TTY_STATUS=0
    wait "$runner" || TTY_STATUS=$?
    exec {ctl}>&-
    TTY_OUTPUT="$(cat "$typescript")"
    interrupt_and_wait INT "$program" "$KIT_PID"
}
# SPDX-License-Identifier: MIT
