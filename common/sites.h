/* sites.h -- the list of URLs every I/O lab downloads.
 *
 * --sites local     the kit's site simulator (make serve):
 *                   https://127.0.0.1:8443/jython, http://127.0.0.1:8480/dice
 * --sites internet  the tutorial's real sites (needs a network)
 * --sites FILE      one URL per line; '#' comments and blank lines ignored,
 *                   CRLF line ends and a UTF-8 byte order mark accepted
 *
 * The list is repeated --repeat times as a whole, as the tutorial repeats
 * its tuple: jython, dice, jython, dice, ...  (default 50 for local and
 * internet, 1 for a file).  The simulator's ports come from the
 * environment variables CONKIT_HTTP_PORT and CONKIT_HTTPS_PORT when set.
 *
 * A sites file is text or it is refused: a NUL byte, any other control
 * character, a line over SITES_MAX_LINE characters, more than
 * SITES_MAX_LINES lines (a file that never ends, such as /dev/zero or a
 * pipe that keeps writing) are usage errors naming the file and the line.
 * So is a list that --repeat makes longer than SITES_MAX_DOWNLOADS.
 *
 * A list that is all on 127.0.0.1 (--sites local, or a file of simulator
 * URLs) stays there: sites_load() calls http_loopback_only(), so a
 * redirect to any other address is refused (the kit runs offline).
 */
#ifndef CONKIT_SITES_H
#define CONKIT_SITES_H

#include <stdbool.h>
#include <stddef.h>

#define SITES_DEFAULT_REPEAT 50
#define SITES_HTTP_PORT 8480            /* simulator's default HTTP port */
#define SITES_HTTPS_PORT 8443           /* simulator's default HTTPS port */
#define SITES_MAX_LINE 4096             /* characters in one line of a file */
#define SITES_MAX_LINES 100000          /* lines in one sites file */
#define SITES_MAX_DOWNLOADS 1000000     /* lines x --repeat */

struct site_list {
    char **urls;                /* count URLs, repeats included; they point
                                   into base, so a repeat costs no copy */
    size_t count;               /* number of downloads to do */
    char **base;                /* the list once, each URL allocated */
    size_t base_count;          /* URLs in base */
    bool local;                 /* true for --sites local */
};

/* Fill sites from spec ("local", "internet" or a file name), repeated
 * repeat times (repeat < 0: the default).  Exits 2 with a one-line error
 * naming the file and line on any bad input. */
void sites_load(struct site_list *sites, const char *spec, long repeat);

void sites_free(struct site_list *sites);

/* For --sites local: exit 1 with one line saying how to start the
 * simulator when nothing listens on its ports.  Does nothing otherwise. */
void sites_check_simulator(const struct site_list *sites);

/* The simulator's ports (environment, else the defaults above). */
int sites_http_port(void);

#endif
/* SPDX-License-Identifier: MIT */
