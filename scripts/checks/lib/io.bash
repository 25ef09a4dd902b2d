# io.bash -- checks every I/O lab shares (the io_* programs' shared
# promises: README.md "Commands" and common/io_options.h).
#
#   load ../../scripts/checks/lib/common
#   load ../../scripts/checks/lib/io
#
# Each helper runs a program and asserts on its real output.

bats_require_minimum_version 1.5.0

JYTHON_BYTES=10966
DICE_BYTES=272

# site_programs: the I/O programs (kit_io_programs) that take a list of
# sites (--sites), one a line.
site_programs() {
    local program
    for program in $(kit_io_programs); do
        if "$KIT_BIN/$program" --help | grep -q -- '--sites'; then
            echo "$program"
        fi
    done
}

# stderr_has TEXT: the last run's stderr contains TEXT (bats-assert's
# --stderr options need a newer bats than Debian 12 ships).
stderr_has() {
    [[ "$stderr" == *"$1"* ]] || fail "stderr lacks '$1': $stderr"
}

# assert_fitted PROG OPTION WANTED LIMIT: the last run's stderr is one
# line saying OPTION WANTED was cut to what an open-file limit of LIMIT
# holds (common/fd_limit.h), and the number used is what the line's own
# budget gives: (LIMIT - the program's files) / the files of each.
assert_fitted() {
    local re="^$1: $2 $3 is more than the open-file limit allows "
    re+="\\(ulimit -Hn $4, ([0-9]+) files for the program, ([0-9]+) for "
    re+="each\\): using ([0-9]+)\$"
    [ "${#stderr_lines[@]}" -eq 1 ] || fail "expected one line: $stderr"
    [[ "$stderr" =~ $re ]] || fail "not the fit line: $stderr"
    assert_equal "${BASH_REMATCH[3]}" \
        "$((($4 - BASH_REMATCH[1]) / BASH_REMATCH[2]))"
}

# read_prefix PROG: the start of a "Read" line (io_fork names its worker).
# PROG may be a Python twin's path, labs/lab5/io_fork.py.
read_prefix() {
    if [ "${1##*/}" = io_fork ] || [ "${1##*/}" = io_fork.py ]; then
        echo 'ForkProcess-[0-9]+:'
    fi
}

# assert_default_downloads PROG [ARGS...]: the default local list is 100
# downloads, 50 of each site, each with its exact size, and a summary
# line with the byte total.
assert_default_downloads() {
    local program="$1" prefix jython dice
    prefix="$(read_prefix "$program")"
    sim_reset
    run --separate-stderr kit "$@"
    assert_success
    # evidence: the simulator served what was printed -- full GETs of the
    # list's own two URLs (sim_downloads: no HEAD, no Range, none dropped
    # unread, no other path), for each site
    local printed served not site
    jython="$(grep -cE "^${prefix}Read $JYTHON_BYTES bytes from https://127\.0\.0\.1:$CONKIT_HTTPS_PORT/jython\$" <<<"$output" || true)"
    dice="$(grep -cE "^${prefix}Read $DICE_BYTES bytes from http://127\.0\.0\.1:$CONKIT_HTTP_PORT/dice\$" <<<"$output" || true)"
    for site in jython dice; do
        printed="${!site}"
        served="$(sim_downloads "/$site")"
        if [ "${served:-0}" -lt "$printed" ]; then
            not="$(sim_not_downloads)"
            [ -z "$not" ] || not=" (and $not: no downloads)"
            echo "# reason: ${program##*/}: printed $printed /$site" \
                "downloads, the simulator served ${served:-0}$not" \
                >&3 2>/dev/null || true
            fail "printed $printed /$site downloads, the simulator served ${served:-0} in full$not"
        fi
    done
    [ "$jython" -eq 50 ] || fail "expected 50 jython downloads, saw $jython"
    [ "$dice" -eq 50 ] || fail "expected 50 dice downloads, saw $dice"
    [ "$(grep -c 'Read ' <<<"$output")" -eq 100 ] ||
        fail "expected exactly 100 Read lines"
    assert_line "Downloaded 100 of 100 sites, $((50 * JYTHON_BYTES + 50 * DICE_BYTES)) bytes"
    assert_equal "$stderr" ""
    [[ "${lines[-1]}" =~ ^Execution\ time:\ [0-9]+\.[0-9]{2}s$ ]] ||
        fail "last line is not the timer line: ${lines[-1]}"
}

# assert_common_usage_errors PROG: the bad inputs every I/O program
# rejects the same way.
assert_common_usage_errors() {
    local program="$1" bad
    assert_usage_error "$program" --bogus
    assert_usage_error "$program" --repeat 0
    assert_usage_error "$program" --repeat abc
    assert_usage_error "$program" --sites "$BATS_TEST_TMPDIR/no-such-file"
    stderr_has "no-such-file"
    bad="$(sites_file bad.txt '# a comment' "$(sim_url /dice)" 'ftp://x/y')"
    assert_usage_error "$program" --sites "$bad"
    stderr_has "bad.txt:3:"
    assert_usage_error "$program" extra-argument
}

# assert_count_option_errors PROG OPTION: OPTION (a count of workers or
# connections) given 0, a word, or no value at all is a usage error.
assert_count_option_errors() {
    assert_usage_error "$1" "$2" 0
    assert_usage_error "$1" "$2" abc
    assert_usage_error "$1" "$2"
}

# assert_failed_site_counted PROG [ARGS...]: a /status/503 site is
# reported on stderr and counted, the other downloads still complete.
assert_failed_site_counted() {
    local program="$1" prefix file
    shift
    prefix="$(read_prefix "$program")"
    file="$(sites_file mixed.txt "$(sim_url /jython https)" \
        "$(sim_url /dice)" "$(sim_url /status/503)" "$(sim_url /dice)")"
    run --separate-stderr kit "$program" --sites "$file" "$@"
    assert_equal "$status" 1
    assert_equal "$stderr" "${program##*/}: $(sim_url /status/503): HTTP 503"
    [ "$(grep -cE "^${prefix}Read " <<<"$output")" -eq 3 ] ||
        fail "expected the 3 good downloads to complete"
    assert_line "Downloaded 3 of 4 sites, $((JYTHON_BYTES + 2 * DICE_BYTES)) bytes"
}

# assert_no_simulator_message PROG: with nothing on the simulator's ports,
# one line saying how to start it, exit 1, no downloads tried.
assert_no_simulator_message() {
    local program="$1"
    CONKIT_HTTP_PORT="$(free_port)" CONKIT_HTTPS_PORT="$(free_port)" \
        run --separate-stderr kit "$program"
    assert_equal "$status" 1
    [ "${#stderr_lines[@]}" -eq 1 ] ||
        fail "expected one line on stderr, got: $stderr"
    stderr_has "start it with: make serve"
    refute_output --partial "Read "
}

# assert_lab_ca_required PROG: a client that does not trust the lab CA
# fails the HTTPS download (TLS is verified), and curl with the CA works.
assert_lab_ca_required() {
    local program="$1" file
    file="$(sites_file https.txt "$(sim_url /jython https)")"
    run timeout 10 curl -s -o /dev/null "$(sim_url /jython https)"
    assert_equal "$status" 60           # curl: peer certificate not trusted
    run timeout 10 curl -s -o /dev/null --cacert "$CONKIT_SIMDIR/ca.pem" \
        "$(sim_url /jython https)"
    assert_success
    : >"$BATS_TEST_TMPDIR/empty.pem"
    CONKIT_CA="$BATS_TEST_TMPDIR/empty.pem" \
        run --separate-stderr kit "$program" --sites "$file"
    assert_equal "$status" 1
    [[ "$stderr" =~ certificate|SSL ]] ||
        fail "expected a certificate error, got: $stderr"
    run --separate-stderr kit "$program" --sites "$file"
    assert_success
}

# starved_sites N: a sites file of N plain-HTTP /dice downloads that the
# unprivileged user can read (in a nobody_dir).
starved_sites() {
    local dir i
    dir="$(nobody_dir)"
    for i in $(seq "$1"); do
        sim_url /dice
    done >"$dir/sites.txt"
    chmod 644 "$dir/sites.txt"
    echo "$dir/sites.txt"
}

# SPDX-License-Identifier: MIT
