/* http.c -- libcurl plumbing for the I/O labs; see http.h. */
#include "http.h"

#include <limits.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"

#define SYSTEM_CA_DIR "/etc/ssl/certs"  /* hashed: read on demand */

/* The simulator's CA file, or "" when none was made yet or it holds no
 * certificate (then only the system's CAs are trusted). */
static char lab_ca_file[PATH_MAX + 32];

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
    /* libcurl's global state is not thread-safe to set up: do it first */
    CURLcode code = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (code != CURLE_OK)
        error_fatal("curl_global_init: %s", curl_easy_strerror(code));

    lab_ca_path(lab_ca_file, sizeof lab_ca_file);
    if (!holds_certificate(lab_ca_file))
        lab_ca_file[0] = '\0';
}

void http_global_cleanup(void)
{
    curl_global_cleanup();
}

size_t http_count_body(char *data, size_t size, size_t count, void *bytes)
{
    (void)data;
    *(size_t *)bytes += size * count;
    return size * count;
}

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
                         (long)(timeout_seconds * 1000));
    return handle;
}

int http_check(CURL *handle, CURLcode result, const char *url)
{
    long status = 0;

    if (result != CURLE_OK) {
        error_report("%s: %s", url, curl_easy_strerror(result));
        return -1;
    }
    curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 400) {
        error_report("%s: HTTP %ld", url, status);
        return -1;
    }
    return 0;
}
