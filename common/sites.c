/* sites.c -- loading the site list; see sites.h. */
#include "sites.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "error.h"
#include "http.h"
#include "options.h"

static const char *const internet_sites[] = {
    "https://www.jython.org",
    "http://olympus.realpython.org/dice",
};

static int port_from_env(const char *name, int fallback)
{
    const char *text = getenv(name);

    if (text == NULL || *text == '\0')
        return fallback;
    return (int)option_long(name, text, 1, 65535);
}

int sites_http_port(void)
{
    return port_from_env("CONKIT_HTTP_PORT", SITES_HTTP_PORT);
}

/* The simulator's HTTPS port (environment, else the default). */
static int sites_https_port(void)
{
    return port_from_env("CONKIT_HTTPS_PORT", SITES_HTTPS_PORT);
}

/* Append a copy of url to a growing array. */
static void push_url(char ***urls, size_t *count, size_t *capacity,
                     const char *url)
{
    if (*count == *capacity) {
        *capacity = *capacity ? *capacity * 2 : 16;
        *urls = realloc(*urls, *capacity * sizeof **urls);
        if (*urls == NULL)
            error_fatal("out of memory");
    }
    (*urls)[*count] = strdup(url);
    if ((*urls)[*count] == NULL)
        error_fatal("out of memory");
    (*count)++;
}

static bool is_web_url(const char *url)
{
    const char *rest;

    if (strncmp(url, "http://", 7) == 0)
        rest = url + 7;
    else if (strncmp(url, "https://", 8) == 0)
        rest = url + 8;
    else
        return false;
    if (*rest == '\0' || *rest == '/')
        return false;           /* no host */
    for (const char *p = url; *p; p++)
        if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p))
            return false;
    return true;
}

/* Is url's host 127.0.0.1?  (Checked on the text: the authority is what
 * lies between "//" and the next '/', '?' or '#'; one with a user part
 * "name@host" is never taken for loopback.) */
static bool on_loopback(const char *url)
{
    const char *host = strstr(url, "//");
    static const char loopback[] = "127.0.0.1";

    if (host == NULL)
        return false;
    host += 2;
    size_t authority = strcspn(host, "/?#");
    if (memchr(host, '@', authority) != NULL)
        return false;
    return authority >= sizeof loopback - 1
           && strncmp(host, loopback, sizeof loopback - 1) == 0
           && (authority == sizeof loopback - 1
               || host[sizeof loopback - 1] == ':');
}

/* Read one line of a sites file into line (without its '\n'), byte by
 * byte, so that no byte goes unseen: fgets() would stop at the '\n' but
 * strlen() at a NUL, and whatever came after the NUL would vanish or be
 * taken for the next line.  Returns false at the end of the file. */
static bool read_line(FILE *file, const char *path, long number,
                      char line[SITES_MAX_LINE + 1])
{
    size_t len = 0;
    int c;

    while ((c = getc(file)) != EOF && c != '\n') {
        if (c == '\0')
            error_usage("%s:%ld: a NUL byte: not a text file", path,
                        number);
        if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f)
            error_usage("%s:%ld: control character 0x%02x: not a text "
                        "file", path, number, c);
        if (len == SITES_MAX_LINE)
            error_usage("%s:%ld: line too long (over %d characters)", path,
                        number, SITES_MAX_LINE);
        line[len++] = (char)c;
    }
    line[len] = '\0';
    if (ferror(file))
        error_usage("cannot read sites file: '%s': %s", path,
                    strerror(errno));
    return c != EOF || len > 0;
}

/* Read the URLs of a sites file; every bad line is a usage error. */
static void load_file(const char *path, char ***urls, size_t *count,
                      size_t *capacity)
{
    FILE *file = fopen(path, "r");
    char line[SITES_MAX_LINE + 1];
    long number = 0;

    if (file == NULL)
        error_usage("cannot open sites file: '%s': %s", path,
                    strerror(errno));
    while (read_line(file, path, number + 1, line)) {
        number++;
        if (number > SITES_MAX_LINES)
            error_usage("%s:%ld: too many lines (at most %d)", path, number,
                        SITES_MAX_LINES);
        char *start = line;
        /* an editor's UTF-8 byte order mark: not part of the text */
        if (number == 1 && strncmp(start, "\xEF\xBB\xBF", 3) == 0)
            start += 3;
        /* trim surrounding white space, a CRLF's '\r' included */
        size_t len = strlen(start);
        while (len > 0 && isspace((unsigned char)start[len - 1]))
            start[--len] = '\0';
        while (isspace((unsigned char)*start))
            start++;
        if (*start == '\0' || *start == '#')
            continue;
        if (!is_web_url(start))
            error_usage("%s:%ld: not an http:// or https:// URL: '%s'",
                        path, number, start);
        push_url(urls, count, capacity, start);
    }
    fclose(file);
    if (*count == 0)
        error_usage("no URLs in sites file: '%s'", path);
}

void sites_load(struct site_list *sites, const char *spec, long repeat)
{
    size_t capacity = 0;

    memset(sites, 0, sizeof *sites);
    if (strcmp(spec, "local") == 0) {
        char url[128];
        snprintf(url, sizeof url, "https://127.0.0.1:%d/jython",
                 sites_https_port());
        push_url(&sites->base, &sites->base_count, &capacity, url);
        snprintf(url, sizeof url, "http://127.0.0.1:%d/dice",
                 sites_http_port());
        push_url(&sites->base, &sites->base_count, &capacity, url);
        sites->local = true;
    } else if (strcmp(spec, "internet") == 0) {
        for (size_t i = 0; i < 2; i++)
            push_url(&sites->base, &sites->base_count, &capacity,
                     internet_sites[i]);
    } else {
        load_file(spec, &sites->base, &sites->base_count, &capacity);
        if (repeat < 0)
            repeat = 1;
    }
    if (repeat < 0)
        repeat = SITES_DEFAULT_REPEAT;

    /* a list that is all on this machine stays on it, redirects too */
    bool all_loopback = true;
    for (size_t i = 0; i < sites->base_count; i++)
        all_loopback = all_loopback && on_loopback(sites->base[i]);
    if (all_loopback)
        http_loopback_only();

    if ((size_t)repeat > SITES_MAX_DOWNLOADS / sites->base_count)
        error_usage("--repeat %ld times %zu sites is more than %d "
                    "downloads: '%ld'", repeat, sites->base_count,
                    SITES_MAX_DOWNLOADS, repeat);

    /* the whole list, repeat times over, pointing at the one copy */
    sites->count = (size_t)repeat * sites->base_count;
    sites->urls = calloc(sites->count, sizeof *sites->urls);
    if (sites->urls == NULL)
        error_fatal("out of memory");
    for (size_t i = 0; i < sites->count; i++)
        sites->urls[i] = sites->base[i % sites->base_count];
}

void sites_free(struct site_list *sites)
{
    for (size_t i = 0; i < sites->base_count; i++)
        free(sites->base[i]);
    free(sites->base);
    free(sites->urls);
    memset(sites, 0, sizeof *sites);
}

static bool port_is_listening(int port)
{
    struct sockaddr_in address = {
        .sin_family = AF_INET,
        .sin_port = htons((unsigned short)port),
        .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
    };
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        return true;            /* cannot tell: let the downloads say */
    int connected = connect(fd, (struct sockaddr *)&address, sizeof address);
    int saved = errno;
    close(fd);
    return connected == 0 || saved != ECONNREFUSED;
}

void sites_check_simulator(const struct site_list *sites)
{
    if (!sites->local)
        return;
    int ports[2] = { sites_https_port(), sites_http_port() };
    for (int i = 0; i < 2; i++)
        if (!port_is_listening(ports[i]))
            error_fatal("the site simulator is not running on "
                        "127.0.0.1:%d: start it with: make serve", ports[i]);
}
/* SPDX-License-Identifier: MIT */
