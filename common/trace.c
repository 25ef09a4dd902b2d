/* trace.c -- the --trace CSV writer; see trace.h. */
#include "trace.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "error.h"

static FILE *trace_file;        /* NULL when no --trace was given */
static pthread_mutex_t trace_lock = PTHREAD_MUTEX_INITIALIZER;

void trace_open(const char *path)
{
    trace_file = fopen(path, "w");
    if (trace_file == NULL)
        error_usage("cannot write trace file: '%s': %s", path,
                    strerror(errno));
    fputs("id,worker,label,start_us,end_us,status\n", trace_file);
}

/* Write a CSV field, quoting it when it holds a comma or a quote. */
static void write_field(FILE *out, const char *text)
{
    if (strpbrk(text, ",\"\n") == NULL) {
        fputs(text, out);
        return;
    }
    fputc('"', out);
    for (; *text; text++) {
        if (*text == '"')
            fputc('"', out);
        fputc(*text == '\n' ? ' ' : *text, out);
    }
    fputc('"', out);
}

void trace_record(long id, long worker, const char *label,
                  int64_t start_us, int64_t end_us, const char *status)
{
    int s;

    if (trace_file == NULL)
        return;
    s = pthread_mutex_lock(&trace_lock);
    if (s != 0)
        error_fatal_errno(s, "pthread_mutex_lock");
    fprintf(trace_file, "%ld,%ld,", id, worker);
    write_field(trace_file, label);
    fprintf(trace_file, ",%lld,%lld,", (long long)start_us,
            (long long)end_us);
    write_field(trace_file, status);
    fputc('\n', trace_file);
    s = pthread_mutex_unlock(&trace_lock);
    if (s != 0)
        error_fatal_errno(s, "pthread_mutex_unlock");
}

int trace_close(void)
{
    if (trace_file == NULL)
        return 0;
    int failed = ferror(trace_file);
    if (fclose(trace_file) != 0)
        failed = 1;
    trace_file = NULL;
    if (failed) {
        error_report("cannot write trace file");
        return -1;
    }
    return 0;
}
/* SPDX-License-Identifier: MIT */
