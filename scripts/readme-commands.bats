#!/usr/bin/env bats
# readme-commands.bats -- every command a lab README shows runs as written.
#
# The convention the lab READMEs follow (and this check enforces):
#
# - A command is a line of a code block -- an indented (4 spaces) block or
#   a ``` fenced one -- that starts with "./" or "make " ("$ " before it
#   is allowed).  Other lines (sample output, code) are not commands.
# - "make ..." is not run: `make test` has built everything already, and
#   `make labN` would start the shared simulator on the default ports.  In
#   "make labN && ./prog ARGS", the part after the first && is run.
# - A command line ending in the comment "# (slow)" or "# (not checked)"
#   is not run: mark so a command that needs the internet, minutes, or a
#   file the reader makes first.
# - Every other command runs as written, with bash, in order, in a scratch
#   folder that links to the kit's programs and folders (so ./io_sync and
#   scripts/draw-trace work, and trace files land there), against a
#   private simulator, within 120 s.  It must exit 0 or 1 (1: some work
#   failed, which a lesson may show on purpose) -- never 2 (a usage error:
#   the README is wrong), a crash or a timeout.
#
# README_COMMANDS_VERBOSE=1 bats scripts/readme-commands.bats lists the
# commands run.

bats_require_minimum_version 1.5.0
load bats/common

setup_file() {
    # a short latency: the commands are checked for working, not timed
    sim_start --latency 10 --jitter 0 --conn-delay 20
}

teardown_file() {
    sim_stop
}

# readme_commands FILE...: "FILE<TAB>LINE<TAB>TEXT" for each line of a
# code block that starts with ./ or make.
readme_commands() {
    awk '
        FNR == 1 { fenced = 0 }
        /^[ \t]*```/ { fenced = !fenced; next }
        fenced || /^(    |\t)/ {
            text = $0
            sub(/^[ \t]+/, "", text)
            sub(/^\$ /, "", text)
            if (text ~ /^(\.\/|make )/)
                printf "%s\t%d\t%s\n", FILENAME, FNR, text
        }' "$@"
}

# runnable TEXT: print the part of a README command line to run, or fail
# when the line is not run (see the convention above).
runnable() {
    local text="$1"
    if [[ "$text" =~ \#[[:space:]]*\((slow|not\ checked)\)[[:space:]]*$ ]]; then
        return 1
    fi
    if [[ "$text" == "make "* ]]; then
        [[ "$text" == *" && "* ]] || return 1
        text="${text#* && }"
    fi
    [[ "$text" == ./* ]] || return 1
    echo "$text"
}

@test "readme commands: the extractor finds exactly the commands to run" {
    local readme="$BATS_TEST_TMPDIR/README.md"
    cat >"$readme" <<'EOF'
# A lab

Run it:

    make lab9 && ./prog --fast      # comment
    ./prog -q
    make check LAB=9
    ./prog --sites internet         # (not checked)
    ./prog --repeat 100000          # (slow)
    counter=1 expected=2 lost=1

Prose that mentions ./prog is not a command.

```sh
$ ./prog --trace t.csv && scripts/draw-trace t.csv
```

```c
    int x = 0;
```
EOF
    run bash -c "$(declare -f readme_commands runnable)
        readme_commands '$readme' | while IFS=\$'\t' read -r f n text; do
            cmd=\"\$(runnable \"\$text\")\" && echo \"\$n: \$cmd\"
        done"
    assert_success
    assert_equal "$output" "5: ./prog --fast      # comment
6: ./prog -q
15: ./prog --trace t.csv && scripts/draw-trace t.csv"
}

@test "readme commands: every command shown in a lab README runs as written" {
    local work="$BATS_TEST_TMPDIR/work" entry file number text command
    local status ran=0 bad=0 log="$BATS_TEST_TMPDIR/command.log"
    mkdir "$work"
    for entry in "$KIT"/*; do
        ln -s "$entry" "$work/$(basename "$entry")"
    done
    while IFS=$'\t' read -r file number text; do
        command="$(runnable "$text")" || continue
        ran=$((ran + 1))
        status=0
        (cd "$work" && timeout -k 5 120 bash -c "$command") \
            </dev/null >"$log" 2>&1 || status=$?
        if [ -n "${README_COMMANDS_VERBOSE:-}" ]; then
            echo "# exit $status: ${file#"$KIT"/}:$number: $command" >&3
        fi
        if [ "$status" -gt 1 ]; then
            bad=$((bad + 1))
            echo "${file#"$KIT"/}:$number: exit $status: $command" >&2
            tail -n 5 "$log" | sed 's/^/    /' >&2
        fi
    done < <(readme_commands "$KIT"/labs/*/README.md)
    [ "$ran" -gt 0 ] || fail "no commands found in labs/*/README.md"
    echo "ran $ran README commands, $bad failed" >&2
    [ "$bad" -eq 0 ]
}
