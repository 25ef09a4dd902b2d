#!/usr/bin/env bats
# contract.bats -- what every program of the kit promises (the program
# contract in README.md's "Commands"), checked across all of them at once:
# --help and bad usage, --trace, TLS never switched off, and clean runs
# under ASan+UBSan and ThreadSanitizer.

load lib/common

# Every lab program, as the Makefile builds them (labs/labN/NAME.c).
programs() {
    make -s -C "$KIT" --no-print-directory list-programs
}

# Their Python twins (labs/labN/NAME.py, run by path): the same contract
# where it applies -- help, usage, timer line, trace -- but no sanitizers.
python_programs() {
    make -s -C "$KIT" --no-print-directory list-python-programs
}

# A small run of each program, which must succeed (a program may have
# several; "every program has a small run" fails for one that has none).
small_runs() {
    cat <<'RUNS'
models --steps 2 --work-ms 2
io_sync --repeat 2
io_sync --repeat 2 --no-session
io_threads --repeat 4 --workers 3
io_threads --repeat 4 --workers 3 --gil
io_threads --repeat 4 --workers 3 --hold-gil
io_async --repeat 4
io_fork --repeat 4 --workers 2
cpu_sync --n 22
cpu_threads --n 22
cpu_threads --n 22 --gil --switch-interval 1
cpu_async --n 22
cpu_fork --n 22
race_condition --increments 2000 --lock mutex
race_condition --increments 2000 --lock atomic
bank --seed 1 --transfers 5 --mode sync
bank --seed 1 --transfers 5 --mode threads --lock mutex
bank --seed 1 --transfers 5 --mode async --lock mutex
scrape_sync --pages 3
scrape_threads --pages 6 --workers 3
scrape_threads --pages 6 --no-session
scrape_async --pages 6
scrape_async --pages 6 --max-conns 2 --no-session
mixed --repeat 2 --rounds 10
mixed --repeat 2 --rounds 10 --model threads --workers 2
mixed --repeat 2 --rounds 10 --model async --max-conns 2
mixed --repeat 2 --rounds 10 --model async+threads --workers 2
RUNS
}

python_small_runs() {
    cat <<'RUNS'
labs/lab2/io_sync.py --repeat 2
labs/lab3/io_threads.py --repeat 4 --workers 3
labs/lab4/io_async.py --repeat 4
labs/lab5/io_fork.py --repeat 4 --workers 2
labs/lab6/cpu_sync.py --n 15
labs/lab6/cpu_threads.py --n 15
labs/lab6/cpu_async.py --n 15
labs/lab6/cpu_fork.py --n 15
labs/lab7/race_condition.py --increments 2000 --lock mutex
labs/lab8/bank.py --seed 1 --transfers 5 --mode threads --lock mutex
labs/lab8/bank.py --seed 1 --transfers 5 --mode async --lock mutex
labs/lab9/scrape_sync.py --pages 3
labs/lab9/scrape_threads.py --pages 6 --workers 3
labs/lab9/scrape_async.py --pages 6
RUNS
}

# small_runs_of PROGRAM...: the small runs of those programs only.
small_runs_of() {
    local program line
    while read -r line; do
        for program in "$@"; do
            if [ "${line%% *}" = "$program" ]; then
                echo "$line"
            fi
        done
    done < <(small_runs)
}

setup_file() {
    sim_start --latency 5 --jitter 0 --conn-delay 5
}

teardown_file() {
    sim_stop
}

@test "every program has a small run (a new one is not skipped unnoticed)" {
    local program missing=""
    for program in $(programs); do
        small_runs_of "$program" | grep -q . || missing+=" $program"
    done
    for program in $(python_programs); do
        python_small_runs | grep -q "^$program " || missing+=" $program"
    done
    [ -z "$missing" ] || fail "no small run in contract.bats for:$missing"
    # and every small run is of a program the Makefile builds
    run small_runs_of $(programs)
    assert_equal "$output" "$(small_runs)"
}

@test "every command line follows common/options.h's story" {
    # every table of options a program has takes COMMON_LONG_OPTIONS and
    # is read by option_parse(), which hands --trace, --color, -q, -h and
    # the unknown to one place -- or, in an I/O program, is the
    # extra_options of its struct io_program, read by
    # io_parse_options(); nothing else calls getopt_long itself
    local file bad=""
    while read -r file; do
        { { grep -q 'COMMON_LONG_OPTIONS' "$file" &&
              grep -q 'option_parse(' "$file"; } ||
          { grep -q '\.extra_options = ' "$file" &&
              grep -q 'io_parse_options(' "$file"; }; } &&
            ! grep -q 'getopt_long(' "$file" || bad+=" ${file#"$KIT"/}"
    done < <(grep -lE 'struct option |getopt_long\(' "$KIT"/labs/lab*/*.c \
                 "$KIT"/labs/lab*/lib/*.c "$KIT"/common/*.c 2>/dev/null |
             grep -v '/common/options.c$')
    [ -z "$bad" ] || fail "parses its options another way:$bad"
}

@test "every program: --help prints its usage and exits 0" {
    local program
    for program in $(programs) $(python_programs); do
        run --separate-stderr kit "$program" --help
        assert_success
        assert_line --index 0 "usage: ${program##*/} [options]"
        assert_equal "$stderr" ""
    done
}

@test "every program: bad usage is one line on stderr, exit 2, nothing done" {
    local program
    for program in $(programs) $(python_programs); do
        assert_usage_error "$program" --no-such-option
        assert_usage_error "$program" an-extra-argument
    done
}

@test "every labs/*/bench.sh: a missing value or an unknown option is one line on stderr, exit 2" {
    # the options that take a value, read from each script's own
    # read_options call (--OPTION=VARIABLE words)
    local bench option
    for bench in "$KIT"/labs/*/bench.sh; do
        grep -q '^read_options ' "$bench" ||
            fail "${bench#"$KIT"/}: no options read with read_options"
        for option in $(grep -o -- ' --[a-z-]*=[a-z_]*' "$bench" |
                            sed 's/=.*//') --no-such-option; do
            run --separate-stderr timeout -k 5 20 "$bench" "$option"
            [ "$status" -eq 2 ] && [ -z "$output" ] &&
                [ "$(wc -l <<<"$stderr")" -eq 1 ] ||
                fail "${bench#"$KIT"/} $option: exit $status, stdout" \
                     "'$output', stderr '$stderr'"
        done
    done
}

@test "every program: a small run ends with the timer line and exits 0" {
    local line
    while read -r line; do
        # shellcheck disable=SC2086
        run --separate-stderr kit $line -q
        assert_success
        [[ "${lines[-1]}" =~ ^Execution\ time:\ [0-9]+\.[0-9]{2}s$ ]] ||
            fail "$line: last line is not the timer line: ${lines[-1]}"
    done < <(small_runs; python_small_runs)
}

@test "every program: --trace writes the CSV header and well-formed rows" {
    local line trace="$BATS_TEST_TMPDIR/run.trace.csv"
    while read -r line; do
        rm -f "$trace"
        # shellcheck disable=SC2086
        run --separate-stderr kit $line -q --trace "$trace"
        assert_success
        [ "$(head -n 1 "$trace")" = "id,worker,label,start_us,end_us,status" ] ||
            fail "$line: no trace header"
        # at least one row; every row: numbers where numbers belong, an
        # end not before its start, a status
        awk -F, 'NR > 1 { rows++
                 if ($1 !~ /^[0-9]+$/ || $2 !~ /^[0-9]+$/ ||
                     $(NF-2) !~ /^[0-9]+$/ || $(NF-1) !~ /^[0-9]+$/ ||
                     $(NF-1) < $(NF-2) || $NF == "") bad++ }
                 END { exit !(rows > 0 && bad == 0) }' "$trace" ||
            fail "$line: bad trace rows: $(cat "$trace")"
    done < <(small_runs; python_small_runs)
}

@test "nothing in the kit switches TLS verification off" {
    # the kit's own sources, scripts and docs; the matches would be the
    # libcurl options set to 0, or curl's --insecure / -k
    # (and in the Python twins: verify=False, CERT_NONE, ssl=False)
    run grep -rnE 'SSL_VERIFY(PEER|HOST)|--insecure|curl[^|]* -k( |$)|verify *= *False|CERT_NONE|ssl *= *False|check_hostname *= *False' \
        "$KIT/common" "$KIT/labs" "$KIT/scripts" "$KIT/README.md" \
        --include='*.c' --include='*.h' --include='*.bash' \
        --include='*.bats' --include='*.md' --include='*.sh' \
        --include='*.py'
    # this very check names them, and http.h says they stay on
    run grep -vE 'scripts/checks/contract.bats|common/http.h' <<<"$output"
    assert_output ""
}

# sanitized PROGRAM ARGS...: run a sanitizer build; fail on any report.
sanitized() {
    local program="$1"
    shift
    run --separate-stderr timeout -k 5 120 "$SAN_BIN/$program" "$@" -q
    if [ "$status" -ne 0 ] ||
        grep -qE 'Sanitizer|runtime error|WARNING: ThreadSanitizer' \
            <<<"$stderr"; then
        fail "$program $*: exit $status under $SAN_BIN: $stderr"
    fi
}

@test "every program runs clean under ASan and UBSan" {
    # built once already when scripts/run-checks runs several files
    run timeout -k 5 600 make -C "$KIT" --no-print-directory -j2 \
        SAN=address all
    assert_success
    SAN_BIN="$KIT/build/address/bin"
    local line
    while read -r line; do
        # shellcheck disable=SC2086
        ASAN_OPTIONS=detect_leaks=1 sanitized $line
    done < <(small_runs)
}

@test "every program runs clean under ThreadSanitizer" {
    run timeout -k 5 600 make -C "$KIT" --no-print-directory -j2 \
        SAN=thread all
    assert_success
    SAN_BIN="$KIT/build/thread/bin"
    local line
    while read -r line; do
        # shellcheck disable=SC2086
        TSAN_OPTIONS="halt_on_error=1" sanitized $line
    done < <(small_runs)
}

@test "every source file carries the license's SPDX line (README.md: License)" {
    # the files git tracks that are code: C, shell, bats, Python, YAML,
    # the Makefile, and any file that starts with #!
    git -C "$KIT" rev-parse --is-inside-work-tree >/dev/null 2>&1 ||
        skip "not a git checkout: no list of the kit's files"
    local file missing=""
    while IFS= read -r file; do
        case "$file" in
        *.c | *.h | *.bash | *.bats | *.py | *.yml | *.sh | Makefile | */Makefile) ;;
        *) head -c 2 "$KIT/$file" | grep -q '^#!' || continue ;;
        esac
        grep -q 'SPDX-License-Identifier: MIT' "$KIT/$file" ||
            missing+=" $file"
    done < <(git -C "$KIT" ls-files)
    [ -z "$missing" ] || fail "no SPDX-License-Identifier: MIT line in:$missing"
    grep -q '^## License' "$KIT/README.md"
}
# SPDX-License-Identifier: MIT
