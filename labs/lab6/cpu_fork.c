/* cpu_fork.c -- the CPU-bound jobs on a pool of fork()ed worker processes.
 *
 * Python's answer to CPU-bound work: ProcessPoolExecutor.  Each worker is
 * a whole process with its own memory (and, in Python, its own
 * interpreter and GIL), so the workers run on every core at once.
 * Processes share nothing, so everything travels through pipes:
 *
 *   parent --- job pipe ----> workers      one job_record per job
 *   parent <-- result pipe -- workers      one answer_record per job
 *
 * The parent writes every job number into the job pipe before it forks;
 * each worker reads one number at a time, so a worker that finishes early
 * simply takes the next job.  Results come back in the order the jobs
 * finish; the parent puts them back in job order.
 *
 * Run:    make lab6 && ./cpu_fork
 *         ./cpu_fork --workers 1          (one process: no speed-up)
 *
 * Watch:  about 100% CPU per core in `top`, one line per worker process
 *         (press H to see that cpu_threads shows one line per thread
 *         instead).  Ctrl-C stops the workers too: the parent reaps them.
 *
 * Signals: only the parent listens for SIGINT/SIGTERM (common/interrupt.h;
 * it polls interrupt_fd() beside the result pipe).  The workers ignore
 * both, so Ctrl-C, which signals the whole process group, cannot kill one
 * behind the parent's back.  Once interrupted, the parent SIGKILLs the
 * workers -- a job holds nothing that needs tidying, and a long one would
 * not end within a second by itself -- reads the answers already in the
 * pipe (each record is written whole, so a killed worker leaves whole
 * records or none), reaps every worker and traces the rest `cancelled`.
 * PR_SET_PDEATHSIG kills a worker whose parent died outright.  (io_fork
 * stops its workers gently instead: a download can be abandoned cleanly.)
 *
 * Compare with cpu_threads.c, which gets the same speed-up from threads:
 * C has no GIL to avoid.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <poll.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"
#include "interrupt.h"
#include "lib/jobs.h"
#include "options.h"
#include "pipe.h"
#include "timer.h"
#include "trace.h"

#define MAX_WORKERS 256         /* processes are heavier than threads */

struct settings {
    struct jobs jobs;           /* --work, --jobs, --n: what to compute */
    long workers;               /* --workers: processes (number of CPUs) */
    bool quiet;                 /* --quiet: summary lines only */
    const char *trace;          /* --trace: CSV file, or NULL */
};

/* The records on the pipes.  Both are far smaller than PIPE_BUF (4096
 * bytes), so the kernel writes each one whole: records from several
 * workers never mix inside a pipe (common/pipe.h moves them). */
struct job_record {             /* parent -> worker: "run this job" */
    int32_t job;                /* the job number, 0 .. jobs.count-1 */
};

struct answer_record {          /* worker -> parent: "here is its answer" */
    int32_t job;                /* the job number it answers */
    int32_t worker;             /* the worker that ran it, 1..workers */
    int64_t start_us;           /* program_us() when the job started */
    int64_t end_us;             /* and when it ended (trace rows) */
    struct job_result result;   /* the answer */
};

/* The workers' pids, to stop and reap them. */
static pid_t worker_pids[MAX_WORKERS];

/* ====== The worker process ====== */

/* A worker's whole life: take a job number, run it, send the answer
 * back, until the job pipe is empty.  It ends with _exit(), never exit():
 * exit() would flush stdio buffers copied from the parent and print their
 * text twice. */
static void worker_main(const struct settings *settings, int worker,
                        int job_fd, int result_fd)
{
    struct job_record job;
    int status;

    while ((status = pipe_read_exact(job_fd, &job, sizeof job)) == 1) {
        struct answer_record answer = { .job = job.job, .worker = worker };

        answer.start_us = program_us();
        run_job(&settings->jobs, job.job, &answer.result);  /* own core */
        answer.end_us = program_us();
        if (pipe_write_all(result_fd, &answer, sizeof answer) != 0) {
            error_report("worker %d: cannot send a result: %s", worker,
                         strerror(errno));
            _exit(1);
        }
    }
    if (status < 0) {
        error_report("worker %d: cannot read the job pipe: %s", worker,
                     strerror(errno));
        _exit(1);
    }
    _exit(0);                   /* no jobs left */
}

/* ====== The parent ====== */

/* Interrupted: end every worker now.  What it had finished is already in
 * the result pipe; what it was computing is cancelled. */
static void kill_workers(long started)
{
    for (long i = 0; i < started; i++)
        kill(worker_pids[i], SIGKILL);
}

/* Fill the job pipe with every job number.  MAX_JOBS records fit in one
 * page, the smallest pipe Linux makes, so this never blocks. */
static void write_jobs(const struct settings *settings, int job_fd)
{
    for (int32_t k = 0; k < settings->jobs.count; k++) {
        struct job_record job = { .job = k };

        if (pipe_write_all(job_fd, &job, sizeof job) != 0)
            error_fatal("cannot write the job pipe: %s", strerror(errno));
    }
}

/* Fork the workers.  Returns how many started (all, unless fork fails). */
static long start_workers(const struct settings *settings, int job_fd,
                          int result_pipe[2])
{
    long started;

    fflush(stdout);             /* nothing buffered may be copied */
    /* TASK lab6.processes: fork settings->workers workers, each reading
     * job numbers from the one job pipe, so the jobs are split over them
     * as they free up; each child ignores Ctrl-C (the parent's business)
     * and dies with the parent.  A fork that fails is said once and the
     * others carry on.  The handout forks one worker, which runs every
     * job:
     *     started = 0;
     *     pid_t pid = fork();
     *     if (pid < 0)
     *         error_fatal("fork: %s", strerror(errno));
     *     if (pid == 0) {
     *         close(result_pipe[0]);
     *         worker_main(settings, 1, job_fd, result_pipe[1]);
     *     }
     *     worker_pids[started++] = pid;
     */
    pid_t parent = getpid();

    for (started = 0; started < settings->workers; started++) {
        pid_t pid = fork();
        if (pid < 0 && started == 0) {
            /* not one: main() still ends with the timer line */
            error_report("fork: %s: no worker, none of %ld jobs run",
                         strerror(errno), settings->jobs.count);
            break;
        }
        if (pid < 0) {
            /* starved (ulimit -u): said once, the others do the work */
            error_report("fork: %s: carrying on with %ld of %ld workers",
                         strerror(errno), started, settings->workers);
            break;
        }
        if (pid == 0) {
            /* the child: Ctrl-C is the parent's business; it dies with
             * the parent; its own pipe ends */
            signal(SIGINT, SIG_IGN);
            signal(SIGTERM, SIG_IGN);
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent)
                _exit(1);       /* the parent died before prctl */
            close(result_pipe[0]);
            worker_main(settings, (int)started + 1, job_fd,
                        result_pipe[1]);
        }
        worker_pids[started] = pid;
    }
    /* END TASK lab6.processes */
    return started;
}

/* Read result records until every worker has closed its end of the pipe.
 * Returns how many jobs came back. */
static long collect_results(const struct settings *settings, int result_fd,
                            struct job_result *results, bool *received,
                            long started)
{
    const struct jobs *jobs = &settings->jobs;
    struct answer_record record;
    long count = 0;
    bool stopped = false;
    int status;

    for (;;) {
        /* wait for an answer, or for Ctrl-C (then only for the answers
         * already on their way) */
        struct pollfd fds[2] = {
            { .fd = result_fd, .events = POLLIN },
            { .fd = interrupt_fd(), .events = POLLIN },
        };
        if (poll(fds, stopped ? 1 : 2, -1) < 0) {
            if (errno != EINTR)
                error_fatal("poll: %s", strerror(errno));
            continue;
        }
        if (interrupt_requested() && !stopped) {
            kill_workers(started);
            stopped = true;
        }
        if (fds[0].revents == 0)
            continue;
        status = pipe_read_exact(result_fd, &record, sizeof record);
        if (status != 1)
            break;              /* end of file: every worker has gone */
        long k = record.job;
        if (k < 0 || k >= jobs->count || received[k]) {
            error_report("unexpected result record for job %ld", k);
            continue;
        }
        results[k] = record.result;
        received[k] = true;
        count++;
        trace_job(jobs, k, record.worker, record.start_us, record.end_us,
                  "ok");
        if (!settings->quiet)
            print_job_line(jobs, k, &results[k], "worker", record.worker);
    }
    if (status < 0)
        error_report("cannot read the result pipe: %s", strerror(errno));
    return count;
}

/* Wait for every worker; returns how many did not exit with status 0. */
static long reap_workers(long started)
{
    long failed = 0;

    for (long i = 0; i < started; i++) {
        int status;
        while (waitpid(worker_pids[i], &status, 0) < 0) {
            if (errno != EINTR)
                error_fatal("waitpid: %s", strerror(errno));
        }
        if (interrupt_requested()) {
            continue;           /* we stopped it ourselves */
        } else if (WIFSIGNALED(status)) {
            error_report("worker %ld (pid %ld) was killed by signal %d",
                         i + 1, (long)worker_pids[i], WTERMSIG(status));
            failed++;
        } else if (WEXITSTATUS(status) != 0) {
            error_report("worker %ld (pid %ld) exited with status %d",
                         i + 1, (long)worker_pids[i], WEXITSTATUS(status));
            failed++;
        }
    }
    return failed;
}

/* Run every job on worker processes; 0 if all came back, else -1. */
static int run_all_jobs(const struct settings *settings,
                        struct job_result *results, bool *received)
{
    int job_pipe[2], result_pipe[2];

    if (pipe(job_pipe) != 0 || pipe(result_pipe) != 0)
        error_fatal("pipe: %s", strerror(errno));
    write_jobs(settings, job_pipe[1]);
    close(job_pipe[1]);         /* workers see end of file when it's empty */

    long started = start_workers(settings, job_pipe[0], result_pipe);
    /* the parent keeps only the read end of the results: once every
     * worker has exited, reading it gives end of file */
    close(job_pipe[0]);
    close(result_pipe[1]);
    long count = 0;             /* no worker: no result, nothing to reap */
    if (started > 0)
        count = collect_results(settings, result_pipe[0], results, received,
                                started);
    close(result_pipe[0]);
    long failed = reap_workers(started);

    for (long k = 0; k < settings->jobs.count; k++) {
        if (received[k] || started == 0)
            continue;           /* (no worker was said once already) */
        if (interrupt_requested()) {    /* stopped: cancelled, not lost */
            int64_t now = program_us();
            trace_job(&settings->jobs, k, 0, now, now, "cancelled");
        } else {
            error_report("job %ld: no result came back", k);
        }
    }
    if (interrupt_requested())
        interrupt_report(count, settings->jobs.count, "jobs");
    return failed == 0 && count == settings->jobs.count ? 0 : -1;
}

/* ====== Options and main ====== */

static void usage(void)
{
    printf("usage: cpu_fork [options]\n"
           "Run CPU-bound jobs on a pool of worker processes.\n\n"
           JOBS_USAGE
           "  --workers N              worker processes "
           "(number of CPUs: %ld)\n"
           JOBS_USAGE_COMMON,
           sysconf(_SC_NPROCESSORS_ONLN));
}

static void parse_options(int argc, char *argv[], struct settings *settings)
{
    const struct option_rule own[] = {        /* after --work, --jobs, --n */
        OPTION_WHOLE("workers", &settings->workers, 1, MAX_WORKERS),
        OPTION_END,
    };
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);

    *settings = (struct settings){ .workers = cpus > 0 ? cpus : 1 };
    if (settings->workers > MAX_WORKERS)
        settings->workers = MAX_WORKERS;
    jobs_parse_options(argc, argv, own, usage, &settings->jobs,
                       &settings->quiet, &settings->trace);
}

int main(int argc, char *argv[])
{
    struct settings settings;
    struct timer timer;

    error_init(argv[0]);
    interrupt_install();        /* the workers ignore SIGINT/SIGTERM */
    parse_options(argc, argv, &settings);
    bool *received = calloc(settings.jobs.count, sizeof *received);
    if (received == NULL)
        error_fatal("out of memory for %ld results", settings.jobs.count);
    struct job_result *results = jobs_start(&settings.jobs, settings.trace);

    timer_start(&timer);
    int status = run_all_jobs(&settings, results, received);
    bool all_came_back = true;  /* a job that never ran has no result */
    for (long k = 0; k < settings.jobs.count; k++)
        all_came_back = all_came_back && received[k];
    if (!interrupt_requested() && all_came_back)
        print_results(&settings.jobs, results);
    timer_print(&timer);

    free(received);
    status = jobs_finish(results, status == 0 ? 0 : EXIT_WORK_FAILED);
    /* after Ctrl-C, 130 whatever else went wrong */
    return interrupt_requested() ? interrupt_exit_status() : status;
}
/* SPDX-License-Identifier: MIT */
