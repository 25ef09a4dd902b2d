/* settings.h -- race_condition's command line (lab 7): what the options
 * set, and the names of --lock.  A new --lock mode (the README's
 * exercises) is a value in enum lock_mode here, its name in lock_names
 * (settings.c), and its way to add in race_condition.c.
 */
#ifndef CONKIT_SETTINGS_H
#define CONKIT_SETTINGS_H

#include <stdbool.h>

#define MAX_THREADS 64
#define DEFAULT_WINDOW 50       /* busy-loop steps between read and write */

enum lock_mode { LOCK_NONE, LOCK_MUTEX, LOCK_ATOMIC, LOCK_SPIN };

/* The words of --lock, in the enum's order. */
extern const char *const lock_names[];

struct settings {
    long threads;               /* --threads: how many threads add */
    long increments;            /* --increments: additions per thread */
    enum lock_mode lock;        /* --lock: how the counter is protected */
    long window;                /* --window: delay steps inside each add */
    const char *trace;          /* --trace: CSV file, or NULL */
    const char *schedule;       /* --schedule: letters, or NULL */
    bool explore;               /* --explore: run every schedule */
    bool quiet;                 /* -q: no step lines */
};

/* Read the command line into settings: exits 2 with one line when it is
 * wrong, 0 after --help. */
void parse_options(int argc, char *argv[], struct settings *settings);

#endif
/* SPDX-License-Identifier: MIT */
