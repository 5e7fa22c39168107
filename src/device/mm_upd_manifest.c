/* mm_upd_manifest.c - update manifests: strict parse, acceptance, verify. */
#include <string.h>

#include "common/mm_alloc.h"
#include "common/mm_err.h"
#include "device/mm_upd_manifest.h"

/* How a string field is checked. */
enum upd_text {
	UPD_PRINTABLE,	/* printable ASCII, space included */
	UPD_TEXT,	/* any UTF-8 but control characters; \n and \t allowed */
	UPD_NAME	/* [a-z0-9_-] */
};

static int
upd_char_ok(unsigned char c, enum upd_text kind)
{
	switch (kind) {
	case UPD_PRINTABLE:
		return c >= 0x20 && c < 0x7f;
	case UPD_TEXT:
		return c == '\n' || c == '\t' || (c >= 0x20 && c != 0x7f);
	case UPD_NAME:
		return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '_' || c == '-';
	}
	return 0;
}

/* obj[key] (or obj itself when key is NULL) as a checked string into dst. */
static int
upd_str(const json_t *obj, const char *key, size_t min, size_t max,
    enum upd_text kind, char *dst, char *why, size_t whylen)
{
	const json_t *j = key != NULL ? json_object_get(obj, key) : obj;
	const char *s;
	size_t i, n;

	if (!json_is_string(j)) {
		mm_upd_say(why, whylen, "manifest: \"%s\" must be a string",
		    key != NULL ? key : "hardware[]");
		return MM_ERR_FORMAT;
	}
	s = json_string_value(j);
	n = json_string_length(j);
	if (n < min || n > max) {
		mm_upd_say(why, whylen, "manifest: \"%s\" must have %zu to %zu "
		    "bytes", key != NULL ? key : "hardware[]", min, max);
		return MM_ERR_RANGE;
	}
	for (i = 0; i < n; i++) {
		/* nor the C1 controls U+0080..U+009F (UTF-8 c2 80..c2 9f): what
		 * mamori-sign inspect prints must not drive a terminal */
		if (!upd_char_ok((unsigned char)s[i], kind) ||
		    ((unsigned char)s[i] == 0xc2 && i + 1 < n &&
		    (unsigned char)s[i + 1] >= 0x80 &&
		    (unsigned char)s[i + 1] <= 0x9f)) {
			mm_upd_say(why, whylen, "manifest: \"%s\" has a character "
			    "not allowed there", key != NULL ? key : "hardware[]");
			return MM_ERR_FORMAT;
		}
	}
	memcpy(dst, s, n);
	dst[n] = '\0';
	return MM_OK;
}

static int
upd_u64(const json_t *o, const char *key, uint64_t min, uint64_t max,
    uint64_t *out, char *why, size_t whylen)
{
	int r;

	if ((r = mm_upd_json_u64(o, key, min, max, out)) != 0)
		mm_upd_say(why, whylen, "manifest: \"%s\" must be an integer from "
		    "%llu to %llu", key, (unsigned long long)min,
		    (unsigned long long)(max < MM_UPD_INT_MAX ? max : MM_UPD_INT_MAX));
	return r;
}

static int
upd_hardware(const json_t *hw, struct mm_upd_manifest *m, char *why,
    size_t whylen)
{
	json_t *v;
	size_t i, k;
	int r;

	if (!json_is_array(hw) || json_array_size(hw) < 1 ||
	    json_array_size(hw) > MM_UPD_HW_MAX) {
		mm_upd_say(why, whylen, "manifest: \"hardware\" must be an array "
		    "of 1 to %d names", MM_UPD_HW_MAX);
		return MM_ERR_FORMAT;
	}
	json_array_foreach(hw, i, v) {
		if ((r = upd_str(v, NULL, 1, MM_UPD_HW_LEN_MAX, UPD_PRINTABLE,
		    m->hardware[i], why, whylen)) != 0)
			return r;
		for (k = 0; k < i; k++) {
			if (strcmp(m->hardware[k], m->hardware[i]) == 0) {
				mm_upd_say(why, whylen, "manifest: hardware \"%s\" "
				    "listed twice", m->hardware[i]);
				return MM_ERR_FORMAT;
			}
		}
	}
	m->nhardware = json_array_size(hw);
	return MM_OK;
}

static int
upd_blocks(const json_t *o, struct mm_upd_payload *p, char *why, size_t whylen)
{
	const json_t *arr = json_object_get(o, "blocks");
	uint64_t bs, want;
	json_t *v;
	size_t i;

	if (mm_upd_json_u64(o, "block_size", MM_UPD_BLOCK_MIN, MM_UPD_BLOCK_MAX,
	    &bs) != 0 || (bs & (bs - 1)) != 0) {
		mm_upd_say(why, whylen, "manifest: payload %s: block_size must be "
		    "a power of two from %u to %u", p->name, MM_UPD_BLOCK_MIN,
		    MM_UPD_BLOCK_MAX);
		return MM_ERR_RANGE;
	}
	want = (p->size + bs - 1) / bs;
	if (!json_is_array(arr) || json_array_size(arr) != want) {
		mm_upd_say(why, whylen, "manifest: payload %s: \"blocks\" must "
		    "list %llu hashes", p->name, (unsigned long long)want);
		return MM_ERR_FORMAT;
	}
	if ((p->blocks = mm_calloc(want, MM_SHA256_LEN)) == NULL)
		return MM_ERR_ALLOC;
	json_array_foreach(arr, i, v) {
		if (mm_upd_hex_decode(p->blocks[i], MM_SHA256_LEN,
		    json_string_value(v)) != 0) {
			mm_upd_say(why, whylen, "manifest: payload %s: blocks[%zu] "
			    "is not 64 lower-case hex digits", p->name, i);
			return MM_ERR_FORMAT;
		}
	}
	p->block_size = (uint32_t)bs;
	p->nblocks = want;
	return MM_OK;
}

static int
upd_payload(const json_t *o, struct mm_upd_manifest *m, size_t idx, char *why,
    size_t whylen)
{
	struct mm_upd_payload *p = &m->payloads[idx];
	int has_bs, has_blocks, r;
	size_t k;

	has_bs = json_object_get(o, "block_size") != NULL;
	has_blocks = json_object_get(o, "blocks") != NULL;
	if (!json_is_object(o) || has_bs != has_blocks ||
	    json_object_size(o) != (has_bs ? 5U : 3U)) {
		mm_upd_say(why, whylen, "manifest: payloads[%zu]: want name, size, "
		    "sha256 and optionally both block_size and blocks", idx);
		return MM_ERR_FORMAT;
	}
	if ((r = upd_str(o, "name", 1, MM_UPD_NAME_MAX, UPD_NAME, p->name, why,
	    whylen)) != 0 ||
	    (r = upd_u64(o, "size", 1, MM_UPD_SIZE_MAX, &p->size, why,
	    whylen)) != 0)
		return r;
	for (k = 0; k < idx; k++) {
		if (strcmp(m->payloads[k].name, p->name) == 0) {
			mm_upd_say(why, whylen, "manifest: payload name %s used twice",
			    p->name);
			return MM_ERR_FORMAT;
		}
	}
	if (mm_upd_json_hex(o, "sha256", p->sha256, MM_SHA256_LEN) != 0) {
		mm_upd_say(why, whylen, "manifest: payload %s: sha256 must be 64 "
		    "lower-case hex digits", p->name);
		return MM_ERR_FORMAT;
	}
	return has_bs ? upd_blocks(o, p, why, whylen) : MM_OK;
}

static int
upd_payloads(const json_t *arr, struct mm_upd_manifest *m, char *why,
    size_t whylen)
{
	json_t *v;
	size_t i;
	int r;

	if (!json_is_array(arr) || json_array_size(arr) < 1 ||
	    json_array_size(arr) > MM_UPD_PAYLOADS_MAX) {
		mm_upd_say(why, whylen, "manifest: \"payloads\" must be an array of "
		    "1 to %d payloads", MM_UPD_PAYLOADS_MAX);
		return MM_ERR_FORMAT;
	}
	json_array_foreach(arr, i, v) {
		/* counted first so that free releases a half-parsed payload */
		m->npayloads = i + 1;
		if ((r = upd_payload(v, m, i, why, whylen)) != 0)
			return r;
	}
	return MM_OK;
}

static int
upd_manifest_fields(const json_t *o, struct mm_upd_manifest *m, char *why,
    size_t whylen)
{
	const char *type;
	uint64_t v;
	int r;

	if (json_object_size(o) != 11) {
		mm_upd_say(why, whylen, "manifest: want exactly v, type, product, "
		    "hardware, version, security_counter, created, expires, notes, "
		    "fixes, payloads");
		return MM_ERR_FORMAT;
	}
	if (mm_upd_json_u64(o, "v", 0, MM_UPD_INT_MAX, &v) != 0 || v != 1) {
		mm_upd_say(why, whylen, "manifest: \"v\" must be 1");
		return MM_ERR_UNSUPPORTED;
	}
	if (!json_is_string(json_object_get(o, "type")) ||
	    (type = json_string_value(json_object_get(o, "type"))) == NULL ||
	    strcmp(type, "manifest") != 0) {
		mm_upd_say(why, whylen, "manifest: \"type\" must be \"manifest\"");
		return MM_ERR_FORMAT;
	}
	if ((r = upd_str(o, "product", 1, MM_UPD_PRODUCT_MAX, UPD_PRINTABLE,
	    m->product, why, whylen)) != 0 ||
	    (r = upd_hardware(json_object_get(o, "hardware"), m, why,
	    whylen)) != 0 ||
	    (r = upd_str(o, "version", 1, MM_UPD_VERSION_MAX, UPD_PRINTABLE,
	    m->version, why, whylen)) != 0 ||
	    (r = upd_u64(o, "security_counter", 0, MM_UPD_INT_MAX,
	    &m->security_counter, why, whylen)) != 0 ||
	    (r = upd_u64(o, "created", 0, MM_UPD_INT_MAX, &m->created, why,
	    whylen)) != 0 ||
	    (r = upd_u64(o, "expires", 0, MM_UPD_INT_MAX, &m->expires, why,
	    whylen)) != 0 ||
	    (r = upd_str(o, "notes", 0, MM_UPD_TEXT_MAX, UPD_TEXT, m->notes, why,
	    whylen)) != 0 ||
	    (r = upd_str(o, "fixes", 0, MM_UPD_TEXT_MAX, UPD_TEXT, m->fixes, why,
	    whylen)) != 0)
		return r;
	if (m->expires <= m->created) {
		mm_upd_say(why, whylen, "manifest: expires must be after created");
		return MM_ERR_RANGE;
	}
	return upd_payloads(json_object_get(o, "payloads"), m, why, whylen);
}

int
mm_upd_manifest_parse(const void *doc, size_t len, struct mm_upd_manifest **out,
    char *why, size_t whylen)
{
	struct mm_upd_manifest *m;
	json_t *o;
	int r;

	if ((r = mm_upd_json_load(doc, len, "manifest", &o, why, whylen)) != 0)
		return r;
	if ((m = mm_calloc(1, sizeof(*m))) == NULL) {
		json_decref(o);
		return MM_ERR_ALLOC;
	}
	if ((r = upd_manifest_fields(o, m, why, whylen)) == 0) {
		*out = m;
		m = NULL;
	}
	mm_upd_manifest_free(m);
	json_decref(o);
	return r;
}

void
mm_upd_manifest_free(struct mm_upd_manifest *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->npayloads && i < MM_UPD_PAYLOADS_MAX; i++)
		mm_free(m->payloads[i].blocks);
	mm_free(m);
}

static json_t *
upd_payload_json(const struct mm_upd_payload *p)
{
	char hex[2 * MM_SHA256_LEN + 1];
	json_t *o, *blocks;
	size_t i;
	int bad = 0;

	mm_hex_encode(hex, p->sha256, MM_SHA256_LEN);
	o = json_pack("{s:s,s:I,s:s}", "name", p->name, "size",
	    (json_int_t)p->size, "sha256", hex);
	if (o == NULL || p->block_size == 0)
		return o;
	if ((blocks = json_array()) == NULL) {
		json_decref(o);
		return NULL;
	}
	for (i = 0; i < p->nblocks; i++) {
		mm_hex_encode(hex, p->blocks[i], MM_SHA256_LEN);
		bad |= json_array_append_new(blocks, json_string(hex));
	}
	bad |= json_object_set_new(o, "block_size", json_integer(p->block_size));
	bad |= json_object_set_new(o, "blocks", blocks);
	if (bad != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static json_t *
upd_manifest_json(const struct mm_upd_manifest *m)
{
	json_t *hw, *pl;
	size_t i;
	int bad = 0;

	hw = json_array();
	pl = json_array();
	for (i = 0; hw != NULL && i < m->nhardware && i < MM_UPD_HW_MAX; i++)
		bad |= json_array_append_new(hw, json_string(m->hardware[i]));
	for (i = 0; pl != NULL && i < m->npayloads && i < MM_UPD_PAYLOADS_MAX; i++)
		bad |= json_array_append_new(pl, upd_payload_json(&m->payloads[i]));
	if (bad != 0 || hw == NULL || pl == NULL) {
		json_decref(hw);
		json_decref(pl);
		return NULL;
	}
	return json_pack("{s:i,s:s,s:s,s:o,s:s,s:I,s:I,s:I,s:s,s:s,s:o}",
	    "v", 1, "type", "manifest", "product", m->product, "hardware", hw,
	    "version", m->version,
	    "security_counter", (json_int_t)m->security_counter,
	    "created", (json_int_t)m->created, "expires", (json_int_t)m->expires,
	    "notes", m->notes, "fixes", m->fixes, "payloads", pl);
}

int
mm_upd_manifest_encode(const struct mm_upd_manifest *m, char **out,
    size_t *outlen, char *why, size_t whylen)
{
	struct mm_upd_manifest *check = NULL;
	char *text;
	size_t len;
	int r;

	if (m->security_counter > MM_UPD_INT_MAX || m->created > MM_UPD_INT_MAX ||
	    m->expires > MM_UPD_INT_MAX) {
		mm_upd_say(why, whylen, "manifest: counter or time over 2^53-1");
		return MM_ERR_INVALID_ARG;
	}
	if ((r = mm_upd_json_text(upd_manifest_json(m), &text, &len)) != 0) {
		mm_upd_say(why, whylen, "manifest: %s%s", mm_strerror(r),
		    r == MM_ERR_TOO_LARGE ? " (fewer blocks: a larger block size)" :
		    "");
		return r;
	}
	/* never hand out a manifest that a device would refuse to parse */
	if ((r = mm_upd_manifest_parse(text, len, &check, why, whylen)) != 0) {
		mm_free(text);
		return r == MM_ERR_ALLOC || r == MM_ERR_TOO_LARGE ? r :
		    MM_ERR_INVALID_ARG;
	}
	mm_upd_manifest_free(check);
	*out = text;
	*outlen = len;
	return MM_OK;
}

int
mm_upd_manifest_accept(const struct mm_upd_manifest *m,
    const struct mm_upd_device *dev, char *why, size_t whylen)
{
	size_t i;

	if (dev->product == NULL || dev->hardware == NULL)
		return MM_ERR_INVALID_ARG;
	if (strcmp(m->product, dev->product) != 0) {
		mm_upd_say(why, whylen, "for product \"%s\", not \"%s\"",
		    m->product, dev->product);
		return MM_ERR_WRONG_TARGET;
	}
	for (i = 0; i < m->nhardware; i++)
		if (strcmp(m->hardware[i], dev->hardware) == 0)
			break;
	if (i == m->nhardware) {
		mm_upd_say(why, whylen, "hardware \"%s\" is not listed",
		    dev->hardware);
		return MM_ERR_WRONG_TARGET;
	}
	if (m->security_counter < dev->running_counter) {
		mm_upd_say(why, whylen, "security counter %llu is below the "
		    "running %llu (rollback)",
		    (unsigned long long)m->security_counter,
		    (unsigned long long)dev->running_counter);
		return MM_ERR_REPLAY;
	}
	if (dev->now >= m->expires) {
		mm_upd_say(why, whylen, "manifest expired at %llu (%s %llu)",
		    (unsigned long long)m->expires, dev->time_known ? "now" :
		    "newest time seen", (unsigned long long)dev->now);
		return MM_ERR_EXPIRED;
	}
	if (dev->time_known && m->created > dev->now + MM_UPD_FUTURE_SKEW) {
		mm_upd_say(why, whylen, "manifest created at %llu, more than a day "
		    "after now (%llu)", (unsigned long long)m->created,
		    (unsigned long long)dev->now);
		return MM_ERR_NOT_YET_VALID;
	}
	return MM_OK;
}

int
mm_upd_manifest_verify(const struct mm_upd_trust *t, const void *doc,
    size_t len, const void *envdoc, size_t envlen,
    const struct mm_upd_device *dev, struct mm_upd_manifest **out, char *why,
    size_t whylen)
{
	struct mm_upd_manifest *m = NULL;
	struct mm_upd_env *env;
	int r;

	if (len > MM_UPD_DOC_MAX) {
		mm_upd_say(why, whylen, "manifest: over %d bytes", MM_UPD_DOC_MAX);
		return MM_ERR_TOO_LARGE;
	}
	if ((r = mm_upd_trust_fresh(t, dev->now, why, whylen)) != 0)
		return r;
	if ((env = mm_calloc(1, sizeof(*env))) == NULL)
		return MM_ERR_ALLOC;
	if ((r = mm_upd_env_parse(envdoc, envlen, env, why, whylen)) != 0 ||
	    (r = mm_upd_sig_check(mm_upd_trust_root(t), MM_UPD_ROLE_RELEASE,
	    MM_UPD_CTX_MANIFEST, doc, len, env, NULL, why, whylen)) != 0)
		goto out;
	/* authentic from here on: parse and judge */
	if ((r = mm_upd_manifest_parse(doc, len, &m, why, whylen)) != 0 ||
	    (r = mm_upd_manifest_accept(m, dev, why, whylen)) != 0)
		goto out;
	*out = m;
	m = NULL;
 out:
	mm_upd_manifest_free(m);
	mm_free(env);
	return r;
}
