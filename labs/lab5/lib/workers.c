/* workers.c -- io_fork's pool bookkeeping (see workers.h). */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"
#include "io_run.h"
#include "timer.h"
#include "trace.h"
#include "workers.h"

static long default_workers(void)
{
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    if (cpus < 1)
        return 1;
    return cpus > MAX_WORKERS ? MAX_WORKERS : cpus;
}

void workers_parse_options(int argc, char *argv[],
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

void pool_record_result(struct pool *pool, const struct worker *worker,
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

void pool_account_gone(struct pool *pool, struct worker *worker, int status)
{
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

void pool_start_failed(struct pool *pool, long k)
{
    if (k > 0) {
        /* starved (ulimit -u, memory): said once, not a failure of the
         * work -- the workers we got do it all */
        error_report("cannot start ForkProcess-%ld: %s: carrying on "
                     "with %ld of %ld workers", k + 1, strerror(errno),
                     k, pool->settings->concurrency);
    } else {
        /* not one: every download fails, and main() still prints the
         * summary and the timer line of the attempt */
        error_report("cannot start ForkProcess-1: %s: no worker, none "
                     "of %zu downloads done", strerror(errno),
                     pool->sites->count);
        pool->failed = pool->sites->count;
    }
}

void pool_stop_workers(struct pool *pool)
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

void pool_kill_stragglers(struct pool *pool)
{
    for (long k = 0; k < pool->started; k++)
        if (pool->workers[k].pid > 0)
            kill(pool->workers[k].pid, SIGKILL);
}

void pool_trace_never_handed(struct pool *pool)
{
    for (; pool->next < pool->sites->count; pool->next++) {
        int64_t now = program_us();
        trace_record((long)pool->next, 0, pool->sites->urls[pool->next],
                     now, now, pool->started > 0 ? "cancelled" : "failed");
    }
}
/* SPDX-License-Identifier: MIT */
