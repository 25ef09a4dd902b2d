/* config.c -- sitesim's settings: defaults, then the environment, then
 * the options; --help. Calls nothing else of sitesim; numbers are
 * checked by common/options.c (one line, exit 2, like every program).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "options.h"    /* common/: option_long() */
#include "config.h"
#include "error.h"      /* common/: error_report() */

#define DEFAULT_HTTP_PORT 8480
#define DEFAULT_HTTPS_PORT 8443
#define DEFAULT_LATENCY_MS 50
#define DEFAULT_JITTER_MS 10
#define DEFAULT_CONN_DELAY_MS 100

static void usage(FILE *out)
{
    fprintf(out,
"usage: sitesim [options]\n"
"Serve the kit's two sites on 127.0.0.1, over HTTP and HTTPS.\n"
"\n"
"options                                        (default, environment)\n"
"  --http-port N     HTTP port, 1..65535        (%d, CONKIT_HTTP_PORT)\n"
"  --https-port N    HTTPS port, 1..65535       (%d, CONKIT_HTTPS_PORT)\n"
"  --latency MS      mean delay per response    (%d, CONKIT_LATENCY)\n"
"  --jitter MS       +/- spread around it       (%d, CONKIT_JITTER)\n"
"  --conn-delay MS   extra delay before the     (%d, CONKIT_CONN_DELAY)\n"
"                    first response of a connection\n"
"  --dir DIR         certificate folder         (.sitesim next to the\n"
"                                               executable, CONKIT_SIMDIR)\n"
"  --pidfile FILE    write the pid once listening; removed on exit\n"
"  --log FILE        append one line per event (start, stop, problems)\n"
"  -h, --help        show this help\n"
"\n"
"Delays are 0..600000 ms. Options win over the environment.\n"
"\n"
"Paths (the same on both ports):\n"
"  /jython             a 10966-byte HTML page\n"
"  /dice               a 272-byte HTML page\n"
"  /bytes/N            N bytes (0..104857600), the same every time\n"
"  /status/CODE        answers CODE (200..599)\n"
"  /delay/MS           answers 200 after MS more milliseconds\n"
"  /page/N             HTML page for element N (1..118), e.g. /page/1:\n"
"                      <title> and <h1> Hydrogen; other N: 404\n"
"  /page/N?fail=CODE   answers CODE (200..599) instead\n"
"  /page/N?empty=1     answers 200 with no body\n"
"  /page/N?title=hostile  the <h1> holds control bytes, quotes, a\n"
"                      forged timer line; 300 bytes\n"
"  /on/K/QUERY/page/N  /page/N?QUERY when N is K, else /page/N\n"
"  /redirect[/N?to=PATH]  302 to /dice (or N hops to PATH)\n"
"  /redirect/offhost   302 to http://127.0.0.2:PORT/dice (off this host;\n"
"                      a --sites local client must refuse it)\n"
"  /redirect/file      302 to file:///etc/hostname (never to follow)\n"
"\n"
"Broken responses, after the usual latency (each closes its connection;\n"
"none slows the others down):\n"
"  /fault/reset        a reset (RST) after 4096 of 10966 body bytes\n"
"  /fault/close        the connection closes before any header\n"
"  /fault/short        Content-Length 10966, then 1000 bytes and a close\n"
"  /fault/stall        the headers, then nothing until the client goes\n"
"  /fault/drip         a 61-byte body, one byte a second\n"
"  /fault/bigheader    a 1 MB response header\n"
"  /fault/badchunk     chunked encoding with a size that is not hex\n"
"\n"
"  /stats              counters, key=value lines (never delayed), with\n"
"                      requests_inflight_peak, pid, kit and dir\n"
"  /stats/reset        zero the counters and the log, answer as /stats\n"
"  /stats/log          each request since the reset, one line each:\n"
"                      ARRIVAL_US DONE_US STATUS CONN PATH KIND (us since\n"
"                      the reset, DONE_US -1 in flight; the last 100000;\n"
"                      KIND full: a download -- a GET without Range sent\n"
"                      in full, not dropped unread -- or get (answering),\n"
"                      cut, head, range, other)\n"
"\n"
"Stop it with SIGTERM or SIGINT.\n",
            DEFAULT_HTTP_PORT, DEFAULT_HTTPS_PORT, DEFAULT_LATENCY_MS,
            DEFAULT_JITTER_MS, DEFAULT_CONN_DELAY_MS);
}

/* An environment variable as a number in min..max, if it is set and
 * not empty; exits 2 with one line if it is not a number in range. */
static void env_number(const char *name, long min, long max, int *out)
{
    const char *text = getenv(name);

    if (text != NULL && text[0] != '\0')
        *out = (int)option_long(name, text, min, max);
}

/* The folder of the executable, into dir. Returns 0 or -1 (printed). */
static int exe_dir(char *dir, size_t cap)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

    if (n < 0) {
        error_report("cannot read '/proc/self/exe': %s",
                     strerror(errno));
        return -1;
    }
    exe[n] = '\0';
    if ((size_t)snprintf(dir, cap, "%s", dirname(exe)) >= cap) {
        error_report("path too long: '%s'", exe);
        return -1;
    }
    return 0;
}

/* The kit the executable belongs to: the nearest folder at or above
 * `from` that holds scripts/serve (./sitesim is at the top of the kit,
 * a sanitizer build in build/address/bin), else `from` itself. */
static void kit_find(const char *from, char *kit, size_t cap)
{
    char path[PATH_MAX], serve[PATH_MAX + 16];

    snprintf(kit, cap, "%s", from);
    snprintf(path, sizeof(path), "%s", from);
    for (int up = 0; up < 4; up++) {
        snprintf(serve, sizeof(serve), "%s/scripts/serve", path);
        if (access(serve, X_OK) == 0) {
            snprintf(kit, cap, "%s", path);
            return;
        }
        if (strcmp(path, "/") == 0)
            return;
        char *parent = dirname(path);  /* cuts path in place */
        memmove(path, parent, strlen(parent) + 1);
    }
}

/* Defaults, then environment, then options. Returns 0, or -1 after
 * printing one line (usage error), or 1 for --help (printed). A bad
 * number exits 2 at once (option_long, common/options.c). */
int config_load(struct config *cfg, int argc, char **argv)
{
    enum { OPT_HTTP = 1000, OPT_HTTPS, OPT_LATENCY, OPT_JITTER,
           OPT_CONN_DELAY, OPT_DIR, OPT_PIDFILE, OPT_LOG };
    static const struct option options[] = {
        { "http-port", required_argument, NULL, OPT_HTTP },
        { "https-port", required_argument, NULL, OPT_HTTPS },
        { "latency", required_argument, NULL, OPT_LATENCY },
        { "jitter", required_argument, NULL, OPT_JITTER },
        { "conn-delay", required_argument, NULL, OPT_CONN_DELAY },
        { "dir", required_argument, NULL, OPT_DIR },
        { "pidfile", required_argument, NULL, OPT_PIDFILE },
        { "log", required_argument, NULL, OPT_LOG },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *dir = getenv("CONKIT_SIMDIR");
    int opt;

    cfg->http_port = DEFAULT_HTTP_PORT;
    cfg->https_port = DEFAULT_HTTPS_PORT;
    cfg->latency_ms = DEFAULT_LATENCY_MS;
    cfg->jitter_ms = DEFAULT_JITTER_MS;
    cfg->conn_delay_ms = DEFAULT_CONN_DELAY_MS;
    env_number("CONKIT_HTTP_PORT", 1, 65535, &cfg->http_port);
    env_number("CONKIT_HTTPS_PORT", 1, 65535, &cfg->https_port);
    env_number("CONKIT_LATENCY", 0, SITESIM_DELAY_MAX, &cfg->latency_ms);
    env_number("CONKIT_JITTER", 0, SITESIM_DELAY_MAX, &cfg->jitter_ms);
    env_number("CONKIT_CONN_DELAY", 0, SITESIM_DELAY_MAX,
               &cfg->conn_delay_ms);
    if (dir != NULL && dir[0] == '\0')
        dir = NULL;

    opterr = 0;  /* we print our own one-line messages */
    while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
        switch (opt) {
        case OPT_HTTP:
            cfg->http_port = (int)option_long("--http-port", optarg, 1,
                                              65535);
            break;
        case OPT_HTTPS:
            cfg->https_port = (int)option_long("--https-port", optarg, 1,
                                               65535);
            break;
        case OPT_LATENCY:
            cfg->latency_ms = (int)option_long("--latency", optarg, 0,
                                               SITESIM_DELAY_MAX);
            break;
        case OPT_JITTER:
            cfg->jitter_ms = (int)option_long("--jitter", optarg, 0,
                                              SITESIM_DELAY_MAX);
            break;
        case OPT_CONN_DELAY:
            cfg->conn_delay_ms = (int)option_long("--conn-delay", optarg, 0,
                                                  SITESIM_DELAY_MAX);
            break;
        case OPT_DIR:
            dir = optarg;
            break;
        case OPT_PIDFILE:
            cfg->pidfile = optarg;
            break;
        case OPT_LOG:
            cfg->logfile = optarg;
            break;
        case 'h':
            usage(stdout);
            return 1;
        case ':':
            error_report("option needs a value: '%s'",
                         argv[optind - 1]);
            return -1;
        default:
            error_report("unknown option: '%s'",
                         argv[optind - 1]);
            return -1;
        }
    }
    if (optind < argc) {
        error_report("unexpected argument: '%s'",
                     argv[optind]);
        return -1;
    }
    if (cfg->http_port == cfg->https_port) {
        error_report("the HTTP and HTTPS ports must differ: "
                     "'%d'", cfg->http_port);
        return -1;
    }
    if ((cfg->pidfile != NULL && cfg->pidfile[0] == '\0') ||
        (cfg->logfile != NULL && cfg->logfile[0] == '\0') ||
        (dir != NULL && dir[0] == '\0')) {
        error_report("a file or folder name is empty: ''");
        return -1;
    }

    char exe[sizeof(cfg->kit)];
    if (exe_dir(exe, sizeof(exe)) != 0)
        return -1;
    kit_find(exe, cfg->kit, sizeof(cfg->kit));
    if (dir == NULL) {
        /* the default: .sitesim next to the executable */
        if ((size_t)snprintf(cfg->dir, sizeof(cfg->dir), "%s/.sitesim",
                             exe) >= sizeof(cfg->dir)) {
            error_report("path too long: '%s'", exe);
            return -1;
        }
        return 0;
    }
    if ((size_t)snprintf(cfg->dir, sizeof(cfg->dir), "%s", dir) >=
        sizeof(cfg->dir)) {
        error_report("folder name too long: '%s'", dir);
        return -1;
    }
    return 0;
}

/* SPDX-License-Identifier: MIT */
