/* http.c -- libcurl plumbing for the I/O labs; see http.h. */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "escape.h"
#include "interrupt.h"

#define SYSTEM_CA_DIR "/etc/ssl/certs"  /* hashed: read on demand */

/* The simulator's CA file, or "" when none was made yet or it holds no
 * certificate (then only the system's CAs are trusted). */
static char lab_ca_file[PATH_MAX + 32];

/* Set by http_loopback_only() before any handle is made, read-only after. */
static bool loopback_only;

/* Where the lab CA lives: see http.h. */
static void lab_ca_path(char *path, size_t size)
{
    const char *env = getenv("CONKIT_CA");
    if (env != NULL && *env != '\0') {
        snprintf(path, size, "%s", env);
        return;
    }
    env = getenv("CONKIT_SIMDIR");
    if (env != NULL && *env != '\0') {
        snprintf(path, size, "%s/ca.pem", env);
        return;
    }
    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0) {
        snprintf(path, size, ".sitesim/ca.pem");
        return;
    }
    exe[len] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash != NULL)
        *slash = '\0';
    snprintf(path, size, "%s/.sitesim/ca.pem", exe);
}

/* Does path hold a PEM certificate? */
static bool holds_certificate(const char *path)
{
    FILE *file = fopen(path, "r");
    X509 *certificate;

    if (file == NULL)
        return false;
    certificate = PEM_read_X509(file, NULL, NULL, NULL);
    fclose(file);
    X509_free(certificate);
    return certificate != NULL;
}

void http_global_init(void)
{
    /* libcurl's global set-up: once, before any thread (thread-safe
     * only since 7.84, with CURL_VERSION_THREADSAFE) */
    CURLcode code = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (code != CURLE_OK)
        error_fatal("curl_global_init: %s", curl_easy_strerror(code));

    lab_ca_path(lab_ca_file, sizeof lab_ca_file);
    /* a CA the user named must be there: ignoring it would fail every
     * https download later, for a reason no line would give */
    const char *named = getenv("CONKIT_CA");
    if (named != NULL && *named != '\0' && access(named, R_OK) != 0)
        error_usage("CONKIT_CA names '%s': %s", named, strerror(errno));
    if (!holds_certificate(lab_ca_file))
        lab_ca_file[0] = '\0';
}

void http_global_cleanup(void)
{
    curl_global_cleanup();
}

/* The write callback http_easy_new() installs: adds the body's size to
 * the size_t that CURLOPT_WRITEDATA points at, and keeps nothing. */
static size_t http_count_body(char *data, size_t size, size_t count,
                              void *bytes)
{
    (void)data;
    *(size_t *)bytes += size * count;
    return size * count;
}

void http_loopback_only(void)
{
    loopback_only = true;
}

long http_connection_fds(void)
{
    /* libcurl resolves a numeric address without its resolver thread */
    return loopback_only ? 1 : 3;
}

/* ====== Callbacks every handle gets ====== */

/* libcurl calls this often while a transfer runs, and about once a second
 * while it waits for a silent server: the place to give up when the user
 * pressed Ctrl-C.  Non-zero aborts the transfer with
 * CURLE_ABORTED_BY_CALLBACK. */
static int stop_if_interrupted(void *unused, curl_off_t download_total,
                               curl_off_t downloaded, curl_off_t upload_total,
                               curl_off_t uploaded)
{
    (void)unused;
    (void)download_total;
    (void)downloaded;
    (void)upload_total;
    (void)uploaded;
    return interrupt_requested();
}

/* With http_loopback_only(): libcurl asks this for every new socket, the
 * ones a redirect needs included.  Anything but 127.0.0.1 gets no socket,
 * so no byte ever leaves the machine. */
static curl_socket_t open_loopback_socket(void *unused,
                                          curlsocktype purpose,
                                          struct curl_sockaddr *address)
{
    const struct sockaddr_in *in = (const void *)&address->addr;

    (void)unused;
    (void)purpose;
    if (address->family != AF_INET
        || in->sin_addr.s_addr != htonl(INADDR_LOOPBACK))
        return CURL_SOCKET_BAD;         /* CURLE_COULDNT_CONNECT */
    return socket(address->family, address->socktype | SOCK_CLOEXEC,
                  address->protocol);
}

/* A timeout in whole milliseconds for libcurl, rounded up: 0 ms would be
 * libcurl's "no limit", the opposite of a tiny timeout. */
static long timeout_ms(double seconds)
{
    double ms = ceil(seconds * 1000 - 1e-6);

    return ms < 1 ? 1 : (long)ms;
}

/* ====== Handles ====== */

CURL *http_easy_new(double timeout_seconds)
{
    CURL *handle = curl_easy_init();

    if (handle == NULL)
        error_fatal("curl_easy_init failed");
    curl_easy_setopt(handle, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(handle, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(handle, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(handle, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(handle, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(handle, CURLOPT_USERAGENT, "conkit/1.0");
    if (access(SYSTEM_CA_DIR, R_OK) == 0) {
        /* Trust the system's CAs from the hashed folder, read only when a
         * chain needs one, plus the lab CA (one certificate) when there is
         * one.  Not the system's bundle file: libcurl 7.88 would parse all
         * of its ~140 certificates again for every new connection. */
        curl_easy_setopt(handle, CURLOPT_CAPATH, SYSTEM_CA_DIR);
        curl_easy_setopt(handle, CURLOPT_CAINFO,
                         lab_ca_file[0] != '\0' ? lab_ca_file : NULL);
    }
    curl_easy_setopt(handle, CURLOPT_WRITEFUNCTION, http_count_body);
    if (timeout_seconds > 0)
        curl_easy_setopt(handle, CURLOPT_TIMEOUT_MS,
                         timeout_ms(timeout_seconds));
    curl_easy_setopt(handle, CURLOPT_XFERINFOFUNCTION, stop_if_interrupted);
    curl_easy_setopt(handle, CURLOPT_NOPROGRESS, 0L);
    if (loopback_only)
        curl_easy_setopt(handle, CURLOPT_OPENSOCKETFUNCTION,
                         open_loopback_socket);
    return handle;
}

bool http_cancelled(CURLcode result)
{
    return result == CURLE_ABORTED_BY_CALLBACK && interrupt_requested();
}

void http_failure_text(CURL *handle, CURLcode result, const char *url,
                       char *text, size_t size)
{
    char *where = NULL;
    char shown[1024];

    curl_easy_getinfo(handle, CURLINFO_EFFECTIVE_URL, &where);
    bool redirected = where != NULL && strcmp(where, url) != 0;
    /* a redirect's target is the server's text: print it escaped */
    escape_text(shown, sizeof shown, redirected ? where : "");

    if (result == CURLE_COULDNT_CONNECT && loopback_only && redirected)
        snprintf(text, size, "redirect refused: '%s' is not on 127.0.0.1 "
                 "(a local list stays offline)", shown);
    else if (result == CURLE_OUT_OF_MEMORY
             || result == CURLE_FILESIZE_EXCEEDED)
        /* libcurl 7.88 says "Out of memory" when a header line outgrows
         * its 100 KB limit */
        snprintf(text, size, "response header too large (libcurl: %s)",
                 curl_easy_strerror(result));
    else if (result == CURLE_UNSUPPORTED_PROTOCOL && redirected)
        snprintf(text, size, "redirect refused: '%s' is not http or https",
                 shown);
    else
        snprintf(text, size, "%s", curl_easy_strerror(result));
}

int http_check(CURL *handle, CURLcode result, const char *url)
{
    long status = 0;

    if (http_cancelled(result))
        return -1;              /* not a failure of the site: no line */
    if (result != CURLE_OK) {
        char text[512];
        http_failure_text(handle, result, url, text, sizeof text);
        error_report("%s: %s", url, text);
        return -1;
    }
    curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 400) {
        error_report("%s: HTTP %ld", url, status);
        return -1;
    }
    return 0;
}
/* SPDX-License-Identifier: MIT */
