/*
 * mm_forge.c - test tool: writes a signed command frame, the way an
 * attacker or a faulty server might, so integration tests can show that the
 * agent refuses forged, replayed, expired and misdirected commands.
 *
 *   mm_forge --key server/cmd_sign.key|random --device ID --name N
 *            [--args JSON] --counter C [--issued-ago S] [--ttl S] > frame
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/mm_alloc.h"
#include "common/mm_crypto.h"
#include "common/mm_file.h"
#include "proto/mm_cmd.h"

static int
load_sk(const char *path, uint8_t sk[MM_SIGN_SK_LEN], uint8_t pk[MM_SIGN_PK_LEN])
{
	char *text = NULL;
	size_t n;
	int r;

	if (strcmp(path, "random") == 0)
		return mm_sign_keypair(pk, sk);
	if (mm_file_read(path, 1024, &text, &n) != 0)
		return -1;
	text[strcspn(text, "\n")] = '\0';
	r = mm_hex_decode(sk, MM_SIGN_SK_LEN, text);
	memcpy(pk, sk + 32, MM_SIGN_PK_LEN);
	mm_free(text);
	return r;
}

static long long
num(const char *s)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || v < 0) {
		fprintf(stderr, "mm_forge: bad number %s\n", s);
		exit(2);
	}
	return v;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "device", required_argument, NULL, 'd' },
		{ "name", required_argument, NULL, 'n' },
		{ "args", required_argument, NULL, 'a' },
		{ "counter", required_argument, NULL, 'c' },
		{ "issued-ago", required_argument, NULL, 'i' },
		{ "ttl", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 },
	};
	uint8_t sk[MM_SIGN_SK_LEN], pk[MM_SIGN_PK_LEN], *frame;
	const char *key = NULL;
	long ago = 0, ttl = 600;
	struct mm_cmd c;
	size_t len;
	int ch;

	memset(&c, 0, sizeof(c));
	snprintf(c.args, sizeof(c.args), "{}");
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'k': key = optarg; break;
		case 'd': snprintf(c.device_id, sizeof(c.device_id), "%s", optarg); break;
		case 'n': snprintf(c.name, sizeof(c.name), "%s", optarg); break;
		case 'a': snprintf(c.args, sizeof(c.args), "%s", optarg); break;
		case 'c': c.counter = (uint64_t)num(optarg); break;
		case 'i': ago = (long)num(optarg); break;
		case 't': ttl = (long)num(optarg); break;
		default: return 2;
		}
	}
	if (key == NULL || mm_crypto_init() != 0 || load_sk(key, sk, pk) != 0) {
		fprintf(stderr, "mm_forge: need --key FILE|random\n");
		return 2;
	}
	c.issued = (uint64_t)(time(NULL) - ago);
	c.expires = c.issued + (uint64_t)ttl;
	if (mm_cmd_sign(&c, sk, pk, &frame, &len) != 0) {
		fprintf(stderr, "mm_forge: cannot encode\n");
		return 1;
	}
	fwrite(frame, 1, len, stdout);
	mm_free(frame);
	return 0;
}
