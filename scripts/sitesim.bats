#!/usr/bin/env bats
# sitesim.bats -- checks for the site simulator's own paths: /page/N, the
# evidence in /stats and /stats/log, the fault paths, a taken port.

load bats/common

setup_file() {
    # latency 100 ms, no jitter: long enough that parallel requests
    # overlap for sure, short enough to keep the file quick
    sim_start --latency 100 --jitter 0 --conn-delay 0
}

teardown_file() {
    sim_stop
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
    # ARRIVAL_US DONE_US STATUS CONN PATH
    [[ "${lines[0]}" =~ ^[0-9]+\ [0-9]+\ 200\ [0-9]+\ /page/3$ ]] ||
        fail "line 1: ${lines[0]}"
    [[ "${lines[1]}" =~ ^[0-9]+\ [0-9]+\ 503\ [0-9]+\ /page/4\?fail=503$ ]] ||
        fail "line 2: ${lines[1]}"
    [[ "${lines[2]}" =~ ^[0-9]+\ [0-9]+\ 200\ [0-9]+\ /dice$ ]] ||
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
    assert_line --regexp '^[0-9]+ -1 200 [0-9]+ /delay/1500$'
    run get /stats/log
    assert_line --regexp '^[0-9]+ [0-9]+ 200 [0-9]+ /delay/1500$'
}

@test "sitesim: /stats names the simulator's pid and folder" {
    assert_equal "$(sim_stat pid)" "$SIM_PID"
    assert_equal "$(sim_stat dir)" "$CONKIT_SIMDIR"
}
