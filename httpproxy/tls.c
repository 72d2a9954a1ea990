// SPDX-License-Identifier: MIT
/*
 * TLS both ways for cgfw-httpproxy, on memory BIOs so libuv owns the sockets.
 * Toward the client: the SNI of the ClientHello picks a leaf certificate for
 * that name, minted on first use (one P-256 key for every leaf, each leaf
 * signed by the CA the loader handed over), ALPN http/1.1 only; no SNI, or a
 * name the policy does not allow, ends the handshake.  Toward the server:
 * the chain and the name are verified against the trust file; a failure is
 * reported, never passed.
 *
 * Resumption, both ways, to spare a full handshake per connection:
 *  - toward the client, BoringSSL's own: session tickets under a key that
 *    lives only in this process's memory, made at random on first use and
 *    rotated by BoringSSL every two days (SSL_DEFAULT_TICKET_KEY_ROTATION_
 *    INTERVAL), with its in-memory session cache for TLS 1.2 session IDs.  A
 *    session belongs to one SNI name (its session ID context is that name's
 *    SHA-256), so it never resumes under another name.  The servername
 *    callback, and so the policy check of the SNI, runs on every handshake,
 *    resumed or not; every request is judged the same either way.
 *  - toward the server, a session is kept per (SNI name, address, port) and
 *    offered on the next connection there.  Only a handshake that verified
 *    the chain and the name makes one (a failure ends the handshake), and a
 *    session is offered for at most TLS_UPSTREAM_SESSION_SECS after that full
 *    verification, however often it was resumed since: then a full handshake
 *    verifies the server again.
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
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "tls.h"

#define LEAF_CACHE                256
#define UPSTREAM_SESSIONS         256
#define TLS_UPSTREAM_SESSION_SECS 300

struct leaf {
	char host[256];
	X509 *cert;
};

/* Where a client-side SSL goes, and when the session it offers was verified in full. */
struct upstream_key {
	uint32_t addr; /* network order */
	uint16_t port;
	int64_t verified; /* monotonic seconds; 0: nothing offered */
};

struct upstream_session {
	char host[256];
	struct upstream_key key;
	SSL_SESSION *sess;
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
	struct upstream_session sess[UPSTREAM_SESSIONS];
	size_t n_sess, next_sess;
	int conn_idx;
	int key_idx; /* a client SSL's struct upstream_key */
} tls;

static int64_t
mono_secs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

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
	uint8_t sid_ctx[SHA256_DIGEST_LENGTH];
	X509 *leaf;

	(void)arg;
	/* No SNI: no name to check the policy against, and no name to mint for. */
	if (!sni || !*sni || strlen(sni) > 253 || !tls.check(conn, sni)) {
		*alert = SSL_AD_UNRECOGNIZED_NAME;
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	SHA256((const uint8_t *)sni, strlen(sni), sid_ctx);
	leaf = leaf_for(sni);
	if (!leaf || !SSL_use_certificate(ssl, leaf) || !SSL_use_PrivateKey(ssl, tls.leaf_key) ||
	    !SSL_set_session_id_context(ssl, sid_ctx, sizeof(sid_ctx))) {
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

static struct upstream_session *
session_find(const char *host, const struct upstream_key *k)
{
	for (size_t i = 0; i < tls.n_sess; i++) {
		struct upstream_session *e = &tls.sess[i];

		if (e->key.addr == k->addr && e->key.port == k->port && !strcmp(e->host, host))
			return e;
	}
	return NULL;
}

/*
 * The server gave a session (a TLS 1.3 ticket comes after the handshake, a
 * TLS 1.2 one with it): keep it for the next connection to the same name
 * and address.  The handshake verified the server in full, or resumed a
 * session that had been (key->verified says when).
 */
static int
new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
	struct upstream_key *k = SSL_get_ex_data(ssl, tls.key_idx);
	const char *host = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	struct upstream_session *e;

	if (!k || !host || strlen(host) >= sizeof(e->host) || !SSL_SESSION_is_resumable(sess))
		return 0;
	if (!SSL_session_reused(ssl))
		k->verified = mono_secs();
	else if (!k->verified)
		return 0;
	e = session_find(host, k);
	if (!e) {
		e = &tls.sess[tls.next_sess];
		tls.next_sess = (tls.next_sess + 1) % UPSTREAM_SESSIONS;
		if (tls.n_sess < UPSTREAM_SESSIONS)
			tls.n_sess++;
		snprintf(e->host, sizeof(e->host), "%s", host);
	}
	SSL_SESSION_free(e->sess);
	e->sess = sess;
	e->key = *k;
	return 1; /* ours now */
}

static void
key_free(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int index, long argl, void *argp)
{
	(void)parent;
	(void)ad;
	(void)index;
	(void)argl;
	(void)argp;
	free(ptr);
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
	tls.key_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, key_free);

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
	/* Sessions to servers: ours to keep (new_session_cb), none older than the cap. */
	SSL_CTX_set_session_cache_mode(tls.client, SSL_SESS_CACHE_CLIENT);
	SSL_CTX_sess_set_new_cb(tls.client, new_session_cb);
	SSL_CTX_set_timeout(tls.client, TLS_UPSTREAM_SESSION_SECS);
	SSL_CTX_set_session_psk_dhe_timeout(tls.client, TLS_UPSTREAM_SESSION_SECS);
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
tls_client_new(const char *sni, uint32_t addr, uint16_t port)
{
	SSL *ssl = tls_new(tls.client);
	struct upstream_key *k = calloc(1, sizeof(*k));
	struct upstream_session *e;

	if (!ssl || !k || !SSL_set_ex_data(ssl, tls.key_idx, k)) {
		free(k);
		SSL_free(ssl);
		return NULL;
	}
	k->addr = addr;
	k->port = port;
	if (!SSL_set_tlsext_host_name(ssl, sni) || !SSL_set1_host(ssl, sni)) {
		SSL_free(ssl);
		return NULL;
	}
	/* A session this name and address verified in full, not too long ago. */
	e = session_find(sni, k);
	if (e && mono_secs() - e->key.verified < TLS_UPSTREAM_SESSION_SECS &&
	    SSL_set_session(ssl, e->sess))
		k->verified = e->key.verified;
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
