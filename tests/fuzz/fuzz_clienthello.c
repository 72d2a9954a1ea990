// SPDX-License-Identifier: MIT
/*
 * Fuzz target: a ClientHello (any bytes) against cgfw-httpproxy's TLS server
 * side (httpproxy/tls.c): SNI check, leaf minting, ALPN selection.  The CA
 * below is a throwaway made for this target only; it signs nothing real.
 * tests/fuzz/replay.c replays files without libFuzzer (make check runs the corpus).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "httpproxy/tls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fuzz_ca[] = "-----BEGIN CERTIFICATE-----\n"
                              "MIIB1TCCAXugAwIBAgIUBvXh8v3cRrCiYerzf3t8DhgyrmQwCgYIKoZIzj0EAwIw\n"
                              "NzESMBAGA1UECgwJY2dmdyBmdXp6MSEwHwYDVQQDDBhjZ2Z3IGZ1enogQ0EgKHRl\n"
                              "c3Qgb25seSkwIBcNMjYxMTI5MDY0MjIzWhgPMjEyNjExMDUwNjQyMjNaMDcxEjAQ\n"
                              "BgNVBAoMCWNnZncgZnV6ejEhMB8GA1UEAwwYY2dmdyBmdXp6IENBICh0ZXN0IG9u\n"
                              "bHkpMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEPwsDLJpk/j6dOqug9gE28R5j\n"
                              "EEMerjtogC+rQLTH0F7TpYlrDcn9YhGmf7owXHmVGH7E38y7nSNqxNoW3dgRNaNj\n"
                              "MGEwHQYDVR0OBBYEFOq5yED3WXAqWz0FOi1ki/eDEYGKMB8GA1UdIwQYMBaAFOq5\n"
                              "yED3WXAqWz0FOi1ki/eDEYGKMA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0PAQH/BAQD\n"
                              "AgIEMAoGCCqGSM49BAMCA0gAMEUCIQDouYqMZiYhmaww43Y8eE18qFInDvuUKYuY\n"
                              "xlvnICA0AAIgc3SzsoogzlLqE1g8bqSXQ2yXfMRAt95v7PfbaPMrvh0=\n"
                              "-----END CERTIFICATE-----\n";

static const char fuzz_ca_key[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgTjFdmiDEQyKSfMJK\n"
    "RlGUH+NU8oa5OLJ518j4JYca8wihRANCAAQ/CwMsmmT+Pp06q6D2ATbxHmMQQx6u\n"
    "O2iAL6tAtMfQXtOliWsNyf1iEaZ/ujBceZUYfsTfzLudI2rE2hbd2BE1\n"
    "-----END PRIVATE KEY-----\n";

/* Names ending in "blocked.example" are refused, like a blocked name. */
static int
check(void *conn, const char *sni)
{
	size_t n = strlen(sni);

	(void)conn;
	return !(n >= 15 && !strcmp(sni + n - 15, "blocked.example"));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	uint8_t out[65536];
	SSL *ssl;

	if (!ready) {
		if (tls_init(fuzz_ca, sizeof(fuzz_ca) - 1, fuzz_ca_key, sizeof(fuzz_ca_key) - 1,
		        "/etc/ssl/certs/ca-certificates.crt", check) < 0)
			abort();
		ready = 1;
	}
	ssl = tls_server_new(NULL);
	if (!ssl)
		abort();
	if (tls_put(ssl, data, size) == 0) {
		(void)tls_handshake(ssl);
		while (tls_take(ssl, out, sizeof(out)) > 0)
			;
		(void)tls_sni(ssl);
	}
	tls_free(ssl);
	return 0;
}
