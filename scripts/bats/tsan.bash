# tsan.bash -- running ThreadSanitizer builds in checks (labs 7 and 8).
#
#   load ../../scripts/bats/common
#   load ../../scripts/bats/tsan
#
#   tsan_build race_condition
#   tsan_run race_condition --lock none     # status 66: a race was found

# tsan_build PROGRAM...: build the ThreadSanitizer binaries (seconds; make
# does nothing when they are up to date) and set TSAN_BIN.
tsan_build() {
    # the student's Makefile: under the same limits as the programs, for
    # as long as the grader gives a build (--build-time: KIT_BUILD_TIME)
    run kit_limited "${KIT_BUILD_TIME:-300}" \
        make -C "$KIT_BIN" --no-print-directory \
        SAN=thread "$@"
    assert_success
    TSAN_BIN="$KIT_BIN/build/thread/bin"
}

# tsan_run PROGRAM ARGS...: run a TSan build; exit 66 means "race found".
# The same limits as every kit run (kit_limited): KIT_TIMEOUT, the task
# cap, the output cap.
# Some kernels need address randomisation off for TSan's memory layout
# ("FATAL: ThreadSanitizer: unexpected memory mapping"): retry so then.
tsan_run() {
    local program="$TSAN_BIN/$1" status=0
    shift
    TSAN_OPTIONS="exitcode=66 halt_on_error=0" \
        kit_limited "$KIT_TIMEOUT" "$program" "$@" 2>"$BATS_TEST_TMPDIR/tsan.err" ||
        status=$?
    if grep -q 'FATAL: ThreadSanitizer' "$BATS_TEST_TMPDIR/tsan.err"; then
        status=0
        TSAN_OPTIONS="exitcode=66 halt_on_error=0" \
            kit_limited "$KIT_TIMEOUT" setarch "$(uname -m)" -R "$program" "$@" \
            2>"$BATS_TEST_TMPDIR/tsan.err" || status=$?
    fi
    cat "$BATS_TEST_TMPDIR/tsan.err" >&2
    return "$status"
}
