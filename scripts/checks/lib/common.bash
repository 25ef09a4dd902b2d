# common.bash -- shared setup for every conkit bats file.
#
#   load ../../scripts/checks/lib/common
#
#   sim_for_file --latency 40 --jitter 0
#
# sim_start runs the kit's site simulator on free ports with its own lab CA
# folder and exports CONKIT_HTTP_PORT, CONKIT_HTTPS_PORT and CONKIT_SIMDIR,
# so that every program the test runs with --sites local talks to it.

KIT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
export KIT

# run --separate-stderr needs bats 1.5
bats_require_minimum_version 1.5.0

# bats-support and bats-assert from Debian (bats-support, bats-assert)
bats_load_library bats-support
bats_load_library bats-assert

# Programs under test live at the top of the kit unless the grader points
# KIT_BIN elsewhere (a student's kit).
KIT_BIN="${KIT_BIN:-$KIT}"
export KIT_BIN

# The longest any single command in a check may run.
KIT_TIMEOUT="${KIT_TIMEOUT:-60}"

# wait_for SECONDS COMMAND...: run COMMAND about every 10 ms until it
# succeeds (then 0), SECONDS have passed (then 1), or it returns 2 or
# more, "it never will" (then that status).  The one wait loop of the
# checks: they wait for an event, never for the clock.  The pause is a
# read with a timeout on a pipe nobody writes: a builtin, no fork a turn.
wait_for() {
    local turns=$(($1 * 100)) tick status
    shift
    exec {tick}<> <(:)
    while :; do
        status=0
        "$@" || status=$?
        if [ "$status" -ne 1 ] || [ $((turns -= 1)) -le 0 ]; then
            break
        fi
        read -rt 0.01 -u "$tick" _ || true
    done
    exec {tick}>&-
    return "$status"
}

# is_gone PID: PID no longer runs (for wait_for).
is_gone() {
    ! kill -0 "$1" 2>/dev/null
}

# has_children PID N: PID has N child processes or more now (for
# wait_for); their pids go in CHILD_PIDS.
has_children() {
    mapfile -t CHILD_PIDS < <(ps --ppid "$1" -o pid= | tr -d ' ')
    [ "${#CHILD_PIDS[@]}" -ge "$2" ]
}

# kit PROGRAM ARGS...: run a kit program under a time limit (for `run`).
kit() {
    local program="$1"
    shift
    kit_limited "$KIT_TIMEOUT" "$KIT_BIN/$program" "$@"
}

# kit_limited SECONDS CMD ARGS...: run any command of the student's kit
# (a program, a TSan build, make) under the limits every run gets: a time
# limit with SIGKILL 5 s after SIGTERM, fd 3 (bats' TAP stream) closed.
# When the grader sets KIT_LIMIT, scripts/grader/limit also caps the tasks
# (KIT_MAX_PROCS) and the bytes printed (KIT_MAX_OUTPUT), kills anything
# the command left behind, and runs it as KIT_USER (the grader's
# unprivileged user) with a clean environment (nothing that says a
# grader runs it).
#
# As KIT_USER the command writes only its own folder (kit_work): the
# check's $BATS_TEST_TMPDIR stays the grader's, where the grader alone
# writes (kit.times, kit.pid, limit notes, sites files, out and err), so
# a link the student's code plants can never redirect a write of root's.
# An argument naming a file in $BATS_TEST_TMPDIR that is not there yet (a
# --trace file the program is to write) is handed to the command as the
# same name in kit_work, and what the command wrote there is copied back
# afterwards -- read as KIT_USER, so a link there yields only what that
# user may read.
kit_limited() {
    local seconds="$1" times="${BATS_TEST_TMPDIR:-/tmp}/kit.times" status=0
    shift
    if [ -n "${KIT_LIMIT:-}" ]; then
        local notes="${BATS_TEST_TMPDIR:-/tmp}/limit-notes.$BASHPID"
        local work="" arg args=() outputs=() name
        if [ -n "${KIT_USER:-}" ] && [ -n "${BATS_TEST_TMPDIR:-}" ]; then
            work="$(kit_work)"
            for arg in "$@"; do
                name="${arg#"$BATS_TEST_TMPDIR"/}"
                if [ "$name" != "$arg" ] && [[ "$name" != */* ]] &&
                    { [ ! -e "$arg" ] && [ ! -L "$arg" ] ||
                      grep -qxF "$name" "$BATS_TEST_TMPDIR/kit.outputs" \
                          2>/dev/null; }; then
                    outputs+=("$name")
                    echo "$name" >>"$BATS_TEST_TMPDIR/kit.outputs"
                    arg="$work/$name"
                fi
                args+=("$arg")
            done
            set -- "${args[@]}"
        fi
        rm -f "$notes" "$times"
        # shellcheck disable=SC2086  # the options are words or nothing
        CONKIT_LIMIT_TMPDIR="${work:-${TMPDIR:-/tmp}}" \
            "$KIT/scripts/grader/limit" --time "$seconds" \
            --procs "${KIT_MAX_PROCS:-256}" \
            --output "${KIT_MAX_OUTPUT:-1048576}" --notes "$notes" \
            --times "$times" ${KIT_USER:+--user "$KIT_USER" --clean-env} \
            ${KIT_PIDFILE:+--pidfile "$KIT_PIDFILE"} \
            -- "$@" 3>&- || status=$?
        for name in "${outputs[@]}"; do
            kit_copy_back "$work/$name" "$BATS_TEST_TMPDIR/$name"
        done
        # what stopped it, as TAP comments the grader puts on its line
        if [ -s "$notes" ]; then
            sed 's/^/# /' "$notes" >&3 2>/dev/null || true
            rm -f "$notes"
        fi
    else
        local started="$EPOCHREALTIME" before="$times.before"
        times >"$before"                # the children's CPU time so far
        timeout -k 5 "$seconds" "$@" 3>&- || status=$?
        times >"$times.after"
        cpu_seconds "$before" "$times.after" "$started" >"$times"
        rm -f "$before" "$times.after"
    fi
    return "$status"
}

# kit_work: print the folder of this check where KIT_USER's runs may
# write (made on first use, that user's alone); without KIT_USER, the
# check's own $BATS_TEST_TMPDIR.  Its parent, $BATS_TEST_TMPDIR, is the
# grader's: KIT_USER may pass through it, never write it.
kit_work() {
    local work="$BATS_TEST_TMPDIR/work"
    if [ -z "${KIT_USER:-}" ]; then
        echo "$BATS_TEST_TMPDIR"
        return
    fi
    chmod 711 "$BATS_TEST_TMPDIR"
    if [ ! -d "$work" ]; then
        mkdir -m 700 "$work"
        chown "$KIT_USER:" "$work"
    fi
    echo "$work"
}

# kit_own_copy FILE: print the path of a copy of the student's FILE (an
# answers file) in the grader's folder, read as KIT_USER (a link to a
# file of root's, a FIFO or /dev/zero yields nothing, or at most
# KIT_MAX_OUTPUT bytes); without KIT_USER, FILE itself.
kit_own_copy() {
    local copy
    if [ -z "${KIT_USER:-}" ] || [ -z "${BATS_TEST_TMPDIR:-}" ]; then
        echo "$1"
        return
    fi
    copy="$BATS_TEST_TMPDIR/copy.$(basename "$1")"
    kit_copy_back "$1" "$copy"
    echo "$copy"
}

# kit_copy_back FROM TO: copy the file KIT_USER's run wrote at FROM to the
# grader's TO, reading it as KIT_USER (never root through a link); no TO
# when it cannot be read.
kit_copy_back() {
    rm -f "$2"
    # root opens TO, in the grader's own folder; KIT_USER reads FROM
    if ! timeout -k 1 10 setpriv --reuid="$(id -u "$KIT_USER")" \
        --regid="$(id -g "$KIT_USER")" --clear-groups --no-new-privs \
        --inh-caps=-all --bounding-set=-all -- \
        head -c "${KIT_MAX_OUTPUT:-1048576}" -- "$1" >"$2" 2>/dev/null; then
        rm -f "$2"
    fi
}

# cpu_seconds BEFORE AFTER STARTED: "WALL CPU" from two outputs of the
# `times` builtin (the children's line) and the $EPOCHREALTIME at start.
cpu_seconds() {
    awk -v a="$3" -v b="$EPOCHREALTIME" '
        function seconds(t,   m, s) {
            m = t; sub(/m.*/, "", m); s = t; sub(/^[0-9]+m/, "", s)
            sub(/s$/, "", s)
            return m * 60 + s
        }
        FNR == 2 { cpu[FILENAME == ARGV[1]] = seconds($1) + seconds($2) }
        END { printf "%.3f %.3f\n", b - a, cpu[0] - cpu[1] }' "$1" "$2"
}

# kit_ref PROGRAM ARGS...: run a baseline program (io_sync, scrape_sync)
# or the program an answers file is replayed on (race_condition, bank)
# as kit does, but under the grader the grader's own build of the
# reference (KIT_REF_BIN), never the student's: a baseline the student
# slowed only when it runs exactly as a speed check runs it, or a program
# changed to agree with a wrong answer, counts for nothing.
kit_ref() {
    local program="$1"
    shift
    kit_limited "$KIT_TIMEOUT" "${KIT_REF_BIN:-$KIT_BIN}/$program" "$@"
}

# kit_wall: the wall seconds of the last kit run in this check, as the
# check measured them (never the program's own "Execution time" line,
# which it could print at will).
kit_wall() {
    cut -d' ' -f1 "${BATS_TEST_TMPDIR:-/tmp}/kit.times"
}

# kit_cpu: the CPU seconds (user + system, every thread and child) the
# kernel counted for the last kit run in this check.
kit_cpu() {
    cut -d' ' -f2 "${BATS_TEST_TMPDIR:-/tmp}/kit.times"
}

# kit_background PROGRAM ARGS...: start a kit program in the background
# (stdout and stderr in $BATS_TEST_TMPDIR/out and err) for checks that
# watch or signal it.  KIT_PID is the program's own pid (signal it, look
# at /proc/KIT_PID), KIT_WAIT the pid to `wait` for (its exit status).
kit_background() {
    local program="$KIT_BIN/$1" pidfile="$BATS_TEST_TMPDIR/kit.pid"
    shift
    rm -f "$pidfile"
    if [ -n "${KIT_LIMIT:-}" ]; then
        KIT_PIDFILE="$pidfile" kit_limited "$KIT_TIMEOUT" "$program" "$@" \
            >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
    else
        timeout -k 5 "$KIT_TIMEOUT" "$program" "$@" \
            >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
    fi
    KIT_WAIT=$!
    KIT_PID=""
    wait_for 5 kit_pid_known "$pidfile" ||
        fail "kit_background: $(basename "$program") did not start"
}

# kit_pid_known PIDFILE: set KIT_PID to the program's own pid once it is
# known (for wait_for): limit's PIDFILE under the grader, else the child
# of timeout(1), which runs it.
kit_pid_known() {
    if [ -n "${KIT_LIMIT:-}" ]; then
        [ ! -s "$1" ] || KIT_PID="$(cat "$1")"
    else
        # read without a fork: the check may signal it a moment later
        read -r KIT_PID _ <"/proc/$KIT_WAIT/task/$KIT_WAIT/children" ||
            KIT_PID="$(pgrep -P "$KIT_WAIT" | head -n 1 || true)"
    fi
    [ -n "$KIT_PID" ]
}

# has_line FILE [REGEX]: FILE holds a whole line (read succeeds only on
# one with its newline), or a line matching REGEX.  1 when FILE is not
# there yet either (for wait_for).
has_line() {
    if [ -z "${2:-}" ]; then
        { IFS= read -r _ <"$1"; } 2>/dev/null
    else
        grep -qE -- "$2" "$1" 2>/dev/null || return 1
    fi
}

# wait_started PID [FILE [REGEX]]: wait until PID has its SIGINT and
# SIGTERM handlers in place (/proc/PID/status SigCgt, SigIgn: before that
# a background job dies of SIGTERM or ignores SIGINT) and, given FILE (its
# stdout), until its stdout holds a whole first line (work is under way),
# or with REGEX a whole line matching that extended regex (that work is
# done) -- the events a check waits for before it signals a program,
# never a fixed sleep.  Its
# stdout is read through /proc/PID/fd/1 when that is a file: under the
# grader, scripts/grader/limit keeps a program's output in a file of its own
# until the program ends.  30 s at most; fails with a line saying what
# never came.
wait_started() {
    local pid="$1" file="${2:-}" regex="${3:-}" status=0
    if [ -n "$file" ] && [ -f "/proc/$pid/fd/1" ] &&
        [ -r "/proc/$pid/fd/1" ]; then
        file="/proc/$pid/fd/1"
    fi
    STARTED_MASK=""
    wait_for 30 is_started "$pid" "$file" "$regex" || status=$?
    [ "$status" -ne 0 ] || return 0
    if [ "$status" -eq 2 ]; then
        fail "wait_started: pid $pid ended before it was signalled"
    fi
    fail "wait_started: pid $pid: no SIGINT/SIGTERM handler (SigCgt $STARTED_MASK)${file:+ or no line ${regex:+matching '$regex' }in $file} after 30 s"
}

# is_started PID [FILE [REGEX]]: wait_started's event (for wait_for): 0
# when it has come, 1 not yet, 2 when PID is gone or a zombie nobody has
# waited for yet.  The signal mask seen goes in STARTED_MASK.
is_started() {
    local text="" key value mask="" ignored=0 state=""
    # in one read (a builtin's: no fork a turn), never line by line: the
    # kernel makes the file anew at each of bash's small reads, and a
    # program gone from "R (running)" to "S (sleeping)" between two
    # shifted every line after State: SigCgt went unfound in a live one
    { IFS= read -r -d '' text <"/proc/$1/status"; } 2>/dev/null || true
    while read -r key value; do
        [ "$key" != SigCgt: ] || mask="$value"
        [ "$key" != SigIgn: ] || ignored="$value"
        [ "$key" != State: ] || state="$value"
    done <<<"$text"
    STARTED_MASK="$mask"
    if [ -z "$mask" ] || [ "${state:0:1}" = Z ]; then
        return 2
    fi
    # a handler for one of them, neither left at its default (which
    # kills): a program that ignores one on purpose is ready too, and
    # its check says what that costs
    if (( (0x$mask & 0x4002) != 0 &&
          ((0x$mask | 0x$ignored) & 0x4002) == 0x4002 )) &&
        { [ -z "${2:-}" ] || has_line "$2" "${3:-}"; }; then
        return 0
    fi
    return 1
}

# kit_watch SAMPLE PROGRAM ARGS...: run a kit program (as kit_background
# does) and call `SAMPLE PID` about every 10 ms while it runs (the
# program itself, not the limit or timeout that starts it), until it
# ends or SAMPLE returns non-zero; then set status, output, stderr,
# lines and stderr_lines as `run --separate-stderr` would.  Evidence of
# what the program really did, which it cannot print.
kit_watch() {
    local sample="$1" program="$2" pid comm tick
    shift
    kit_background "$@"
    pid="$KIT_PID"
    # builtins only in the loop (no fork per sample): read -t on a pipe
    # nobody writes is the pause
    exec {tick}<> <(:)
    while [ -d "/proc/$pid/task" ]; do
        comm=""
        { read -r comm <"/proc/$pid/comm"; } 2>/dev/null || true
        if [ "$comm" = "${program:0:15}" ]; then
            "$sample" "$pid" || break
        fi
        read -rt 0.01 -u "$tick" _ || true
    done
    exec {tick}>&-
    status=0
    wait "$KIT_WAIT" || status=$?
    output="$(cat "$BATS_TEST_TMPDIR/out")"
    stderr="$(cat "$BATS_TEST_TMPDIR/err")"
    mapfile -t lines <"$BATS_TEST_TMPDIR/out"
    mapfile -t stderr_lines <"$BATS_TEST_TMPDIR/err"
}

# kit_threads PROGRAM ARGS...: run a kit program (kit_watch) counting its
# threads in /proc/PID/task.  Sets THREADS_MOST (the most threads seen
# at once) and THREADS_SEEN (how many samples were taken; 0 when it
# ended before the first).
kit_threads() {
    THREADS_MOST=0
    THREADS_SEEN=0
    kit_watch count_threads "$@"
}

# count_threads PID: one sample of kit_threads.
count_threads() {
    local threads=(/proc/"$1"/task/*)
    [ -e "${threads[0]}" ] || return 1
    THREADS_SEEN=$((THREADS_SEEN + 1))
    [ "${#threads[@]}" -le "$THREADS_MOST" ] ||
        THREADS_MOST="${#threads[@]}"
}

# ====== The programs and their runs ======
#
# The Makefile says which programs there are (each labs/labN/NAME.c) and
# which are I/O programs (those that include common/http.h); each lab's
# folder says how the kit-wide checks run its programs (labs/labN/runs):
# a new program is its source and its lines there.

# kit_programs: every program of the kit, one a line.
kit_programs() {
    make -s -C "$KIT" --no-print-directory list-programs
}

# kit_io_programs: the programs that download from the simulator.
kit_io_programs() {
    make -s -C "$KIT" --no-print-directory list-io-programs
}

# kit_python_programs: the Python twins, by path (labs/labN/NAME.py).
kit_python_programs() {
    make -s -C "$KIT" --no-print-directory list-python-programs
}

# RUN_KINDS: what a line of labs/labN/runs is for, "KIND PROGRAM ARGS...":
#   small   a quick run that succeeds (contract.bats: the timer line,
#           the trace, the sanitizers); every program has one
#   long    "long PROGRAM ROWS WHEN ARGS...": a run of 10 s or more to
#           interrupt, ROWS trace rows in all, signalled at WHEN (as
#           interrupt_run's: `line`, `start`) (faults.bats); every C
#           program has one
#   colour  a run that always prints a line in colour (color.bats)
#   pipe    a run that may colour, checked to print no escape code
#           into a pipe or a file (color.bats; the colour runs are too)
# PROGRAM is a program of that lab, NAME.py its Python twin.
RUN_KINDS="small long colour pipe"

# lab_runs KIND: the runs of KIND in every labs/labN/runs, lab by lab,
# "PROGRAM ARGS..." a line (a Python twin as labs/labN/NAME.py, the path
# kit runs).
lab_runs() {
    local file lab kind program args
    while read -r file; do
        lab="$(basename "$(dirname "$file")")"
        while read -r kind program args; do
            [ "$kind" = "$1" ] || continue
            [[ "$program" != *.py ]] || program="labs/$lab/$program"
            echo "$program${args:+ $args}"
        done <"$file"
    done < <(printf '%s\n' "$KIT"/labs/lab*/runs | sort -V)
}

# free_port: print a TCP port on 127.0.0.1 that nothing listens on now.
free_port() {
    "$KIT/scripts/checks/lib/free-port"
}

# sim_start [sitesim options]: start a private simulator for this file.
# KIT_SITESIM names another build to run (e.g. build/address/bin/sitesim).
#
# Under the grader (KIT_LIMIT) the simulator's /stats pages answer only
# at a secret path (SIM_STATS_KEY, see sim_stats_url): the programs under
# test, run with a clean environment, can neither read nor reset the
# counts they are judged by.
sim_start() {
    local dir="$BATS_FILE_TMPDIR/sim" try
    mkdir -p "$dir"
    export CONKIT_SIMDIR="$dir"
    if [ -n "${KIT_LIMIT:-}" ] && [ -z "${SIM_STATS_KEY:-}" ]; then
        SIM_STATS_KEY="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
        export SIM_STATS_KEY
    fi
    for try in 1 2 3 4 5; do
        CONKIT_HTTP_PORT="$(free_port)"
        CONKIT_HTTPS_PORT="$(free_port)"
        export CONKIT_HTTP_PORT CONKIT_HTTPS_PORT
        rm -f "$dir/sitesim.pid"
        # 3>&- : bats waits for fd 3 to close; a server must not hold it
        CONKIT_STATS_KEY="${SIM_STATS_KEY:-}" \
            "${KIT_SITESIM:-$KIT/sitesim}" --dir "$dir" \
            --pidfile "$dir/sitesim.pid" "$@" \
            >"$dir/sitesim.out" 2>&1 3>&- &
        SIM_PID=$!
        export SIM_PID
        wait_for 5 sim_is_up "$dir/sitesim.pid" && return 0
        kill "$SIM_PID" 2>/dev/null || true
        wait "$SIM_PID" 2>/dev/null || true
    done
    echo "sim_start: the simulator did not start:" >&2
    cat "$dir/sitesim.out" >&2
    return 1
}

# sim_is_up PIDFILE: the simulator has written its PIDFILE (it listens);
# 2 when it has ended instead (for wait_for).
sim_is_up() {
    [ ! -s "$1" ] || return 0
    kill -0 "$SIM_PID" 2>/dev/null || return 2
    return 1
}

# sim_stop: stop the simulator sim_start started (by its pid only).
sim_stop() {
    [ -n "${SIM_PID:-}" ] || return 0
    kill "$SIM_PID" 2>/dev/null || true
    wait_for 5 is_gone "$SIM_PID" || true
    kill -9 "$SIM_PID" 2>/dev/null || true
    wait "$SIM_PID" 2>/dev/null || true
    SIM_PID=
}

# sim_for_file [sitesim options]: one simulator for every check of this
# file, with those options: started before the first (bats' setup_file),
# stopped after the last (teardown_file).  Called at the top of the file,
# where setup_file and teardown_file would be written.
sim_for_file() {
    SIM_OPTIONS=("$@")
    setup_file() {
        sim_start "${SIM_OPTIONS[@]}"
    }
    teardown_file() {
        sim_stop
    }
}

# sim_url PATH [https]: the simulator's URL for PATH.
sim_url() {
    if [ "${2:-}" = https ]; then
        echo "https://127.0.0.1:$CONKIT_HTTPS_PORT$1"
    else
        echo "http://127.0.0.1:$CONKIT_HTTP_PORT$1"
    fi
}

# sim_stats_url [/reset|/log]: the URL of the simulator's /stats page
# (under the grader, at its secret path).
sim_stats_url() {
    sim_url "/stats${SIM_STATS_KEY:+/$SIM_STATS_KEY}${1:-}"
}

# sim_concurrency: how many downloads were in flight at the simulator on
# average over the whole run since the last sim_reset -- the time every
# logged download spent in flight, divided by the time from the first
# arrival to the last answer (from /stats/log).  A program cannot lift it
# with a burst of a few requests at once, as it can a peak, nor with
# HEADs or requests it drops unread (only "full" lines count).
sim_concurrency() {
    timeout 10 curl -sf "$(sim_stats_url /log)" | awk '
        $2 >= 0 && $1 ~ /^[0-9]+$/ && $NF == "full" {
            busy += $2 - $1
            if (first == "" || $1 < first) first = $1
            if ($2 > last) last = $2
        }
        END { printf "%.2f\n", (last > first ? busy / (last - first) : 0) }'
}

# sim_downloads [PATH...]: how many downloads of those paths (any path
# when none) the simulator served since the last sim_reset: full GETs
# sent in full and not dropped unread by the client (the "full" lines of
# /stats/log).  HEADs, Range requests, responses the client reset unread
# and requests for paths that are not the run's own are no downloads:
# the evidence a program cannot print for itself.
sim_downloads() {
    timeout 10 curl -sf "$(sim_stats_url /log)" | awk '
        BEGIN { for (i = 1; i < ARGC; i++) want[ARGV[i]] = 1
                any = ARGC == 1; ARGC = 1 }
        $NF == "full" && (any || $5 in want) { n++ }
        END { print n + 0 }' "$@"
}

# sim_not_downloads: one line saying what the simulator logged since the
# last sim_reset that was no download, by kind ("12 head, 3 cut"), or
# nothing: why printed downloads were not served.
sim_not_downloads() {
    timeout 10 curl -sf "$(sim_stats_url /log)" | awk '
        $NF != "full" && $NF != "get" { n[$NF]++ }
        END { for (k in n) s = s (s == "" ? "" : ", ") n[k] " " k
              print s }'
}

# sim_reset: zero the simulator's counters before a measured run.
sim_reset() {
    timeout 10 curl -sf "$(sim_stats_url /reset)" >/dev/null
}

# sim_stat KEY: print one counter, e.g. sim_stat connections_total
sim_stat() {
    timeout 10 curl -sf "$(sim_stats_url)" | sed -n "s/^$1=//p"
}

# sites_file NAME URL...: write a sites file and print its path.
sites_file() {
    local file="$BATS_TEST_TMPDIR/$1"
    shift
    printf '%s\n' "$@" >"$file"
    echo "$file"
}

# seconds_of OUTPUT: the X.XX of the "Execution time: X.XXs" line.
seconds_of() {
    sed -n 's/^Execution time: \([0-9.]*\)s$/\1/p' <<<"$1" | tail -n 1
}

# ratio_at_least A B R: succeed when A >= R * B (decimals allowed).
ratio_at_least() {
    awk -v a="$1" -v b="$2" -v r="$3" 'BEGIN { exit !(a >= r * b) }' || {
        echo "expected $1 >= $3 x $2" >&2
        # why, on the check's grade line (scripts/grade reads these)
        echo "# reason: measured $1 against $2: not ${3}x" >&3 2>/dev/null ||
            true
        return 1
    }
}

# assert_usage_error PROG ARGS...: exit 2, one line on stderr naming the
# program, nothing on stdout (nothing was done).
assert_usage_error() {
    local program="$1"
    run --separate-stderr kit "$@"
    assert_equal "$status" 2
    assert_equal "$output" ""
    [ "${#stderr_lines[@]}" -eq 1 ] ||
        fail "expected one line on stderr, got: $stderr"
    # a Python twin runs by its path: its name is the file's
    [[ "$stderr" == "${program##*/}: "* ]] ||
        fail "the error does not start with '${program##*/}: ': $stderr"
}

# need_cores N: skip (never pass) a check that needs N cores.
need_cores() {
    local cores
    cores="$(nproc)"
    if [ "$cores" -lt "$1" ]; then
        skip "needs $1 cores, this machine has $cores"
    fi
}

# need_python: skip (never pass) a check of the Python twins where
# Debian's python3 or its modules requests and aiohttp are missing.
need_python() {
    [ -x /usr/bin/python3 ] ||
        skip "no /usr/bin/python3: install Debian's python3 (make deps)"
    /usr/bin/python3 -c 'import requests, aiohttp' 2>/dev/null ||
        skip "no python3-requests or python3-aiohttp (make deps)"
}

# nobody_dir: print a new folder under /tmp that uid 65534 can read (the
# check's own BATS_TEST_TMPDIR is private); the caller removes it.
nobody_dir() {
    local dir
    dir="$(mktemp -d /tmp/conkit-starved.XXXXXX)"
    chmod 755 "$dir"
    echo "$dir"
}

# run_starved NPROC PROGRAM ARGS...: like `run --separate-stderr kit`, but
# under `ulimit -u` with room for NPROC more processes and threads than
# the user runs already (RLIMIT_NPROC counts all of a user's tasks).  Root
# is exempt from that limit, so as root it runs as the unprivileged uid
# 65534 (nobody), from a copy of the program when nobody cannot reach the
# kit (a container's /root is mode 0700); anyone else runs as themselves.
# NPROC 0: not one more thread or process at all (ulimit -u 1, set after
# timeout's own fork).
run_starved() {
    local nproc="$1" program="$2" binary copy="" as=()
    shift 2
    binary="$KIT_BIN/$program"
    if [ "$(id -u)" -eq 0 ]; then
        command -v setpriv >/dev/null || skip "needs setpriv (util-linux)"
        as=(setpriv --reuid=65534 --regid=65534 --clear-groups)
        if ! "${as[@]}" test -x "$binary"; then
            copy="$(nobody_dir)"
            cp "$binary" "$copy/"
            binary="$copy/$program"
            "${as[@]}" test -x "$binary" || {
                rm -rf "$copy"
                skip "uid 65534 cannot run $KIT_BIN/$program, nor a copy"
            }
        fi
    fi
    if [ "$nproc" -eq 0 ]; then
        run --separate-stderr "${as[@]}" timeout -k 5 60 \
            bash -c 'ulimit -u 1 && exec "$@"' run_starved "$binary" "$@"
    else
        run --separate-stderr "${as[@]}" \
            bash -c 'ulimit -u $(($(ps -u "$(id -u)" -L --no-headers | wc -l) + $1)) &&
                     shift && exec timeout -k 5 60 "$@"' \
            run_starved "$nproc" "$binary" "$@"
    fi
    [ -z "$copy" ] || rm -rf "$copy"
}

# kit_running PROGRAM ARGS...: run a kit program (kit_watch) looking at
# its main thread's state in /proc/PID/stat: R (running, or ready to run
# and waiting for a CPU) or asleep (S, D: waiting in the kernel for
# something to happen).  A thread that waits for its I/O sleeps; one
# that polls is R -- on a busy machine too, where it waits for a CPU and
# its CPU time says little.  Sets RUNNING_SEEN (samples) and RUNNING_R
# (samples in state R).
kit_running() {
    RUNNING_SEEN=0
    RUNNING_R=0
    kit_watch count_running "$@"
}

# count_running PID: one sample of kit_running.
count_running() {
    local stat="" state
    { read -r stat <"/proc/$1/stat"; } 2>/dev/null || true
    [ -n "$stat" ] || return 0
    state="${stat##*) }"
    state="${state%% *}"
    RUNNING_SEEN=$((RUNNING_SEEN + 1))
    [ "$state" != R ] || RUNNING_R=$((RUNNING_R + 1))
}
# SPDX-License-Identifier: MIT
