// SPDX-License-Identifier: MIT
/*
 * TLS both ways for cgfw-httpproxy, on memory BIOs so libuv owns the sockets.
 * Toward the client: the SNI of the ClientHello picks a leaf certificate for
 * that name, minted on first use (one P-256 key for every leaf, each leaf
 * signed by the CA the loader handed over), ALPN http/1.1 only; no SNI, or a
 * name the policy does not allow, ends the handshake.  Toward the server:
 * the chain and the name are verified against the trust file; a failure is
 * reported, never passed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bytestring.h>
#include <openssl/ec_key.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tls.h"

#define LEAF_CACHE 256

struct leaf {
	char host[256];
	X509 *cert;
};

static struct {
	X509 *ca;
	EVP_PKEY *ca_key;
	EVP_PKEY *leaf_key;
	SSL_CTX *server;
	SSL_CTX *client;
	tls_sni_check check;
	struct leaf cache[LEAF_CACHE];
	size_t n_cache, next;
	int conn_idx;
} tls;

static X509 *
mint(const char *host)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	GENERAL_NAMES *sans = GENERAL_NAMES_new();
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();
	uint8_t serial[16];
	BIGNUM *bn = NULL;
	int ok = 0;

	if (!x || !name || !sans || !gn || !ia5)
		goto out;
	RAND_bytes(serial, sizeof(serial));
	serial[0] &= 0x7f;
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) ||
	    !X509_set_version(x, X509_VERSION_3) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 7 * 86400) ||
	    !X509_NAME_add_entry_by_txt(
	        name, "O", MBSTRING_ASC, (const uint8_t *)"cgfw", -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(
	        name, "CN", MBSTRING_ASC, (const uint8_t *)host, -1, -1, 0) ||
	    !X509_set_subject_name(x, name) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(tls.ca)) ||
	    !X509_set_pubkey(x, tls.leaf_key) || !ASN1_STRING_set(ia5, host, (int)strlen(host)))
		goto out;
	GENERAL_NAME_set0_value(gn, GEN_DNS, ia5);
	ia5 = NULL;
	if (!sk_GENERAL_NAME_push(sans, gn))
		goto out;
	gn = NULL;
	if (!X509_add1_ext_i2d(x, NID_subject_alt_name, sans, 0, 0) ||
	    !X509_sign(x, tls.ca_key, EVP_sha256()))
		goto out;
	ok = 1;
out:
	BN_free(bn);
	ASN1_IA5STRING_free(ia5);
	GENERAL_NAME_free(gn);
	GENERAL_NAMES_free(sans);
	X509_NAME_free(name);
	if (!ok) {
		X509_free(x);
		return NULL;
	}
	return x;
}

static X509 *
leaf_for(const char *host)
{
	struct leaf *l;

	for (size_t i = 0; i < tls.n_cache; i++)
		if (!strcmp(tls.cache[i].host, host))
			return tls.cache[i].cert;
	l = &tls.cache[tls.next];
	tls.next = (tls.next + 1) % LEAF_CACHE;
	if (tls.n_cache < LEAF_CACHE)
		tls.n_cache++;
	X509_free(l->cert);
	snprintf(l->host, sizeof(l->host), "%s", host);
	l->cert = mint(host);
	return l->cert;
}

static int
servername_cb(SSL *ssl, int *alert, void *arg)
{
	const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	void *conn = SSL_get_ex_data(ssl, tls.conn_idx);
	X509 *leaf;

	(void)arg;
	/* No SNI: no name to check the policy against, and no name to mint for. */
	if (!sni || !*sni || strlen(sni) > 253 || !tls.check(conn, sni)) {
		*alert = SSL_AD_UNRECOGNIZED_NAME;
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	leaf = leaf_for(sni);
	if (!leaf || !SSL_use_certificate(ssl, leaf) || !SSL_use_PrivateKey(ssl, tls.leaf_key)) {
		*alert = SSL_AD_INTERNAL_ERROR;
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	return SSL_TLSEXT_ERR_OK;
}

static int
alpn_cb(
    SSL *ssl, const uint8_t **out, uint8_t *out_len, const uint8_t *in, unsigned in_len, void *arg)
{
	(void)ssl;
	(void)arg;
	/* Only HTTP/1.1: that is what the proxy parses. */
	for (unsigned i = 0; i < in_len;) {
		unsigned l = in[i];

		if (i + 1 + l > in_len)
			break;
		if (l == 8 && !memcmp(in + i + 1, "http/1.1", 8)) {
			*out = in + i + 1;
			*out_len = 8;
			return SSL_TLSEXT_ERR_OK;
		}
		i += 1 + l;
	}
	return SSL_TLSEXT_ERR_NOACK;
}

int
tls_init(const char *ca_pem, size_t ca_len, const char *key_pem, size_t key_len,
    const char *trust_file, tls_sni_check check)
{
	static const uint8_t alpn[] = "\x08http/1.1";
	BIO *b;
	EC_KEY *ec;

	tls.check = check;
	b = BIO_new_mem_buf(ca_pem, (ssize_t)ca_len);
	tls.ca = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	b = BIO_new_mem_buf(key_pem, (ssize_t)key_len);
	tls.ca_key = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	if (!tls.ca || !tls.ca_key || !X509_check_private_key(tls.ca, tls.ca_key))
		return -EINVAL;
	ec = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);
	tls.leaf_key = EVP_PKEY_new();
	if (!ec || !EC_KEY_generate_key(ec) || !tls.leaf_key ||
	    !EVP_PKEY_assign_EC_KEY(tls.leaf_key, ec))
		return -ENOMEM;
	tls.conn_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);

	tls.server = SSL_CTX_new(TLS_method());
	tls.client = SSL_CTX_new(TLS_method());
	if (!tls.server || !tls.client)
		return -ENOMEM;
	SSL_CTX_set_min_proto_version(tls.server, TLS1_2_VERSION);
	SSL_CTX_set_min_proto_version(tls.client, TLS1_2_VERSION);
	SSL_CTX_set_tlsext_servername_callback(tls.server, servername_cb);
	SSL_CTX_set_alpn_select_cb(tls.server, alpn_cb, NULL);
	/* The upstream is verified: chain and name (SSL_set1_host per connection). */
	if (!SSL_CTX_load_verify_locations(tls.client, trust_file, NULL))
		return -ENOENT;
	SSL_CTX_set_verify(tls.client, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_set_alpn_protos(tls.client, alpn, sizeof(alpn) - 1) != 0)
		return -ENOMEM;
	/* Whatever BoringSSL opens lazily (the entropy source...) is opened now, before
	 * the sandbox: mint one throwaway leaf. */
	{
		uint8_t seed[16];
		X509 *x;

		RAND_bytes(seed, sizeof(seed));
		x = mint("cgfw.invalid");
		if (!x)
			return -ENOMEM;
		X509_free(x);
	}
	return 0;
}

static SSL *
tls_new(SSL_CTX *ctx)
{
	SSL *ssl = SSL_new(ctx);
	BIO *r = BIO_new(BIO_s_mem()), *w = BIO_new(BIO_s_mem());

	if (!ssl || !r || !w) {
		SSL_free(ssl);
		BIO_free(r);
		BIO_free(w);
		return NULL;
	}
	SSL_set_bio(ssl, r, w);
	return ssl;
}

SSL *
tls_server_new(void *conn)
{
	SSL *ssl = tls_new(tls.server);

	if (ssl) {
		SSL_set_ex_data(ssl, tls.conn_idx, conn);
		SSL_set_accept_state(ssl);
	}
	return ssl;
}

SSL *
tls_client_new(const char *sni)
{
	SSL *ssl = tls_new(tls.client);

	if (!ssl)
		return NULL;
	if (!SSL_set_tlsext_host_name(ssl, sni) || !SSL_set1_host(ssl, sni)) {
		SSL_free(ssl);
		return NULL;
	}
	SSL_set_connect_state(ssl);
	return ssl;
}

void
tls_free(SSL *ssl)
{
	SSL_free(ssl);
}

int
tls_put(SSL *ssl, const void *data, size_t len)
{
	return BIO_write(SSL_get_rbio(ssl), data, (int)len) == (int)len ? 0 : -ENOMEM;
}

size_t
tls_take(SSL *ssl, void *buf, size_t cap)
{
	int n = BIO_read(SSL_get_wbio(ssl), buf, (int)cap);

	return n > 0 ? (size_t)n : 0;
}

int
tls_handshake(SSL *ssl)
{
	int r = SSL_do_handshake(ssl);

	if (r == 1)
		return 1;
	r = SSL_get_error(ssl, r);
	return r == SSL_ERROR_WANT_READ || r == SSL_ERROR_WANT_WRITE ? 0 : -1;
}

int
tls_handshake_done(SSL *ssl)
{
	return SSL_is_init_finished(ssl);
}

int
tls_read(SSL *ssl, void *buf, size_t cap)
{
	int n = SSL_read(ssl, buf, (int)cap);

	if (n > 0)
		return n;
	n = SSL_get_error(ssl, n);
	return n == SSL_ERROR_WANT_READ ? 0 : -1;
}

int
tls_write(SSL *ssl, const void *data, size_t len)
{
	int n = SSL_write(ssl, data, (int)len);

	return n == (int)len ? 0 : -EIO;
}

void
tls_close(SSL *ssl)
{
	/* 0: our close_notify is queued, the peer's not read; we read nothing more. */
	(void)SSL_shutdown(ssl);
}

const char *
tls_sni(SSL *ssl)
{
	return SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
}

const char *
tls_error(SSL *ssl)
{
	long v = SSL_get_verify_result(ssl);
	uint32_t e;

	if (v != X509_V_OK)
		return X509_verify_cert_error_string(v);
	e = ERR_peek_last_error();
	return e ? ERR_reason_error_string(e) : "handshake failed";
}
