/* mm_cmd.c - encoding and verification of signed commands. */
#include <string.h>

#include <jansson.h>

#include "common/mm_alloc.h"
#include "common/mm_buf.h"
#include "common/mm_err.h"
#include "proto/mm_cmd.h"

static const uint8_t mm_cmd_magic[4] = { 'M', 'M', 'C', '1' };

static int
mm_cmd_name_valid(const char *s)
{
	size_t i, n = strnlen(s, MM_CMD_NAME_MAX);

	if (n == 0 || n >= MM_CMD_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_'))
			return 0;
	return 1;
}

/* Args must be a JSON object no bigger than MM_CMD_ARGS_MAX. */
static int
mm_cmd_args_valid(const char *args, size_t len)
{
	json_t *j;
	int ok;

	if (len == 0 || len > MM_CMD_ARGS_MAX)
		return 0;
	j = json_loadb(args, len, JSON_REJECT_DUPLICATES, NULL);
	ok = j != NULL && json_is_object(j);
	json_decref(j);
	return ok;
}

int
mm_cmd_sign(const struct mm_cmd *cmd, const uint8_t sk[MM_SIGN_SK_LEN],
    const uint8_t pk[MM_SIGN_PK_LEN], uint8_t **out, size_t *outlen)
{
	uint8_t keyid[MM_KEYID_LEN], sig[MM_SIGN_LEN], *res;
	struct mm_buf *b;
	size_t alen = strnlen(cmd->args, sizeof(cmd->args));
	int r;

	if (!mm_devid_valid(cmd->device_id) || !mm_cmd_name_valid(cmd->name) ||
	    !mm_cmd_args_valid(cmd->args, alen) || cmd->expires <= cmd->issued)
		return MM_ERR_INVALID_ARG;
	if ((b = mm_buf_new(MM_CMD_MAX_FRAME)) == NULL)
		return MM_ERR_ALLOC;
	mm_sign_keyid(keyid, pk);
	if ((r = mm_buf_put(b, mm_cmd_magic, sizeof(mm_cmd_magic))) != 0 ||
	    (r = mm_buf_put_u8(b, MM_CMD_ALG_ED25519)) != 0 ||
	    (r = mm_buf_put(b, keyid, sizeof(keyid))) != 0 ||
	    (r = mm_buf_put_u64(b, cmd->counter)) != 0 ||
	    (r = mm_buf_put_u64(b, cmd->issued)) != 0 ||
	    (r = mm_buf_put_u64(b, cmd->expires)) != 0 ||
	    (r = mm_buf_put_str8(b, cmd->device_id, strlen(cmd->device_id))) != 0 ||
	    (r = mm_buf_put_str8(b, cmd->name, strlen(cmd->name))) != 0 ||
	    (r = mm_buf_put_str16(b, cmd->args, alen)) != 0)
		goto out;
	if ((r = mm_sign_detached(sig, mm_buf_ptr(b), mm_buf_len(b), sk)) != 0 ||
	    (r = mm_buf_put(b, sig, sizeof(sig))) != 0)
		goto out;
	if ((res = mm_malloc(mm_buf_len(b))) == NULL) {
		r = MM_ERR_ALLOC;
		goto out;
	}
	memcpy(res, mm_buf_ptr(b), mm_buf_len(b));
	*outlen = mm_buf_len(b);
	*out = res;
 out:
	mm_buf_free(b);
	return r;
}

/* Parses the signed part of the frame without judging it. */
static int
mm_cmd_parse(struct mm_buf *b, uint8_t keyid[MM_KEYID_LEN], struct mm_cmd *c)
{
	uint8_t magic[4], alg;
	const uint8_t *args;
	size_t alen;
	int r;

	if ((r = mm_buf_get(b, magic, sizeof(magic))) != 0)
		return r;
	if (memcmp(magic, mm_cmd_magic, sizeof(magic)) != 0)
		return MM_ERR_FORMAT;
	if ((r = mm_buf_get_u8(b, &alg)) != 0)
		return r;
	if (alg != MM_CMD_ALG_ED25519)
		return MM_ERR_UNSUPPORTED;
	if ((r = mm_buf_get(b, keyid, MM_KEYID_LEN)) != 0 ||
	    (r = mm_buf_get_u64(b, &c->counter)) != 0 ||
	    (r = mm_buf_get_u64(b, &c->issued)) != 0 ||
	    (r = mm_buf_get_u64(b, &c->expires)) != 0 ||
	    (r = mm_buf_get_cstr8(b, c->device_id, sizeof(c->device_id))) != 0 ||
	    (r = mm_buf_get_cstr8(b, c->name, sizeof(c->name))) != 0 ||
	    (r = mm_buf_get_str16_ptr(b, &args, &alen)) != 0)
		return r == MM_ERR_TOO_LARGE ? MM_ERR_FORMAT : r;
	if (alen > MM_CMD_ARGS_MAX)
		return MM_ERR_TOO_LARGE;
	memcpy(c->args, args, alen);
	c->args[alen] = '\0';
	return MM_OK;
}

int
mm_cmd_verify(const uint8_t *frame, size_t len, const uint8_t pk[MM_SIGN_PK_LEN],
    const char *my_id, uint64_t last_counter, uint64_t now, struct mm_cmd *out)
{
	uint8_t keyid[MM_KEYID_LEN], mykeyid[MM_KEYID_LEN];
	const uint8_t *sig;
	struct mm_buf *b;
	struct mm_cmd *c;
	size_t signed_len;
	int r;

	if (len > MM_CMD_MAX_FRAME)
		return MM_ERR_TOO_LARGE;
	if (frame == NULL || len < MM_SIGN_LEN)
		return MM_ERR_SHORT;
	signed_len = len - MM_SIGN_LEN;
	if ((c = mm_calloc(1, sizeof(*c))) == NULL)
		return MM_ERR_ALLOC;
	if ((b = mm_buf_from(frame, signed_len)) == NULL) {
		mm_free(c);
		return MM_ERR_ALLOC;
	}
	if ((r = mm_cmd_parse(b, keyid, c)) != 0 || (r = mm_buf_expect_end(b)) != 0)
		goto out;
	mm_sign_keyid(mykeyid, pk);
	if (memcmp(keyid, mykeyid, sizeof(keyid)) != 0) {
		r = MM_ERR_UNSUPPORTED;		/* signed by a key we do not know */
		goto out;
	}
	sig = frame + signed_len;
	if ((r = mm_sign_verify(sig, frame, signed_len, pk)) != 0)
		goto out;
	/* Authentic from here on; now judge what it says. */
	if (!mm_devid_valid(c->device_id) || !mm_cmd_name_valid(c->name) ||
	    !mm_cmd_args_valid(c->args, strlen(c->args))) {
		r = MM_ERR_FORMAT;
		goto out;
	}
	if (strcmp(c->device_id, my_id) != 0) {
		r = MM_ERR_WRONG_TARGET;
		goto out;
	}
	if (c->expires <= c->issued || c->expires - c->issued > MM_CMD_MAX_LIFETIME) {
		r = MM_ERR_FORMAT;
		goto out;
	}
	if (now >= c->expires) {
		r = MM_ERR_EXPIRED;
		goto out;
	}
	if (c->issued > now + MM_CMD_MAX_SKEW) {
		r = MM_ERR_NOT_YET_VALID;
		goto out;
	}
	if (c->counter <= last_counter) {
		r = MM_ERR_REPLAY;
		goto out;
	}
	*out = *c;
 out:
	mm_buf_free(b);
	mm_free(c);
	return r;
}
