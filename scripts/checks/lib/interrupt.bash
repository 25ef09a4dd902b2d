# interrupt.bash -- run a program and interrupt it, for the checks of the
# interrupt contract (common/interrupt.h): exit 130/143 within a second,
# the summary printed, trace rows for finished and cancelled work.
#
#   load ../../scripts/checks/lib/interrupt
#   interrupt_run INT line scrape_sync --pages 118 --trace "$trace"
#   assert_equal "$status" 130
#   [ "$waited" -le 1500 ]
#
#   interrupt_on_output TERM "$trace" bank --explore --trace "$trace" ...
#                           # the signal follows the program's first row

# interrupt_run SIGNAL WHEN PROGRAM ARGS...: start PROGRAM, send SIGNAL
# at an event, never after a fixed sleep: WHEN is `start` (its SIGINT and
# SIGTERM handlers are in place: a quiet run, or one that prints nothing
# while it works), `line` (also its first line of output is out: work is
# under way) or `line:REGEX` (a line matching that extended regex is out:
# that work is done); then wait (10 s at most, then SIGKILL), and set
# status, output, lines, stderr and waited (milliseconds from the signal
# to the exit) as `run --separate-stderr` would.  (A number for WHEN, the
# old delay in seconds, is taken as `start`.)
interrupt_run() {
    local signal="$1" when="$2" program="$3" pid
    shift 3
    # under the limits of every kit run (common.bash kit_background)
    kit_background "$program" "$@"
    pid="$KIT_PID"
    if [ "$when" = line ]; then
        wait_started "$pid" "$BATS_TEST_TMPDIR/out"
    elif [[ "$when" == line:* ]]; then
        wait_started "$pid" "$BATS_TEST_TMPDIR/out" "${when#line:}"
    else
        wait_started "$pid"
    fi
    interrupt_and_wait "$signal" "$program" "$pid"
}

# interrupt_on_output SIGNAL FILE PROGRAM ARGS...: as interrupt_run, but
# the signal goes as soon as the program has written something to FILE
# (its --trace; 20 s at most): it is at work then, whatever the load.
# (Not its stdout: under the grader's limit that is passed on at the end.)
interrupt_on_output() {
    local signal="$1" file="$2" program="$3"
    shift 3
    kit_background "$program" "$@"
    wait_for 20 test -s "$file" ||
        fail "interrupt_on_output: $program wrote nothing to $file in 20 s"
    interrupt_and_wait "$signal" "$program" "$KIT_PID"
}

# interrupt_and_wait SIGNAL PROGRAM PID: the rest of interrupt_run.
interrupt_and_wait() {
    local signal="$1" program="$2" pid="$3" started
    started="$(date +%s%N)"
    kill "-$signal" "$pid"
    status=0
    local note=""
    if ! timeout -k 2 10 tail --pid="$pid" -f /dev/null; then
        kill -9 "$pid" 2>/dev/null || true
        note="still running 10 s after SIG$signal: killed (SIGKILL)"
    fi
    wait "$KIT_WAIT" || status=$?
    waited=$(( ($(date +%s%N) - started) / 1000000 ))
    if [ -z "$note" ] && [ "$waited" -gt 1500 ]; then
        note="ran on $waited ms after SIG$signal (exit $status)"
    fi
    # why, on the check's grade line (scripts/grade reads these notes)
    [ -z "$note" ] ||
        echo "# reason: $program: $note" >&3 2>/dev/null || true
    output="$(cat "$BATS_TEST_TMPDIR/out")"
    stderr="$(cat "$BATS_TEST_TMPDIR/err")"
    mapfile -t lines <"$BATS_TEST_TMPDIR/out"
}
# SPDX-License-Identifier: MIT
