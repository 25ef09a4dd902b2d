#!/usr/bin/env bats
# sitesim.bats -- checks for the site simulator's own paths: /page/N, the
# evidence in /stats and /stats/log, the fault paths, a taken port.

load ../checks/lib/common

setup_file() {
    # latency 100 ms, no jitter: long enough that parallel requests
    # overlap for sure, short enough to keep the file quick
    sim_start --latency 100 --jitter 0 --conn-delay 0
}

teardown_file() {
    sim_stop
}

# a check's own second simulator (own_sim) never outlives it
teardown() {
    if [ -n "${OWN_PID:-}" ]; then
        kill "$OWN_PID" 2>/dev/null || true
        wait "$OWN_PID" 2>/dev/null || true
    fi
}

# get PATH [curl options]: the body of PATH, under a time limit.
get() {
    local path="$1"
    shift
    timeout -k 5 20 curl -s "$@" "$(sim_url "$path")"
}

# code PATH: the HTTP status curl got for PATH.
code() {
    timeout -k 5 20 curl -s -o /dev/null -w '%{http_code}' "$(sim_url "$1")"
}

@test "sitesim: /page/N is element N in <title> and <h1>, over HTTP and HTTPS" {
    run get /page/1
    assert_success
    assert_output --partial "<title>Hydrogen</title>"
    assert_output --partial "<h1>Hydrogen</h1>"
    run get /page/7
    assert_output --partial "<h1>Nitrogen</h1>"
    run get /page/118
    assert_output --partial "<title>Oganesson</title>"
    run timeout -k 5 20 curl -s --cacert "$CONKIT_SIMDIR/ca.pem" \
        "$(sim_url /page/26 https)"
    assert_output --partial "<h1>Iron</h1>"
    assert_equal "$(code /page/2)" 200
}

@test "sitesim: /page/N out of 1..118 is 404" {
    assert_equal "$(code /page/0)" 404
    assert_equal "$(code /page/119)" 404
    assert_equal "$(code /page/x)" 404
}

@test "sitesim: /page/N?fail=CODE answers CODE with a small body" {
    assert_equal "$(code '/page/7?fail=503')" 503
    assert_equal "$(code '/page/1?fail=404')" 404
    run get '/page/7?fail=503'
    assert_output --partial "503"
    [ "${#output}" -lt 200 ] || fail "body too big: ${#output} bytes"
    assert_equal "$(code '/page/7?fail=99')" 400
}

@test "sitesim: --help documents /page/N and /stats/log" {
    run timeout -k 5 10 "$KIT/sitesim" --help
    assert_success
    assert_output --partial "/page/N?fail=CODE"
    assert_output --partial "/stats/log"
    assert_output --partial "requests_inflight_peak"
}

@test "sitesim: 5 parallel requests make requests_inflight_peak >= 5, serial ones 1" {
    local i pids=()
    sim_reset
    # each request is held 2 s: long enough that all five overlap even
    # when starting curl is slow on a busy machine
    for i in 1 2 3 4 5; do
        get /delay/2000 -o /dev/null &
        pids+=($!)
    done
    for i in "${pids[@]}"; do wait "$i"; done
    run sim_stat requests_inflight_peak
    [ "$output" -ge 5 ] || fail "requests_inflight_peak=$output, expected >= 5"

    sim_reset
    for i in 1 2 3; do get "/page/$i" -o /dev/null; done
    assert_equal "$(sim_stat requests_inflight_peak)" 1
    assert_equal "$(sim_stat requests_total)" 3
}

@test "sitesim: /stats/log has one line per request since the reset, in arrival order" {
    sim_reset
    get /page/3 -o /dev/null
    get '/page/4?fail=503' -o /dev/null
    get /dice -o /dev/null
    get /stats -o /dev/null   # stats requests are not logged
    run get /stats/log
    assert_success
    assert_equal "${#lines[@]}" 3
    # ARRIVAL_US DONE_US STATUS CONN PATH KIND
    [[ "${lines[0]}" =~ ^[0-9]+\ [0-9]+\ 200\ [0-9]+\ /page/3\ full$ ]] ||
        fail "line 1: ${lines[0]}"
    [[ "${lines[1]}" =~ ^[0-9]+\ [0-9]+\ 503\ [0-9]+\ /page/4\?fail=503\ full$ ]] ||
        fail "line 2: ${lines[1]}"
    [[ "${lines[2]}" =~ ^[0-9]+\ [0-9]+\ 200\ [0-9]+\ /dice\ full$ ]] ||
        fail "line 3: ${lines[2]}"
    # each was answered after the latency (100 ms), and in order
    awk 'NR > 1 && $1 < last { exit 1 } { last = $1 }
         $2 - $1 < 90000 { exit 1 }' <<<"$output" ||
        fail "arrivals out of order or answered too fast: $output"
    # three curls, three connections
    [ "$(cut -d' ' -f4 <<<"$output" | sort -u | wc -l)" -eq 3 ] ||
        fail "expected three connection numbers: $output"
}

@test "sitesim: /stats/log shows a request in flight as DONE_US -1" {
    sim_reset
    get /delay/1500 -o /dev/null &
    local pid=$!
    sleep 0.5
    run get /stats/log
    wait "$pid"
    assert_line --regexp '^[0-9]+ -1 200 [0-9]+ /delay/1500 get$'
    run get /stats/log
    assert_line --regexp '^[0-9]+ [0-9]+ 200 [0-9]+ /delay/1500 full$'
}

@test "sitesim: only a full GET the client took is a download: HEAD, Range, a response dropped unread and a cut body are not" {
    sim_reset
    get /dice -o /dev/null
    get /dice -I >/dev/null
    get /jython -r 0-99 -o /dev/null
    # a client that reads the head only and closes: its kernel resets
    # the connection with the body unread (two requests, one connection)
    /usr/bin/python3 -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /dice HTTP/1.1\r\nHost: x\r\n\r\n"
          b"GET /page/1 HTTP/1.1\r\nHost: x\r\n\r\n")
s.recv(12)
time.sleep(0.5)
s.close()' "$CONKIT_HTTP_PORT"
    get /fault/short -o /dev/null || true
    run get /stats/log
    assert_equal "${#lines[@]}" 6
    assert_equal "$(awk '{ print $5, $NF }' <<<"$output" | paste -sd,)" \
        "/dice full,/dice head,/jython range,/dice cut,/page/1 cut,/fault/short cut"
    assert_equal "$(sim_stat downloads_total)" 1
    assert_equal "$(sim_stat requests_total)" 6
    assert_equal "$(sim_downloads /dice)" 1
    assert_equal "$(sim_downloads /page/1 /jython)" 0
}

@test "sitesim: /stats names the simulator's pid and folder" {
    assert_equal "$(sim_stat pid)" "$SIM_PID"
    assert_equal "$(sim_stat dir)" "$CONKIT_SIMDIR"
    assert_equal "$(sim_stat kit)" "$KIT"
}

# fault PATH [curl options]: curl's exit code for PATH, and its error on
# stdout (for assert_output).
fault() {
    local path="$1"
    shift
    timeout -k 5 20 curl -sS -o /dev/null "$@" "$(sim_url "$path")" 2>&1
}

@test "sitesim: /fault/reset resets the connection mid-body" {
    run fault /fault/reset
    assert_failure 56
    assert_output --partial "reset by peer"
}

@test "sitesim: /fault/close closes before the headers" {
    run fault /fault/close
    assert_failure 52
    assert_output --partial "Empty reply"
}

@test "sitesim: /fault/short sends less than its Content-Length" {
    run fault /fault/short
    assert_failure 18
    assert_output --partial "bytes remaining"
    run timeout -k 5 20 curl -sS -o /dev/null --cacert "$CONKIT_SIMDIR/ca.pem" \
        "$(sim_url /fault/short https)"
    assert_failure
}

@test "sitesim: /fault/stall sends the headers, then nothing until the client goes" {
    sim_reset
    run timeout -k 5 20 curl -sS -D - -o /dev/null -m 1 "$(sim_url /fault/stall)"
    assert_failure 28
    assert_line --partial "HTTP/1.1 200"
    # the stall is in the log; once the client went, it is done
    run get /stats/log
    assert_line --regexp '^[0-9]+ [0-9]+ 200 [0-9]+ /fault/stall cut$'
}

@test "sitesim: /fault/drip sends one byte a second" {
    run timeout -k 5 20 curl -s -m 2.5 "$(sim_url /fault/drip)"
    assert_failure 28
    # 2.5 s at a byte a second (after 0.1 s latency): 2 or 3 bytes
    [ "${#output}" -ge 1 ] && [ "${#output}" -le 3 ] ||
        fail "expected 1..3 bytes in 2.5 s, got ${#output}: '$output'"
}

@test "sitesim: /fault/bigheader sends a 1 MB header" {
    local head="$BATS_TEST_TMPDIR/head"
    run timeout -k 5 20 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"
        printf "GET /fault/bigheader HTTP/1.1\r\nHost: x\r\n\r\n" >&3
        cat <&3 >"$2"' _ "$CONKIT_HTTP_PORT" "$head"
    local size
    size="$(wc -c <"$head")"
    [ "$size" -gt 1048576 ] || fail "response of $size bytes"
    run fault /fault/bigheader
    assert_failure
}

@test "sitesim: /fault/badchunk breaks the chunked encoding" {
    run fault /fault/badchunk
    assert_failure 56
    assert_output --partial "chunked"
}

@test "sitesim: /redirect/offhost and /redirect/file lead off the host" {
    run timeout -k 5 20 curl -sS -o /dev/null -w '%{redirect_url}' \
        "$(sim_url /redirect/offhost)"
    assert_output "http://127.0.0.2:$CONKIT_HTTP_PORT/dice"
    run timeout -k 5 20 curl -sS -o /dev/null -w '%{redirect_url}' \
        "$(sim_url /redirect/file)"
    assert_output "file:///etc/hostname"
    assert_equal "$(code /fault/nonesuch)" 404
}

@test "sitesim: --help documents the fault paths" {
    run timeout -k 5 10 "$KIT/sitesim" --help
    local path
    for path in /fault/reset /fault/close /fault/short /fault/stall \
        /fault/drip /fault/bigheader /fault/badchunk /redirect/offhost \
        /redirect/file; do
        assert_output --partial "$path"
    done
}

# seconds_for N PATH: how long N requests for PATH take, one after another.
seconds_for() {
    local start end i
    start="$(date +%s%N)"
    for ((i = 0; i < $1; i++)); do
        get "$2" -o /dev/null -f || return 1
    done
    end="$(date +%s%N)"
    echo "$(((end - start) / 1000000))"
}

# bats test_tags=serial
@test "sitesim: stalled and dripping connections do not slow other requests" {
    local alone busy i pids=()
    alone="$(seconds_for 5 /dice)"
    # 20 stalled and 5 dripping clients, all held open meanwhile
    for i in $(seq 20); do
        timeout -k 1 20 curl -s -o /dev/null "$(sim_url /fault/stall)" &
        pids+=($!)
    done
    for i in $(seq 5); do
        timeout -k 1 20 curl -s -o /dev/null "$(sim_url /fault/drip)" &
        pids+=($!)
    done
    # wait (at most 10 s: starting 25 curls is slow on a busy machine)
    for i in $(seq 100); do
        [ "$(sim_stat connections_open)" -ge 25 ] && break
        sleep 0.1
    done
    [ "$(sim_stat connections_open)" -ge 25 ] ||
        fail "the stalled clients are not connected"
    busy="$(seconds_for 5 /dice)"
    for i in "${pids[@]}"; do kill "$i" 2>/dev/null || true; done
    for i in "${pids[@]}"; do wait "$i" 2>/dev/null || true; done
    # same work, same latency: a blocked server would take 20 s or more
    ratio_at_least "$((alone * 3 + 500))" "$busy" 1
}

# own_sim DIR [options]: start another simulator (not the file's one) with
# its own folder and ports; sets OWN_PID and OWN_HTTP, waits for its
# pidfile (a loaded machine makes certificates slowly: 30 s at most).  A
# free port can be taken by another check's simulator between free_port
# and the bind: then it tries two new ones, 3 times at most.
own_sim() {
    local dir="$1" try
    shift
    mkdir -p "$dir"
    for try in 1 2 3; do
        OWN_HTTP="$(free_port)"
        rm -f "$dir/pid"
        "${KIT_SITESIM:-$KIT/sitesim}" --dir "$dir" --pidfile "$dir/pid" \
            --http-port "$OWN_HTTP" --https-port "$(free_port)" "$@" \
            >"$dir/out" 2>&1 3>&- &
        OWN_PID=$!
        wait_for 30 sim_up_or_gone "$dir/pid" "$OWN_PID" || true
        [ -s "$dir/pid" ] && return 0
        wait "$OWN_PID" || true
        grep -q 'cannot listen' "$dir/out" || break
    done
    fail "the second simulator did not start: $(cat "$dir/out")"
}

# sim_up_or_gone PIDFILE PID: the simulator wrote its pidfile, or ended.
sim_up_or_gone() {
    [ -s "$1" ] || ! kill -0 "$2" 2>/dev/null
}

# rss_kb PID: the resident memory of PID, in kB, as the kernel counts it.
rss_kb() {
    sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB$/\1/p' "/proc/$1/status"
}

@test "sitesim: clients that ask for /stats/log and never read cost little memory and do not hold up /dice" {
    local dir="$BATS_TEST_TMPDIR/flood" clients=40 entries=20000
    local long fd fds=() i request writer got log_bytes one_log ten_logs
    local dice before after
    own_sim "$dir" --latency 0 --jitter 0 --conn-delay 0
    # 1. fill the log: $entries HEAD requests with a long path, pipelined
    # on one connection, then /stats to see that all were counted
    long="/$(printf 'x%.0s' $(seq 98))"
    request="HEAD $long HTTP/1.1\r\nHost: x\r\n\r\n"
    exec {fd}<>"/dev/tcp/127.0.0.1/$OWN_HTTP"
    {
        for ((i = 0; i < entries; i += 100)); do
            printf "%0.s$request" $(seq 100)
        done
        printf 'GET /stats HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
    } >&"$fd" &
    writer=$!
    got="$(timeout -k 5 60 cat <&"$fd" | tail -c 400)"
    exec {fd}>&-
    wait "$writer"
    [[ "$got" == *"requests_total=$entries"* ]] ||
        fail "the log was not filled: $got"

    # 2. the baseline: one client reads the whole log, ten times over
    # (curl's own clock, without its start-up)
    ten_logs=0
    for ((i = 0; i < 10; i++)); do
        read -r log_bytes one_log < <(timeout -k 5 60 curl -sf \
            -o /dev/null -w '%{size_download} %{time_total}\n' \
            "http://127.0.0.1:$OWN_HTTP/stats/log")
        ten_logs="$(awk -v a="$ten_logs" -v b="$one_log" \
            'BEGIN { print a + b }')"
    done
    [ "$log_bytes" -gt $((entries * 100)) ] ||
        fail "the log is only $log_bytes bytes"
    before="$(rss_kb "$OWN_PID")"

    # 3. $clients clients ask for the log, read its status line, and
    # never read more; meanwhile /dice is asked for
    for ((i = 0; i < clients; i++)); do
        exec {fd}<>"/dev/tcp/127.0.0.1/$OWN_HTTP"
        printf 'GET /stats/log HTTP/1.1\r\nHost: x\r\n\r\n' >&"$fd"
        fds+=("$fd")
    done
    dice="$(timeout -k 5 60 curl -sf -o /dev/null -w '%{time_total}' \
        "http://127.0.0.1:$OWN_HTTP/dice")"
    for fd in "${fds[@]}"; do
        read -r -t 30 got <&"$fd" || got="nothing"
        [[ "$got" == "HTTP/1.1 200 OK"* ]] ||
            fail "a log client got: $got"
    done
    after="$(rss_kb "$OWN_PID")"
    for fd in "${fds[@]}"; do exec {fd}>&-; done
    echo "# log of $log_bytes bytes read 10 times in ${ten_logs}s;" \
        "/dice in ${dice}s beside $clients clients not reading;" \
        "RSS $before -> $after kB" >&3

    # every client left MBs unread: a simulator that kept each answer
    # whole would hold all of them; streamed, it holds a chunk or none
    [ $(((after - before) * 1024)) -lt $((clients * log_bytes / 10)) ] ||
        fail "RSS grew from $before to $after kB for $clients clients" \
            "of a $log_bytes-byte log"
    # and /dice did not wait while all $clients logs were made: it took
    # less than reading the whole log 10 times (a quarter of their work)
    ratio_at_least "$ten_logs" "$dice" 1 ||
        fail "/dice took ${dice}s while $clients clients held the log;" \
            "reading the whole log 10 times took ${ten_logs}s"
}

# second_sim ARGS...: run another simulator that should fail to start.
second_sim() {
    timeout -k 5 20 "${KIT_SITESIM:-$KIT/sitesim}" \
        --dir "$BATS_TEST_TMPDIR/second" "$@"
}

@test "sitesim: a taken HTTP port names the sitesim holding it and the two ways out" {
    run --separate-stderr second_sim --http-port "$CONKIT_HTTP_PORT" \
        --https-port "$(free_port)"
    assert_failure 1
    assert_equal "$output" ""
    [[ "$stderr" == *"port $CONKIT_HTTP_PORT is held by another sitesim: pid $SIM_PID"* ]] ||
        fail "the holder is not named: $stderr"
    [[ "$stderr" == *"make -C '$KIT' stop"* ]] || fail "no way to stop it: $stderr"
    [[ "$stderr" == *"CONKIT_HTTP_PORT="*" CONKIT_HTTPS_PORT="* ]] ||
        fail "no way to move: $stderr"
    # and the first one serves on
    assert_equal "$(code /dice)" 200
}

@test "sitesim: a taken HTTPS port names its holder too" {
    run --separate-stderr second_sim --http-port "$(free_port)" \
        --https-port "$CONKIT_HTTPS_PORT"
    assert_failure 1
    [[ "$stderr" == *"port $CONKIT_HTTPS_PORT is held by"*"pid $SIM_PID"* ]] ||
        fail "the holder is not named: $stderr"
    [[ "$stderr" == *"CONKIT_HTTPS_PORT="* ]] || fail "no way to move: $stderr"
}

@test "sitesim: two simulators on different ports both serve (two kits on one machine)" {
    own_sim "$BATS_TEST_TMPDIR/two"
    run timeout -k 5 20 curl -s -o /dev/null -w '%{http_code}' \
        "http://127.0.0.1:$OWN_HTTP/dice"
    local second="$output"
    run timeout -k 5 20 curl -s "http://127.0.0.1:$OWN_HTTP/stats"
    assert_equal "$second" 200
    assert_line "pid=$OWN_PID"
    assert_equal "$(code /dice)" 200
}
# SPDX-License-Identifier: MIT
