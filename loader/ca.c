// SPDX-License-Identifier: MIT
/*
 * The CA that signs cgfw-httpproxy's leaf certificates, and the trust bundle
 * a `run` command gets.  mkcert's CA is used when $CAROOT holds one; else
 * cgfw's own, in the state directory (key 0600, root's).  Nothing here runs
 * as root but open(): the loader creates the files and opens the CA for the
 * worker (which cannot read root's files), while the keygen and signature
 * (BoringSSL) and the bundle's copying run in unprivileged helpers
 * (compile.c) that write through the fds they are given.  mkcert's default
 * CAROOT is computed as mkcert computes it; mkcert is never run.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
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
#include "lib/proc.h"
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

/* In the helper: a P-256 key and a ten-year self-signed CA certificate, into the fds. */
static int
ca_create(int cert_fd, int key_fd)
{
	EC_KEY *ec = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);
	EVP_PKEY *key = EVP_PKEY_new();
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	uint8_t serial[16];
	BIGNUM *bn = NULL;
	FILE *f = NULL;
	int ok = 0;

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
	if (!(f = fdopen(key_fd, "w")))
		goto out;
	if (!PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) || fclose(f) != 0) {
		f = NULL;
		goto out;
	}
	f = NULL;
	if (!(f = fdopen(cert_fd, "w")))
		goto out;
	ok = PEM_write_X509(f, x) && fclose(f) == 0;
	f = NULL;
out:
	if (f)
		fclose(f);
	EC_KEY_free(ec);
	EVP_PKEY_free(key);
	X509_free(x);
	X509_NAME_free(name);
	BN_free(bn);
	return ok ? 0 : -EIO;
}

/*
 * mkcert's default CAROOT when mkcert is installed (root's, where root's
 * PATH finds it): what `mkcert -CAROOT` prints, $XDG_DATA_HOME/mkcert, else
 * $HOME/.local/share/mkcert, worked out here instead of running it as root.
 */
static int
mkcert_caroot(char *buf, size_t len)
{
	static const char *const bins[] = {"/usr/bin/mkcert", "/usr/local/bin/mkcert"};
	const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");

	for (size_t i = 0; i < sizeof(bins) / sizeof(bins[0]); i++) {
		struct stat st;
		int n;

		if (stat(bins[i], &st) < 0 || st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH)))
			continue;
		if (xdg && *xdg)
			n = snprintf(buf, len, "%s/mkcert", xdg);
		else if (home && *home)
			n = snprintf(buf, len, "%s/.local/share/mkcert", home);
		else
			return -ENOENT;
		return n > 0 && (size_t)n < len ? 0 : -ENAMETOOLONG;
	}
	return -ENOENT;
}

/* cgfw's own CA: root creates the two files, an unprivileged helper fills them. */
static void
ca_make(struct loader *l, const char *cert, const char *key)
{
	static const char *const allow[] = {NULL};
	int keep[2] = {-1, -1}, r = -1;
	pid_t pid;

	keep[1] = open(key, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (keep[1] >= 0)
		keep[0] = open(cert, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (keep[0] >= 0 && fchmod(keep[0], 0644) == 0) {
		pid = helper_start(l, (uid_t)-1, NULL, keep, 2, "cgfw-loader", allow);
		if (pid == 0)
			_exit(ca_create(keep[0], keep[1]) < 0 ? CGFW_EXIT_FAILED : 0);
		r = helper_wait(pid, "the CA maker");
	}
	if (keep[0] >= 0)
		(void)close(keep[0]);
	if (keep[1] >= 0)
		(void)close(keep[1]);
	if (r != 0) {
		if (keep[1] >= 0)
			(void)unlink(key);
		if (keep[0] >= 0)
			(void)unlink(cert);
		fatalx("cannot create the CA in %s", l->o->state_dir);
	}
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
		int dfd;

		if (mkdir(l->o->state_dir, 0755) < 0 && errno != EEXIST)
			fatal("cannot create the state directory %s", l->o->state_dir);
		snprintf(cert, sizeof(cert), "%s/ca.pem", l->o->state_dir);
		snprintf(key, sizeof(key), "%s/ca-key.pem", l->o->state_dir);
		/*
		 * Instances share a state directory (and so one CA): the first
		 * makes it while holding the directory's flock, the others wait
		 * and find it whole, never half written.
		 */
		dfd = open(l->o->state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0 || flock(dfd, LOCK_EX) < 0)
			fatal("cannot lock the state directory %s", l->o->state_dir);
		if (access(cert, F_OK) != 0) {
			ca_make(l, cert, key);
			log_info("created the CA %s (trust it, or use `run`, which does)", cert);
		}
		(void)close(dfd);
	}
	snprintf(l->ca_path, sizeof(l->ca_path), "%s", cert);
	l->ca_fd = open(cert, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	l->ca_key_fd = open(key, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (l->ca_fd < 0 || l->ca_key_fd < 0)
		fatal("cannot open the CA %s and its key", cert);
	return 0;
}

/* In the helper: append what in holds (from offset 0) to out. */
static int
copy_into(int out, int in)
{
	char buf[65536];
	off_t off = 0;
	ssize_t n;

	while ((n = pread(in, buf, sizeof(buf), off)) > 0) {
		if (write(out, buf, (size_t)n) != n)
			return -EIO;
		off += n;
	}
	return n < 0 ? -errno : 0;
}

/*
 * For `run`: a bundle of the trust the loader had plus the CA, so that curl,
 * Python, Node and git trust the minted leaves without a system-wide change.
 * It is made as the command's user (the reserved helper uid for a root
 * command), so $SSL_CERT_FILE brings in only what that user may read, and
 * kept in /run/cgfw, root's, not in /tmp.
 */
void
ca_trust_bundle(struct loader *l)
{
	static const char *const allow[] = {"open", "openat", "pread64", NULL};
	const char *sys = getenv("SSL_CERT_FILE");
	int keep[2];
	pid_t pid;

	if (mkdir(CGFW_RUN_DIR, 0755) < 0 && errno != EEXIST)
		fatal("cannot create " CGFW_RUN_DIR);
	snprintf(
	    l->bundle_path, sizeof(l->bundle_path), CGFW_RUN_DIR "/trust-%d.pem", (int)getpid());
	(void)unlink(l->bundle_path); /* a dead loader's of our pid: /run/cgfw is root's */
	keep[0] = open(l->bundle_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (keep[0] < 0 || fchmod(keep[0], 0644) < 0)
		fatal("cannot create the trust bundle %s", l->bundle_path);
	keep[1] = l->ca_fd;
	/* A command of uid or gid 0: the reserved uid instead (a helper is never root). */
	pid = helper_start(
	    l, l->uid && l->gid ? l->uid : (uid_t)-1, l->user_name, keep, 2, "cgfw-loader", allow);
	if (pid == 0) {
		const char *src = sys && *sys ? sys : SYSTEM_TRUST;
		int in = open(src, O_RDONLY | O_CLOEXEC);

		if (in < 0)
			fatal("cannot read %s as uid %u for the command's trust bundle", src,
			    (unsigned)getuid());
		if (copy_into(keep[0], in) < 0 || write(keep[0], "\n", 1) != 1 ||
		    copy_into(keep[0], keep[1]) < 0)
			fatalx("cannot write the trust bundle %s", l->bundle_path);
		_exit(0);
	}
	(void)close(keep[0]);
	helper_finish(pid, "the trust bundle's helper");
}

const char *
ca_upstream_trust(const struct loader *l)
{
	const char *sys = getenv("SSL_CERT_FILE");

	if (l->o->upstream_ca)
		return l->o->upstream_ca;
	return sys && *sys ? sys : SYSTEM_TRUST;
}
