/* color.c -- colour on a terminal only; see color.h. */
#include "color.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *const color_modes[] = { "auto", "always", "never", NULL };

/* Set by color_set_mode() while the options are parsed; read-only after. */
static int color_mode = COLOR_AUTO;

/* The workers' colours: cyan, green, yellow, blue, magenta, and a bright
 * blue -- red stays for failures alone. */
static const char *const worker_colors[] = {
    "\033[36m", "\033[32m", "\033[33m", "\033[34m", "\033[35m", "\033[94m",
};
#define WORKER_COLORS (sizeof worker_colors / sizeof worker_colors[0])

void color_set_mode(int mode)
{
    color_mode = mode;
}

/* Whether what is written to fd gets colour. */
static bool color_on(int fd)
{
    const char *no_color = getenv("NO_COLOR");
    const char *term = getenv("TERM");

    if (color_mode == COLOR_ALWAYS)
        return true;
    if (color_mode == COLOR_NEVER)
        return false;
    /* auto: a terminal that can show colour, and nobody said no */
    if (no_color != NULL && no_color[0] != '\0')
        return false;
    if (term != NULL && strcmp(term, "dumb") == 0)
        return false;
    return isatty(fd);
}

const char *color_worker(int fd, long worker)
{
    if (!color_on(fd))
        return "";
    if (worker < 0)
        worker = -worker;
    return worker_colors[worker % WORKER_COLORS];
}

const char *color_failure(int fd)
{
    return color_on(fd) ? "\033[1;31m" : "";
}

const char *color_end(int fd)
{
    return color_on(fd) ? "\033[0m" : "";
}
/* SPDX-License-Identifier: MIT */
