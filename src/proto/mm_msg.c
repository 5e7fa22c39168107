/* mm_msg.c - message registry and strict JSON decoding. */
#include <string.h>

#include "common/mm_alloc.h"
#include "common/mm_err.h"
#include "proto/mm_msg.h"

static const struct {
	const char *name;
	size_t max;
} mm_msg_table[MM_MSG__COUNT] = {
	[MM_MSG_HELLO] = { "hello", 1024 },
	[MM_MSG_HEARTBEAT] = { "heartbeat", 512 },
	[MM_MSG_CMD_RESULT] = { "cmd_result", 1024 },
	[MM_MSG_CSR] = { "csr", 4096 },
	[MM_MSG_ENROLL] = { "enroll", 8192 },
	[MM_MSG_ENROLL_RESULT] = { "enroll_result", 16384 },
	[MM_MSG_CERT] = { "cert", 16384 },
	[MM_MSG_LOG] = { "log", 16384 },
	[MM_MSG_LOG_ACK] = { "log_ack", 256 },
};

const char *
mm_msg_name(enum mm_msg_type t)
{
	return (unsigned)t < MM_MSG__COUNT ? mm_msg_table[t].name : "?";
}

size_t
mm_msg_max(enum mm_msg_type t)
{
	return (unsigned)t < MM_MSG__COUNT ? mm_msg_table[t].max : 0;
}

int
mm_msg_lookup(const char *name, enum mm_msg_type *out)
{
	unsigned i;

	for (i = 0; i < MM_MSG__COUNT; i++) {
		if (strcmp(name, mm_msg_table[i].name) == 0) {
			*out = (enum mm_msg_type)i;
			return MM_OK;
		}
	}
	return MM_ERR_UNSUPPORTED;
}

int
mm_msg_decode(enum mm_msg_type t, const void *payload, size_t len, json_t **out)
{
	json_error_t jerr;
	const char *type;
	json_t *o;
	int64_t v;
	int r;

	if ((unsigned)t >= MM_MSG__COUNT)
		return MM_ERR_INVALID_ARG;
	if (len > mm_msg_table[t].max)
		return MM_ERR_TOO_LARGE;
	if (len == 0 || payload == NULL)
		return MM_ERR_FORMAT;
	o = json_loadb(payload, len, JSON_REJECT_DUPLICATES,
	    &jerr);
	if (o == NULL)
		return MM_ERR_FORMAT;
	if (!json_is_object(o)) {
		r = MM_ERR_FORMAT;
		goto out;
	}
	if ((r = mm_msg_get_int(o, "v", 0, INT32_MAX, &v)) != MM_OK)
		goto out;
	if (v != MM_PROTO_VERSION) {
		r = MM_ERR_UNSUPPORTED;
		goto out;
	}
	if ((r = mm_msg_get_str(o, "type", 1, 32, &type)) != MM_OK)
		goto out;
	if (strcmp(type, mm_msg_table[t].name) != 0) {
		r = MM_ERR_FORMAT;
		goto out;
	}
	*out = o;
	o = NULL;
 out:
	json_decref(o);
	return r;
}

json_t *
mm_msg_new(enum mm_msg_type t)
{
	json_t *o;

	if ((unsigned)t >= MM_MSG__COUNT || (o = json_object()) == NULL)
		return NULL;
	if (json_object_set_new(o, "v", json_integer(MM_PROTO_VERSION)) != 0 ||
	    json_object_set_new(o, "type", json_string(mm_msg_table[t].name)) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int
mm_msg_encode(enum mm_msg_type t, const json_t *msg, char **out, size_t *outlen)
{
	char *s;
	size_t n;

	if ((s = json_dumps(msg, JSON_COMPACT)) == NULL)
		return MM_ERR_ALLOC;
	n = strlen(s);
	if (n > mm_msg_max(t)) {
		mm_free(s);
		return MM_ERR_TOO_LARGE;
	}
	*out = s;
	*outlen = n;
	return MM_OK;
}

static int
mm_msg_str_clean(const char *s, size_t n, int allow_newlines)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (allow_newlines && (c == '\n' || c == '\r'))
			continue;
		if (c < 0x20 || c == 0x7f)
			return 0;
	}
	return 1;
}

static int
mm_msg_get_text(const json_t *obj, const char *key, size_t minlen,
    size_t maxlen, int allow_newlines, const char **out)
{
	const json_t *j = json_object_get(obj, key);
	const char *s;
	size_t n;

	if (j == NULL || !json_is_string(j))
		return MM_ERR_FORMAT;
	s = json_string_value(j);
	n = json_string_length(j);
	if (n < minlen || n > maxlen)
		return MM_ERR_RANGE;
	/* Embedded NULs (\u0000) or control characters are never legitimate. */
	if (strlen(s) != n || !mm_msg_str_clean(s, n, allow_newlines))
		return MM_ERR_FORMAT;
	*out = s;
	return MM_OK;
}

int
mm_msg_get_pem(const json_t *obj, const char *key, size_t maxlen,
    const char **out)
{
	const char *s;
	int r;

	if ((r = mm_msg_get_text(obj, key, 11, maxlen, 1, &s)) != 0)
		return r;
	if (strncmp(s, "-----BEGIN ", 11) != 0)
		return MM_ERR_FORMAT;
	*out = s;
	return MM_OK;
}

int
mm_msg_get_str(const json_t *obj, const char *key, size_t minlen, size_t maxlen,
    const char **out)
{
	return mm_msg_get_text(obj, key, minlen, maxlen, 0, out);
}

int
mm_msg_get_opt_str(const json_t *obj, const char *key, size_t maxlen,
    const char **out)
{
	if (json_object_get(obj, key) == NULL) {
		*out = NULL;
		return MM_OK;
	}
	return mm_msg_get_str(obj, key, 0, maxlen, out);
}

int
mm_msg_get_int(const json_t *obj, const char *key, int64_t min, int64_t max,
    int64_t *out)
{
	const json_t *j = json_object_get(obj, key);
	json_int_t v;

	if (j == NULL || !json_is_integer(j))
		return MM_ERR_FORMAT;
	v = json_integer_value(j);
	if (v < min || v > max)
		return MM_ERR_RANGE;
	*out = v;
	return MM_OK;
}
