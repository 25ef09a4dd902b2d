/* http.c -- libcurl plumbing for the I/O labs; see http.h. */
#include "http.h"

#include <limits.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"

static X509 *lab_ca;            /* the simulator's CA, NULL if not made yet */

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

void http_global_init(void)
{
    char path[PATH_MAX + 32];

    /* libcurl's global state is not thread-safe to set up: do it first */
    CURLcode code = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (code != CURLE_OK)
        error_fatal("curl_global_init: %s", curl_easy_strerror(code));

    lab_ca_path(path, sizeof path);
    FILE *file = fopen(path, "r");
    if (file != NULL) {
        lab_ca = PEM_read_X509(file, NULL, NULL, NULL);
        fclose(file);
    }
}

void http_global_cleanup(void)
{
    X509_free(lab_ca);
    lab_ca = NULL;
    curl_global_cleanup();
}

/* libcurl calls this for every new TLS context, after it has loaded the
 * system CAs: add the lab CA to the same store.  Verification stays on. */
static CURLcode add_lab_ca(CURL *handle, void *ssl_ctx, void *unused)
{
    (void)handle;
    (void)unused;
    if (lab_ca == NULL)
        return CURLE_OK;
    X509_STORE *store = SSL_CTX_get_cert_store((SSL_CTX *)ssl_ctx);
    if (X509_STORE_add_cert(store, lab_ca) != 1)
        return CURLE_SSL_CACERT_BADFILE;
    return CURLE_OK;
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
    curl_easy_setopt(handle, CURLOPT_SSL_CTX_FUNCTION, add_lab_ca);
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
