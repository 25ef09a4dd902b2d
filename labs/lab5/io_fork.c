/* io_fork.c -- download every site on a pool of fork()ed worker processes,
 * each with its own session made by an initializer.
 *
 * The parent fork()s N workers (default: the number of online CPUs), like
 * Python's ProcessPoolExecutor.  A worker is a copy of the parent: same
 * code, same site list, but its own memory from then on.  So a session
 * cannot be shared between workers; each worker makes one, once, in
 * worker_initializer() right after the fork and before it takes any work
 * (the tutorial's initializer=), and reuses it for every download.
 *
 * Processes do not share variables, so the parent and the workers talk
 * through pipes (the IPC that multiprocessing hides from you):
 *
 *            job pipe K: one index      +--------------------------+
 *   parent  ------------------------->  | ForkProcess-K: download  |
 *   (hands  <-------------------------  | sites->urls[index]       |
 *   out,    result pipe K: one record   +--------------------------+
 *   prints,
 *   totals)   ... the same pair for every worker ...
 *
 * Each worker has its own pair.  The parent gives a worker one download
 * at a time and the next one only when that worker's result comes back,
 * so the work is spread dynamically (a worker stuck on a slow site does
 * not hold up a queue of others), and at any moment the parent knows
 * exactly which download each worker holds.  When a worker dies, that
 * one download is reported as lost and the rest go to the survivors.
 *
 * Run:    make lab5 && ./io_fork
 *         ./io_fork --workers 8
 *
 * Watch:  the time against io_threads' (5 threads) and io_sync's; try
 *         `kill -9` on one worker (ps --ppid $(pgrep -n io_fork)) mid-run.
 *
 * Signals: only the parent listens for SIGINT/SIGTERM (common/interrupt.h:
 * its loop polls interrupt_fd() beside the result pipes).  The workers
 * ignore both -- Ctrl-C signals the whole process group, and a worker
 * killed by it would look like a crash to a parent that has not seen its
 * own signal yet -- and the parent stops them itself with SIGUSR1: each
 * abandons its download (libcurl's progress callback), sends it back as
 * `cancelled` and exits when its job pipe is closed.  A worker still
 * there after STOP_GRACE_MS is killed, and PR_SET_PDEATHSIG kills every
 * worker whose parent died outright: no child is ever left behind.
 *
 * Compare with labs/lab3/io_threads.c (threads share one memory, one
 * session per thread) and labs/lab4/io_async.c (one thread, one loop).
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"
#include "fd_limit.h"
#include "http.h"
#include "interrupt.h"
#include "io_options.h"
#include "io_run.h"
#include "pipe.h"
#include "sites.h"
#include "timer.h"
#include "trace.h"

#define MAX_WORKERS 256
#define STOP_SIGNAL SIGUSR1     /* parent -> worker: abandon your download */
#define STOP_GRACE_MS 3000      /* then a worker still there is killed */

/* ====== The messages on the pipes ======
 *
 * Every message is a fixed-size struct, sent with pipe_write_all() and
 * read with pipe_read_exact() (common/pipe.h).  POSIX makes a write of at
 * most PIPE_BUF bytes (4096 on Linux) to a pipe atomic: its bytes land in the
 * pipe all together or not at all, never split and never mixed with
 * another write.  So the pipe always holds whole records, a read of one
 * record's size returns one whole record, and a worker killed in the
 * middle of a write() leaves either its whole record or nothing -- never
 * half a record for the parent to misread.
 *
 * Both processes hold the same site list (fork copied it), so a job
 * only needs the index of the URL, not the URL itself. */

struct job_record {             /* parent -> worker: "download this" */
    uint32_t index;             /* index into sites->urls */
};

struct download_record {        /* worker -> parent: "this is how it went" */
    uint32_t index;             /* the job's index */
    uint32_t ok;                /* 1: downloaded, 0: failed */
    uint32_t cancelled;         /* 1: abandoned when told to stop */
    uint64_t bytes;             /* body bytes received */
    int64_t start_us;           /* program_us() when the download began */
    int64_t end_us;             /* program_us() when it ended */
    char error[224];            /* "HTTP 503" or curl's error text */
};

_Static_assert(sizeof(struct job_record) <= PIPE_BUF,
               "a job must fit in one atomic pipe write");
_Static_assert(sizeof(struct download_record) <= PIPE_BUF,
               "a result must fit in one atomic pipe write");

/* ====== The parent's view of the pool ====== */

struct worker {
    int number;                 /* K of ForkProcess-K: 1 .. workers */
    pid_t pid;                  /* its process id; 0 once reaped */
    int job_fd;                 /* write end of its job pipe, -1: closed */
    int result_fd;              /* read end of its result pipe, -1: gone */
    long current;               /* index it is downloading, -1: none */
    int64_t handed_us;          /* program_us() when current was handed */
};

struct pool {
    const struct io_settings *settings;    /* read-only */
    const struct site_list *sites;      /* read-only */
    struct worker *workers;     /* started workers, [0] is ForkProcess-1 */
    long started;               /* how many were started */
    long alive;                 /* how many have not been reaped yet */
    size_t next;                /* next index never handed out */
    size_t done;                /* downloads that succeeded */
    size_t failed;              /* downloads that failed or were lost */
    size_t bytes;               /* body bytes of the successful ones */
    bool worker_failed;         /* a worker died or exited badly */
    bool stopping;              /* interrupted: the workers were told */
    int64_t stop_us;            /* program_us() when they were told */
};

/* This process's session.  A global, as in the tutorial: after fork()
 * every worker has its own copy of this variable, set by its own
 * worker_initializer().  It stays NULL in the parent. */
static CURL *session;

static long default_workers(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    if (cpus < 1)
        return 1;
    return cpus > MAX_WORKERS ? MAX_WORKERS : cpus;
}

static void parse_options(int argc, char *argv[],
                          struct io_settings *settings)
{
    struct io_program program = {
        .name = "io_fork",
        .summary = "Download every site on a pool of fork()ed processes, "
                   "one session per process.",
        .knob = "workers",
        .knob_help = "number of processes, one per CPU by default",
        .knob_default = default_workers(),
        .knob_max = MAX_WORKERS,
        .epilogue = "Exit status: 0 all downloaded; 1 some download failed "
                    "or a worker died;\n2 bad usage; 130 or 143 stopped by "
                    "SIGINT or SIGTERM (the workers are\nstopped and reaped "
                    "first).\n",
    };

    io_parse_options(argc, argv, &program, settings);
}

/* ====== The worker process ====== */

/* Runs once in each new worker, before it takes any work: the tutorial's
 * initializer.  The handle is made here, after the fork, so it belongs to
 * this process alone -- a handle must never cross a fork: two processes
 * using copies of one handle would share its open connections (the same
 * sockets, the same TLS state) and garble each other's transfers. */
static void worker_initializer(const struct io_settings *settings)
{
    /* TASK lab5.initializer: make this worker's session, once, unless
     * --no-session.  The handout leaves session NULL, so download_site()
     * makes a handle for every download:
     *     (void)settings;
     */
    if (!settings->no_session)
        session = http_easy_new(settings->timeout);
    /* END TASK lab5.initializer */
}

/* Download one URL and describe the outcome in result (no printing: the
 * parent prints every line). */
static void download_site(const struct io_settings *settings, const char *url,
                          struct download_record *result)
{
    CURL *handle = session;
    size_t bytes = 0;
    long http_status = 0;

    if (handle == NULL)
        handle = http_easy_new(settings->timeout);      /* no reuse */
    curl_easy_setopt(handle, CURLOPT_URL, url);
    curl_easy_setopt(handle, CURLOPT_WRITEDATA, &bytes);

    result->start_us = program_us();
    CURLcode code = curl_easy_perform(handle);      /* this process waits */
    result->end_us = program_us();
    result->bytes = bytes;

    /* the same judgement as http_check(), as text for the parent */
    if (http_cancelled(code)) {
        result->cancelled = 1;  /* told to stop: not the site's fault */
        snprintf(result->error, sizeof result->error, "cancelled");
    } else if (code != CURLE_OK) {
        http_failure_text(handle, code, url, result->error,
                          sizeof result->error);
    } else {
        curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &http_status);
        if (http_status >= 400)
            snprintf(result->error, sizeof result->error, "HTTP %ld",
                     http_status);
    }
    result->ok = result->error[0] == '\0';

    if (handle != session)
        curl_easy_cleanup(handle);
}

/* The body of ForkProcess-K: set up, then download what the parent sends
 * until it closes the job pipe.  Never returns. */
static void worker_main(const struct pool *pool, int job_fd, int result_fd)
{
    const struct io_settings *settings = pool->settings;
    struct job_record job;

    worker_initializer(settings);       /* once, before any work */

    while (pipe_read_exact(job_fd, &job, sizeof job) == 1) {
        struct download_record result = { .index = job.index };

        if (interrupt_requested()) {    /* told to stop: start nothing */
            result.cancelled = 1;
            result.start_us = result.end_us = program_us();
        } else {
            download_site(settings, pool->sites->urls[job.index], &result);
        }
        if (pipe_write_all(result_fd, &result, sizeof result) != 0)
            break;                      /* the parent is gone */
    }

    if (session != NULL)
        curl_easy_cleanup(session);     /* closes this worker's connections */
    /* _exit, not exit: exit() would flush stdio buffers this process
     * copied from the parent (the trace file's, say) a second time. */
    _exit(0);
}

/* ====== Starting the workers ====== */

/* The new child's first steps: undo what it inherited and does not want,
 * then become a worker. */
static void become_worker(const struct pool *pool, long k, int job[2],
                          int result[2], pid_t parent)
{
    /* fork() copied every open file descriptor.  Close the parent's ends
     * of this worker's pipes, and the parent's ends of the earlier
     * workers' pipes: while anyone else holds a job pipe's write end,
     * that worker would never see end of file when the parent closes it. */
    close(job[1]);
    close(result[0]);
    for (long j = 0; j < k; j++) {
        close(pool->workers[j].job_fd);
        close(pool->workers[j].result_fd);
    }

    /* Signals: Ctrl-C is for the parent; a worker stops when the parent
     * sends STOP_SIGNAL, and dies with its parent (SIGKILL: it ignores
     * SIGTERM), so it can never be left behind on a slow download. */
    interrupt_install_worker(STOP_SIGNAL);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(1);                       /* the parent died before prctl */

    worker_main(pool, job[0], result[1]);
}

/* Fork ForkProcess-(k+1).  Returns 0, or -1 if it could not be made. */
static int start_worker(struct pool *pool, long k)
{
    int job[2], result[2];
    pid_t parent = getpid();

    if (pipe(job) != 0)
        return -1;
    if (pipe(result) != 0) {
        close(job[0]);
        close(job[1]);
        return -1;
    }

    fflush(NULL);           /* leave no buffered output for a copy to repeat */
    pid_t pid = fork();
    if (pid < 0) {
        int saved = errno;
        close(job[0]);
        close(job[1]);
        close(result[0]);
        close(result[1]);
        errno = saved;
        return -1;
    }
    if (pid == 0)
        become_worker(pool, k, job, result, parent);

    /* parent: keep the write end of the job pipe, the read end of the
     * result pipe; the worker's ends are the worker's alone */
    close(job[0]);
    close(result[1]);
    pool->workers[k] = (struct worker){
        .number = (int)k + 1, .pid = pid, .job_fd = job[1],
        .result_fd = result[0], .current = -1,
    };
    pool->started++;
    pool->alive++;
    return 0;
}

/* ====== The parent: hand out work, collect results ====== */

/* Give an idle worker its next download, or tell it there is no more
 * work by closing its job pipe (it sees end of file and exits). */
static void hand_out_next(struct pool *pool, struct worker *worker)
{
    if (worker->job_fd < 0)
        return;
    if (!pool->stopping && pool->next < pool->sites->count) {
        struct job_record job = { .index = (uint32_t)pool->next };
        worker->handed_us = program_us();
        if (pipe_write_all(worker->job_fd, &job, sizeof job) == 0) {
            worker->current = (long)pool->next++;
            return;
        }
        /* EPIPE: the worker has died; its end of file on the result pipe
         * follows, and this download stays for another worker */
    }
    close(worker->job_fd);
    worker->job_fd = -1;
}

/* Count, print and trace one finished download. */
static void record_result(struct pool *pool, struct worker *worker,
                          const struct download_record *result)
{
    const char *url = pool->sites->urls[result->index];

    if (result->cancelled && pool->stopping) {
        trace_record(result->index, worker->number, url, result->start_us,
                     result->end_us, "cancelled");
        return;                 /* we asked for it: nothing to report */
    }
    trace_record(result->index, worker->number, url, result->start_us,
                 result->end_us, result->ok ? "ok" : "failed");
    if (result->ok) {
        pool->done++;
        pool->bytes += result->bytes;
        if (!pool->settings->quiet)
            print_worker_line(worker->number,
                              "ForkProcess-%d:Read %llu bytes from %s",
                              worker->number,
                              (unsigned long long)result->bytes, url);
    } else {
        pool->failed++;
        error_report("%s: %s", url, result->error);
    }
}

/* A worker's result pipe reached end of file: the worker has exited or
 * died.  Reap it (no zombie stays behind) and account for what it held. */
static void worker_gone(struct pool *pool, struct worker *worker)
{
    int status = 0;

    close(worker->result_fd);
    worker->result_fd = -1;
    if (worker->job_fd >= 0) {
        close(worker->job_fd);
        worker->job_fd = -1;
    }
    /* TASK lab5.reap: wait for the worker (waitpid, again when a signal
     * interrupts it) so that it leaves no zombie, and status says how it
     * ended.  The handout never waits: the dead worker stays a zombie
     * until io_fork ends, and its death goes unreported:
     *     status = 0;
     */
    pid_t reaped;
    do
        reaped = waitpid(worker->pid, &status, 0);
    while (reaped < 0 && errno == EINTR);
    if (reaped < 0)
        error_fatal("waitpid ForkProcess-%d: %s", worker->number,
                    strerror(errno));
    /* END TASK lab5.reap */
    worker->pid = 0;
    pool->alive--;

    bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    if (pool->stopping)
        clean = true;       /* we stopped it ourselves: nothing to report */
    else if (WIFSIGNALED(status))
        error_report("ForkProcess-%d died (signal %d)", worker->number,
                     WTERMSIG(status));
    else if (!clean)
        error_report("ForkProcess-%d exited with status %d", worker->number,
                     WEXITSTATUS(status));
    if (!clean)
        pool->worker_failed = true;

    /* the download it had taken and not finished: failed, and said so
     * (or, when we were stopping it, cancelled) */
    if (worker->current >= 0) {
        const char *url = pool->sites->urls[worker->current];
        if (!pool->stopping) {
            error_report("%s: lost: ForkProcess-%d died before finishing it",
                         url, worker->number);
            pool->failed++;
        }
        trace_record(worker->current, worker->number, url,
                     worker->handed_us, program_us(),
                     pool->stopping ? "cancelled" : "lost");
        worker->current = -1;
    }

    /* no worker left: whatever was never handed out fails too */
    if (pool->alive == 0 && !pool->stopping) {
        for (; pool->next < pool->sites->count; pool->next++) {
            error_report("%s: not downloaded: no worker left",
                         pool->sites->urls[pool->next]);
            pool->failed++;
        }
    }
}

/* Read what one worker sent: a result, or end of file. */
static void collect_from(struct pool *pool, struct worker *worker)
{
    struct download_record result;
    int got = pipe_read_exact(worker->result_fd, &result, sizeof result);

    if (got == 1 && (long)result.index == worker->current) {
        worker->current = -1;
        record_result(pool, worker, &result);
        hand_out_next(pool, worker);
        return;
    }
    if (got != 0) {
        /* cannot happen with whole-record writes; never trust it though */
        error_report("ForkProcess-%d sent a bad record: stopping it",
                     worker->number);
        kill(worker->pid, SIGKILL);
    }
    worker_gone(pool, worker);
}

/* The first SIGINT/SIGTERM: stop handing out work, close every job pipe
 * (an idle worker sees end of file and exits) and tell every worker to
 * abandon the download it holds; its `cancelled` record comes back and
 * it is reaped as usual. */
static void stop_workers(struct pool *pool)
{
    pool->stopping = true;
    pool->stop_us = program_us();
    for (long k = 0; k < pool->started; k++) {
        struct worker *worker = &pool->workers[k];
        if (worker->job_fd >= 0) {
            close(worker->job_fd);
            worker->job_fd = -1;
        }
        if (worker->pid > 0)
            kill(worker->pid, STOP_SIGNAL);
    }
}

/* A worker that has not gone STOP_GRACE_MS after being told (stuck where
 * libcurl does not call back) is killed; worker_gone() then reaps it. */
static void kill_stragglers(struct pool *pool)
{
    for (long k = 0; k < pool->started; k++)
        if (pool->workers[k].pid > 0)
            kill(pool->workers[k].pid, SIGKILL);
}

/* Wait for results from every live worker at once until all are gone. */
static void run_pool(struct pool *pool)
{
    /* one slot per worker, and one for the interrupt pipe */
    struct pollfd *fds = calloc(pool->started + 1, sizeof *fds);
    struct worker **owner = calloc(pool->started + 1, sizeof *owner);
    bool stragglers_killed = false;

    if (fds == NULL || owner == NULL)
        error_fatal("out of memory");

    for (long k = 0; k < pool->started; k++)
        hand_out_next(pool, &pool->workers[k]);     /* one each to start */

    while (pool->alive > 0) {
        nfds_t count = 0;
        int timeout_ms = -1;
        if (!pool->stopping) {
            /* readable once SIGINT/SIGTERM came (and then for good: so
             * it is watched only until we act on it) */
            fds[count] = (struct pollfd){
                .fd = interrupt_fd(), .events = POLLIN,
            };
            owner[count++] = NULL;
        } else if (!stragglers_killed) {
            int64_t waited_ms = (program_us() - pool->stop_us) / 1000;
            timeout_ms = waited_ms >= STOP_GRACE_MS
                             ? 0 : (int)(STOP_GRACE_MS - waited_ms);
        }
        for (long k = 0; k < pool->started; k++) {
            if (pool->workers[k].result_fd >= 0) {
                fds[count] = (struct pollfd){
                    .fd = pool->workers[k].result_fd, .events = POLLIN,
                };
                owner[count++] = &pool->workers[k];
            }
        }

        /* sleep until a worker writes or closes, or a signal comes */
        int ready = poll(fds, count, timeout_ms);
        if (ready < 0 && errno != EINTR)
            error_fatal("poll: %s", strerror(errno));
        /* the flag first: a worker's news is read in the light of it */
        if (interrupt_requested() && !pool->stopping)
            stop_workers(pool);
        if (ready == 0 && pool->stopping && !stragglers_killed) {
            kill_stragglers(pool);
            stragglers_killed = true;
        }
        if (ready <= 0)
            continue;

        for (nfds_t i = 0; i < count; i++)
            if (fds[i].revents != 0 && owner[i] != NULL)
                collect_from(pool, owner[i]);   /* POLLIN, or POLLHUP */
    }
    free(owner);
    free(fds);
}

static void download_all_sites(struct pool *pool)
{
    sigset_t stop_signal;

    /* STOP_SIGNAL stays blocked here (the parent never wants it) and in
     * every new worker until interrupt_install_worker() has its handler
     * in place: a worker told to stop early must not die of it. */
    sigemptyset(&stop_signal);
    sigaddset(&stop_signal, STOP_SIGNAL);
    sigprocmask(SIG_BLOCK, &stop_signal, NULL);
    /* a write to a dead worker's pipe must return EPIPE, not kill us
     * (the workers keep this too: a parent that is gone means EPIPE) */
    signal(SIGPIPE, SIG_IGN);
    /* and waitpid() needs SIGCHLD at its default: if whoever started us
     * left it ignored, the kernel would reap the workers by itself */
    signal(SIGCHLD, SIG_DFL);

    pool->workers = calloc(pool->settings->concurrency, sizeof *pool->workers);
    if (pool->workers == NULL)
        error_fatal("out of memory");
    for (long k = 0; k < pool->settings->concurrency; k++) {
        if (start_worker(pool, k) == 0)
            continue;
        if (k > 0) {
            /* starved (ulimit -u, memory): said once, not a failure of
             * the work -- the workers we got do it all */
            error_report("cannot start ForkProcess-%ld: %s: carrying on "
                         "with %ld of %ld workers", k + 1, strerror(errno),
                         k, pool->settings->concurrency);
        } else {
            /* not one: every download fails, and main() still prints
             * the summary and the timer line of the attempt */
            error_report("cannot start ForkProcess-1: %s: no worker, none "
                         "of %zu downloads done", strerror(errno),
                         pool->sites->count);
            pool->failed = pool->sites->count;
        }
        break;
    }
    if (pool->started > 0)
        run_pool(pool);
    free(pool->workers);
    pool->workers = NULL;

    /* interrupted: the downloads never handed out are cancelled (or,
     * with no worker at all, failed) */
    for (; pool->next < pool->sites->count; pool->next++) {
        int64_t now = program_us();
        trace_record((long)pool->next, 0, pool->sites->urls[pool->next],
                     now, now, pool->started > 0 ? "cancelled" : "failed");
    }
}

int main(int argc, char *argv[])
{
    struct io_settings settings;
    struct site_list sites;
    struct timer timer;

    error_init(argv[0]);
    interrupt_install();        /* the workers replace it with their own */
    parse_options(argc, argv, &settings);
    /* curl_global_init() (in io_run_start) once, in the parent, before
     * any fork: every worker inherits libcurl's initialised global state
     * (and the lab CA) and then makes its own handles -- none ever
     * crosses a fork. */
    io_run_start(&settings, &sites);
    /* the open-file limit is per process: a worker needs its two pipe
     * ends and its session; the parent two ends per worker, and two more
     * while it starts one (common/fd_limit.h) */
    fd_limit_fit(1, 2 + io_session_fds(&sites), 0, NULL);
    settings.concurrency = fd_limit_fit(settings.concurrency, 2, 2,
                                        "--workers");

    struct pool pool = { .settings = &settings, .sites = &sites };
    timer_start(&timer);                /* starting processes is work too */
    download_all_sites(&pool);
    int status = io_run_finish(&timer, &sites, pool.done, pool.failed,
                               pool.bytes);
    /* a worker that died is a failure even when every download it had
     * was counted */
    return status == 0 && pool.worker_failed ? EXIT_WORK_FAILED : status;
}
/* SPDX-License-Identifier: MIT */
