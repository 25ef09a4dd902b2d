#!/usr/bin/env bats
# contract.bats -- what every program of the kit promises (the program
# contract in README.md's "Commands"), checked across all of them at once:
# --help and bad usage, --trace, TLS never switched off, and clean runs
# under ASan+UBSan and ThreadSanitizer.

load lib/common

# A small run of each program, which must succeed (a program may have
# several; "every program has a small run" fails for one that has none):
# the `small` lines of labs/labN/runs.  The C programs' runs:
small_runs() {
    lab_runs small | grep -v '^labs/'
}

# The Python twins' (labs/labN/NAME.py, run by path): the same contract
# where it applies -- help, usage, timer line, trace -- but no sanitizers.
python_small_runs() {
    lab_runs small | grep '^labs/'
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

sim_for_file --latency 5 --jitter 0 --conn-delay 5

@test "every program has a small run (a new one is not skipped unnoticed)" {
    local program missing=""
    for program in $(kit_programs); do
        small_runs_of "$program" | grep -q . || missing+=" $program"
    done
    for program in $(kit_python_programs); do
        python_small_runs | grep -q "^$program " || missing+=" $program"
    done
    [ -z "$missing" ] || fail "no small line in its labs/labN/runs for:$missing"
    # and every small run is of a program the Makefile builds
    run small_runs_of $(kit_programs)
    assert_equal "$output" "$(small_runs)"
}

@test "every labs/*/runs line is a run of a program of that lab, of a kind the checks read" {
    # a misspelt kind or program would drop the run from every check
    local file lab kind program args bad=""
    for file in "$KIT"/labs/lab*/runs; do
        lab="$(dirname "$file")"
        while read -r kind program args; do
            [ -n "$kind" ] && [[ "$kind" != "#"* ]] || continue
            if [[ " $RUN_KINDS " != *" $kind "* ]] ||
                { [ ! -f "$lab/$program.c" ] &&
                  { [[ "$program" != *.py ]] || [ ! -f "$lab/$program" ]; }; }
            then
                bad+=" ${file#"$KIT"/}:'$kind $program'"
            fi
        done <"$file"
    done
    [ -z "$bad" ] || fail "not a known kind and a program of its lab:$bad"
}

@test "every command line follows common/options.h's story" {
    # every table of options a program has is a table of rules read by
    # option_parse_rules() (lab 6's through jobs_parse_options()), or
    # takes COMMON_LONG_OPTIONS and is read by option_parse(): both hand
    # --trace, --color, -q, -h and the unknown to one place -- or, in an
    # I/O program, is the extra_options of its struct io_program, read by
    # io_parse_options(); nothing else calls getopt_long itself
    local file bad=""
    while read -r file; do
        { { grep -q 'struct option_rule ' "$file" &&
              grep -qE 'option_parse_rules\(|jobs_parse_options\(' "$file"; } ||
          { grep -q 'COMMON_LONG_OPTIONS' "$file" &&
              grep -q 'option_parse(' "$file"; } ||
          { grep -q '\.extra_options = ' "$file" &&
              grep -q 'io_parse_options(' "$file"; }; } &&
            ! grep -q 'getopt_long(' "$file" || bad+=" ${file#"$KIT"/}"
    done < <(grep -lE 'struct option(_rule)? |getopt_long\(' "$KIT"/labs/lab*/*.c \
                 "$KIT"/labs/lab*/lib/*.c "$KIT"/common/*.c 2>/dev/null |
             grep -v '/common/options.c$')
    [ -z "$bad" ] || fail "parses its options another way:$bad"
}

@test "every program: --help prints its usage and exits 0" {
    local program
    for program in $(kit_programs) $(kit_python_programs); do
        run --separate-stderr kit "$program" --help
        assert_success
        assert_line --index 0 "usage: ${program##*/} [options]"
        assert_equal "$stderr" ""
    done
}

@test "every program: bad usage is one line on stderr, exit 2, nothing done" {
    local program
    for program in $(kit_programs) $(kit_python_programs); do
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

# clean_under SAN VAR=VALUE: build every program with make SAN=SAN (built
# once already when scripts/run-checks runs several files), then run each
# small run on that build with VAR=VALUE in its environment; fail on any
# report.
clean_under() {
    local san="$1" options="$2" program args
    run timeout -k 5 600 make -C "$KIT" --no-print-directory -j2 \
        SAN="$san" all
    assert_success
    while read -r program args; do
        # shellcheck disable=SC2086  # the arguments are words
        run --separate-stderr env "$options" timeout -k 5 120 \
            "$KIT/build/$san/bin/$program" $args -q
        if [ "$status" -ne 0 ] ||
            grep -qE 'Sanitizer|runtime error|WARNING: ThreadSanitizer' \
                <<<"$stderr"; then
            fail "$program $args: exit $status under build/$san: $stderr"
        fi
    done < <(small_runs)
}

@test "every program runs clean under ASan and UBSan" {
    clean_under address ASAN_OPTIONS=detect_leaks=1
}

@test "every program runs clean under ThreadSanitizer" {
    clean_under thread TSAN_OPTIONS=halt_on_error=1
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
