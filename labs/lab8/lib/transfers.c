/* transfers.c -- bank's command line, the transfers a seed makes, and
 * how --schedule and --explore see them (see transfers.h).
 */
#define _GNU_SOURCE             /* pthread_timedjoin_np */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "explore.h"
#include "interrupt.h"
#include "options.h"
#include "timer.h"
#include "trace.h"
#include "transfers.h"

const char *const mode_names[] = { "sync", "threads", "async", NULL };
const char *const lock_names[] = { "none", "mutex", "per-account", NULL };
const char *const order_names[] = { "global", "transfer", NULL };

/* ====== A private random number generator ====== */

/* splitmix64: a tiny, well-mixed generator with its whole state in one
 * number.  The program's own, not rand(): the same seed must give the
 * same transfers on every machine and in every mode.
 *     uint64_t state = 42;  splitmix64(&state) -> 13679457532755275413 */
static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* ====== Options ====== */

static void usage(void)
{
    printf("usage: bank [options]\n"
           "Random transfers between banks; the sum must stay the same.\n\n"
           "  --mode sync|threads|async  one by one, a thread per "
           "transfer, or a task\n"
           "                             per transfer on the event loop "
           "(sync)\n"
           "  --lock none|mutex|per-account\n"
           "                             no lock, one lock around each "
           "transfer's\n"
           "                             updates, or a lock per bank "
           "(none)\n"
           "  --order global|transfer    per-account: lock the lower "
           "bank first, or\n"
           "                             `from` first (it can deadlock) "
           "(global)\n"
           "  --seed N                   the transfers to make (random, "
           "printed)\n"
           "  --transfers N              how many transfers (20; 1 to %d)\n"
           "  --banks N                  how many banks of %d (5; 2 to %d)\n"
           "  --schedule ABAB...         threads mode: replay one "
           "interleaving; each\n"
           "                             letter lets one transfer (A, B, "
           "...) take its\n"
           "                             next step\n"
           "  --explore                  threads mode: run every "
           "interleaving of a small\n"
           "                             case (at most %d schedules)\n"
           "  --trace FILE               write one CSV row per transfer "
           "(--explore: per\n"
           "                             schedule)\n"
           "  --color WHEN               colour: auto, always, never (auto)\n"
           "  -q, --quiet                no dot per transfer, no steps\n"
           "  -h, --help                 show this help\n",
           MAX_TRANSFERS, START_BALANCE, MAX_BANKS, INTERLEAVE_MAX_RUNS);
}

/* A seed nobody chose: the clock's nanoseconds mixed with the pid, cut to
 * nine digits so that it is easy to type back in. */
static uint64_t random_seed(void)
{
    struct timespec now;

    clock_gettime(CLOCK_REALTIME, &now);
    uint64_t mix = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
    mix ^= (uint64_t)getpid() << 32;
    return splitmix64(&mix) % 1000000000u;
}

void parse_options(int argc, char *argv[], struct settings *settings)
{
    long seed = -1;             /* -1: not given (0 is a seed too) */
    const struct option_rule rules[] = {
        OPTION_CHOICE("mode", &settings->mode, mode_names),
        OPTION_CHOICE("lock", &settings->lock, lock_names),
        OPTION_CHOICE("order", &settings->order, order_names),
        OPTION_TEXT("schedule", &settings->schedule),
        OPTION_FLAG("explore", &settings->explore),
        OPTION_WHOLE("seed", &seed, 0, LONG_MAX),
        OPTION_WHOLE("transfers", &settings->transfers, 1, MAX_TRANSFERS),
        OPTION_WHOLE("banks", &settings->banks, 2, MAX_BANKS),
        OPTION_END,
    };

    *settings = (struct settings){
        .mode = MODE_SYNC, .lock = LOCK_NONE, .transfers = 20, .banks = 5,
    };
    option_parse_rules(argc, argv, rules, usage, &settings->quiet,
                       &settings->trace);
    if (settings->schedule != NULL && settings->explore)
        error_usage("--schedule and --explore do not go together: "
                    "'--schedule %s'", settings->schedule);
    if ((settings->schedule != NULL || settings->explore) &&
        settings->mode != MODE_THREADS)
        error_usage("--schedule and --explore drive threads: add --mode "
                    "threads: '--mode %s'", mode_names[settings->mode]);
    if ((settings->schedule != NULL || settings->explore) &&
        settings->transfers > TURNSTILE_MAX_THREADS)
        error_usage("--schedule and --explore name transfers A to Z: at "
                    "most %d transfers: '%ld'", TURNSTILE_MAX_THREADS,
                    settings->transfers);
    settings->seed = seed >= 0 ? (uint64_t)seed : random_seed();
}

/* ====== The transfers, made up front from the seed ====== */

/* Fill transfers[] from the seed: two different banks, 1..100 moved. */
void make_transfers(const struct settings *settings,
                           struct transfer *transfers)
{
    uint64_t state = settings->seed;

    for (long i = 0; i < settings->transfers; i++) {
        struct transfer *transfer = &transfers[i];
        int from = (int)(splitmix64(&state) % (uint64_t)settings->banks);
        /* any bank but `from`: step 1 .. banks-1 places along */
        int step = 1 + (int)(splitmix64(&state)
                             % (uint64_t)(settings->banks - 1));
        int to = (int)((from + step) % settings->banks);
        /* TASK lab8.order: which of the two banks' locks to take first.
         * --order transfer: `from` first -- two transfers in opposite
         * directions can each hold one lock and wait for the other.
         * --order global: one order every transfer agrees on, so that
         * no cycle of waiting can form.  The handout always takes
         * `from` first, whatever --order says:
         *     bool from_first = true;
         */
        bool from_first = settings->order == ORDER_TRANSFER || from < to;
        /* END TASK lab8.order */

        *transfer = (struct transfer){
            .index = i,
            .from = from,
            .to = to,
            .amount = 1 + (long)(splitmix64(&state) % MAX_AMOUNT),
            .lock = settings->lock,
            .first_lock = from_first ? from : to,
            .second_lock = from_first ? to : from,
            .quiet = settings->quiet || settings->schedule != NULL ||
                     settings->explore,
        };
    }
}

/* "A: bank_2 -> bank_1 59" for each transfer. */
void print_transfers(const struct settings *settings,
                     const struct transfer *transfers)
{
    for (long i = 0; i < settings->transfers; i++)
        printf("%c: bank_%d -> bank_%d %ld\n", turnstile_letter((int)i),
               transfers[i].from + 1, transfers[i].to + 1,
               transfers[i].amount);
}

/* ====== --schedule and --explore ====== */

/* The case for labs/interleave/explore.h: a thread per transfer, each
 * announcing check, withdraw, check, deposit; with --lock mutex also take
 * and release; per-account two of each.  The texts live in text[]; the
 * caller sets what runs: the thread, reset, measure, expected. */
void plan_transfers(const struct settings *settings,
                    struct transfer *transfers, struct interleaving *plan,
                    char text[3][160])
{
    static const int steps[] = {
        [LOCK_NONE] = 4, [LOCK_MUTEX] = 6, [LOCK_PER_ACCOUNT] = 8,
    };
    static const struct interleave_words words = {
        .lock = "a lock", .blocked = "waits for a lock %c holds",
        .failed = "broke the sum",
        .shortest = "shortest schedule that breaks it",
        .measured = "sum", .threads = "transfers",
    };
    bool per_account = settings->lock == LOCK_PER_ACCOUNT;

    snprintf(text[0], 160, "--mode threads --seed %llu --transfers %ld "
             "--banks %ld --lock %s%s%s", (unsigned long long)settings->seed,
             settings->transfers, settings->banks,
             lock_names[settings->lock], per_account ? " --order " : "",
             per_account ? order_names[settings->order] : "");
    snprintf(text[1], 160, "try --transfers 2): '--transfers %ld'",
             settings->transfers);
    snprintf(text[2], 160, "use fewer --transfers: '%ld'",
             settings->transfers);
    *plan = (struct interleaving){
        .program = "bank", .replay_args = text[0], .too_long = text[1],
        .too_many = text[2], .words = &words,
        .threads = (int)settings->transfers,
        .steps_each = steps[settings->lock], .deadlocks = per_account,
    };
    for (long i = 0; i < settings->transfers && i < TURNSTILE_MAX_THREADS;
         i++)
        plan->args[i] = &transfers[i];
}

/* --explore: every interleaving of the transfers' steps, then of the same
 * transfers as tasks. */
void explore_transfers(const struct settings *settings,
                       struct transfer *transfers,
                       const struct interleaving *plan,
                       task_proc *transfer_task)
{
    /* the tasks: 6 stretches between awaits each, and one more for each
     * lock that is held when asked for */
    static const int task_steps[] = {
        [LOCK_NONE] = 6, [LOCK_MUTEX] = 7, [LOCK_PER_ACCOUNT] = 8,
    };
    struct interleave_task_counts tasks;

    printf("explore: %ld transfers over %ld banks, --lock %s%s%s: %ld steps "
           "each\n", settings->transfers, settings->banks,
           lock_names[settings->lock],
           settings->lock == LOCK_PER_ACCOUNT ? " --order " : "",
           settings->lock == LOCK_PER_ACCOUNT
               ? order_names[settings->order] : "", plan->steps_each);
    print_transfers(settings, transfers);
    fflush(stdout);
    if (!interleave_explore(plan))
        return;
    interleave_explore_tasks(plan, transfer_task, task_steps[settings->lock],
                             plan->args, &tasks);
    if (tasks.bound > INTERLEAVE_MAX_RUNS)
        printf("as tasks (--mode async, an await at every sleep): more "
               "than %d schedules (%s): not explored\n", INTERLEAVE_MAX_RUNS,
               tasks.formula);
    if (tasks.runs == 0)
        return;
    printf("as tasks (--mode async, an await at every sleep): "
           "schedules: %ld, broke the sum: %ld of %ld", tasks.runs,
           tasks.failed, tasks.runs);
    if (settings->lock == LOCK_PER_ACCOUNT)
        printf(", deadlocked: %ld of %ld", tasks.deadlocked, tasks.runs);
    printf("\n");
}

/* ====== Dots, trace rows, joining ====== */

/* One '.' per finished transfer, as it happens.  A single write(2): no
 * stdio buffer shared between threads, nothing to flush. */
void transfer_dot(const struct transfer *transfer)
{
    if (transfer->quiet)
        return;
    ssize_t written = write(STDOUT_FILENO, ".", 1);
    (void)written;              /* a lost dot is not worth stopping for */
}

/* A trace row: `ok` once it ended, `cancelled` if Ctrl-C kept it from
 * starting. */
void trace_transfer(const struct transfer *transfer, long worker)
{
    char label[64];
    int64_t now = program_us();
    bool made = transfer->end_us != 0;

    snprintf(label, sizeof label, "bank_%d->bank_%d %ld", transfer->from + 1,
             transfer->to + 1, transfer->amount);
    trace_record(transfer->index, worker, label,
                 made ? transfer->start_us : now,
                 made ? transfer->end_us : now, made ? "ok" : "cancelled");
}

/* A thread stuck for good -- two transfers that
 * took their account locks in opposite orders (--lock per-account
 * --order transfer) -- never returns, and no signal can pull it out of
 * pthread_mutex_lock.  So after Ctrl-C the threads get half a second more,
 * then the stuck ones are said and left behind: the run still ends with
 * its summary, and exit() ends them. */
void join_transfer_threads(struct transfer *transfers, long count)
{
    int64_t give_up_us = 0;             /* set at the interrupt */

    for (long i = 0; i < count; i++) {
        for (;;) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);  /* timedjoin's clock */
            until.tv_nsec += 100 * 1000 * 1000;     /* 100 ms a look */
            if (until.tv_nsec >= 1000000000L) {
                until.tv_sec++;
                until.tv_nsec -= 1000000000L;
            }
            int s = pthread_timedjoin_np(transfers[i].thread, NULL, &until);
            if (s == 0)
                break;
            if (s != ETIMEDOUT)
                error_fatal_errno(s, "pthread_timedjoin_np");
            if (!interrupt_requested())
                continue;               /* still working: wait on */
            if (give_up_us == 0)
                give_up_us = monotonic_us() + 500000;
            if (monotonic_us() >= give_up_us) {
                error_report("half a second after the interrupt, %ld of %ld "
                             "transfer threads have not ended: deadlocked, "
                             "left behind", count - i, count);
                return;
            }
        }
    }
}

/* SPDX-License-Identifier: MIT */
