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
# README_COMMANDS_VERBOSE=1 bats scripts/checks/readme-commands.bats lists the
# commands run.

bats_require_minimum_version 1.5.0
load lib/common

# a short latency: the commands are checked for working, not timed
sim_for_file --latency 10 --jitter 0 --conn-delay 20

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

# tutorial_figures_problems FIGURES README...: one line per README table
# figure that the tutorials' figures file does not hold, and per figure of
# that file that a README it names does not show.  A tutorial's column is
# one whose header names a tutorial, an article or Python; its figures
# are the "N.NN s" that open its cells.
tutorial_figures_problems() {
    local figures="$1"
    shift
    awk -F'|' -v figures="$figures" '
        BEGIN {
            while ((getline line < figures) > 0) {
                if (line ~ /^#/ || line ~ /^key\t/) continue
                split(line, f, "\t")
                known[f[2]] = 1
                n = split(f[5], readmes, " ")
                for (i = 1; i <= n; i++)
                    wanted[readmes[i] SUBSEP f[2]] = f[1]
            }
        }
        FNR == 1 { file = FILENAME; sub(/^.*\/labs\//, "labs/", file)
                   if (file !~ /^labs\//) file = "README.md"
                   header = ""; delete column }
        !/^\|/ { header = ""; delete column; next }
        header == "" { header = $0
                       for (i = 2; i < NF; i++)
                           column[i] = ($i ~ /tutorial|article|Python/ &&
                                        $i !~ /this kit/)
                       next }
        /^\|[-| ]+\|$/ { next }
        { for (i = 2; i < NF; i++) {
              if (!column[i]) continue
              cell = $i; sub(/^ +/, "", cell)
              if (match(cell, /^[0-9]+\.[0-9]+ s/)) {
                  value = substr(cell, 1, RLENGTH - 2)
                  shown[file SUBSEP value] = 1
                  if (!(value in known))
                      printf "%s:%d: %s s is no figure of %s\n", file,
                             FNR, value, "expected/tutorial-figures.tsv"
              }
          } }
        END {
            for (k in wanted)
                if (!(k in shown)) {
                    split(k, p, SUBSEP)
                    printf "%s: does not show %s (%s s)\n", p[1],
                           wanted[k], p[2]
                }
        }' "$@"
}

@test "readme figures: the tutorials' figures are expected/tutorial-figures.tsv's" {
    run tutorial_figures_problems "$KIT/expected/tutorial-figures.tsv" \
        "$KIT"/labs/*/README.md
    assert_success
    assert_output ""
    # and the check can fail: a figure typed wrong, a figure left out
    local readme="$BATS_TEST_TMPDIR/labs/lab2/README.md"
    mkdir -p "$(dirname "$readme")"
    printf '| run | Python tutorial | this kit |\n|---|---|---|\n' >"$readme"
    printf '| synchronous | 11.24 s | 5.20 s |\n' >>"$readme"
    run tutorial_figures_problems "$KIT/expected/tutorial-figures.tsv" \
        "$readme"
    assert_line "labs/lab2/README.md:3: 11.24 s is no figure of expected/tutorial-figures.tsv"
    assert_line "labs/lab2/README.md: does not show io_sync (11.42 s)"
}

@test "readme headings: every lab README has the kit's headings, in one order" {
    # the same names for the same things in every lab, in the same order:
    # Goal, Run it, What to notice, The picture, The tutorial's (or
    # article's) figures and this kit's, How it works, Exercises last.  A
    # lab may leave one out (but Goal, Run it and Exercises) and add its
    # own sections between them, but not a second name for one of them
    # (How to run, Reading the output, ... next to this kit's)
    local readme
    local -a problems=()
    for readme in "$KIT"/labs/*/README.md; do
        mapfile -t -O "${#problems[@]}" problems < <(
            grep '^## ' "$readme" | awk -v file="${readme#"$KIT"/}" '
                { heading = substr($0, 4); last = heading; count++ }
                heading == "Goal" { rank = 1 }
                heading == "Run it" { rank = 2 }
                heading == "What to notice" { rank = 3 }
                heading == "The picture" { rank = 4 }
                heading ~ /^The (tutorial|article)\047s figures and this kit\047s$/ { rank = 5 }
                heading == "How it works" { rank = 6 }
                heading == "Exercises" { rank = 7 }
                heading ~ /^How to run$|^Reading the output$|figure and this kit|next to this kit/ {
                    print file ": \"" heading "\" is another name for one of the kit\047s headings"
                }
                rank > 0 {
                    if (rank <= seen)
                        print file ": \"" heading "\" comes after a heading it precedes in every lab"
                    seen = rank; rank = 0
                }
                count == 1 && heading != "Goal" ||
                count == 2 && heading != "Run it" {
                    print file ": heading " count " is \"" heading "\", not " (count == 1 ? "Goal" : "Run it")
                }
                END { if (last != "Exercises") print file ": the last heading is \"" last "\", not Exercises" }')
    done
    [ "${#problems[@]}" -eq 0 ] || fail "$(printf '%s\n' "${problems[@]}")"
}

@test "readme lab map: README.md's table of labs names every program" {
    # the programs come from the Makefile; each must appear, in
    # backquotes, in its own lab's row of README.md's "The labs" table
    local program lab missing=""
    for program in $(kit_programs); do
        lab="$(basename "$(dirname "$(ls "$KIT"/labs/lab*/"$program.c")")")"
        grep -qE "^\| \[$lab\]\([^)]*\) \|[^|]*\`$program\`" "$KIT/README.md" ||
            missing+=" $program ($lab)"
    done
    [ -z "$missing" ] || fail "not in README.md's lab map:$missing"
}

@test "course path: every lab has its row in labs/COURSE.md, and every link of the course page and the glossary leads somewhere" {
    local lab problems="" doc target file anchor
    for lab in "$KIT"/labs/lab*/; do
        lab="$(basename "$lab")"
        grep -qE "^\| [0-9]+ \| \[[^]]*\]\($lab/README\.md\)" \
            "$KIT/labs/COURSE.md" || problems+=" no row for $lab;"
    done
    # relative links: the file must exist; #anchors into the glossary
    # must name an <a id> there
    for doc in "$KIT/labs/COURSE.md" "$KIT/labs/GLOSSARY.md"; do
        while IFS= read -r target; do
            file="${target%%#*}" anchor=""
            [ "$file" != "$target" ] && anchor="${target#*#}"
            [ -n "$file" ] || file="$(basename "$doc")"
            [ -e "$(dirname "$doc")/$file" ] ||
                { problems+=" $(basename "$doc") links to missing $file;"; continue; }
            if [ -n "$anchor" ]; then
                grep -q "<a id=\"$anchor\">" "$(dirname "$doc")/$file" ||
                    problems+=" $(basename "$doc") links to missing #$anchor;"
            fi
        done < <(grep -oE '\]\([^)]+\)' "$doc" | sed 's/^](//; s/)$//' |
                 grep -v '^[a-z]*://')
    done
    # the top README leads to the course page and the glossary
    grep -q '(labs/COURSE.md)' "$KIT/README.md" || problems+=" README.md does not link labs/COURSE.md;"
    grep -q '(labs/GLOSSARY.md)' "$KIT/README.md" || problems+=" README.md does not link labs/GLOSSARY.md;"
    [ -z "$problems" ] || fail "course path:$problems"
}

@test "course path: each lab README opens with its objectives and ends with the course page's questions, word for word" {
    local lab n problems="" course readme
    for lab in "$KIT"/labs/lab*/; do
        n="${lab%/}"; n="${n##*/lab}"
        readme="$lab/README.md"
        # the course page's questions for lab N, and the README's
        course="$(awk -v n="$n" '
            /^### / { f = ($2 == n ".") ; q = 0; next }
            /^## / { f = 0 }
            f && /^After it you can explain:/ { q = 1; next }
            f && q' "$KIT/labs/COURSE.md")"
        [ -n "$course" ] || { problems+=" lab$n: no questions in COURSE.md;"; continue; }
        [ "$course" = "$(awk '/^## Check yourself/ { f = 1; next }
                             /^## / { f = 0 } f && /^- |^  /' "$readme")" ] ||
            problems+=" lab$n: Check yourself differs from COURSE.md;"
        awk '/^## Goal/ { f = 1; next } /^## / { f = 0 }
             f && /^\*\*In this lab you will\*\*/ { found = 1 }
             END { exit !found }' "$readme" ||
            problems+=" lab$n: no objectives in its Goal;"
    done
    [ -z "$problems" ] || fail "course path:$problems"
}
# SPDX-License-Identifier: MIT
