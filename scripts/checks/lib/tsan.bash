# tsan.bash -- running ThreadSanitizer builds in checks (labs 7 and 8).
#
#   load ../../scripts/checks/lib/common
#   load ../../scripts/checks/lib/tsan
#
#   tsan_build race_condition
#   tsan_run race_condition --lock none     # status 66: a race was found

# tsan_build PROGRAM...: build the ThreadSanitizer binaries (seconds; make
# does nothing when they are up to date) and set TSAN_BIN.  In `make
# test`, scripts/run-checks has built all of build/thread once before any
# file runs (files run side by side must not build into one folder at
# once): here make finds nothing to do.  Under the grader it builds the
# student's own.
tsan_build() {
    if [ "$KIT_BIN" = "$KIT" ]; then
        # this kit's own build (make test)
        run kit_limited "${KIT_BUILD_TIME:-300}" \
            make -C "$KIT_BIN" --no-print-directory SAN=thread "$@"
        assert_success
        TSAN_BIN="$KIT_BIN/build/thread/bin"
        return
    fi
    # a student's kit: the grader builds what it checks -- its own
    # Makefile ($KIT, the pristine one) and flags, the student's sources,
    # into a fresh folder of this check's (never a build the student's
    # Makefile made or left), under the same limits as the programs, for
    # as long as the grader gives a build (--build-time: KIT_BUILD_TIME)
    local build stamp="$BATS_TEST_TMPDIR/deps.stamp"
    build="$(kit_work)/tsan-build"
    touch "$stamp"              # the packages are there: the grader's build
    run kit_limited "${KIT_BUILD_TIME:-300}" \
        make -f "$KIT/Makefile" -C "$KIT_BIN" --no-print-directory \
        SAN=thread BUILD="$build" DEPS_STAMP="$stamp" CC=cc "$@"
    assert_success
    TSAN_BIN="$build/bin"
}

# tsan_run PROGRAM ARGS...: run a TSan build; exit 66 means "race found".
# The same limits as every kit run (kit_limited): KIT_TIMEOUT, the task
# cap, the output cap.
tsan_run() {
    local program="$TSAN_BIN/$1" status=0
    shift
    TSAN_OPTIONS="exitcode=66 halt_on_error=0" \
        tsan_exec tsan_limited "$BATS_TEST_TMPDIR/tsan.err" "$program" "$@" ||
        status=$?
    cat "$BATS_TEST_TMPDIR/tsan.err" >&2
    # evidence for the grade line of a check that fails on it (a check
    # that expects the race passes, and the grader drops the note)
    local where
    where="$(sed -n 's/^WARNING: ThreadSanitizer: data race.* in \([A-Za-z_0-9]*\)$/\1/p;
        s/^SUMMARY: ThreadSanitizer: data race .* in \([A-Za-z_0-9]*\)$/\1/p' \
        "$BATS_TEST_TMPDIR/tsan.err" | head -n 1)"
    if grep -q '^WARNING: ThreadSanitizer: data race' "$BATS_TEST_TMPDIR/tsan.err"
    then
        echo "# reason: ThreadSanitizer (the grader's build) found a data race${where:+ in $where}" \
            >&3 2>/dev/null || true
    fi
    return "$status"
}

tsan_limited() {
    kit_limited "$KIT_TIMEOUT" "$@"
}

# tsan_exec RUNNER ERR PROGRAM ARGS...: `RUNNER PROGRAM ARGS` (RUNNER puts
# its limits around it) with stderr in the file ERR; returns its status.
# Some kernels place memory where this TSan does not expect it ("FATAL:
# ThreadSanitizer: unexpected memory mapping"): then once more without
# address space randomisation (setarch -R).  scripts/check-races uses it
# too (it sources this file; nothing here needs bats).
tsan_exec() {
    local runner="$1" err="$2" status=0
    shift 2
    "$runner" "$@" 2>"$err" || status=$?
    if grep -q 'FATAL: ThreadSanitizer' "$err"; then
        status=0
        "$runner" setarch "$(uname -m)" -R "$@" 2>"$err" || status=$?
    fi
    return "$status"
}
# SPDX-License-Identifier: MIT
