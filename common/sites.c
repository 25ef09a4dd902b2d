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

int sites_https_port(void)
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

/* Read the URLs of a sites file; every bad line is a usage error. */
static void load_file(const char *path, char ***urls, size_t *count,
                      size_t *capacity)
{
    FILE *file = fopen(path, "r");
    char line[4096];
    long number = 0;

    if (file == NULL)
        error_usage("cannot open sites file: '%s': %s", path,
                    strerror(errno));
    while (fgets(line, sizeof line, file) != NULL) {
        number++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n')
            error_usage("%s:%ld: line too long", path, number);
        /* trim surrounding white space */
        while (len > 0 && isspace((unsigned char)line[len - 1]))
            line[--len] = '\0';
        char *start = line;
        while (isspace((unsigned char)*start))
            start++;
        if (*start == '\0' || *start == '#')
            continue;
        if (!is_web_url(start))
            error_usage("%s:%ld: not an http:// or https:// URL: '%s'",
                        path, number, start);
        push_url(urls, count, capacity, start);
    }
    if (ferror(file))
        error_usage("cannot read sites file: '%s'", path);
    fclose(file);
    if (*count == 0)
        error_usage("no URLs in sites file: '%s'", path);
}

void sites_load(struct site_list *sites, const char *spec, long repeat)
{
    char **base = NULL;
    size_t base_count = 0, capacity = 0;

    memset(sites, 0, sizeof *sites);
    if (strcmp(spec, "local") == 0) {
        char url[128];
        snprintf(url, sizeof url, "https://127.0.0.1:%d/jython",
                 sites_https_port());
        push_url(&base, &base_count, &capacity, url);
        snprintf(url, sizeof url, "http://127.0.0.1:%d/dice",
                 sites_http_port());
        push_url(&base, &base_count, &capacity, url);
        sites->local = true;
    } else if (strcmp(spec, "internet") == 0) {
        for (size_t i = 0; i < 2; i++)
            push_url(&base, &base_count, &capacity, internet_sites[i]);
    } else {
        load_file(spec, &base, &base_count, &capacity);
        if (repeat < 0)
            repeat = 1;
    }
    if (repeat < 0)
        repeat = SITES_DEFAULT_REPEAT;

    /* the whole list, repeat times over */
    size_t total_capacity = 0;
    for (long r = 0; r < repeat; r++)
        for (size_t i = 0; i < base_count; i++)
            push_url(&sites->urls, &sites->count, &total_capacity, base[i]);
    for (size_t i = 0; i < base_count; i++)
        free(base[i]);
    free(base);
}

void sites_free(struct site_list *sites)
{
    for (size_t i = 0; i < sites->count; i++)
        free(sites->urls[i]);
    free(sites->urls);
    sites->urls = NULL;
    sites->count = 0;
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
