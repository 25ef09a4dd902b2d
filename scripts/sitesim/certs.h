/* certs.h -- the lab CA and the server certificate of sitesim, made on
 * its first start (certs.c). A leaf: it includes nothing of sitesim.
 */
#ifndef SITESIM_CERTS_H
#define SITESIM_CERTS_H

#include <openssl/ssl.h>

/* Make ca.pem, server.pem and server.key in dir unless they are there
 * (under a lock, so two first starts do not race). 0, or -1 after
 * printing why. */
int certs_ensure(const char *dir);

/* A TLS context serving dir's server certificate, or NULL after
 * printing why. */
SSL_CTX *certs_server_context(const char *dir);

#endif
/* SPDX-License-Identifier: MIT */
