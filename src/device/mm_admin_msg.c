/* mm_admin_msg.c - strict parsing of admin requests (decision 0007). */
#include <string.h>

#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "device/mm_admin_msg.h"
#include "device/mm_pwpolicy.h"
#include "proto/mm_msg.h"

/* Field kinds and bounds. */
enum adm_field {
	F_TOKEN = 1u << 0,
	F_USER = 1u << 1,
	F_PASSWORD = 1u << 2,
	F_OLD = 1u << 3,
	F_NEW = 1u << 4,
	F_ROLE = 1u << 5,
	F_KEY = 1u << 6,
	F_VALUE = 1u << 7,
	F_MINUTES = 1u << 8,
};

static const struct {
	const char *name;
	unsigned required;
	unsigned optional;
	int changes;
} adm_ops[MM_ADM__COUNT] = {
	[MM_ADM_LOGIN] = { "login", F_USER | F_PASSWORD, 0, 1 },
	[MM_ADM_LOGOUT] = { "logout", F_TOKEN, 0, 1 },
	[MM_ADM_WHOAMI] = { "whoami", F_TOKEN, 0, 0 },
	[MM_ADM_PASSWD] = { "passwd", F_TOKEN | F_OLD | F_NEW, F_USER, 1 },
	[MM_ADM_STATUS] = { "status", F_TOKEN, 0, 0 },
	[MM_ADM_USERS] = { "users", F_TOKEN, 0, 0 },
	[MM_ADM_USER_ADD] = { "user_add", F_TOKEN | F_USER | F_ROLE | F_PASSWORD, 0, 1 },
	[MM_ADM_USER_DEL] = { "user_del", F_TOKEN | F_USER, 0, 1 },
	[MM_ADM_CONFIG_SET] = { "config_set", F_TOKEN | F_KEY | F_VALUE, 0, 1 },
	[MM_ADM_MAINTENANCE] = { "maintenance", F_TOKEN | F_MINUTES, 0, 1 },
	[MM_ADM_DIAG] = { "diag", F_TOKEN, 0, 0 },
};

static const struct {
	const char *key;
	unsigned field;
} adm_keys[] = {
	{ "token", F_TOKEN }, { "user", F_USER }, { "password", F_PASSWORD },
	{ "old", F_OLD }, { "new", F_NEW }, { "role", F_ROLE }, { "key", F_KEY },
	{ "value", F_VALUE }, { "minutes", F_MINUTES },
};

const char *
mm_admop_name(enum mm_admop op)
{
	return (unsigned)op < MM_ADM__COUNT ? adm_ops[op].name : "?";
}

int
mm_admop_changes_state(enum mm_admop op)
{
	return (unsigned)op < MM_ADM__COUNT ? adm_ops[op].changes : 1;
}

int
mm_user_name_valid(const char *s)
{
	size_t i;

	if (s == NULL || s[0] < 'a' || s[0] > 'z')
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= MM_USER_MAX)
			return 0;
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '.' || s[i] == '_' || s[i] == '-'))
			return 0;
	}
	return 1;
}

/* Which bit a key is, or 0 for keys outside the op vocabulary. */
static unsigned
adm_key_field(const char *key)
{
	size_t i;

	for (i = 0; i < sizeof(adm_keys) / sizeof(adm_keys[0]); i++)
		if (strcmp(key, adm_keys[i].key) == 0)
			return adm_keys[i].field;
	return 0;
}

static int
adm_hex64(const char *s)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[64] == '\0';
}

/* Every key present must be allowed for this op and origin. */
static int
adm_check_keys(const json_t *o, unsigned allowed, enum mm_admreq_origin origin)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)o, key, v) {
		(void)v;
		if (strcmp(key, "op") == 0)
			continue;
		if (strcmp(key, "src") == 0 || strcmp(key, "chan") == 0 ||
		    strcmp(key, "csrf") == 0) {
			if (origin != MM_ADMREQ_WORKER)
				return MM_ERR_FORMAT;
			continue;
		}
		if ((adm_key_field(key) & allowed) == 0)
			return MM_ERR_FORMAT;
	}
	return MM_OK;
}

static int
adm_get(const json_t *o, const char *key, unsigned bit, unsigned need,
    size_t minlen, size_t maxlen, const char **out)
{
	if ((need & bit) == 0 && json_object_get(o, key) == NULL)
		return MM_OK;
	return mm_msg_get_str(o, key, minlen, maxlen, out);
}

static int
adm_fields(const json_t *o, unsigned need, struct mm_admreq *q)
{
	int r;

	if ((r = adm_get(o, "token", F_TOKEN, need, 64, 64, &q->token)) != 0 ||
	    (r = adm_get(o, "user", F_USER, need, 1, MM_USER_MAX, &q->user)) != 0 ||
	    (r = adm_get(o, "password", F_PASSWORD, need, 1, MM_PW_MAX,
	    &q->password)) != 0 ||
	    (r = adm_get(o, "old", F_OLD, need, 1, MM_PW_MAX, &q->old_pw)) != 0 ||
	    (r = adm_get(o, "new", F_NEW, need, 1, MM_PW_MAX, &q->new_pw)) != 0 ||
	    (r = adm_get(o, "role", F_ROLE, need, 1, 16, &q->role)) != 0 ||
	    (r = adm_get(o, "key", F_KEY, need, 1, 32, &q->key)) != 0)
		return r;
	if (q->token != NULL && !adm_hex64(q->token))
		return MM_ERR_FORMAT;
	if ((need & F_VALUE) != 0 &&
	    (r = mm_msg_get_int(o, "value", 0, INT32_MAX, &q->value)) != 0)
		return r;
	if ((need & F_MINUTES) != 0 &&
	    (r = mm_msg_get_int(o, "minutes", 0, 1440, &q->minutes)) != 0)
		return r;
	return MM_OK;
}

static int
adm_origin_fields(const json_t *o, enum mm_admreq_origin origin,
    struct mm_admreq *q)
{
	int r;

	if (origin != MM_ADMREQ_WORKER)
		return MM_OK;
	if ((r = mm_msg_get_str(o, "src", 3, 63, &q->src)) != 0 ||
	    (r = mm_msg_get_str(o, "chan", 3, 3, &q->chan)) != 0 ||
	    (r = mm_msg_get_opt_str(o, "csrf", 64, &q->csrf)) != 0)
		return r;
	if (strcmp(q->chan, "web") != 0 && strcmp(q->chan, "ctl") != 0)
		return MM_ERR_FORMAT;
	if (q->csrf != NULL && !adm_hex64(q->csrf))
		return MM_ERR_FORMAT;
	return MM_OK;
}

int
mm_admreq_parse(const void *buf, size_t len, enum mm_admreq_origin origin,
    struct mm_admreq *out)
{
	struct mm_admreq q;
	const char *op;
	unsigned i, need;
	int r;

	memset(&q, 0, sizeof(q));
	if (buf == NULL || len == 0)
		return MM_ERR_FORMAT;
	if (len > MM_ADMREQ_MAX)
		return MM_ERR_TOO_LARGE;
	/* jansson refuses invalid UTF-8 and, without JSON_ALLOW_NUL, "\u0000" */
	if ((q.obj = json_loadb(buf, len, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		return MM_ERR_FORMAT;
	if (!json_is_object(q.obj)) {
		r = MM_ERR_FORMAT;
		goto out;
	}
	if ((r = mm_msg_get_str(q.obj, "op", 1, 32, &op)) != 0)
		goto out;
	for (i = 0; i < MM_ADM__COUNT && strcmp(op, adm_ops[i].name) != 0; i++)
		;
	if (i == MM_ADM__COUNT) {
		r = MM_ERR_UNSUPPORTED;
		goto out;
	}
	q.op = (enum mm_admop)i;
	need = adm_ops[i].required;
	if ((r = adm_check_keys(q.obj, need | adm_ops[i].optional, origin)) != 0 ||
	    (r = adm_fields(q.obj, need, &q)) != 0 ||
	    (r = adm_origin_fields(q.obj, origin, &q)) != 0)
		goto out;
	*out = q;
	q.obj = NULL;
 out:
	if (q.obj != NULL)
		mm_admin_json_wipe_free(q.obj);
	return r;
}

/* jansson owns the bytes; overwrite them before they go back to the heap. */
static void
adm_wipe_str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (json_is_string(v))
		mm_wipe((char *)(uintptr_t)json_string_value(v), json_string_length(v));
}

void
mm_admin_json_wipe_free(json_t *obj)
{
	static const char *const secret[] = { "password", "old", "new", "token",
	    "csrf" };
	size_t i;

	if (obj == NULL)
		return;
	if (json_is_object(obj))
		for (i = 0; i < sizeof(secret) / sizeof(secret[0]); i++)
			adm_wipe_str(obj, secret[i]);
	json_decref(obj);
}

void
mm_admreq_free(struct mm_admreq *r)
{
	if (r == NULL)
		return;
	mm_admin_json_wipe_free(r->obj);
	memset(r, 0, sizeof(*r));
}
