/* settings.h -- race_condition's command line (lab 7): what the options
 * set, and the names of --lock.  A new --lock mode (the README's
 * exercises) is a value in enum lock_mode here, its name in lock_names
 * (settings.c), and its way to add in race_condition.c.  Beside it,
 * the plumbing of --schedule and --explore: the case race_condition
 * describes to labs/interleave/explore.h and the summary it prints.
 */
#ifndef CONKIT_SETTINGS_H
#define CONKIT_SETTINGS_H

#include <stdbool.h>

#include "explore.h"

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

/* The case for labs/interleave/explore.h: everything but what runs (the
 * caller sets plan->thread, reset, measure, context and args).  The
 * texts live in text[] (the caller's). */
void plan_additions(const struct settings *settings,
                    struct interleaving *plan, char text[3][128]);

/* --explore: every interleaving of the threads' steps, then of the same
 * additions as tasks (add_task, one await between additions). */
void explore_additions(const struct settings *settings,
                       const struct interleaving *plan, task_proc *add_task);

#endif
/* SPDX-License-Identifier: MIT */
