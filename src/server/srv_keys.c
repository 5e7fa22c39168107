/* srv_keys.c - the fleet's Ed25519 command-signing key pair.
 *
 * server/cmd_sign.key holds the secret key as hex (mode 0600); cmd_sign.pub
 * the public key as hex: devices get it at the factory with ca.crt. */
#include <string.h>

#include "common/mm_alloc.h"
#include "common/mm_err.h"
#include "common/mm_file.h"
#include "server/srv.h"

static int
srv_keys_write_hex(const char *path, const uint8_t *k, size_t len, mode_t mode)
{
	char hex[2 * MM_SIGN_SK_LEN + 2];
	int r;

	mm_hex_encode(hex, k, len);
	hex[2 * len] = '\n';
	r = mm_file_write_atomic(path, hex, 2 * len + 1, mode);
	mm_wipe(hex, sizeof(hex));
	return r;
}

static int
srv_keys_read_hex(const char *path, uint8_t *k, size_t len)
{
	char *text = NULL;
	size_t n;
	int r;

	if ((r = mm_file_read(path, 4 * len, &text, &n)) != 0)
		return r;
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		text[--n] = '\0';
	r = mm_hex_decode(k, len, text) == 0 ? MM_OK : MM_ERR_CORRUPT;
	mm_freezero(text, n + 1);
	return r;
}

int
srv_keys_create(const struct srv_conf *c)
{
	uint8_t pk[MM_SIGN_PK_LEN], sk[MM_SIGN_SK_LEN];
	char path[SRV_PATH_MAX + 32];
	int r;

	if ((r = mm_sign_keypair(pk, sk)) != 0)
		return r;
	if ((r = srv_conf_path(c, "server/cmd_sign.key", path, sizeof(path))) == 0)
		r = srv_keys_write_hex(path, sk, sizeof(sk), 0600);
	if (r == 0 && (r = srv_conf_path(c, "server/cmd_sign.pub", path, sizeof(path))) == 0)
		r = srv_keys_write_hex(path, pk, sizeof(pk), 0644);
	mm_wipe(sk, sizeof(sk));
	return r;
}

int
srv_keys_load(const struct srv_conf *c, uint8_t pk[MM_SIGN_PK_LEN],
    uint8_t sk[MM_SIGN_SK_LEN])
{
	uint8_t derived[MM_SIGN_PK_LEN];
	char path[SRV_PATH_MAX + 32];
	int r;

	if ((r = srv_conf_path(c, "server/cmd_sign.key", path, sizeof(path))) != 0 ||
	    (r = srv_keys_read_hex(path, sk, MM_SIGN_SK_LEN)) != 0 ||
	    (r = srv_conf_path(c, "server/cmd_sign.pub", path, sizeof(path))) != 0 ||
	    (r = srv_keys_read_hex(path, pk, MM_SIGN_PK_LEN)) != 0)
		return r;
	/* an Ed25519 secret key carries its public half: they must agree */
	memcpy(derived, sk + 32, sizeof(derived));
	if (memcmp(derived, pk, sizeof(derived)) != 0) {
		mm_wipe(sk, MM_SIGN_SK_LEN);
		return MM_ERR_KEY_MISMATCH;
	}
	return MM_OK;
}
