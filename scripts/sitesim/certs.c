/* certs.c -- the lab CA and the server certificate of sitesim, made
 * with the OpenSSL C API on first start, so HTTPS is verified for real
 * without any network or command-line tool.
 *
 * In DIR (default .sitesim next to the executable):
 *   ca.pem       the lab CA ("conkit lab CA"); clients pass it to curl
 *                as --cacert / CURLOPT_CAINFO. Its key is thrown away
 *                once the server certificate is signed.
 *   server.pem   the server certificate, for 127.0.0.1 and localhost
 *   server.key   its private key (mode 0600)
 *
 * Two simulators may start at the same moment: a lock file makes one
 * of them generate while the other waits, and each file is written to
 * a temporary name and renamed into place (ca.pem last), so nobody
 * ever reads half a file or a CA that does not match the server.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "certs.h"
#include "error.h"      /* common/: error_report() */

#define CERT_DAYS 3650          /* ten years, for the CA and the server */
#define LOCK_WAIT_MS 10000      /* give up waiting for another sitesim */

/* Print "sitesim: <what> '<subject>': <OpenSSL's reason>" and empty
 * OpenSSL's error queue. */
static void tls_problem(const char *what, const char *subject)
{
    char reason[256] = "unknown OpenSSL error";
    unsigned long err = ERR_get_error();

    if (err != 0)
        ERR_error_string_n(err, reason, sizeof(reason));
    error_report("%s '%s': %s", what, subject, reason);
    ERR_clear_error();
}

/* ====================== Files and folders ====================== */

/* mkdir -p: make dir and any missing parents. */
static int mkdir_parents(const char *dir)
{
    char path[PATH_MAX];

    if ((size_t)snprintf(path, sizeof(path), "%s", dir) >= sizeof(path)) {
        error_report("folder name too long: '%s'", dir);
        return -1;
    }
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST) {
            error_report("cannot create folder '%s': %s",
                         path, strerror(errno));
            return -1;
        }
        *p = saved;
        if (saved == '\0')
            return 0;
    }
}

static int path_join(char *out, size_t cap, const char *dir,
                     const char *name)
{
    if ((size_t)snprintf(out, cap, "%s/%s", dir, name) >= cap) {
        error_report("path too long: '%s/%s'", dir, name);
        return -1;
    }
    return 0;
}

/* Write a certificate or a key as PEM to dir/name: first to a
 * temporary file in the same folder, then rename() it into place,
 * which replaces the old file in one step. */
static int pem_write(const char *dir, const char *name, mode_t mode,
                     X509 *cert, EVP_PKEY *key)
{
    char path[PATH_MAX], tmp[PATH_MAX];
    FILE *fp;
    int fd, ok;

    if (path_join(path, sizeof(path), dir, name) != 0 ||
        path_join(tmp, sizeof(tmp), dir, ".new.XXXXXX") != 0)
        return -1;
    fd = mkstemp(tmp);  /* made with mode 0600 */
    if (fd < 0) {
        error_report("cannot create a file in '%s': %s",
                     dir, strerror(errno));
        return -1;
    }
    if (fchmod(fd, mode) != 0 || (fp = fdopen(fd, "w")) == NULL) {
        error_report("cannot write '%s': %s", tmp,
                     strerror(errno));
        close(fd);
        goto out_unlink;
    }
    if (cert != NULL)
        ok = PEM_write_X509(fp, cert);
    else
        ok = PEM_write_PrivateKey(fp, key, NULL, NULL, 0, NULL, NULL);
    if (!ok) {
        tls_problem("cannot write", tmp);
        fclose(fp);
        goto out_unlink;
    }
    /* on disk before the rename, so a crash leaves old or new, not half */
    if (fflush(fp) != 0 || fsync(fileno(fp)) != 0) {
        error_report("cannot write '%s': %s", tmp,
                     strerror(errno));
        fclose(fp);
        goto out_unlink;
    }
    if (fclose(fp) != 0 || rename(tmp, path) != 0) {
        error_report("cannot write '%s': %s", path,
                     strerror(errno));
        goto out_unlink;
    }
    return 0;

out_unlink:
    unlink(tmp);
    return -1;
}

/* Read dir/name: a certificate if cert != NULL, else a private key.
 * Returns false if the file is missing or not what it should be. */
static bool pem_read(const char *dir, const char *name, X509 **cert,
                     EVP_PKEY **key)
{
    char path[PATH_MAX];
    FILE *fp;

    if (path_join(path, sizeof(path), dir, name) != 0)
        return false;
    fp = fopen(path, "r");
    if (fp == NULL)
        return false;
    if (cert != NULL)
        *cert = PEM_read_X509(fp, NULL, NULL, NULL);
    else
        *key = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
    fclose(fp);
    return cert != NULL ? *cert != NULL : *key != NULL;
}

/* ====================== Making certificates ====================== */

/* Add one X509v3 extension written as openssl.cnf would write it,
 * e.g. (NID_basic_constraints, "critical,CA:TRUE"). */
static int extension_add(X509 *cert, X509 *issuer, int nid,
                         const char *value)
{
    X509V3_CTX ctx;
    X509_EXTENSION *ext;
    int ok;

    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ext == NULL)
        return -1;
    ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok ? 0 : -1;
}

/* A certificate for `key` named CN=cn, signed by issuer_key. With
 * issuer == NULL it is self-signed: that is the CA. */
static X509 *cert_make(EVP_PKEY *key, const char *cn, X509 *issuer,
                       EVP_PKEY *issuer_key)
{
    unsigned char serial[16];
    X509 *cert = X509_new();
    X509_NAME *name;
    BIGNUM *bn = NULL;
    bool is_ca = issuer == NULL;

    if (cert == NULL)
        return NULL;
    /* a random positive 128-bit serial: unique without bookkeeping */
    if (RAND_bytes(serial, sizeof(serial)) != 1)
        goto out_free;
    serial[0] &= 0x7f;
    bn = BN_bin2bn(serial, sizeof(serial), NULL);
    if (bn == NULL ||
        BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) == NULL)
        goto out_free;

    name = X509_get_subject_name(cert);
    if (!X509_set_version(cert, X509_VERSION_3) ||
        /* valid from an hour ago: forgive a little clock skew */
        X509_gmtime_adj(X509_getm_notBefore(cert), -3600) == NULL ||
        X509_gmtime_adj(X509_getm_notAfter(cert),
                        (long)CERT_DAYS * 24 * 3600) == NULL ||
        !X509_set_pubkey(cert, key) ||
        !X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                    (const unsigned char *)"conkit",
                                    -1, -1, 0) ||
        !X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                    (const unsigned char *)cn,
                                    -1, -1, 0) ||
        !X509_set_issuer_name(cert, is_ca ? name
                                          : X509_get_subject_name(issuer)))
        goto out_free;
    if (is_ca)
        issuer = cert;  /* the extensions below refer to the issuer */

    if (extension_add(cert, issuer, NID_subject_key_identifier,
                      "hash") != 0 ||
        extension_add(cert, issuer, NID_authority_key_identifier,
                      "keyid:always") != 0)
        goto out_free;
    if (is_ca) {
        if (extension_add(cert, issuer, NID_basic_constraints,
                          "critical,CA:TRUE") != 0 ||
            extension_add(cert, issuer, NID_key_usage,
                          "critical,keyCertSign,cRLSign") != 0)
            goto out_free;
    } else {
        if (extension_add(cert, issuer, NID_basic_constraints,
                          "critical,CA:FALSE") != 0 ||
            extension_add(cert, issuer, NID_key_usage,
                          "critical,digitalSignature") != 0 ||
            extension_add(cert, issuer, NID_ext_key_usage,
                          "serverAuth") != 0 ||
            extension_add(cert, issuer, NID_subject_alt_name,
                          "IP:127.0.0.1,DNS:localhost") != 0)
            goto out_free;
    }
    if (X509_sign(cert, issuer_key, EVP_sha256()) <= 0)
        goto out_free;
    BN_free(bn);
    return cert;

out_free:
    BN_free(bn);
    X509_free(cert);
    return NULL;
}

/* Make a new CA and server certificate and write the three files. */
static int certs_generate(const char *dir)
{
    EVP_PKEY *ca_key = EVP_EC_gen("P-256");
    EVP_PKEY *server_key = EVP_EC_gen("P-256");
    X509 *ca = NULL, *server = NULL;
    int rc = -1;

    if (ca_key == NULL || server_key == NULL) {
        tls_problem("cannot make a key", "P-256");
        goto out_free;
    }
    ca = cert_make(ca_key, "conkit lab CA", NULL, ca_key);
    if (ca != NULL)
        server = cert_make(server_key, "127.0.0.1", ca, ca_key);
    if (ca == NULL || server == NULL) {
        tls_problem("cannot make a certificate", dir);
        goto out_free;
    }
    /* the key first and ca.pem last: ca.pem means "all done" */
    if (pem_write(dir, "server.key", 0600, NULL, server_key) == 0 &&
        pem_write(dir, "server.pem", 0644, server, NULL) == 0 &&
        pem_write(dir, "ca.pem", 0644, ca, NULL) == 0)
        rc = 0;

out_free:
    X509_free(server);
    X509_free(ca);
    EVP_PKEY_free(server_key);
    EVP_PKEY_free(ca_key);
    return rc;
}

/* Are the three files there, the key the server certificate's, and
 * the server certificate signed by the CA and still valid? */
static bool certs_usable(const char *dir)
{
    X509 *ca = NULL, *server = NULL;
    EVP_PKEY *key = NULL;
    X509_STORE *store = X509_STORE_new();
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    bool usable = false;

    if (pem_read(dir, "ca.pem", &ca, NULL) &&
        pem_read(dir, "server.pem", &server, NULL) &&
        pem_read(dir, "server.key", NULL, &key) &&
        store != NULL && ctx != NULL &&
        X509_check_private_key(server, key) == 1 &&
        X509_STORE_add_cert(store, ca) == 1 &&
        X509_STORE_CTX_init(ctx, store, server, NULL) == 1 &&
        X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER) == 1)
        usable = X509_verify_cert(ctx) == 1;

    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    EVP_PKEY_free(key);
    X509_free(server);
    X509_free(ca);
    ERR_clear_error();  /* failures here only mean "make new ones" */
    return usable;
}

/* ====================== Public functions ====================== */

/* Make sure DIR holds a usable CA, server certificate and key; make
 * them if not. Returns 0, or -1 after printing the problem. */
int certs_ensure(const char *dir)
{
    char lock_path[PATH_MAX];
    int lock_fd, waited_ms = 0, rc = -1;

    if (mkdir_parents(dir) != 0 ||
        path_join(lock_path, sizeof(lock_path), dir, ".lock") != 0)
        return -1;
    lock_fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock_fd < 0) {
        error_report("cannot open '%s': %s", lock_path,
                     strerror(errno));
        return -1;
    }
    /* another sitesim may be generating: wait for it, but not forever */
    while (flock(lock_fd, LOCK_EX | LOCK_NB) != 0) {
        struct timespec pause = { .tv_nsec = 50 * 1000000 };
        if (errno != EWOULDBLOCK && errno != EINTR) {
            error_report("cannot lock '%s': %s", lock_path,
                         strerror(errno));
            goto out_close;
        }
        if (waited_ms >= LOCK_WAIT_MS) {
            error_report("cannot lock '%s': timed out",
                         lock_path);
            goto out_close;
        }
        nanosleep(&pause, NULL);
        waited_ms += 50;
    }

    if (certs_usable(dir))
        rc = 0;
    else
        rc = certs_generate(dir);

    /* the lock goes with the close() below */
out_close:
    close(lock_fd);
    return rc;
}

/* The TLS settings of the HTTPS port: our certificate and key, TLS 1.2
 * or newer, and the modes a non-blocking server needs. */
SSL_CTX *certs_server_context(const char *dir)
{
    char cert_path[PATH_MAX], key_path[PATH_MAX];
    SSL_CTX *ctx;

    if (path_join(cert_path, sizeof(cert_path), dir, "server.pem") != 0 ||
        path_join(key_path, sizeof(key_path), dir, "server.key") != 0)
        return NULL;
    ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) {
        tls_problem("cannot make a TLS context", "TLS_server_method");
        return NULL;
    }
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
        tls_problem("cannot set the TLS version", "TLS1_2_VERSION");
        goto out_free;
    }
    /* PARTIAL_WRITE: SSL_write may send part, like write(2);
     * MOVING_WRITE_BUFFER: a repeated SSL_write may pass the same bytes
     * from another address (we copy them into a shared scratch buffer);
     * RELEASE_BUFFERS: idle connections give their buffers back,
     * which matters with thousands of them */
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                          SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                          SSL_MODE_RELEASE_BUFFERS);
    /* A client that closes its socket without close_notify (Python's
     * ssl, most HTTP libraries) has taken its responses: its FIN reads
     * as a plain end (SSL_ERROR_ZERO_RETURN), not as an error with a
     * stale errno that could pass for a reset (a download taken in
     * full then counted as "cut") */
#ifdef SSL_OP_IGNORE_UNEXPECTED_EOF
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
#endif
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_path) != 1) {
        tls_problem("cannot load", cert_path);
        goto out_free;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key_path, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1) {
        tls_problem("cannot load", key_path);
        goto out_free;
    }
    return ctx;

out_free:
    SSL_CTX_free(ctx);
    return NULL;
}
/* SPDX-License-Identifier: MIT */
