/* SPDX-License-Identifier: MIT */
/* TLS for cgfw-httpproxy: the only BoringSSL user in the worker. */
#ifndef CGFW_HTTP_TLS_H
#define CGFW_HTTP_TLS_H

#include <stddef.h>
#include <stdint.h>

typedef struct ssl_st SSL;

/* Called from the ClientHello: may the client reach this SNI name? */
typedef int (*tls_sni_check)(void *conn, const char *sni);

/* CA certificate and key (PEM), the upstream trust file; before the sandbox. */
int tls_init(const char *ca_pem, size_t ca_len, const char *key_pem, size_t key_len,
    const char *trust_file, tls_sni_check check);
/* A server-side TLS object for a client connection, on memory BIOs. */
SSL *tls_server_new(void *conn);
/*
 * A client-side TLS object to the real server (addr and port in network
 * order): SNI, name and chain verified, or a session that was, resumed.
 */
SSL *tls_client_new(const char *sni, uint32_t addr, uint16_t port);
void tls_free(SSL *ssl);
/* Ciphertext in from the network. */
int tls_put(SSL *ssl, const void *data, size_t len);
/* Ciphertext out to the network: bytes copied into buf, 0 if none. */
size_t tls_take(SSL *ssl, void *buf, size_t cap);
/* 1 done, 0 needs more input, -1 failed (reason in tls_error()). */
int tls_handshake(SSL *ssl);
int tls_handshake_done(SSL *ssl);
/* Plaintext: >0 bytes, 0 needs more, -1 closed or failed. */
int tls_read(SSL *ssl, void *buf, size_t cap);
int tls_write(SSL *ssl, const void *data, size_t len);
/* Queue close_notify (then tls_take it): the last thing sent on this side. */
void tls_close(SSL *ssl);
const char *tls_sni(SSL *ssl);
const char *tls_error(SSL *ssl);

#endif
