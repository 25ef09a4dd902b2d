#!/usr/bin/env bash
# bench.sh -- io_async against curl's own parallel mode, on the same URLs.
#
#   labs/lab4/bench.sh [--repeat N] [--latency MS] [--runs N]
#
# Starts a private site simulator on free ports (--latency MS, no jitter),
# writes the default list repeated N times (default 5000: 10,000
# downloads) as a curl config file, and times with hyperfine
#
#   ./io_async -q --repeat N                     (100 connections)
#   curl --parallel --parallel-max 100 -K FILE   (100 transfers at once)
#
# then runs each once more under /usr/bin/time -v for its peak memory and
# asks the simulator how many connections each opened.  Needs hyperfine
# (Debian: apt-get install hyperfine), curl and a built ./io_async and
# ./sitesim (make io_async sitesim).  The numbers are noisy on a shared
# 2-core machine: compare the two tools within one run of this script.
set -euo pipefail

kit="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# read_options, positive_whole_numbers
source "$kit/scripts/pictures/bench-options.bash"
repeat=5000
latency=100
runs=3

usage() {
    sed -n '2,17s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

read_options usage --repeat=repeat --latency=latency --runs=runs -- "$@"
positive_whole_numbers "$repeat" "$latency" "$runs"
for tool in hyperfine curl /usr/bin/time; do
    command -v "$tool" >/dev/null || {
        echo "bench.sh: $tool is missing (apt-get install ${tool##*/})" >&2
        exit 1
    }
done
for program in io_async sitesim; do
    [ -x "$kit/$program" ] || {
        echo "bench.sh: no ./$program: build it with: make $program" >&2
        exit 1
    }
done

work="$(mktemp -d)"
sim_pid=
cleanup() {
    if [ -n "$sim_pid" ]; then
        kill "$sim_pid" 2>/dev/null || true
        wait "$sim_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

CONKIT_HTTP_PORT="$("$kit/scripts/checks/lib/free-port")"
CONKIT_HTTPS_PORT="$("$kit/scripts/checks/lib/free-port")"
CONKIT_SIMDIR="$work/sim"
export CONKIT_HTTP_PORT CONKIT_HTTPS_PORT CONKIT_SIMDIR
mkdir -p "$CONKIT_SIMDIR"
"$kit/sitesim" --dir "$CONKIT_SIMDIR" --pidfile "$work/sim.pid" \
    --latency "$latency" --jitter 0 >"$work/sim.log" 2>&1 &
sim_pid=$!
for _ in $(seq 50); do
    [ -s "$work/sim.pid" ] && break
    sleep 0.1
done
[ -s "$work/sim.pid" ] || {
    echo "bench.sh: the simulator did not start:" >&2
    cat "$work/sim.log" >&2
    exit 1
}

jython="https://127.0.0.1:$CONKIT_HTTPS_PORT/jython"
dice="http://127.0.0.1:$CONKIT_HTTP_PORT/dice"
stats="http://127.0.0.1:$CONKIT_HTTP_PORT/stats"

# the same list io_async --repeat N makes: jython, dice, jython, ...
config="$work/curl.cfg"
for _ in $(seq "$repeat"); do
    printf 'url = "%s"\noutput = "/dev/null"\n' "$jython" "$dice"
done >"$config"

io_async_cmd="'$kit/io_async' -q --repeat $repeat"
curl_cmd="curl -s --no-progress-meter --fail --http1.1 --parallel \
--parallel-max 100 --cacert '$CONKIT_SIMDIR/ca.pem' -K '$config'"

echo "== $((2 * repeat)) downloads, latency $latency ms, no jitter"
hyperfine -w 1 -r "$runs" -n io_async "$io_async_cmd" \
    -n "curl --parallel" "$curl_cmd"

# peak memory and connections opened, one more run each
for name in io_async curl; do
    cmd="$io_async_cmd"
    [ "$name" = curl ] && cmd="$curl_cmd"
    curl -sf "$stats/reset" >/dev/null
    /usr/bin/time -v -o "$work/time.txt" bash -c "$cmd" >/dev/null
    rss="$(sed -n 's/.*Maximum resident set size (kbytes): //p' \
        "$work/time.txt")"
    conns="$(curl -sf "$stats" | sed -n 's/^connections_total=//p')"
    printf '%-9s peak RSS %6d KiB, %s connections opened\n' \
        "$name" "$rss" "$conns"
done
# SPDX-License-Identifier: MIT
