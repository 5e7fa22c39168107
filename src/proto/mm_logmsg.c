/* mm_logmsg.c - up/log batches and down/log_ack, strictly. */
#include <string.h>

#include <sodium.h>

#include "common/mm_alloc.h"
#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "proto/mm_logmsg.h"
#include "proto/mm_msg.h"

#define LM_B64 sodium_base64_VARIANT_ORIGINAL

static int
lm_batch_ok(const struct mm_logmsg_batch *b)
{
	if (b->seq == 0 || b->seq > MM_LOGMSG_SEQ_MAX ||
	    b->n == 0 || b->n > MM_LOGMSG_N_MAX ||
	    b->seq + b->n - 1 > MM_LOGMSG_SEQ_MAX ||
	    b->raw_len == 0 || b->raw_len > MM_LOGMSG_RAW_MAX ||
	    b->raw_len < (size_t)b->n * 64)
		return MM_ERR_RANGE;
	if (b->lost_from != 0 && b->lost_from >= b->seq)
		return MM_ERR_RANGE;
	return MM_OK;
}

/* Sets key to the lower-case hex of in[0..len). */
static int
lm_set_hex(json_t *o, const char *key, const uint8_t *in, size_t len)
{
	char hex[2 * MM_LOGMSG_TAG_LEN + 1];

	mm_hex_encode(hex, in, len);
	return json_object_set_new(o, key, json_string(hex)) == 0 ? MM_OK :
	    MM_ERR_ALLOC;
}

static int
lm_set_u64(json_t *o, const char *key, uint64_t v)
{
	return json_object_set_new(o, key, json_integer((json_int_t)v)) == 0 ?
	    MM_OK : MM_ERR_ALLOC;
}

/* Exactly 2 * len lower-case hex digits. */
static int
lm_get_hex(const json_t *o, const char *key, uint8_t *out, size_t len)
{
	const char *s;
	size_t i;
	int r;

	if ((r = mm_msg_get_str(o, key, 2 * len, 2 * len, &s)) != 0)
		return r;
	for (i = 0; i < 2 * len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return MM_ERR_FORMAT;
	return mm_hex_decode(out, len, s) == 0 ? MM_OK : MM_ERR_FORMAT;
}

static int
lm_get_u64(const json_t *o, const char *key, uint64_t min, uint64_t *out)
{
	int64_t v;
	int r;

	if ((r = mm_msg_get_int(o, key, (int64_t)min,
	    (int64_t)MM_LOGMSG_SEQ_MAX, &v)) != 0)
		return r;
	*out = (uint64_t)v;
	return MM_OK;
}

/* Refuses keys the message does not define (a strict vocabulary). */
static int
lm_only_keys(const json_t *o, const char *const *keys, size_t n)
{
	const char *k;
	json_t *v;
	size_t i;

	json_object_foreach((json_t *)o, k, v) {
		(void)v;
		for (i = 0; i < n; i++)
			if (strcmp(k, keys[i]) == 0)
				break;
		if (i == n)
			return MM_ERR_FORMAT;
	}
	return MM_OK;
}

int
mm_logmsg_encode(const struct mm_logmsg_batch *b, char **out, size_t *outlen)
{
	size_t b64len;
	char *b64 = NULL;
	json_t *o = NULL;
	int r;

	if ((r = lm_batch_ok(b)) != 0)
		return r;
	b64len = sodium_base64_encoded_len(b->raw_len, LM_B64);
	if ((b64 = mm_malloc(b64len)) == NULL)
		return MM_ERR_ALLOC;
	sodium_bin2base64(b64, b64len, b->raw, b->raw_len, LM_B64);
	if ((o = mm_msg_new(MM_MSG_LOG)) == NULL) {
		r = MM_ERR_ALLOC;
		goto out;
	}
	if ((r = lm_set_hex(o, "log", b->log_id, MM_LOGMSG_ID_LEN)) != 0 ||
	    (r = lm_set_u64(o, "seq", b->seq)) != 0 ||
	    (r = lm_set_u64(o, "n", b->n)) != 0 ||
	    (r = lm_set_hex(o, "prev", b->prev, MM_LOGMSG_TAG_LEN)) != 0 ||
	    (b->lost_from != 0 &&
	    (r = lm_set_u64(o, "lost_from", b->lost_from)) != 0))
		goto out;
	if (json_object_set_new(o, "rec", json_string(b64)) != 0) {
		r = MM_ERR_ALLOC;
		goto out;
	}
	r = mm_msg_encode(MM_MSG_LOG, o, out, outlen);
 out:
	json_decref(o);
	mm_free(b64);
	return r;
}

int
mm_logmsg_decode(const void *payload, size_t len, struct mm_logmsg_batch *b,
    uint8_t *rawbuf, size_t rawsz)
{
	static const char *const keys[] = { "v", "type", "log", "seq", "n",
	    "prev", "lost_from", "rec" };
	struct mm_logmsg_batch t;
	const char *b64;
	json_t *o = NULL;
	uint64_t n;
	size_t bin = 0;
	int r;

	if (rawbuf == NULL || rawsz < MM_LOGMSG_RAW_MAX)
		return MM_ERR_INVALID_ARG;
	memset(&t, 0, sizeof(t));
	if ((r = mm_msg_decode(MM_MSG_LOG, payload, len, &o)) != 0)
		return r;
	if ((r = lm_only_keys(o, keys, sizeof(keys) / sizeof(keys[0]))) != 0 ||
	    (r = lm_get_hex(o, "log", t.log_id, MM_LOGMSG_ID_LEN)) != 0 ||
	    (r = lm_get_u64(o, "seq", 1, &t.seq)) != 0 ||
	    (r = lm_get_u64(o, "n", 1, &n)) != 0 ||
	    (r = lm_get_hex(o, "prev", t.prev, MM_LOGMSG_TAG_LEN)) != 0)
		goto out;
	if (n > MM_LOGMSG_N_MAX) {
		r = MM_ERR_RANGE;
		goto out;
	}
	t.n = (uint32_t)n;
	if (json_object_get(o, "lost_from") != NULL &&
	    (r = lm_get_u64(o, "lost_from", 1, &t.lost_from)) != 0)
		goto out;
	if ((r = mm_msg_get_str(o, "rec", 4,
	    sodium_base64_encoded_len(MM_LOGMSG_RAW_MAX, LM_B64) - 1,
	    &b64)) != 0)
		goto out;
	if (sodium_base642bin(rawbuf, rawsz, b64, strlen(b64), NULL, &bin,
	    NULL, LM_B64) != 0) {
		r = MM_ERR_FORMAT;
		goto out;
	}
	t.raw = rawbuf;
	t.raw_len = bin;
	if ((r = lm_batch_ok(&t)) != 0)
		goto out;
	*b = t;
 out:
	json_decref(o);
	return r;
}

int
mm_logmsg_ack_encode(const struct mm_logmsg_ack *a, char **out, size_t *outlen)
{
	json_t *o;
	int r;

	if (a->seq > MM_LOGMSG_SEQ_MAX || a->time_ms > MM_LOGMSG_SEQ_MAX)
		return MM_ERR_RANGE;
	if ((o = mm_msg_new(MM_MSG_LOG_ACK)) == NULL)
		return MM_ERR_ALLOC;
	if ((r = lm_set_hex(o, "log", a->log_id, MM_LOGMSG_ID_LEN)) == 0 &&
	    (r = lm_set_u64(o, "seq", a->seq)) == 0 &&
	    (r = lm_set_u64(o, "time", a->time_ms)) == 0)
		r = mm_msg_encode(MM_MSG_LOG_ACK, o, out, outlen);
	json_decref(o);
	return r;
}

int
mm_logmsg_ack_decode(const void *payload, size_t len, struct mm_logmsg_ack *a)
{
	static const char *const keys[] = { "v", "type", "log", "seq", "time" };
	struct mm_logmsg_ack t;
	json_t *o = NULL;
	int r;

	memset(&t, 0, sizeof(t));
	if ((r = mm_msg_decode(MM_MSG_LOG_ACK, payload, len, &o)) != 0)
		return r;
	if ((r = lm_only_keys(o, keys, sizeof(keys) / sizeof(keys[0]))) == 0 &&
	    (r = lm_get_hex(o, "log", t.log_id, MM_LOGMSG_ID_LEN)) == 0 &&
	    (r = lm_get_u64(o, "seq", 0, &t.seq)) == 0 &&
	    (r = lm_get_u64(o, "time", 0, &t.time_ms)) == 0)
		*a = t;
	json_decref(o);
	return r;
}
