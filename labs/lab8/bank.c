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
 * Compare with labs/lab7/race_condition.c, where the shared data is one
 * counter and the window between read and write is a busy loop.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "color.h"
#include "error.h"
#include "task.h"
#include "options.h"
#include "timer.h"
#include "trace.h"

#define MAX_BANKS 100
#define MAX_TRANSFERS 1000      /* threads mode makes one thread each */
#define START_BALANCE 1000      /* every bank's balance at the start */
#define MAX_AMOUNT 100          /* transfers move 1 .. MAX_AMOUNT */
#define VERIFY_USER_US 100000   /* verify_user(): 100 ms */
#define UPDATE_WAIT_US 100      /* update_bank(): 0.1 ms, twice */

enum mode { MODE_SYNC, MODE_THREADS, MODE_ASYNC };
enum lock_mode { LOCK_NONE, LOCK_MUTEX };

static const char *const mode_names[] = { "sync", "threads", "async", NULL };
static const char *const lock_names[] = { "none", "mutex", NULL };

struct settings {
    enum mode mode;             /* --mode: how the transfers are run */
    enum lock_mode lock;        /* --lock: none, or one transaction lock */
    uint64_t seed;              /* --seed: makes the list of transfers */
    long transfers;             /* --transfers: how many */
    long banks;                 /* --banks: how many banks */
    bool quiet;                 /* --quiet: no dots */
    const char *trace;          /* --trace: CSV file, or NULL */
};

/* One transfer, made up front from the seed.  In threads mode it is also
 * the thread's argument; in async mode the task's state (its "locals"). */
struct transfer {
    long index;                 /* 0 .. transfers-1 */
    int from;                   /* sending bank (index into balances) */
    int to;                     /* receiving bank, never == from */
    long amount;                /* 1 .. MAX_AMOUNT */
    bool locked;                /* take the transaction lock (--lock mutex) */
    bool quiet;                 /* no dot when done */
    pthread_t thread;           /* threads mode: its thread */
    long seen;                  /* async mode: update_bank's balance read */
    int64_t start_us;           /* for the trace: program_us() at start */
    int64_t end_us;             /* ... and at the end */
};

/* ====== The shared data ====== */

/* The balances of bank_1 .. bank_N: the article's BANK_DATA.  Plain longs
 * shared by every thread or task; only the lock keeps updates apart. */
static long balances[MAX_BANKS];
static long bank_count;

/* threads mode: one lock for every transaction (the article's RLock; a
 * plain mutex is enough here -- see the README for when it is not). */
static pthread_mutex_t transaction_lock = PTHREAD_MUTEX_INITIALIZER;

/* async mode: the same idea for tasks (asyncio.Lock). */
static struct async_lock async_transaction_lock = ASYNC_LOCK_INIT;

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
           "  --lock none|mutex          a lock around each transfer's "
           "updates (none)\n"
           "  --seed N                   the transfers to make (random, "
           "printed)\n"
           "  --transfers N              how many transfers (20; 1 to %d)\n"
           "  --banks N                  how many banks of %d (5; 2 to %d)\n"
           "  --trace FILE               write one CSV row per transfer\n"
           "  --color WHEN               colour: auto, always, never (auto)\n"
           "  -q, --quiet                no dot per transfer\n"
           "  -h, --help                 show this help\n",
           MAX_TRANSFERS, START_BALANCE, MAX_BANKS);
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

static void parse_options(int argc, char *argv[], struct settings *settings)
{
    static const struct option options[] = {
        { "mode", required_argument, NULL, 'm' },
        { "lock", required_argument, NULL, 'l' },
        { "seed", required_argument, NULL, 's' },
        { "transfers", required_argument, NULL, 'n' },
        { "banks", required_argument, NULL, 'b' },
        COMMON_LONG_OPTIONS,
        { NULL, 0, NULL, 0 },
    };
    bool seed_given = false;
    int c;

    *settings = (struct settings){
        .mode = MODE_SYNC, .lock = LOCK_NONE, .transfers = 20, .banks = 5,
    };
    opterr = 0;
    while ((c = getopt_long(argc, argv, COMMON_SHORT_OPTIONS, options,
                            NULL)) != -1) {
        switch (c) {
        case 'm':
            settings->mode = option_choice("--mode", optarg, mode_names);
            break;
        case 'l':
            settings->lock = option_choice("--lock", optarg, lock_names);
            break;
        case 's':
            settings->seed = option_long("--seed", optarg, 0, LONG_MAX);
            seed_given = true;
            break;
        case 'n':
            settings->transfers = option_long("--transfers", optarg, 1,
                                              MAX_TRANSFERS);
            break;
        case 'b':
            settings->banks = option_long("--banks", optarg, 2, MAX_BANKS);
            break;
        case 'h': usage(); exit(0);
        default:                /* --trace, --color, -q, or unknown */
            option_common(c, optarg, &settings->quiet, &settings->trace,
                          argv);
        }
    }
    option_no_operands(argc, argv);
    if (!seed_given)
        settings->seed = random_seed();
}

/* ====== The transfers, made up front from the seed ====== */

/* Fill transfers[] from the seed: two different banks, 1..100 moved. */
static void make_transfers(const struct settings *settings,
                           struct transfer *transfers)
{
    uint64_t state = settings->seed;

    for (long i = 0; i < settings->transfers; i++) {
        struct transfer *transfer = &transfers[i];
        int from = (int)(splitmix64(&state) % (uint64_t)settings->banks);
        /* any bank but `from`: step 1 .. banks-1 places along */
        int step = 1 + (int)(splitmix64(&state)
                             % (uint64_t)(settings->banks - 1));

        *transfer = (struct transfer){
            .index = i,
            .from = from,
            .to = (int)((from + step) % settings->banks),
            .amount = 1 + (long)(splitmix64(&state) % MAX_AMOUNT),
            .locked = settings->lock == LOCK_MUTEX,
            .quiet = settings->quiet,
        };
    }
}

/* Print "name={'bank_1': 1000, 'bank_2': 1000, ...}" like a Python dict. */
static void print_balances(const char *name)
{
    printf("%s={", name);
    for (long b = 0; b < bank_count; b++)
        printf("%s'bank_%ld': %ld", b ? ", " : "", b + 1, balances[b]);
    printf("}\n");
}

/* One '.' per finished transfer, as it happens.  A single write(2): no
 * stdio buffer shared between threads, nothing to flush. */
static void print_dot(const struct transfer *transfer)
{
    if (transfer->quiet)
        return;
    ssize_t written = write(STDOUT_FILENO, ".", 1);
    (void)written;              /* a lost dot is not worth stopping for */
}

static void record_transfer(const struct transfer *transfer, long worker)
{
    char label[64];

    snprintf(label, sizeof label, "bank_%d->bank_%d %ld", transfer->from + 1,
             transfer->to + 1, transfer->amount);
    trace_record(transfer->index, worker, label, transfer->start_us,
                 transfer->end_us, "ok");
}

/* ====== sync and threads: real sleeps ====== */

/* Simulate checking the customer with some slow service. */
static void verify_user(void)
{
    sleep_us(VERIFY_USER_US);
}

/* Add change to one bank's balance: read, wait, write, wait. */
static void update_bank(int bank, long change)
{
    long before = balances[bank];       /* read */
    /* DELIBERATE RACE with --lock none: between this read and the write
     * below, `before` may go stale -- another thread can write this bank
     * meanwhile, and its update is then overwritten.  The sleep is the
     * article's (a slow database); it makes the window wide. */
    sleep_us(UPDATE_WAIT_US);
    balances[bank] = before + change;   /* write */
    sleep_us(UPDATE_WAIT_US);
}

/* One transfer: the article's run_transaction(). */
static void run_transaction(const struct transfer *transfer)
{
    int s;                      /* pthread calls return an error number;
                                   they do not set errno */

    verify_user();                      /* 100 ms: other threads run */
    if (transfer->locked) {             /* the fix: one transfer at once */
        s = pthread_mutex_lock(&transaction_lock);
        if (s != 0)
            error_fatal_errno(s, "pthread_mutex_lock");
    }
    update_bank(transfer->from, -transfer->amount);
    /* Here the money has left one bank and not reached the other: the
     * sum is wrong until the next line.  The lock hides this too. */
    update_bank(transfer->to, transfer->amount);
    if (transfer->locked) {
        s = pthread_mutex_unlock(&transaction_lock);
        if (s != 0)
            error_fatal_errno(s, "pthread_mutex_unlock");
    }
    print_dot(transfer);
}

static void run_sync(struct transfer *transfers, long count)
{
    for (long i = 0; i < count; i++) {
        transfers[i].start_us = program_us();
        run_transaction(&transfers[i]);
        transfers[i].end_us = program_us();
    }
}

/* The thread function: one transfer. */
static void *transfer_thread(void *arg)
{
    struct transfer *transfer = arg;

    transfer->start_us = program_us();
    run_transaction(transfer);
    transfer->end_us = program_us();
    return NULL;
}

/* One thread per transfer, all started at once, then all joined. */
static void run_threads(struct transfer *transfers, long count)
{
    int s;

    for (long i = 0; i < count; i++) {
        s = pthread_create(&transfers[i].thread, NULL, transfer_thread,
                           &transfers[i]);
        if (s != 0)
            error_fatal_errno(s, "pthread_create");
    }
    for (long i = 0; i < count; i++) {
        s = pthread_join(transfers[i].thread, NULL);
        if (s != 0)
            error_fatal_errno(s, "pthread_join");
    }
}

/* ====== async: tasks on the event loop, loop timers ====== */

/* One transfer as a cooperative task.  It runs without interruption
 * between two TASK_ waits; every TASK_SLEEP is an `await asyncio.sleep`,
 * where the loop runs the other tasks.  update_bank() is written out
 * twice because a task cannot call a function that itself waits. */
static int transfer_task(struct task *task)
{
    struct transfer *transfer = task->state;

    TASK_BEGIN(task);
    transfer->start_us = program_us();
    TASK_SLEEP(task, VERIFY_USER_US);           /* verify_user() */
    if (transfer->locked)
        TASK_LOCK(task, &async_transaction_lock);

    /* update_bank(from, -amount) */
    transfer->seen = balances[transfer->from];  /* read */
    /* DELIBERATE RACE with --lock none: the await between the read and
     * the write.  One thread, no preemption, and still a race: every
     * other task runs during this sleep, and any of them may write this
     * bank.  Only the lock keeps them out. */
    TASK_SLEEP(task, UPDATE_WAIT_US);
    balances[transfer->from] = transfer->seen - transfer->amount;
    TASK_SLEEP(task, UPDATE_WAIT_US);

    /* update_bank(to, +amount) */
    transfer->seen = balances[transfer->to];
    TASK_SLEEP(task, UPDATE_WAIT_US);
    balances[transfer->to] = transfer->seen + transfer->amount;
    TASK_SLEEP(task, UPDATE_WAIT_US);

    if (transfer->locked)
        async_lock_release(&async_transaction_lock);
    print_dot(transfer);
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

int main(int argc, char *argv[])
{
    static struct transfer transfers[MAX_TRANSFERS];
    struct settings settings;
    struct timer timer;
    long sum = 0;

    error_init(argv[0]);
    parse_options(argc, argv, &settings);
    if (settings.trace != NULL)
        trace_open(settings.trace);

    bank_count = settings.banks;
    for (long b = 0; b < bank_count; b++)
        balances[b] = START_BALANCE;
    make_transfers(&settings, transfers);

    printf("seed=%llu\n", (unsigned long long)settings.seed);
    print_balances("initial");
    fflush(stdout);                     /* the dots bypass stdio */

    timer_start(&timer);
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

    /* Every thread is joined (or the loop has finished): reading the
     * balances now races with nothing. */
    if (!settings.quiet)
        printf("\n");
    print_balances("final");
    for (long b = 0; b < bank_count; b++)
        sum += balances[b];
    /* red on a terminal when the invariant broke (color.h) */
    const char *red = sum != bank_count * START_BALANCE
                      ? color_failure(STDOUT_FILENO) : "";
    printf("%ssum=%ld%s\n", red, sum, red[0] ? color_end(STDOUT_FILENO) : "");
    timer_print(&timer);

    for (long i = 0; i < settings.transfers; i++)
        record_transfer(&transfers[i],
                        settings.mode == MODE_SYNC ? 0 : i);
    if (trace_close() != 0)
        return EXIT_WORK_FAILED;
    return 0;
}
