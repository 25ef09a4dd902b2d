/* fd_limit.c -- fit a program's concurrency to its open-file limit; see
 * fd_limit.h. */
#include "fd_limit.h"

#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <sys/resource.h>

#include "error.h"

/* The descriptors this process holds now: inherited ones included, which
 * a fixed allowance would miss.  3 (stdio) when /proc cannot tell. */
static long open_now(void)
{
    DIR *dir = opendir("/proc/self/fd");
    long count = 0;

    if (dir == NULL)
        return 3;
    while (readdir(dir) != NULL)
        count++;
    closedir(dir);
    return count - 3;           /* ".", ".." and the DIR's own fd */
}

long fd_limit_fit(long wanted, long each, long fixed, const char *option)
{
    struct rlimit limit;

    if (getrlimit(RLIMIT_NOFILE, &limit) == -1)
        error_fatal("getrlimit: %s", strerror(errno));
    if (limit.rlim_cur != limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &limit) == -1)
            error_fatal("setrlimit: %s", strerror(errno));
    }
    if (limit.rlim_cur == RLIM_INFINITY)
        return wanted;
    long files = (long)limit.rlim_cur;
    long program = open_now() + fixed;
    long room = files > program ? (files - program) / each : 0;
    if (room >= wanted)
        return wanted;
    if (room < 1)
        error_fatal("the open-file limit is too low (ulimit -Hn %ld): it "
                    "needs %ld files at least (%ld for the program, %ld for "
                    "one download at a time)", files, program + each,
                    program, each);
    error_report("%s %ld is more than the open-file limit allows (ulimit "
                 "-Hn %ld, %ld files for the program, %ld for each): "
                 "using %ld", option, wanted, files, program, each, room);
    return room;
}
/* SPDX-License-Identifier: MIT */
