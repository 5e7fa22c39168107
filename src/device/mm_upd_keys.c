/* mm_upd_keys.c - update keys, root.json, envelopes, threshold, trust store. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mm_alloc.h"
#include "common/mm_err.h"
#include "device/mm_upd_keys.h"
#include "proto/mm_msg.h"

struct mm_upd_trust {
	struct mm_upd_root root;
	uint8_t *doc;
	size_t doclen;
	uint8_t *env;
	size_t envlen;
};

static const uint8_t upd_ctx_root[MM_UPD_CTX_LEN] = "MMROOT1";
static const uint8_t upd_ctx_manifest[MM_UPD_CTX_LEN] = "MMMANI1";

const char *
mm_upd_role_name(enum mm_upd_role role)
{
	return role == MM_UPD_ROLE_ROOT ? "root" :
	    role == MM_UPD_ROLE_RELEASE ? "release" : "?";
}

const uint8_t *
mm_upd_ctx_prefix(enum mm_upd_ctx ctx)
{
	return ctx == MM_UPD_CTX_ROOT ? upd_ctx_root : upd_ctx_manifest;
}

void
mm_upd_say(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

void
mm_upd_keyid_hex(char *out, const uint8_t pk[MM_SIGN_PK_LEN])
{
	uint8_t id[MM_KEYID_LEN];

	mm_sign_keyid(id, pk);
	mm_hex_encode(out, id, sizeof(id));
}

int
mm_upd_hex_decode(uint8_t *out, size_t len, const char *hex)
{
	size_t i;

	if (hex == NULL || strnlen(hex, 2 * len + 1) != 2 * len)
		return MM_ERR_FORMAT;
	/* one spelling only: what was signed is what is compared */
	for (i = 0; i < 2 * len; i++)
		if (!((hex[i] >= '0' && hex[i] <= '9') ||
		    (hex[i] >= 'a' && hex[i] <= 'f')))
			return MM_ERR_FORMAT;
	return mm_hex_decode(out, len, hex);
}

int
mm_upd_json_hex(const json_t *obj, const char *key, uint8_t *out, size_t len)
{
	const char *s;
	int r;

	if ((r = mm_msg_get_str(obj, key, 2 * len, 2 * len, &s)) != 0)
		return r;
	return mm_upd_hex_decode(out, len, s);
}

int
mm_upd_json_u64(const json_t *obj, const char *key, uint64_t min, uint64_t max,
    uint64_t *out)
{
	int64_t v;
	int r;

	if (max > MM_UPD_INT_MAX)
		max = MM_UPD_INT_MAX;
	if ((r = mm_msg_get_int(obj, key, (int64_t)min, (int64_t)max, &v)) != 0)
		return r;
	*out = (uint64_t)v;
	return MM_OK;
}

int
mm_upd_json_load(const void *doc, size_t len, const char *what, json_t **out,
    char *why, size_t whylen)
{
	json_t *o = NULL;

	if (len > MM_UPD_DOC_MAX) {
		mm_upd_say(why, whylen, "%s: over %d bytes", what, MM_UPD_DOC_MAX);
		return MM_ERR_TOO_LARGE;
	}
	if (doc != NULL && len > 0)
		o = json_loadb(doc, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(o)) {
		json_decref(o);
		mm_upd_say(why, whylen, "%s: not one strict JSON object", what);
		return MM_ERR_FORMAT;
	}
	*out = o;
	return MM_OK;
}

/* ---- root.json ---- */

static int
upd_key_cmp(const void *a, const void *b)
{
	return memcmp(((const struct mm_upd_key *)a)->id,
	    ((const struct mm_upd_key *)b)->id, MM_KEYID_LEN);
}

static int
upd_id_cmp(const void *a, const void *b)
{
	return memcmp(a, b, MM_KEYID_LEN);
}

const struct mm_upd_key *
mm_upd_root_key(const struct mm_upd_root *root, const uint8_t id[MM_KEYID_LEN])
{
	struct mm_upd_key k;

	memcpy(k.id, id, MM_KEYID_LEN);
	return bsearch(&k, root->keys, root->nkeys, sizeof(k), upd_key_cmp);
}

int
mm_upd_root_is_revoked(const struct mm_upd_root *root,
    const uint8_t id[MM_KEYID_LEN])
{
	return bsearch(id, root->revoked, root->nrevoked, MM_KEYID_LEN,
	    upd_id_cmp) != NULL;
}

static int
upd_root_key(const char *idhex, const json_t *v, struct mm_upd_key *k,
    char *why, size_t whylen)
{
	uint8_t id[MM_KEYID_LEN];
	const char *role;

	if (mm_upd_hex_decode(k->id, MM_KEYID_LEN, idhex) != 0) {
		mm_upd_say(why, whylen, "root.json: key id \"%.32s\" is not 16 "
		    "lower-case hex digits", idhex);
		return MM_ERR_FORMAT;
	}
	if (!json_is_object(v) || json_object_size(v) != 2 ||
	    mm_msg_get_str(v, "role", 1, 16, &role) != 0 ||
	    mm_upd_json_hex(v, "public", k->pk, MM_SIGN_PK_LEN) != 0) {
		mm_upd_say(why, whylen, "root.json: key %s: want exactly \"role\" "
		    "and \"public\" (64 lower-case hex digits)", idhex);
		return MM_ERR_FORMAT;
	}
	if (strcmp(role, "root") == 0)
		k->role = MM_UPD_ROLE_ROOT;
	else if (strcmp(role, "release") == 0)
		k->role = MM_UPD_ROLE_RELEASE;
	else {
		mm_upd_say(why, whylen, "root.json: key %s: role \"%.16s\" is "
		    "neither root nor release", idhex, role);
		return MM_ERR_FORMAT;
	}
	mm_sign_keyid(id, k->pk);
	if (memcmp(id, k->id, sizeof(id)) != 0) {
		mm_upd_say(why, whylen, "root.json: key %s: id is not the id of "
		    "its public key", idhex);
		return MM_ERR_FORMAT;
	}
	return MM_OK;
}

static int
upd_root_keys(const json_t *keys, struct mm_upd_root *rt, char *why,
    size_t whylen)
{
	const char *idhex;
	json_t *v;
	int r;

	if (!json_is_object(keys) || json_object_size(keys) == 0) {
		mm_upd_say(why, whylen, "root.json: \"keys\" must be a non-empty "
		    "object");
		return MM_ERR_FORMAT;
	}
	if (json_object_size(keys) > MM_UPD_KEYS_MAX) {
		mm_upd_say(why, whylen, "root.json: more than %d keys",
		    MM_UPD_KEYS_MAX);
		return MM_ERR_TOO_LARGE;
	}
	json_object_foreach((json_t *)keys, idhex, v) {
		if ((r = upd_root_key(idhex, v, &rt->keys[rt->nkeys], why,
		    whylen)) != 0)
			return r;
		rt->nkeys++;
	}
	qsort(rt->keys, rt->nkeys, sizeof(rt->keys[0]), upd_key_cmp);
	return MM_OK;
}

static int
upd_root_revoked(const json_t *rev, struct mm_upd_root *rt, char *why,
    size_t whylen)
{
	json_t *v;
	size_t i;

	if (!json_is_array(rev)) {
		mm_upd_say(why, whylen, "root.json: \"revoked\" must be an array");
		return MM_ERR_FORMAT;
	}
	if (json_array_size(rev) > MM_UPD_REVOKED_MAX) {
		mm_upd_say(why, whylen, "root.json: more than %d revoked ids",
		    MM_UPD_REVOKED_MAX);
		return MM_ERR_TOO_LARGE;
	}
	json_array_foreach(rev, i, v) {
		if (mm_upd_hex_decode(rt->revoked[i], MM_KEYID_LEN,
		    json_string_value(v)) != 0) {
			mm_upd_say(why, whylen, "root.json: revoked[%zu] is not a "
			    "key id", i);
			return MM_ERR_FORMAT;
		}
	}
	rt->nrevoked = json_array_size(rev);
	qsort(rt->revoked, rt->nrevoked, MM_KEYID_LEN, upd_id_cmp);
	for (i = 1; i < rt->nrevoked; i++) {
		if (memcmp(rt->revoked[i - 1], rt->revoked[i], MM_KEYID_LEN) == 0) {
			mm_upd_say(why, whylen, "root.json: a key id is revoked "
			    "twice");
			return MM_ERR_FORMAT;
		}
	}
	return MM_OK;
}

/* Thresholds: 1 .. the number of unrevoked keys of the role. */
static int
upd_root_threshold(const json_t *th, struct mm_upd_root *rt, char *why,
    size_t whylen)
{
	unsigned have[2] = { 0, 0 };
	uint64_t v;
	size_t i;
	int role;

	if (!json_is_object(th) || json_object_size(th) != 2) {
		mm_upd_say(why, whylen, "root.json: \"threshold\" must hold "
		    "exactly \"root\" and \"release\"");
		return MM_ERR_FORMAT;
	}
	for (i = 0; i < rt->nkeys; i++)
		if (!mm_upd_root_is_revoked(rt, rt->keys[i].id))
			have[rt->keys[i].role]++;
	for (role = MM_UPD_ROLE_ROOT; role <= MM_UPD_ROLE_RELEASE; role++) {
		if (mm_upd_json_u64(th, mm_upd_role_name(role), 1, have[role],
		    &v) != 0) {
			mm_upd_say(why, whylen, "root.json: threshold.%s must be "
			    "an integer from 1 to %u (the unrevoked %s keys)",
			    mm_upd_role_name(role), have[role],
			    mm_upd_role_name(role));
			return MM_ERR_RANGE;
		}
		rt->threshold[role] = (unsigned)v;
	}
	return MM_OK;
}

static int
upd_root_fields(const json_t *o, struct mm_upd_root *rt, char *why,
    size_t whylen)
{
	const char *type;
	uint64_t v;
	int r;

	if (json_object_size(o) != 7 || json_object_get(o, "threshold") == NULL ||
	    json_object_get(o, "keys") == NULL ||
	    json_object_get(o, "revoked") == NULL) {
		mm_upd_say(why, whylen, "root.json: want exactly v, type, version, "
		    "expires, threshold, keys, revoked");
		return MM_ERR_FORMAT;
	}
	if (mm_upd_json_u64(o, "v", 0, MM_UPD_INT_MAX, &v) != 0 || v != 1) {
		mm_upd_say(why, whylen, "root.json: \"v\" must be 1");
		return MM_ERR_UNSUPPORTED;
	}
	if (mm_msg_get_str(o, "type", 1, 16, &type) != 0 ||
	    strcmp(type, "root") != 0) {
		mm_upd_say(why, whylen, "root.json: \"type\" must be \"root\"");
		return MM_ERR_FORMAT;
	}
	if ((r = mm_upd_json_u64(o, "version", 1, MM_UPD_INT_MAX,
	    &rt->version)) != 0 ||
	    (r = mm_upd_json_u64(o, "expires", 0, MM_UPD_INT_MAX,
	    &rt->expires)) != 0) {
		mm_upd_say(why, whylen, "root.json: \"version\" (from 1) and "
		    "\"expires\" must be integers below 2^53");
		return r;
	}
	if ((r = upd_root_keys(json_object_get(o, "keys"), rt, why, whylen)) != 0 ||
	    (r = upd_root_revoked(json_object_get(o, "revoked"), rt, why,
	    whylen)) != 0)
		return r;
	return upd_root_threshold(json_object_get(o, "threshold"), rt, why,
	    whylen);
}

int
mm_upd_root_parse(const void *doc, size_t len, struct mm_upd_root *out,
    char *why, size_t whylen)
{
	struct mm_upd_root *rt;
	json_t *o;
	int r;

	/* parsed aside: *out changes only on success */
	if ((rt = mm_calloc(1, sizeof(*rt))) == NULL)
		return MM_ERR_ALLOC;
	if ((r = mm_upd_json_load(doc, len, "root.json", &o, why, whylen)) == 0) {
		r = upd_root_fields(o, rt, why, whylen);
		json_decref(o);
	}
	if (r == 0)
		*out = *rt;
	mm_free(rt);
	return r;
}

static json_t *
upd_root_json(const struct mm_upd_root *root)
{
	char hex[2 * MM_SIGN_PK_LEN + 1];
	json_t *keys, *rev, *k;
	size_t i;
	int bad = 0;

	keys = json_object();
	rev = json_array();
	for (i = 0; keys != NULL && i < root->nkeys; i++) {
		mm_hex_encode(hex, root->keys[i].pk, MM_SIGN_PK_LEN);
		k = json_pack("{s:s,s:s}", "role",
		    mm_upd_role_name(root->keys[i].role), "public", hex);
		mm_hex_encode(hex, root->keys[i].id, MM_KEYID_LEN);
		bad |= json_object_set_new(keys, hex, k);
	}
	for (i = 0; rev != NULL && i < root->nrevoked; i++) {
		mm_hex_encode(hex, root->revoked[i], MM_KEYID_LEN);
		bad |= json_array_append_new(rev, json_string(hex));
	}
	if (bad != 0 || keys == NULL || rev == NULL) {
		json_decref(keys);
		json_decref(rev);
		return NULL;
	}
	return json_pack("{s:i,s:s,s:I,s:I,s:{s:i,s:i},s:o,s:o}", "v", 1,
	    "type", "root", "version", (json_int_t)root->version,
	    "expires", (json_int_t)root->expires,
	    "threshold", "root", (int)root->threshold[MM_UPD_ROLE_ROOT],
	    "release", (int)root->threshold[MM_UPD_ROLE_RELEASE],
	    "keys", keys, "revoked", rev);
}

int
mm_upd_json_text(json_t *j, char **out, size_t *outlen)
{
	char *s, *t;
	size_t n;

	if (j == NULL)
		return MM_ERR_ALLOC;
	s = json_dumps(j, JSON_INDENT(2));
	json_decref(j);
	if (s == NULL)
		return MM_ERR_ALLOC;
	n = strlen(s);
	if (n + 1 > MM_UPD_DOC_MAX) {
		mm_free(s);
		return MM_ERR_TOO_LARGE;
	}
	if ((t = mm_malloc(n + 2)) == NULL) {
		mm_free(s);
		return MM_ERR_ALLOC;
	}
	memcpy(t, s, n);
	t[n] = '\n';
	t[n + 1] = '\0';
	mm_free(s);
	*out = t;
	*outlen = n + 1;
	return MM_OK;
}

int
mm_upd_root_encode(const struct mm_upd_root *root, char **out, size_t *outlen,
    char *why, size_t whylen)
{
	struct mm_upd_root *check;
	char *text;
	size_t len;
	int r;

	if (root->version == 0 || root->version > MM_UPD_INT_MAX ||
	    root->expires > MM_UPD_INT_MAX || root->nkeys > MM_UPD_KEYS_MAX ||
	    root->nrevoked > MM_UPD_REVOKED_MAX) {
		mm_upd_say(why, whylen, "root.json: version, expiry or a count "
		    "out of range");
		return MM_ERR_INVALID_ARG;
	}
	if ((r = mm_upd_json_text(upd_root_json(root), &text, &len)) != 0) {
		mm_upd_say(why, whylen, "root.json: %s", mm_strerror(r));
		return r;
	}
	if ((check = mm_calloc(1, sizeof(*check))) == NULL) {
		mm_free(text);
		return MM_ERR_ALLOC;
	}
	/* never hand out a root.json that a device would refuse */
	if ((r = mm_upd_root_parse(text, len, check, why, whylen)) != 0) {
		mm_free(text);
		text = NULL;
		if (r != MM_ERR_ALLOC)
			r = MM_ERR_INVALID_ARG;
	}
	mm_free(check);
	if (r == 0) {
		*out = text;
		*outlen = len;
	}
	return r;
}

/* ---- envelopes ---- */

static int
upd_env_entry(const json_t *e, struct mm_upd_sig *s, size_t i, char *why,
    size_t whylen)
{
	const char *alg;
	size_t k;

	if (!json_is_object(e) ||
	    mm_msg_get_str(e, "alg", 1, MM_UPD_ALG_MAX, &alg) != 0) {
		mm_upd_say(why, whylen, "envelope: sigs[%zu] has no \"alg\"", i);
		return MM_ERR_FORMAT;
	}
	for (k = 0; alg[k] != '\0'; k++) {
		if (alg[k] <= 0x20 || alg[k] >= 0x7f) {
			mm_upd_say(why, whylen, "envelope: sigs[%zu]: \"alg\" is not "
			    "printable ASCII", i);
			return MM_ERR_FORMAT;
		}
	}
	memcpy(s->alg, alg, strlen(alg) + 1);
	if (strcmp(alg, "ed25519") != 0)
		return MM_OK;		/* not ours: ignored, never counted */
	if (json_object_size(e) != 3 ||
	    mm_upd_json_hex(e, "keyid", s->keyid, MM_KEYID_LEN) != 0 ||
	    mm_upd_json_hex(e, "sig", s->sig, MM_SIGN_LEN) != 0) {
		mm_upd_say(why, whylen, "envelope: sigs[%zu]: want exactly alg, "
		    "keyid (16 hex) and sig (128 hex)", i);
		return MM_ERR_FORMAT;
	}
	s->ed25519 = 1;
	return MM_OK;
}

int
mm_upd_env_parse(const void *doc, size_t len, struct mm_upd_env *out,
    char *why, size_t whylen)
{
	struct mm_upd_env *env;
	json_t *o, *sigs, *e;
	size_t i;
	int r;

	if ((r = mm_upd_json_load(doc, len, "envelope", &o, why, whylen)) != 0)
		return r;
	sigs = json_object_get(o, "sigs");
	if (json_object_size(o) != 1 || !json_is_array(sigs)) {
		mm_upd_say(why, whylen, "envelope: want exactly {\"sigs\":[...]}");
		json_decref(o);
		return MM_ERR_FORMAT;
	}
	if (json_array_size(sigs) > MM_UPD_SIGS_MAX) {
		mm_upd_say(why, whylen, "envelope: more than %d signatures",
		    MM_UPD_SIGS_MAX);
		json_decref(o);
		return MM_ERR_TOO_LARGE;
	}
	if ((env = mm_calloc(1, sizeof(*env))) == NULL) {
		json_decref(o);
		return MM_ERR_ALLOC;
	}
	r = MM_OK;
	json_array_foreach(sigs, i, e) {
		if ((r = upd_env_entry(e, &env->sigs[i], i, why, whylen)) != 0)
			break;
		env->n++;
	}
	if (r == 0)
		*out = *env;
	mm_free(env);
	json_decref(o);
	return r;
}

int
mm_upd_env_encode(const struct mm_upd_env *env, char **out, size_t *outlen)
{
	char kid[MM_UPD_KEYID_HEX + 1], sig[2 * MM_SIGN_LEN + 1];
	json_t *sigs;
	size_t i;
	int bad = 0;

	if ((sigs = json_array()) == NULL)
		return MM_ERR_ALLOC;
	/* other algorithms' entries are not kept: we cannot write them */
	for (i = 0; i < env->n && i < MM_UPD_SIGS_MAX; i++) {
		if (!env->sigs[i].ed25519)
			continue;
		mm_hex_encode(kid, env->sigs[i].keyid, MM_KEYID_LEN);
		mm_hex_encode(sig, env->sigs[i].sig, MM_SIGN_LEN);
		bad |= json_array_append_new(sigs, json_pack("{s:s,s:s,s:s}",
		    "alg", "ed25519", "keyid", kid, "sig", sig));
	}
	if (bad != 0) {
		json_decref(sigs);
		return MM_ERR_ALLOC;
	}
	return mm_upd_json_text(json_pack("{s:o}", "sigs", sigs), out, outlen);
}

/* ctx || doc in a new buffer (freed by the caller). */
static int
upd_signed_msg(enum mm_upd_ctx ctx, const void *doc, size_t len, uint8_t **out)
{
	uint8_t *m;

	if (len > MM_UPD_DOC_MAX)
		return MM_ERR_TOO_LARGE;
	if ((m = mm_malloc(MM_UPD_CTX_LEN + len)) == NULL)
		return MM_ERR_ALLOC;
	memcpy(m, mm_upd_ctx_prefix(ctx), MM_UPD_CTX_LEN);
	if (len > 0)
		memcpy(m + MM_UPD_CTX_LEN, doc, len);
	*out = m;
	return MM_OK;
}

int
mm_upd_env_sign(struct mm_upd_env *env, enum mm_upd_ctx ctx, const void *doc,
    size_t len, const uint8_t sk[MM_SIGN_SK_LEN])
{
	struct mm_upd_sig s;
	uint8_t *msg;
	size_t i;
	int r;

	memset(&s, 0, sizeof(s));
	memcpy(s.alg, "ed25519", sizeof("ed25519"));
	s.ed25519 = 1;
	/* libsodium's secret key ends with the public key */
	mm_sign_keyid(s.keyid, sk + MM_SIGN_SK_LEN - MM_SIGN_PK_LEN);
	if ((r = upd_signed_msg(ctx, doc, len, &msg)) != 0)
		return r;
	r = mm_sign_detached(s.sig, msg, MM_UPD_CTX_LEN + len, sk);
	mm_free(msg);
	if (r != 0)
		return r;
	for (i = 0; i < env->n; i++) {
		if (env->sigs[i].ed25519 &&
		    memcmp(env->sigs[i].keyid, s.keyid, MM_KEYID_LEN) == 0) {
			env->sigs[i] = s;
			return MM_OK;
		}
	}
	if (env->n >= MM_UPD_SIGS_MAX)
		return MM_ERR_NO_SPACE;
	env->sigs[env->n++] = s;
	return MM_OK;
}

/* ---- threshold ---- */

static void
upd_count_entry(const struct mm_upd_root *root, enum mm_upd_role role,
    const uint8_t *msg, size_t len, const struct mm_upd_sig *s,
    uint8_t counted[][MM_KEYID_LEN], struct mm_upd_count *c)
{
	const struct mm_upd_key *k;
	unsigned i;

	if (!s->ed25519) {
		c->unknown_alg++;
		return;
	}
	if ((k = mm_upd_root_key(root, s->keyid)) == NULL) {
		c->unknown_key++;
		return;
	}
	if (k->role != role) {
		c->other_role++;
		return;
	}
	if (mm_upd_root_is_revoked(root, s->keyid)) {
		c->revoked++;
		return;
	}
	for (i = 0; i < c->valid; i++) {
		if (memcmp(counted[i], s->keyid, MM_KEYID_LEN) == 0) {
			c->repeated++;
			return;
		}
	}
	if (mm_sign_verify(s->sig, msg, len, k->pk) != 0) {
		c->bad++;
		return;
	}
	memcpy(counted[c->valid++], s->keyid, MM_KEYID_LEN);
}

/* Appends ", n what" to buf when n is not 0. */
static void
upd_tally(char *buf, size_t sz, unsigned n, const char *what)
{
	size_t len = strlen(buf);

	if (n == 0 || len + 1 >= sz)
		return;
	snprintf(buf + len, sz - len, "%s%u %s", len > 0 ? ", " : "", n, what);
}

int
mm_upd_sig_check(const struct mm_upd_root *root, enum mm_upd_role role,
    enum mm_upd_ctx ctx, const void *doc, size_t len,
    const struct mm_upd_env *env, struct mm_upd_count *count, char *why,
    size_t whylen)
{
	uint8_t counted[MM_UPD_SIGS_MAX][MM_KEYID_LEN], *msg;
	struct mm_upd_count c;
	char t[160] = "";
	size_t i;
	int r;

	memset(&c, 0, sizeof(c));
	if ((r = upd_signed_msg(ctx, doc, len, &msg)) != 0)
		return r;
	for (i = 0; i < env->n && i < MM_UPD_SIGS_MAX; i++)
		upd_count_entry(root, role, msg, MM_UPD_CTX_LEN + len,
		    &env->sigs[i], counted, &c);
	mm_free(msg);
	if (count != NULL)
		*count = c;
	if (c.valid >= root->threshold[role] && root->threshold[role] > 0)
		return MM_OK;
	if (env->n == 0) {
		mm_upd_say(why, whylen, "not signed: no %s signature at all (%u "
		    "needed)", mm_upd_role_name(role), root->threshold[role]);
		return MM_ERR_SIGNATURE;
	}
	upd_tally(t, sizeof(t), c.bad, "bad");
	upd_tally(t, sizeof(t), c.revoked, "by revoked keys");
	upd_tally(t, sizeof(t), c.unknown_key, "by unknown keys");
	upd_tally(t, sizeof(t), c.other_role, "by keys of another role");
	upd_tally(t, sizeof(t), c.repeated, "repeated");
	upd_tally(t, sizeof(t), c.unknown_alg, "of other algorithms");
	mm_upd_say(why, whylen, "%u valid %s signature(s), %u needed (%s)",
	    c.valid, mm_upd_role_name(role), root->threshold[role], t);
	return MM_ERR_SIGNATURE;
}

/* ---- trust store ---- */

static int
upd_dup(const void *p, size_t len, uint8_t **out)
{
	if ((*out = mm_malloc(len > 0 ? len : 1)) == NULL)
		return MM_ERR_ALLOC;
	memcpy(*out, p, len);
	return MM_OK;
}

/* A new trust store holding root and copies of its bytes. */
static int
upd_trust_new(const struct mm_upd_root *root, const void *doc, size_t len,
    const void *env, size_t envlen, struct mm_upd_trust **out)
{
	struct mm_upd_trust *t;

	if ((t = mm_calloc(1, sizeof(*t))) == NULL)
		return MM_ERR_ALLOC;
	t->root = *root;
	if (upd_dup(doc, len, &t->doc) != 0 || upd_dup(env, envlen, &t->env) != 0) {
		mm_upd_trust_free(t);
		return MM_ERR_ALLOC;
	}
	t->doclen = len;
	t->envlen = envlen;
	*out = t;
	return MM_OK;
}

/* Parses a root.json and its envelope. */
static int
upd_root_signed(const void *doc, size_t len, const void *envdoc, size_t envlen,
    struct mm_upd_root *root, struct mm_upd_env *env, char *why,
    size_t whylen)
{
	int r;

	if ((r = mm_upd_root_parse(doc, len, root, why, whylen)) != 0)
		return r;
	return mm_upd_env_parse(envdoc, envlen, env, why, whylen);
}

int
mm_upd_trust_load(const void *doc, size_t len, const void *envdoc,
    size_t envlen, struct mm_upd_trust **out, char *why, size_t whylen)
{
	struct mm_upd_root *root;
	struct mm_upd_env *env;
	char sub[MM_UPD_WHY_MAX];
	int r;

	root = mm_calloc(1, sizeof(*root));
	env = mm_calloc(1, sizeof(*env));
	if (root == NULL || env == NULL) {
		r = MM_ERR_ALLOC;
		goto out;
	}
	if ((r = upd_root_signed(doc, len, envdoc, envlen, root, env, why,
	    whylen)) != 0)
		goto out;
	if ((r = mm_upd_sig_check(root, MM_UPD_ROLE_ROOT, MM_UPD_CTX_ROOT, doc,
	    len, env, NULL, sub, sizeof(sub))) != 0) {
		mm_upd_say(why, whylen, "root version %llu is not signed by its "
		    "own root keys: %s", (unsigned long long)root->version, sub);
		goto out;
	}
	r = upd_trust_new(root, doc, len, envdoc, envlen, out);
 out:
	mm_free(root);
	mm_free(env);
	return r;
}

/* Every id cur revokes, next revokes too. */
static int
upd_revocations_kept(const struct mm_upd_root *cur,
    const struct mm_upd_root *next, char *why, size_t whylen)
{
	char hex[MM_UPD_KEYID_HEX + 1];
	size_t i;

	for (i = 0; i < cur->nrevoked; i++) {
		if (!mm_upd_root_is_revoked(next, cur->revoked[i])) {
			mm_hex_encode(hex, cur->revoked[i], MM_KEYID_LEN);
			mm_upd_say(why, whylen, "root version %llu no longer "
			    "revokes key %s", (unsigned long long)next->version,
			    hex);
			return MM_ERR_DENIED;
		}
	}
	return MM_OK;
}

static int
upd_next_checks(const struct mm_upd_trust *t, const struct mm_upd_root *next,
    const struct mm_upd_env *env, const void *doc, size_t len, uint64_t now,
    char *why, size_t whylen)
{
	unsigned long long nv = (unsigned long long)next->version;
	char sub[MM_UPD_WHY_MAX];
	int r;

	if (next->version <= t->root.version) {
		mm_upd_say(why, whylen, "root version %llu is not newer than the "
		    "trusted version %llu", nv,
		    (unsigned long long)t->root.version);
		return MM_ERR_REPLAY;
	}
	if (next->version != t->root.version + 1) {
		mm_upd_say(why, whylen, "root version %llu skips versions after "
		    "%llu: roots come one version at a time", nv,
		    (unsigned long long)t->root.version);
		return MM_ERR_RANGE;
	}
	if (now >= next->expires) {
		mm_upd_say(why, whylen, "root version %llu expired at %llu", nv,
		    (unsigned long long)next->expires);
		return MM_ERR_EXPIRED;
	}
	if ((r = mm_upd_sig_check(&t->root, MM_UPD_ROLE_ROOT, MM_UPD_CTX_ROOT,
	    doc, len, env, NULL, sub, sizeof(sub))) != 0) {
		mm_upd_say(why, whylen, "root version %llu is not signed by the "
		    "root keys of version %llu: %s", nv,
		    (unsigned long long)t->root.version, sub);
		return r;
	}
	if ((r = mm_upd_sig_check(next, MM_UPD_ROLE_ROOT, MM_UPD_CTX_ROOT, doc,
	    len, env, NULL, sub, sizeof(sub))) != 0) {
		mm_upd_say(why, whylen, "root version %llu is not signed by its "
		    "own root keys: %s", nv, sub);
		return r;
	}
	return upd_revocations_kept(&t->root, next, why, whylen);
}

int
mm_upd_trust_update(struct mm_upd_trust *t, const void *doc, size_t len,
    const void *envdoc, size_t envlen, uint64_t now, char *why, size_t whylen)
{
	struct mm_upd_trust *nt = NULL;
	struct mm_upd_root *next;
	struct mm_upd_env *env;
	int r;

	next = mm_calloc(1, sizeof(*next));
	env = mm_calloc(1, sizeof(*env));
	if (next == NULL || env == NULL) {
		r = MM_ERR_ALLOC;
		goto out;
	}
	if ((r = upd_root_signed(doc, len, envdoc, envlen, next, env, why,
	    whylen)) != 0 ||
	    (r = upd_next_checks(t, next, env, doc, len, now, why, whylen)) != 0 ||
	    (r = upd_trust_new(next, doc, len, envdoc, envlen, &nt)) != 0)
		goto out;
	/* swap the contents so t's address stays valid for the caller */
	mm_free(t->doc);
	mm_free(t->env);
	*t = *nt;
	mm_free(nt);
 out:
	mm_free(next);
	mm_free(env);
	return r;
}

int
mm_upd_trust_fresh(const struct mm_upd_trust *t, uint64_t now, char *why,
    size_t whylen)
{
	if (now < t->root.expires)
		return MM_OK;
	mm_upd_say(why, whylen, "the trusted root (version %llu) expired at %llu: "
	    "a newer root must come first", (unsigned long long)t->root.version,
	    (unsigned long long)t->root.expires);
	return MM_ERR_EXPIRED;
}

int
mm_upd_trust_copy(const struct mm_upd_trust *t, struct mm_upd_trust **out)
{
	return upd_trust_new(&t->root, t->doc, t->doclen, t->env, t->envlen, out);
}

const struct mm_upd_root *
mm_upd_trust_root(const struct mm_upd_trust *t)
{
	return &t->root;
}

void
mm_upd_trust_doc(const struct mm_upd_trust *t, const uint8_t **root,
    size_t *rootlen, const uint8_t **env, size_t *envlen)
{
	*root = t->doc;
	*rootlen = t->doclen;
	*env = t->env;
	*envlen = t->envlen;
}

void
mm_upd_trust_free(struct mm_upd_trust *t)
{
	if (t == NULL)
		return;
	mm_free(t->doc);
	mm_free(t->env);
	mm_free(t);
}
