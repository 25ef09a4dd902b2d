/* config.h -- sitesim's settings: defaults, then the environment, then
 * the options (config.c). The bottom layer: it includes nothing of
 * sitesim, and every file may read a struct config.
 */
#ifndef SITESIM_CONFIG_H
#define SITESIM_CONFIG_H

#define SITESIM_DELAY_MAX 600000  /* largest /delay/MS and delay option */

/* The settings, from defaults, then environment, then options. */
struct config {
    int http_port;              /* plain HTTP port (default 8480) */
    int https_port;             /* HTTPS port (default 8443) */
    int latency_ms;             /* mean delay before each response */
    int jitter_ms;              /* +/- uniform spread around latency */
    int conn_delay_ms;          /* extra delay before a connection's
                                   first response */
    char dir[4096];             /* folder with ca.pem, server.pem/.key */
    char kit[4096];             /* the kit's folder (has scripts/serve) */
    const char *pidfile;        /* --pidfile FILE, or NULL */
    const char *logfile;        /* --log FILE, or NULL */
};

/* Fill in cfg from argv and the environment. 0: go on; 1: --help was
 * printed (exit 0); -1: a usage error was printed (exit 2). */
int config_load(struct config *cfg, int argc, char **argv);

#endif
/* SPDX-License-Identifier: MIT */
