/* bank.c -- random transfers between banks, one after another, on threads,
 * or as cooperative tasks: the money is conserved only when it should be.
 *
 * Every bank starts with 1000.  A transfer takes an amount from one bank
 * and gives it to another, so the sum of all balances never changes --
 * unless two transfers touch the same bank at the same time.  Each balance
 * update reads the balance, waits a moment (a stand-in for a database
 * round trip), and writes the new balance back.  A second transfer that
 * writes in that moment is overwritten, and money appears or vanishes.
 *
 * Run:    make lab8 && ./bank                     (sync: about 2 s)
 *         ./bank --mode threads                   (fast, sum is wrong)
 *         ./bank --mode threads --lock mutex      (fast, sum is right)
 *         ./bank --mode async --seed 42           (one thread, still wrong)
 *         ./bank --mode async --lock mutex --seed 42
 *
 * Watch:  the seed= line; the same seed gives the same transfers in every
 *         mode, so every locked run (and the sync one) ends with the same
 *         final= line, and sum= stays banks x 1000.  Unlocked threads and
 *         unlocked tasks change the sum in most runs.
 *
 * Step by step (threads mode): --schedule and --explore hand the threads
 * to the turnstile (labs/interleave/turnstile.h, driven by explore.c
 * there; lib/transfers.c describes the case to it: plan_transfers()).
 * Each transfer announces its steps -- take a lock, read a balance,
 * withdraw, read, deposit, release -- and only the transfer the schedule
 * names (A, B, ...) takes its next one.  The sleeps are skipped then: the
 * schedule decides the order.
 *
 *         ./bank --mode threads --transfers 2 --banks 3 --seed 42 --explore
 *         ./bank ... --explore --lock mutex
 *         ./bank ... --explore --lock per-account --order transfer
 *         ./bank ... --explore --lock per-account --order global
 *
 * Watch:  how many schedules break the sum; with one lock per account
 *         taken in transfer order, the schedule that deadlocks (found, not
 *         hung on); in one global order, no deadlock in any schedule.
 *
 * Ctrl-C:  no new transfer starts (--mode sync stops its loop; threads and
 *         tasks all start at once and end within a fraction of a second,
 *         but for threads deadlocked on their locks, which are said and
 *         left behind half a second later: lib/transfers.c);
 *         the balances and sum= are printed as they are, the transfers
 *         not made are traced `cancelled`; exit 130.  --explore stops
 *         after the schedule in flight (not counted) and says how many it
 *         explored.
 *
 * The command line and the transfers a seed makes are in lib/transfers.c.
 *
 * Compare with labs/lab7/race_condition.c, where the shared data is one
 * counter and the window between read and write is a busy loop.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "color.h"
#include "error.h"
#include "explore.h"
#include "interrupt.h"
#include "task.h"
#include "options.h"
#include "timer.h"
#include "trace.h"
#include "lib/transfers.h"

#define VERIFY_USER_US 100000   /* verify_user(): 100 ms */
#define UPDATE_WAIT_US 100      /* update_bank(): 0.1 ms, twice */

/* ====== The shared data ====== */

/* The balances of bank_1 .. bank_N: the article's BANK_DATA.  Plain longs
 * shared by every thread or task; only the lock keeps updates apart. */
static long balances[MAX_BANKS];
static long bank_count;

/* TASK lab8.transfer: threads mode: one lock for every transaction
 * (the article's RLock; a plain mutex is enough here -- see the README
 * for when it is not).  The handout has none. */
static pthread_mutex_t transaction_lock = PTHREAD_MUTEX_INITIALIZER;
/* END TASK lab8.transfer */

/* --lock per-account: one lock per bank.  A transfer takes the locks of
 * its two banks; in which order is --order's question. */
static pthread_mutex_t account_locks[MAX_BANKS];

/* async mode: the same ideas for tasks (asyncio.Lock). */
static struct async_lock async_transaction_lock = ASYNC_LOCK_INIT;
static struct async_lock async_account_locks[MAX_BANKS];

/* Print "name={'bank_1': 1000, 'bank_2': 1000, ...}" like a Python dict. */
static void print_balances(const char *name)
{
    printf("%s={", name);
    for (long b = 0; b < bank_count; b++)
        printf("%s'bank_%ld': %ld", b ? ", " : "", b + 1, balances[b]);
    printf("}\n");
}

/* ====== sync and threads: real sleeps ====== */

/* Simulate checking the customer with some slow service.  Under the
 * turnstile (--schedule, --explore) every wait is skipped: the schedule,
 * not the clock, decides who goes next. */
static void verify_user(void)
{
    if (!turnstile_on)
        sleep_us(VERIFY_USER_US);
}

/* Add change to one bank's balance: read, wait, write, wait.  The
 * TURNSTILE_ lines are the announcement points of --schedule and
 * --explore (labs/interleave/turnstile.h); in a normal run each is one
 * untaken branch. */
static void update_bank(int bank, long change)
{
    TURNSTILE_STEP();
    long before = balances[bank];       /* read */
    TURNSTILE_SAY("check bank_%d: %ld", bank + 1, before);
    /* DELIBERATE RACE with --lock none: between this read and the write
     * below, `before` may go stale -- another thread can write this bank
     * meanwhile, and its update is then overwritten.  The sleep is the
     * article's (a slow database); it makes the window wide. */
    if (!turnstile_on)
        sleep_us(UPDATE_WAIT_US);
    TURNSTILE_STEP();
    balances[bank] = before + change;   /* write */
    TURNSTILE_SAY("%s %ld: bank_%d=%ld", change < 0 ? "withdraw" : "deposit",
                  change < 0 ? -change : change, bank + 1, before + change);
    if (!turnstile_on)
        sleep_us(UPDATE_WAIT_US);
}

/* One transfer: the article's run_transaction().  TURNSTILE_LOCK is
 * pthread_mutex_lock with its return checked (pthread calls return an
 * error number; they do not set errno), and one step for the turnstile,
 * which is told which mutex so that it knows who waits. */
static void run_transaction(const struct transfer *transfer)
{
    pthread_mutex_t *first = &account_locks[transfer->first_lock];
    pthread_mutex_t *second = &account_locks[transfer->second_lock];

    verify_user();                      /* 100 ms: other threads run */
    if (transfer->lock == LOCK_MUTEX) { /* the fix: one transfer at once */
        /* TASK lab8.transfer: take transaction_lock, so that the whole
         * transfer -- both banks -- happens while no other transfer
         * runs.  The handout takes no lock (for the turnstile, a step
         * that holds nothing): the sum breaks.
         *     TURNSTILE_STEP();
         *     TURNSTILE_SAY("take no lock");
         */
        TURNSTILE_LOCK(&transaction_lock, "take lock transaction");
        /* END TASK lab8.transfer */
    }
    if (transfer->lock == LOCK_PER_ACCOUNT) {
        /* only transfers that share a bank wait for each other; which of
         * the two banks is locked first is --order's question */
        TURNSTILE_LOCK(first, "take lock bank_%d", transfer->first_lock + 1);
        TURNSTILE_LOCK(second, "take lock bank_%d",
                       transfer->second_lock + 1);
    }
    update_bank(transfer->from, -transfer->amount);
    /* Here the money has left one bank and not reached the other: the
     * sum is wrong until the next line.  The lock hides this too. */
    update_bank(transfer->to, transfer->amount);
    if (transfer->lock == LOCK_MUTEX) {
        /* TASK lab8.transfer: release it, once both banks are written.
         *     TURNSTILE_STEP();
         *     TURNSTILE_SAY("release no lock");
         */
        TURNSTILE_UNLOCK(&transaction_lock, "release lock transaction");
        /* END TASK lab8.transfer */
    }
    if (transfer->lock == LOCK_PER_ACCOUNT) {
        TURNSTILE_UNLOCK(second, "release lock bank_%d",
                         transfer->second_lock + 1);
        TURNSTILE_UNLOCK(first, "release lock bank_%d",
                         transfer->first_lock + 1);
    }
    transfer_dot(transfer);
}

static void run_sync(struct transfer *transfers, long count)
{
    for (long i = 0; i < count && !interrupt_requested(); i++) {
        transfers[i].start_us = program_us();
        run_transaction(&transfers[i]);
        transfers[i].end_us = program_us();
    }
}

/* The thread function: one transfer. */
static void *transfer_thread(void *arg)
{
    struct transfer *transfer = arg;

    turnstile_enter((int)transfer->index);
    transfer->start_us = program_us();
    run_transaction(transfer);
    transfer->end_us = program_us();
    turnstile_leave();
    return NULL;
}

/* One thread per transfer, all started at once; returns how many
 * started.  A thread the system cannot give (pthread_create returns
 * EAGAIN under a process limit) is said once, and the run carries on. */
static long start_threads(struct transfer *transfers, long count)
{
    int s;

    for (long i = 0; i < count; i++) {
        s = pthread_create(&transfers[i].thread, NULL, transfer_thread,
                           &transfers[i]);
        if (s != 0) {
            error_report("cannot start a thread for transfer %ld of %ld: "
                         "%s; the main thread makes the rest", i + 1, count,
                         strerror(s));
            return i;
        }
    }
    return count;
}

static void run_threads(struct transfer *transfers, long count)
{
    long started = start_threads(transfers, count);

    for (long i = started; i < count; i++)
        transfer_thread(&transfers[i]);    /* starved: the main thread */
    /* ... then all joined; after Ctrl-C, threads deadlocked on their
     * locks are said and left behind (lib/transfers.c) */
    join_transfer_threads(transfers, started);
}

/* ====== async: tasks on the event loop, loop timers ====== */

/* The awaits below are TASK_PAUSE (an `await asyncio.sleep(us)`) and
 * TASK_TAKE (asyncio.Lock's acquire), with task_give to release: on the
 * loop they are task.h's TASK_SLEEP and TASK_LOCK; when --explore plays
 * the loop (labs/interleave/explore.h) they only hand control back to
 * the explorer, which chooses the task that goes on. */

/* One transfer as a cooperative task.  It runs without interruption
 * between two TASK_ waits; every TASK_PAUSE is an `await asyncio.sleep`,
 * where the loop runs the other tasks.  update_bank() is written out
 * twice because a task cannot call a function that itself waits. */
static int transfer_task(struct task *task)
{
    struct transfer *transfer = task->state;

    TASK_BEGIN(task);
    transfer->start_us = program_us();
    TASK_PAUSE(task, VERIFY_USER_US);           /* verify_user() */
    if (transfer->lock == LOCK_MUTEX)
        TASK_TAKE(task, &async_transaction_lock);
    if (transfer->lock == LOCK_PER_ACCOUNT) {
        TASK_TAKE(task, &async_account_locks[transfer->first_lock]);
        TASK_TAKE(task, &async_account_locks[transfer->second_lock]);
    }

    /* update_bank(from, -amount) */
    transfer->seen = balances[transfer->from];  /* read */
    /* DELIBERATE RACE with --lock none: the await between the read and
     * the write.  One thread, no preemption, and still a race: every
     * other task runs during this sleep, and any of them may write this
     * bank.  Only the lock keeps them out. */
    TASK_PAUSE(task, UPDATE_WAIT_US);
    balances[transfer->from] = transfer->seen - transfer->amount;
    TASK_PAUSE(task, UPDATE_WAIT_US);

    /* update_bank(to, +amount) */
    transfer->seen = balances[transfer->to];
    TASK_PAUSE(task, UPDATE_WAIT_US);
    balances[transfer->to] = transfer->seen + transfer->amount;
    TASK_PAUSE(task, UPDATE_WAIT_US);

    if (transfer->lock == LOCK_MUTEX)
        task_give(&async_transaction_lock);
    if (transfer->lock == LOCK_PER_ACCOUNT) {
        task_give(&async_account_locks[transfer->second_lock]);
        task_give(&async_account_locks[transfer->first_lock]);
    }
    transfer_dot(transfer);
    transfer->end_us = program_us();
    TASK_END(task);
}

/* One task per transfer, all spawned at once (asyncio.gather). */
static void run_async(struct transfer *transfers, long count)
{
    struct loop *loop = loop_create();

    if (loop == NULL)
        error_fatal("cannot create the event loop: %s", strerror(errno));
    for (long i = 0; i < count; i++) {
        if (task_spawn(loop, transfer_task, &transfers[i], i) == NULL)
            error_fatal("cannot start task %ld: out of memory", i);
    }
    loop_run(loop);                     /* returns when all have finished */
    loop_free(loop);
}

/* ====== Step by step: --schedule and --explore ====== */

static void balances_reset(void)
{
    for (long b = 0; b < bank_count; b++)
        balances[b] = START_BALANCE;
}

static long balances_sum(void)
{
    long sum = 0;

    for (long b = 0; b < bank_count; b++)
        sum += balances[b];
    return sum;
}

/* Before a controlled run, threads or tasks: every bank back to its
 * start, every async lock free. */
static void controlled_reset(void *context)
{
    (void)context;
    balances_reset();
    async_transaction_lock = (struct async_lock)ASYNC_LOCK_INIT;
    for (long b = 0; b < bank_count; b++)
        async_account_locks[b] = (struct async_lock)ASYNC_LOCK_INIT;
}

static long controlled_sum(void *context)
{
    (void)context;
    return balances_sum();
}

int main(int argc, char *argv[])
{
    static struct transfer transfers[MAX_TRANSFERS];
    struct settings settings;
    struct interleaving plan;
    char plan_text[3][160];
    struct timer timer;
    int status = 0;
    int s;

    error_init(argv[0]);
    interrupt_install();        /* before any thread: they inherit it */
    parse_options(argc, argv, &settings);
    if (settings.trace != NULL)
        trace_open(settings.trace);

    bank_count = settings.banks;
    for (long b = 0; b < bank_count; b++) {
        balances[b] = START_BALANCE;
        s = pthread_mutex_init(&account_locks[b], NULL);
        if (s != 0)
            error_fatal_errno(s, "pthread_mutex_init");
        async_account_locks[b] = (struct async_lock)ASYNC_LOCK_INIT;
    }
    make_transfers(&settings, transfers);
    /* --schedule and --explore: a thread per transfer, from the start */
    plan_transfers(&settings, transfers, &plan, plan_text);
    plan.thread = transfer_thread;
    plan.reset = controlled_reset;
    plan.measure = controlled_sum;
    plan.expected = bank_count * START_BALANCE;
    interleave_check(&plan, settings.schedule, settings.explore);

    printf("seed=%llu\n", (unsigned long long)settings.seed);
    if (settings.explore) {
        timer_start(&timer);
        explore_transfers(&settings, transfers, &plan, transfer_task);
        timer_print(&timer);
        if (trace_close() != 0)
            return EXIT_WORK_FAILED;
        if (interrupt_requested())
            return interrupt_exit_status();
        return 0;
    }
    print_balances("initial");
    fflush(stdout);                     /* the dots bypass stdio */

    timer_start(&timer);
    if (settings.schedule != NULL) {
        /* --schedule: one interleaving, each step printed */
        if (!settings.quiet)
            print_transfers(&settings, transfers);
        status = interleave_replay(&plan, settings.schedule,
                                   !settings.quiet);
    } else {
        switch (settings.mode) {
        case MODE_SYNC:
            run_sync(transfers, settings.transfers);
            break;
        case MODE_THREADS:
            run_threads(transfers, settings.transfers);
            break;
        case MODE_ASYNC:
            run_async(transfers, settings.transfers);
            break;
        }
        if (!settings.quiet)
            printf("\n");               /* after the dots */
    }

    /* Every thread is joined (or the loop has finished): reading the
     * balances now races with nothing. */
    print_balances("final");
    long sum = balances_sum();
    /* red on a terminal when the invariant broke (color.h) */
    const char *red = sum != bank_count * START_BALANCE
                      ? color_failure(STDOUT_FILENO) : "";
    printf("%ssum=%ld%s\n", red, sum, red[0] ? color_end(STDOUT_FILENO) : "");
    long made = 0;
    for (long i = 0; i < settings.transfers; i++)
        made += transfers[i].end_us != 0;
    interrupt_report((size_t)made, (size_t)settings.transfers, "transfers");
    timer_print(&timer);

    for (long i = 0; i < settings.transfers; i++)
        trace_transfer(&transfers[i],
                        settings.mode == MODE_SYNC ? 0 : i);
    if (trace_close() != 0)
        return EXIT_WORK_FAILED;
    if (interrupt_requested())
        return interrupt_exit_status();
    return status;
}
/* SPDX-License-Identifier: MIT */
