// SPDX-License-Identifier: MIT
/*
 * The CA that signs cgfw-httpproxy's leaf certificates, and the trust bundle
 * a `run` command gets.  mkcert's CA is used when $CAROOT holds one; else
 * cgfw's own, created on first use in the state directory (key 0600, root's).
 * The loader opens the key and hands the fd over: the worker cannot read
 * root's files.  This is the loader's only use of BoringSSL (keygen and one
 * self-signature, once); every TLS connection is the worker's.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ec_key.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "lib/log.h"
#include "loader.h"

#define SYSTEM_TRUST "/etc/ssl/certs/ca-certificates.crt"

static int
add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;

	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_nconf_nid(NULL, &ctx, nid, value);
	if (!ext)
		return 0;
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return 1;
}

/* A P-256 key and a ten-year self-signed CA certificate, written 0644/0600. */
static int
ca_create(const char *cert_path, const char *key_path)
{
	EC_KEY *ec = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);
	EVP_PKEY *key = EVP_PKEY_new();
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	uint8_t serial[16];
	BIGNUM *bn = NULL;
	FILE *f = NULL;
	int fd = -1, ok = 0;

	RAND_bytes(serial, sizeof(serial));
	serial[0] &= 0x7f;
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	if (!ec || !key || !x || !name || !bn || !EC_KEY_generate_key(ec) ||
	    !EVP_PKEY_assign_EC_KEY(key, ec))
		goto out;
	ec = NULL;
	if (!BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) ||
	    !X509_set_version(x, X509_VERSION_3) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(x), 10L * 365 * 86400) ||
	    !X509_NAME_add_entry_by_txt(
	        name, "O", MBSTRING_ASC, (const uint8_t *)"cgfw", -1, -1, 0) ||
	    !X509_NAME_add_entry_by_txt(
	        name, "CN", MBSTRING_ASC, (const uint8_t *)"cgfw local CA", -1, -1, 0) ||
	    !X509_set_subject_name(x, name) || !X509_set_issuer_name(x, name) ||
	    !X509_set_pubkey(x, key) || !add_ext(x, NID_basic_constraints, "critical,CA:TRUE") ||
	    !add_ext(x, NID_key_usage, "critical,keyCertSign,cRLSign") ||
	    !add_ext(x, NID_subject_key_identifier, "hash") || !X509_sign(x, key, EVP_sha256()))
		goto out;
	fd = open(key_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || !(f = fdopen(fd, "w")))
		goto out;
	fd = -1;
	if (!PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) || fclose(f) != 0) {
		f = NULL;
		goto out;
	}
	f = NULL;
	fd = open(cert_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0 || !(f = fdopen(fd, "w")))
		goto out;
	fd = -1;
	ok = PEM_write_X509(f, x) && fclose(f) == 0;
	f = NULL;
out:
	if (f)
		fclose(f);
	if (fd >= 0)
		(void)close(fd);
	if (!ok) {
		(void)unlink(key_path);
		(void)unlink(cert_path);
	}
	EC_KEY_free(ec);
	EVP_PKEY_free(key);
	X509_free(x);
	X509_NAME_free(name);
	BN_free(bn);
	return ok ? 0 : -EIO;
}

/*
 * mkcert's default CAROOT, if mkcert is installed where root's PATH would find
 * it and has made a CA there: a read-only query of a root-owned binary.
 */
static int
mkcert_caroot(char *buf, size_t len)
{
	static const char *const bins[] = {"/usr/bin/mkcert", "/usr/local/bin/mkcert"};
	char cmd[64];
	FILE *p;
	size_t n;

	for (size_t i = 0; i < sizeof(bins) / sizeof(bins[0]); i++) {
		struct stat st;

		if (stat(bins[i], &st) < 0 || st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)))
			continue;
		snprintf(cmd, sizeof(cmd), "%s -CAROOT 2>/dev/null", bins[i]);
		p = popen(cmd, "re");
		if (!p)
			return -errno;
		n = fread(buf, 1, len - 1, p);
		(void)pclose(p);
		while (n && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
			n--;
		buf[n] = '\0';
		return n ? 0 : -ENOENT;
	}
	return -ENOENT;
}

/*
 * Find or make the CA, and open it: $CAROOT's mkcert CA; else, unless
 * --state-dir was given, mkcert's default CAROOT when it holds a CA; else
 * cgfw's own in the state directory, created now if missing.
 */
int
ca_setup(struct loader *l)
{
	const char *caroot = getenv("CAROOT");
	char cert[PATH_MAX], key[PATH_MAX], dflt[PATH_MAX - 32];
	int r;

	if ((!caroot || !*caroot) && !l->o->have_state_dir &&
	    mkcert_caroot(dflt, sizeof(dflt)) == 0) {
		snprintf(cert, sizeof(cert), "%s/rootCA.pem", dflt);
		snprintf(key, sizeof(key), "%s/rootCA-key.pem", dflt);
		if (access(cert, R_OK) == 0 && access(key, R_OK) == 0)
			caroot = dflt;
	}
	if (caroot && *caroot) {
		snprintf(cert, sizeof(cert), "%s/rootCA.pem", caroot);
		snprintf(key, sizeof(key), "%s/rootCA-key.pem", caroot);
		if (access(cert, R_OK) != 0 || access(key, R_OK) != 0)
			fatalx("CAROOT=%s holds no mkcert CA (rootCA.pem, rootCA-key.pem)", caroot);
	} else {
		if (mkdir(l->o->state_dir, 0755) < 0 && errno != EEXIST)
			fatal("cannot create the state directory %s", l->o->state_dir);
		snprintf(cert, sizeof(cert), "%s/ca.pem", l->o->state_dir);
		snprintf(key, sizeof(key), "%s/ca-key.pem", l->o->state_dir);
		if (access(cert, F_OK) != 0) {
			r = ca_create(cert, key);
			if (r < 0)
				fatalx("cannot create the CA in %s", l->o->state_dir);
			log_info("created the CA %s (trust it, or use `run`, which does)", cert);
		}
	}
	snprintf(l->ca_path, sizeof(l->ca_path), "%s", cert);
	l->ca_fd = open(cert, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	l->ca_key_fd = open(key, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (l->ca_fd < 0 || l->ca_key_fd < 0)
		fatal("cannot open the CA %s and its key", cert);
	return 0;
}

static int
copy_into(int out, const char *path)
{
	char buf[65536];
	ssize_t n;
	int in = open(path, O_RDONLY | O_CLOEXEC);

	if (in < 0)
		return -errno;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			(void)close(in);
			return -EIO;
		}
	(void)close(in);
	return n < 0 ? -errno : 0;
}

/*
 * For `run`: a bundle of the trust the loader had plus the CA, so that curl,
 * Python, Node and git trust the minted leaves without a system-wide change.
 */
void
ca_trust_bundle(struct loader *l)
{
	const char *sys = getenv("SSL_CERT_FILE");
	int fd;

	snprintf(l->bundle_path, sizeof(l->bundle_path), "/tmp/cgfw-trust-XXXXXX");
	fd = mkstemp(l->bundle_path);
	if (fd < 0)
		fatal("cannot create the trust bundle");
	if (fchmod(fd, 0644) < 0 || copy_into(fd, sys && *sys ? sys : SYSTEM_TRUST) < 0 ||
	    write(fd, "\n", 1) != 1 || copy_into(fd, l->ca_path) < 0)
		fatal("cannot write the trust bundle %s", l->bundle_path);
	(void)close(fd);
}

const char *
ca_upstream_trust(const struct loader *l)
{
	const char *sys = getenv("SSL_CERT_FILE");

	if (l->o->upstream_ca)
		return l->o->upstream_ca;
	return sys && *sys ? sys : SYSTEM_TRUST;
}
