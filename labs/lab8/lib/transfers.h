/* transfers.h -- bank's command line, the transfers a seed makes, and
 * how --schedule and --explore see them (lab 8).  bank.c holds the
 * lesson: the balances, the locks, the three ways to run the transfers;
 * this is what it runs them on.
 */
#ifndef CONKIT_TRANSFERS_H
#define CONKIT_TRANSFERS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "explore.h"

#define MAX_BANKS 100
#define MAX_TRANSFERS 1000      /* threads mode makes one thread each */
#define START_BALANCE 1000      /* every bank's balance at the start */
#define MAX_AMOUNT 100          /* transfers move 1 .. MAX_AMOUNT */

enum mode { MODE_SYNC, MODE_THREADS, MODE_ASYNC };
enum lock_mode { LOCK_NONE, LOCK_MUTEX, LOCK_PER_ACCOUNT };
enum lock_order { ORDER_GLOBAL, ORDER_TRANSFER };

/* The words of --mode, --lock and --order, in the enums' order. */
extern const char *const mode_names[];
extern const char *const lock_names[];
extern const char *const order_names[];

struct settings {
    enum mode mode;             /* --mode: how the transfers are run */
    enum lock_mode lock;        /* --lock: none, one transaction lock, or
                                   one lock per account (bank) */
    enum lock_order order;      /* --order: which account's lock first */
    uint64_t seed;              /* --seed: makes the list of transfers */
    long transfers;             /* --transfers: how many */
    long banks;                 /* --banks: how many banks */
    bool quiet;                 /* --quiet: no dots */
    const char *trace;          /* --trace: CSV file, or NULL */
    const char *schedule;       /* --schedule: letters, or NULL */
    bool explore;               /* --explore: run every schedule */
};

/* One transfer, made up front from the seed.  In threads mode it is also
 * the thread's argument; in async mode the task's state (its "locals"). */
struct transfer {
    long index;                 /* 0 .. transfers-1 */
    int from;                   /* sending bank (index into balances) */
    int to;                     /* receiving bank, never == from */
    long amount;                /* 1 .. MAX_AMOUNT */
    enum lock_mode lock;        /* which locks it takes (--lock) */
    int first_lock;             /* per-account: the bank locked first */
    int second_lock;            /* ... and second */
    bool quiet;                 /* no dot when done */
    pthread_t thread;           /* threads mode: its thread */
    long seen;                  /* async mode: update_bank's balance read */
    int64_t start_us;           /* for the trace: program_us() at start */
    int64_t end_us;             /* ... and at the end */
};

/* Read the command line into settings (exits 2 with one line when it is
 * wrong, 0 after --help).  No --seed: a random one, printed later. */
void parse_options(int argc, char *argv[], struct settings *settings);

/* Fill transfers[0 .. settings->transfers-1] from settings->seed: the
 * same seed gives the same transfers on every machine and in every mode. */
void make_transfers(const struct settings *settings,
                    struct transfer *transfers);

/* "A: bank_2 -> bank_1 59" for each transfer (the letters of
 * --schedule). */
void print_transfers(const struct settings *settings,
                     const struct transfer *transfers);

/* The case for labs/interleave/explore.h: everything but what runs
 * (the caller sets plan->thread, reset, measure and expected). */
void plan_transfers(const struct settings *settings,
                    struct transfer *transfers, struct interleaving *plan,
                    char text[3][160]);

/* --explore: the case, every interleaving of the transfers' steps, then
 * of the same transfers as tasks (transfer_task, async mode's body). */
void explore_transfers(const struct settings *settings,
                       struct transfer *transfers,
                       const struct interleaving *plan,
                       task_proc *transfer_task);

/* One '.' on stdout for a finished transfer (none with --quiet). */
void transfer_dot(const struct transfer *transfer);

/* The transfer's trace row, on the lane of worker. */
void trace_transfer(const struct transfer *transfer, long worker);

/* Join the threads of transfers[0 .. count-1].  After Ctrl-C, threads
 * still not ended half a second later (deadlocked) are said and left. */
void join_transfer_threads(struct transfer *transfers, long count);

#endif
/* SPDX-License-Identifier: MIT */
