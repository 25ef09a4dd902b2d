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

#include "lib/workers.h"

/* This process's session.  A global, as in the tutorial: after fork()
 * every worker has its own copy of this variable, set by its own
 * worker_initializer().  It stays NULL in the parent. */
static CURL *session;

/* The records on the pipes (a job index one way, a download_record the
 * other, each one atomic write), struct worker and struct pool, and what
 * the parent does with a result or a death are in lib/workers.h. */

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
    pool_account_gone(pool, worker, status);   /* say it, fail its work */
}

/* Read what one worker sent: a result, or end of file. */
static void collect_from(struct pool *pool, struct worker *worker)
{
    struct download_record result;
    int got = pipe_read_exact(worker->result_fd, &result, sizeof result);

    if (got == 1 && (long)result.index == worker->current) {
        worker->current = -1;
        pool_record_result(pool, worker, &result);
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
            pool_stop_workers(pool);   /* STOP_SIGNAL to each */
        if (ready == 0 && pool->stopping && !stragglers_killed) {
            pool_kill_stragglers(pool);        /* SIGKILL */
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
        pool_start_failed(pool, k);     /* said once */
        break;
    }
    if (pool->started > 0)
        run_pool(pool);
    free(pool->workers);
    pool->workers = NULL;

    pool_trace_never_handed(pool);
}

int main(int argc, char *argv[])
{
    struct io_settings settings;
    struct site_list sites;
    struct timer timer;

    error_init(argv[0]);
    interrupt_install();        /* the workers replace it with their own */
    workers_parse_options(argc, argv, &settings);
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
