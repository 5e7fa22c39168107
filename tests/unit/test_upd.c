/*
 * Signed updates (decision 0010): key ids, root.json, envelopes and
 * thresholds, root rotation, manifests and the device's acceptance rules,
 * and the bundle reader against the attacks of issue 5: unsigned, forged,
 * revoked-key, misdirected, rolled-back, expired, mixed-and-matched,
 * overlong, truncated and corrupted bundles.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "common/mm_alloc.h"
#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "device/mm_upd_bundle.h"

#define NOW 1800000000ULL
#define DAY 86400ULL
#define BS 4096U

enum { K_A, K_B, K_C, K_R1, K_R2, K_R3, K_N };
#define BIT(k) (1U << (k))
static uint8_t pk[K_N][MM_SIGN_PK_LEN], sk[K_N][MM_SIGN_SK_LEN];
static char why[MM_UPD_WHY_MAX];

/* ---- builders ---- */

/* root.json: keys in rootmask are root keys, relmask release keys. */
static char *
root_text(uint64_t version, uint64_t expires, unsigned rth, unsigned sth,
    unsigned rootmask, unsigned relmask, unsigned revmask, size_t *len)
{
	struct mm_upd_root rt;
	char *text;
	int k;

	memset(&rt, 0, sizeof(rt));
	rt.version = version;
	rt.expires = expires;
	rt.threshold[MM_UPD_ROLE_ROOT] = rth;
	rt.threshold[MM_UPD_ROLE_RELEASE] = sth;
	for (k = 0; k < K_N; k++) {
		if (!((rootmask | relmask) & BIT(k)))
			continue;
		mm_sign_keyid(rt.keys[rt.nkeys].id, pk[k]);
		memcpy(rt.keys[rt.nkeys].pk, pk[k], MM_SIGN_PK_LEN);
		rt.keys[rt.nkeys++].role = (rootmask & BIT(k)) ?
		    MM_UPD_ROLE_ROOT : MM_UPD_ROLE_RELEASE;
	}
	for (k = 0; k < K_N; k++)
		if (revmask & BIT(k))
			mm_sign_keyid(rt.revoked[rt.nrevoked++], pk[k]);
	assert_int_equal(mm_upd_root_encode(&rt, &text, len, why, sizeof(why)),
	    MM_OK);
	return text;
}

static char *
env_text(enum mm_upd_ctx ctx, const void *doc, size_t len, unsigned signmask,
    size_t *elen)
{
	struct mm_upd_env env;
	char *text;
	int k;

	memset(&env, 0, sizeof(env));
	for (k = 0; k < K_N; k++)
		if (signmask & BIT(k))
			assert_int_equal(mm_upd_env_sign(&env, ctx, doc, len, sk[k]),
			    MM_OK);
	assert_int_equal(mm_upd_env_encode(&env, &text, elen), MM_OK);
	return text;
}

/* The standard trust: root v1, roots A+B (2 of 2), releases R1..R3 (1),
 * R3 revoked. */
static struct mm_upd_trust *
trust_v1(uint64_t expires)
{
	struct mm_upd_trust *t;
	char *root, *env;
	size_t rl, el;

	root = root_text(1, expires, 2, 1, BIT(K_A) | BIT(K_B),
	    BIT(K_R1) | BIT(K_R2) | BIT(K_R3), BIT(K_R3), &rl);
	env = env_text(MM_UPD_CTX_ROOT, root, rl, BIT(K_A) | BIT(K_B), &el);
	assert_int_equal(mm_upd_trust_load(root, rl, env, el, &t, why,
	    sizeof(why)), MM_OK);
	mm_free(root);
	mm_free(env);
	return t;
}

struct pl {
	const char *name;
	uint8_t *data;
	size_t size;
	uint32_t bs;
};

static void
pl_fill(struct pl *p, const char *name, size_t size, uint32_t bs, uint8_t seed)
{
	size_t i;

	p->name = name;
	p->size = size;
	p->bs = bs;
	p->data = malloc(size);
	assert_non_null(p->data);
	for (i = 0; i < size; i++)
		p->data[i] = (uint8_t)(seed + i * 7 + (i >> 8));
}

struct mf {
	const char *product, *hw2, *version;
	uint64_t counter, created, expires;
};

static const struct mf mf_default = { "cam-100", "rev-b", "1.4.2", 7,
    NOW - DAY, NOW + 30 * DAY };

/* A manifest for pls, hashes computed here with libsodium directly. */
static char *
manifest_text(const struct mf *f, const struct pl *pls, size_t n, size_t *len)
{
	struct mm_upd_manifest *m;
	char *text;
	size_t i, b, off;

	m = calloc(1, sizeof(*m));
	assert_non_null(m);
	snprintf(m->product, sizeof(m->product), "%s", f->product);
	snprintf(m->hardware[0], sizeof(m->hardware[0]), "rev-a");
	snprintf(m->hardware[1], sizeof(m->hardware[1]), "%s", f->hw2);
	m->nhardware = 2;
	snprintf(m->version, sizeof(m->version), "%s", f->version);
	snprintf(m->notes, sizeof(m->notes), "notes\nline two");
	m->security_counter = f->counter;
	m->created = f->created;
	m->expires = f->expires;
	for (i = 0; i < n; i++) {
		struct mm_upd_payload *p = &m->payloads[i];

		snprintf(p->name, sizeof(p->name), "%s", pls[i].name);
		p->size = pls[i].size;
		crypto_hash_sha256(p->sha256, pls[i].data, pls[i].size);
		if (pls[i].bs == 0)
			continue;
		p->block_size = pls[i].bs;
		p->nblocks = (pls[i].size + pls[i].bs - 1) / pls[i].bs;
		p->blocks = calloc(p->nblocks, MM_SHA256_LEN);
		assert_non_null(p->blocks);
		for (b = 0, off = 0; b < p->nblocks; b++, off += pls[i].bs)
			crypto_hash_sha256(p->blocks[b], pls[i].data + off,
			    pls[i].size - off < pls[i].bs ? pls[i].size - off :
			    pls[i].bs);
	}
	m->npayloads = n;
	assert_int_equal(mm_upd_manifest_encode(m, &text, len, why, sizeof(why)),
	    MM_OK);
	for (i = 0; i < n; i++)
		free(m->payloads[i].blocks);
	free(m);
	return text;
}

/* A whole bundle in memory (free it). */
static uint8_t *
bundle_make(const struct mm_upd_link *chain, size_t nchain, const char *mdoc,
    size_t mlen, const char *env, size_t elen, const struct pl *pls, size_t n,
    size_t *len)
{
	uint8_t *hdr, *b;
	size_t hl, total, i, off;

	assert_int_equal(mm_upd_bundle_header(chain, nchain, mdoc, mlen, env,
	    elen, &hdr, &hl), MM_OK);
	for (total = hl, i = 0; i < n; i++)
		total += pls[i].size;
	b = malloc(total + 1);
	assert_non_null(b);
	memcpy(b, hdr, hl);
	for (off = hl, i = 0; i < n; i++) {
		memcpy(b + off, pls[i].data, pls[i].size);
		off += pls[i].size;
	}
	mm_free(hdr);
	*len = total;
	return b;
}

/* A standard bundle of pls signed by signmask's release keys. */
static uint8_t *
bundle_std(const struct mf *f, const struct pl *pls, size_t n,
    unsigned signmask, size_t *len)
{
	char *m, *e;
	size_t ml, el;
	uint8_t *b;

	m = manifest_text(f, pls, n, &ml);
	e = env_text(MM_UPD_CTX_MANIFEST, m, ml, signmask, &el);
	b = bundle_make(NULL, 0, m, ml, e, el, pls, n, len);
	mm_free(m);
	mm_free(e);
	return b;
}

/* ---- reading ---- */

struct memsrc {
	const uint8_t *p;
	size_t len, off, chunk;
	int endless;		/* after the data, 'x' for ever */
	size_t calls_after_end;
};

static int
mem_read(void *arg, void *buf, size_t len, size_t *got)
{
	struct memsrc *s = arg;
	size_t n = len < s->chunk ? len : s->chunk;

	if (s->off >= s->len) {
		s->calls_after_end++;
		if (!s->endless) {
			*got = 0;
			return MM_OK;
		}
		memset(buf, 'x', n);
		*got = n;
		return MM_OK;
	}
	if (n > s->len - s->off)
		n = s->len - s->off;
	memcpy(buf, s->p + s->off, n);
	s->off += n;
	*got = n;
	return MM_OK;
}

static const struct mm_upd_device dev_default = { "cam-100", "rev-b", 7, NOW,
    1 };

static int
open_mem(struct memsrc *src, const uint8_t *b, size_t len, size_t chunk,
    const struct mm_upd_trust *t, const struct mm_upd_device *dev,
    struct mm_upd_reader **rd)
{
	memset(src, 0, sizeof(*src));
	src->p = b;
	src->len = len;
	src->chunk = chunk;
	why[0] = '\0';
	return mm_upd_reader_open(rd, mem_read, src, t, dev, why, sizeof(why));
}

/*
 * Reads every payload with buffers of bufsz; checks each byte given out
 * against pls (when not NULL).  Returns the first error; *given counts the
 * bytes handed out before it.
 */
static int
read_all(struct mm_upd_reader *rd, const struct pl *pls, size_t bufsz,
    size_t *given)
{
	const struct mm_upd_payload *p;
	uint8_t buf[8192];
	size_t got, i = 0, off;
	int r;

	*given = 0;
	assert_true(bufsz <= sizeof(buf));
	while ((r = mm_upd_reader_next_payload(rd, &p)) == MM_OK) {
		off = 0;
		for (;;) {
			if ((r = mm_upd_reader_read(rd, buf, bufsz, &got)) != 0)
				return r;
			if (got == 0)
				break;
			if (pls != NULL) {
				assert_string_equal(p->name, pls[i].name);
				assert_true(off + got <= pls[i].size);
				assert_memory_equal(buf, pls[i].data + off, got);
			}
			off += got;
			*given += got;
		}
		if (pls != NULL)
			assert_int_equal(off, pls[i].size);
		i++;
	}
	if (r != MM_ERR_NOT_FOUND)
		return r;
	return mm_upd_reader_finish(rd);
}

/* Open and read a whole bundle; the first error. */
static int
verdict(const uint8_t *b, size_t len, const struct mm_upd_trust *t,
    const struct mm_upd_device *dev)
{
	struct mm_upd_reader *rd = NULL;
	struct memsrc src;
	size_t given;
	int r;

	if ((r = open_mem(&src, b, len, 1000, t, dev, &rd)) != 0)
		return r;
	r = read_all(rd, NULL, 4096, &given);
	if (r != 0)
		snprintf(why, sizeof(why), "%s", mm_upd_reader_why(rd));
	mm_upd_reader_free(rd);
	return r;
}

static void
pls_free(struct pl *pls, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(pls[i].data);
}

/* text, then spaces up to one byte over the documents' limit (free it). */
static char *
padded(const char *text, size_t len)
{
	char *big = malloc(MM_UPD_DOC_MAX + 1);

	assert_non_null(big);
	assert_true(len <= MM_UPD_DOC_MAX);
	memset(big, ' ', MM_UPD_DOC_MAX + 1);
	memcpy(big, text, len);
	return big;
}

/* ---- keys and root.json ---- */

static void
test_keyid(void **state)
{
	char hex[MM_UPD_KEYID_HEX + 1], want[MM_UPD_KEYID_HEX + 1];
	uint8_t h[32], out[8];
	int k;

	(void)state;
	for (k = 0; k < K_N; k++) {
		crypto_hash_sha256(h, pk[k], MM_SIGN_PK_LEN);
		mm_hex_encode(want, h, 8);
		mm_upd_keyid_hex(hex, pk[k]);
		assert_int_equal(strlen(hex), 16);
		assert_string_equal(hex, want);
	}
	assert_int_equal(mm_upd_hex_decode(out, 8, "00112233445566ff"), MM_OK);
	assert_int_equal(mm_upd_hex_decode(out, 8, "00112233445566FF"),
	    MM_ERR_FORMAT);
	assert_int_equal(mm_upd_hex_decode(out, 8, "00112233445566f"),
	    MM_ERR_FORMAT);
	assert_int_equal(mm_upd_hex_decode(out, 8, "00112233445566ff0"),
	    MM_ERR_FORMAT);
	assert_int_equal(mm_upd_hex_decode(out, 8, "0011223344556g00"),
	    MM_ERR_FORMAT);
}

/* A mutation of the valid root.json text: r the expected parse result. */
static void
root_variant(const char *text, size_t len, void (*mut)(json_t *), int want)
{
	struct mm_upd_root rt;
	json_t *o = json_loadb(text, len, 0, NULL);
	char *s;

	assert_non_null(o);
	mut(o);
	s = json_dumps(o, JSON_COMPACT);
	assert_non_null(s);
	why[0] = '\0';
	assert_int_equal(mm_upd_root_parse(s, strlen(s), &rt, why, sizeof(why)),
	    want);
	if (want != MM_OK)
		assert_true(why[0] != '\0');
	mm_free(s);
	json_decref(o);
}

static json_t *at(json_t *o, const char *k) { return json_object_get(o, k); }
static void put(json_t *o, const char *k, json_t *v) { json_object_set_new(o, k, v); }
static void add(json_t *a, json_t *v) { json_array_append_new(a, v); }
static json_t *
str_of(char c, size_t n)
{
	char s[5000];

	assert_true(n < sizeof(s));
	memset(s, c, n);
	s[n] = 0;
	return json_string(s);
}

static void mut_none(json_t *o) { (void)o; }
static void mut_unknown(json_t *o) { put(o, "x", json_true()); }
static void mut_v2(json_t *o) { put(o, "v", json_integer(2)); }
static void mut_type(json_t *o) { put(o, "type", json_string("manifest")); }
static void mut_ver0(json_t *o) { put(o, "version", json_integer(0)); }
static void mut_verreal(json_t *o) { put(o, "version", json_real(1.0)); }
static void mut_verbig(json_t *o) { put(o, "version", json_integer(9007199254740992LL)); }
static void mut_noexp(json_t *o) { json_object_del(o, "expires"); }
static void mut_th0(json_t *o) { put(at(o, "threshold"), "root", json_integer(0)); }
static void mut_th3(json_t *o) { put(at(o, "threshold"), "root", json_integer(3)); }
static void mut_threl3(json_t *o) { put(at(o, "threshold"), "release", json_integer(3)); }
static void mut_thx(json_t *o) { put(at(o, "threshold"), "admin", json_integer(1)); }
static void mut_nokeys(json_t *o) { put(o, "keys", json_object()); }
static void mut_revbad(json_t *o) { add(at(o, "revoked"), json_string("xyz")); }

static json_t *
first_key(json_t *o, const char **id)
{
	void *it = json_object_iter(json_object_get(o, "keys"));

	*id = json_object_iter_key(it);
	return json_object_iter_value(it);
}


/* Sets field k of the first key's entry. */
static void
put_key(json_t *o, const char *k, json_t *v)
{
	const char *id;

	put(first_key(o, &id), k, v);
}

static void
mut_idmismatch(json_t *o)
{
	char hex[65];

	/* the first key's entry claims another public key */
	mm_hex_encode(hex, pk[K_C], MM_SIGN_PK_LEN);
	put_key(o, "public", json_string(hex));
}

static void mut_role(json_t *o) { put_key(o, "role", json_string("admin")); }
static void mut_pubhex(json_t *o) { put_key(o, "public", str_of('g', 64)); }
static void mut_keyextra(json_t *o) { put_key(o, "comment", json_string("x")); }

static void
mut_idupper(json_t *o)
{
	const char *id;
	json_t *k = json_incref(first_key(o, &id));
	char up[17];
	size_t i;

	for (i = 0; i < 16; i++)
		up[i] = (char)(id[i] >= 'a' ? id[i] - 32 : id[i]);
	up[16] = 0;
	json_object_del(json_object_get(o, "keys"), id);
	json_object_set_new(json_object_get(o, "keys"), up, k);
}

static void
mut_revdup(json_t *o)
{
	json_t *rev = json_object_get(o, "revoked");

	json_array_append(rev, json_array_get(rev, 0));
}

/* Adds n more release keys to the root. */
static void
add_keys(json_t *o, int n)
{
	uint8_t p[32], s[64], seed[32] = { 0 };
	char hex[65], id[17];
	json_t *keys = json_object_get(o, "keys");
	int i;

	for (i = 0; i < n; i++) {
		seed[0] = (uint8_t)(100 + i);
		crypto_sign_ed25519_seed_keypair(p, s, seed);
		mm_hex_encode(hex, p, 32);
		mm_upd_keyid_hex(id, p);
		json_object_set_new(keys, id, json_pack("{s:s,s:s}", "role",
		    "release", "public", hex));
	}
}

static void mut_64keys(json_t *o) { add_keys(o, 64 - 5); }
static void mut_65keys(json_t *o) { add_keys(o, 65 - 5); }

static void
test_root_parse(void **state)
{
	struct mm_upd_root rt;
	char *text, *big;
	size_t len;

	(void)state;
	/* roots A, B; releases R1, R2, R3; R3 revoked: 2 unrevoked releases */
	text = root_text(1, NOW + DAY, 2, 1, BIT(K_A) | BIT(K_B),
	    BIT(K_R1) | BIT(K_R2) | BIT(K_R3), BIT(K_R3), &len);
	assert_int_equal(mm_upd_root_parse(text, len, &rt, why, sizeof(why)),
	    MM_OK);
	assert_int_equal(rt.nkeys, 5);
	assert_int_equal(rt.nrevoked, 1);
	assert_true(rt.version == 1 && rt.expires == NOW + DAY);
	assert_int_equal(rt.threshold[MM_UPD_ROLE_ROOT], 2);
	root_variant(text, len, mut_none, MM_OK);
	root_variant(text, len, mut_unknown, MM_ERR_FORMAT);
	root_variant(text, len, mut_v2, MM_ERR_UNSUPPORTED);
	root_variant(text, len, mut_type, MM_ERR_FORMAT);
	root_variant(text, len, mut_ver0, MM_ERR_RANGE);
	root_variant(text, len, mut_verreal, MM_ERR_FORMAT);
	root_variant(text, len, mut_verbig, MM_ERR_RANGE);
	root_variant(text, len, mut_noexp, MM_ERR_FORMAT);
	root_variant(text, len, mut_th0, MM_ERR_RANGE);
	root_variant(text, len, mut_th3, MM_ERR_RANGE);
	/* 3 release keys but one revoked: a threshold of 3 can never be met */
	root_variant(text, len, mut_threl3, MM_ERR_RANGE);
	root_variant(text, len, mut_thx, MM_ERR_FORMAT);
	root_variant(text, len, mut_nokeys, MM_ERR_FORMAT);
	root_variant(text, len, mut_revbad, MM_ERR_FORMAT);
	root_variant(text, len, mut_revdup, MM_ERR_FORMAT);
	root_variant(text, len, mut_role, MM_ERR_FORMAT);
	root_variant(text, len, mut_pubhex, MM_ERR_FORMAT);
	root_variant(text, len, mut_keyextra, MM_ERR_FORMAT);
	root_variant(text, len, mut_idmismatch, MM_ERR_FORMAT);
	root_variant(text, len, mut_idupper, MM_ERR_FORMAT);
	root_variant(text, len, mut_64keys, MM_OK);
	root_variant(text, len, mut_65keys, MM_ERR_TOO_LARGE);
	/* duplicate keys in the text itself */
	assert_int_equal(mm_upd_root_parse("{\"v\":1,\"v\":1}", 13, &rt, why,
	    sizeof(why)), MM_ERR_FORMAT);
	assert_int_equal(mm_upd_root_parse("[1]", 3, &rt, why, sizeof(why)),
	    MM_ERR_FORMAT);
	big = padded(text, len);
	assert_int_equal(mm_upd_root_parse(big, MM_UPD_DOC_MAX + 1, &rt, why,
	    sizeof(why)), MM_ERR_TOO_LARGE);
	assert_int_equal(mm_upd_root_parse(big, MM_UPD_DOC_MAX, &rt, why,
	    sizeof(why)), MM_OK);	/* trailing white space is JSON */
	free(big);
	mm_free(text);
}

/* ---- thresholds ---- */

static int
check_env(const struct mm_upd_root *rt, enum mm_upd_ctx ctx, const char *doc,
    size_t len, const char *envtext, struct mm_upd_count *c)
{
	struct mm_upd_env env;
	int r;

	if ((r = mm_upd_env_parse(envtext, strlen(envtext), &env, why,
	    sizeof(why))) != 0)
		return r;
	return mm_upd_sig_check(rt, MM_UPD_ROLE_RELEASE, ctx, doc, len, &env, c,
	    why, sizeof(why));
}

/* An envelope text with the given entries (each a JSON object text). */
static char *
env_join(const char *a, const char *b, const char *c)
{
	char *s = malloc(4096);

	assert_non_null(s);
	snprintf(s, 4096, "{\"sigs\":[%s%s%s%s%s]}", a, b[0] ? "," : "", b,
	    c[0] ? "," : "", c);
	return s;
}

/* The JSON entry of key k's signature over ctx || doc. */
static void
entry(char *out, size_t outsz, int k, enum mm_upd_ctx ctx, const char *doc,
    size_t len)
{
	struct mm_upd_env env;
	char kid[17], sig[129];

	memset(&env, 0, sizeof(env));
	assert_int_equal(mm_upd_env_sign(&env, ctx, doc, len, sk[k]), MM_OK);
	mm_hex_encode(kid, env.sigs[0].keyid, 8);
	mm_hex_encode(sig, env.sigs[0].sig, 64);
	snprintf(out, outsz, "{\"alg\":\"ed25519\",\"keyid\":\"%s\",\"sig\":\"%s\"}",
	    kid, sig);
}

/* Checks an envelope of entries a, b, c (JSON texts, "" for none) over the
 * manifest context. */
static int
check3(const struct mm_upd_root *rt, const char *doc, const char *a,
    const char *b, const char *c, struct mm_upd_count *count)
{
	char *e = env_join(a, b, c);
	int r;

	r = check_env(rt, MM_UPD_CTX_MANIFEST, doc, strlen(doc), e, count);
	free(e);
	return r;
}

static void
test_threshold(void **state)
{
	char r1[256], r2[256], r3[256], ka[256], r2root[256], *e, *many;
	const char *doc = "{\"any\":\"document\"}";
	const char *other = "{\"alg\":\"sphincs+\",\"keyid\":\"x\",\"sig\":\"y\"}";
	struct mm_upd_count c;
	struct mm_upd_root rt;
	struct mm_upd_env env;
	uint8_t msg[64];
	char *text;
	size_t len, dl = strlen(doc), i, off, manysz;

	(void)state;
	/* releases R1, R2, R3 (revoked); release threshold 2 */
	text = root_text(1, NOW + DAY, 1, 2, BIT(K_A),
	    BIT(K_R1) | BIT(K_R2) | BIT(K_R3), BIT(K_R3), &len);
	assert_int_equal(mm_upd_root_parse(text, len, &rt, why, sizeof(why)), 0);
	entry(r1, sizeof(r1), K_R1, MM_UPD_CTX_MANIFEST, doc, dl);
	entry(r2, sizeof(r2), K_R2, MM_UPD_CTX_MANIFEST, doc, dl);
	entry(r3, sizeof(r3), K_R3, MM_UPD_CTX_MANIFEST, doc, dl);
	entry(ka, sizeof(ka), K_A, MM_UPD_CTX_MANIFEST, doc, dl);
	entry(r2root, sizeof(r2root), K_R2, MM_UPD_CTX_ROOT, doc, dl);

	assert_int_equal(check3(&rt, doc, r1, r2, "", &c), 0);
	assert_int_equal(c.valid, 2);
	/* the same signature of R1 twice counts once */
	assert_int_equal(check3(&rt, doc, r1, r1, "", &c), MM_ERR_SIGNATURE);
	assert_true(c.valid == 1 && c.repeated == 1);
	/* an unknown algorithm is ignored, not counted and not refused */
	assert_int_equal(check3(&rt, doc, r1, other, "", &c), MM_ERR_SIGNATURE);
	assert_int_equal(c.unknown_alg, 1);
	assert_int_equal(check3(&rt, doc, other, r1, r2, &c), 0);
	/* a revoked release key never counts */
	assert_int_equal(check3(&rt, doc, r1, r3, "", &c), MM_ERR_SIGNATURE);
	assert_int_equal(c.revoked, 1);
	assert_non_null(strstr(why, "1 by revoked keys"));
	/* a root key does not sign manifests */
	assert_int_equal(check3(&rt, doc, r1, ka, "", &c), MM_ERR_SIGNATURE);
	assert_int_equal(c.other_role, 1);
	/* a signature made for the root context does not pass as a manifest's */
	assert_int_equal(check3(&rt, doc, r1, r2root, "", &c), MM_ERR_SIGNATURE);
	assert_int_equal(c.bad, 1);
	/* and the right context is exactly "MMMANI1\0" || doc */
	assert_true(dl + 8 <= sizeof(msg));
	memcpy(msg, "MMMANI1", 8);
	memcpy(msg + 8, doc, dl);
	e = env_join(r1, "", "");
	assert_int_equal(mm_upd_env_parse(e, strlen(e), &env, why, sizeof(why)), 0);
	free(e);
	assert_int_equal(crypto_sign_ed25519_verify_detached(env.sigs[0].sig, msg,
	    dl + 8, pk[K_R1]), 0);
	/* the document changed: nothing holds */
	assert_int_equal(check3(&rt, "{\"any\":\"documenT\"}", r1, r2, "", &c),
	    MM_ERR_SIGNATURE);
	assert_int_equal(c.bad, 2);
	/* malformed envelopes */
	assert_int_equal(check_env(&rt, MM_UPD_CTX_MANIFEST, doc, dl,
	    "{\"sigs\":[],\"x\":1}", &c), MM_ERR_FORMAT);
	assert_int_equal(check_env(&rt, MM_UPD_CTX_MANIFEST, doc, dl,
	    "{\"sigs\":[{\"alg\":\"ed25519\",\"keyid\":\"00\",\"sig\":\"00\"}]}",
	    &c), MM_ERR_FORMAT);
	assert_int_equal(check_env(&rt, MM_UPD_CTX_MANIFEST, doc, dl,
	    "{\"sigs\":[{\"keyid\":\"00\"}]}", &c), MM_ERR_FORMAT);
	assert_int_equal(check_env(&rt, MM_UPD_CTX_MANIFEST, doc, dl,
	    "{\"sigs\":[{\"alg\":\"a b\"}]}", &c), MM_ERR_FORMAT);
	assert_int_equal(check_env(&rt, MM_UPD_CTX_MANIFEST, doc, dl,
	    "{\"sigs\":[]}", &c), MM_ERR_SIGNATURE);
	assert_non_null(strstr(why, "not signed"));
	/* 33 entries */
	manysz = 33 * 16 + 32;
	many = malloc(manysz);
	assert_non_null(many);
	off = (size_t)snprintf(many, manysz, "{\"sigs\":[");
	for (i = 0; i < 33; i++)
		off += (size_t)snprintf(many + off, manysz - off,
		    "%s{\"alg\":\"x\"}", i ? "," : "");
	assert_true(off + 3 <= manysz);
	snprintf(many + off, manysz - off, "]}");
	assert_int_equal(check_env(&rt, MM_UPD_CTX_MANIFEST, doc, dl, many, &c),
	    MM_ERR_TOO_LARGE);
	free(many);
	mm_free(text);
}

/* ---- root rotation ---- */

static int
update_with(struct mm_upd_trust *t, const char *root, size_t rl,
    unsigned signmask, uint64_t now)
{
	char *env;
	size_t el;
	int r;

	env = env_text(MM_UPD_CTX_ROOT, root, rl, signmask, &el);
	why[0] = '\0';
	r = mm_upd_trust_update(t, root, rl, env, el, now, why, sizeof(why));
	mm_free(env);
	return r;
}

static void
test_rotation(void **state)
{
	struct mm_upd_trust *t, *t2;
	char *v2, *v3, *v2exp, *v2norev, *self, *env;
	size_t l2, l3, lexp, lnorev, ls, el;
	unsigned rels = BIT(K_R1) | BIT(K_R2) | BIT(K_R3);

	(void)state;
	t = trust_v1(NOW + 10 * DAY);
	/* v2: roots B and C (2 of 2) */
	v2 = root_text(2, NOW + 20 * DAY, 2, 1, BIT(K_B) | BIT(K_C), rels,
	    BIT(K_R3), &l2);
	/* only the old roots: refused */
	assert_int_equal(update_with(t, v2, l2, BIT(K_A) | BIT(K_B), NOW),
	    MM_ERR_SIGNATURE);
	assert_non_null(strstr(why, "own root keys"));
	/* only the new roots: refused (A of version 1 missing) */
	assert_int_equal(update_with(t, v2, l2, BIT(K_B) | BIT(K_C), NOW),
	    MM_ERR_SIGNATURE);
	assert_non_null(strstr(why, "version 1"));
	assert_true(mm_upd_trust_root(t)->version == 1);
	/* skipping a version: refused */
	v3 = root_text(3, NOW + 20 * DAY, 2, 1, BIT(K_B) | BIT(K_C), rels,
	    BIT(K_R3), &l3);
	assert_int_equal(update_with(t, v3, l3, BIT(K_A) | BIT(K_B) | BIT(K_C),
	    NOW), MM_ERR_RANGE);
	/* an expired next root: refused */
	v2exp = root_text(2, NOW - 1, 2, 1, BIT(K_B) | BIT(K_C), rels,
	    BIT(K_R3), &lexp);
	assert_int_equal(update_with(t, v2exp, lexp, BIT(K_A) | BIT(K_B) |
	    BIT(K_C), NOW), MM_ERR_EXPIRED);
	/* a next root that forgets a revocation: refused */
	v2norev = root_text(2, NOW + 20 * DAY, 2, 1, BIT(K_B) | BIT(K_C), rels,
	    0, &lnorev);
	assert_int_equal(update_with(t, v2norev, lnorev, BIT(K_A) | BIT(K_B) |
	    BIT(K_C), NOW), MM_ERR_DENIED);
	assert_true(mm_upd_trust_root(t)->version == 1);
	/* old and new roots: accepted, on a copy first */
	assert_int_equal(mm_upd_trust_copy(t, &t2), 0);
	assert_int_equal(update_with(t2, v2, l2, BIT(K_A) | BIT(K_B) | BIT(K_C),
	    NOW), MM_OK);
	assert_true(mm_upd_trust_root(t2)->version == 2);
	assert_true(mm_upd_trust_root(t)->version == 1);
	{
		const uint8_t *rd, *ed;
		size_t rl, elen;

		mm_upd_trust_doc(t2, &rd, &rl, &ed, &elen);
		assert_int_equal(rl, l2);
		assert_memory_equal(rd, v2, l2);
	}
	/* the same version again: a replay */
	assert_int_equal(update_with(t2, v2, l2, BIT(K_A) | BIT(K_B) | BIT(K_C),
	    NOW), MM_ERR_REPLAY);
	/* v3 now only needs v2's roots (B, C); A is gone */
	assert_int_equal(update_with(t2, v3, l3, BIT(K_A) | BIT(K_B), NOW),
	    MM_ERR_SIGNATURE);
	assert_int_equal(update_with(t2, v3, l3, BIT(K_B) | BIT(K_C), NOW),
	    MM_OK);
	mm_upd_trust_free(t2);
	/* a factory root not signed by its own threshold */
	self = root_text(1, NOW + DAY, 2, 1, BIT(K_A) | BIT(K_B), BIT(K_R1), 0,
	    &ls);
	env = env_text(MM_UPD_CTX_ROOT, self, ls, BIT(K_A), &el);
	assert_int_equal(mm_upd_trust_load(self, ls, env, el, &t2, why,
	    sizeof(why)), MM_ERR_SIGNATURE);
	mm_free(env);
	/* root keys' signatures for the manifest context do not sign a root */
	env = env_text(MM_UPD_CTX_MANIFEST, self, ls, BIT(K_A) | BIT(K_B), &el);
	assert_int_equal(mm_upd_trust_load(self, ls, env, el, &t2, why,
	    sizeof(why)), MM_ERR_SIGNATURE);
	mm_free(env);
	/* freshness of the trusted root */
	assert_int_equal(mm_upd_trust_fresh(t, NOW, why, sizeof(why)), MM_OK);
	assert_int_equal(mm_upd_trust_fresh(t, NOW + 10 * DAY, why, sizeof(why)),
	    MM_ERR_EXPIRED);
	mm_free(self);
	mm_free(v2);
	mm_free(v3);
	mm_free(v2exp);
	mm_free(v2norev);
	mm_upd_trust_free(t);
}

/* ---- manifests ---- */

static char *mtext;
static size_t mlen;

static void
manifest_variant(void (*mut)(json_t *), int want)
{
	struct mm_upd_manifest *m = NULL;
	json_t *o = json_loadb(mtext, mlen, 0, NULL);
	char *s;
	int r;

	assert_non_null(o);
	mut(o);
	s = json_dumps(o, JSON_COMPACT);
	assert_non_null(s);
	why[0] = '\0';
	r = mm_upd_manifest_parse(s, strlen(s), &m, why, sizeof(why));
	if (r != want)
		fail_msg("parse gave %d (%s), want %d: %s", r, why, want, s);
	if (want != MM_OK)
		assert_true(why[0] != '\0');
	mm_upd_manifest_free(m);
	mm_free(s);
	json_decref(o);
}

static json_t *pl0(json_t *o) { return json_array_get(json_object_get(o, "payloads"), 0); }
static json_t *pl1(json_t *o) { return json_array_get(json_object_get(o, "payloads"), 1); }


static void m_unknown(json_t *o) { put(o, "signature", json_string("x")); }
static void m_v(json_t *o) { put(o, "v", json_integer(2)); }
static void m_type(json_t *o) { put(o, "type", json_string("root")); }
static void m_prod0(json_t *o) { put(o, "product", json_string("")); }
static void m_prod65(json_t *o) { put(o, "product", str_of('p', 65)); }
static void m_prod64(json_t *o) { put(o, "product", str_of('p', 64)); }
static void m_prodctl(json_t *o) { put(o, "product", json_string("cam\t100")); }
static void m_produtf(json_t *o) { put(o, "product", json_string("cam\xc3\xa9")); }
static void m_hw0(json_t *o) { put(o, "hardware", json_array()); }
static void m_hwstr(json_t *o) { put(o, "hardware", json_string("rev-a")); }
static void m_hwnum(json_t *o) { add(at(o, "hardware"), json_integer(1)); }
static void m_hwdup(json_t *o) { add(at(o, "hardware"), json_string("rev-a")); }
static void m_hw65(json_t *o) { add(at(o, "hardware"), str_of('h', 65)); }

static void
m_hw17(json_t *o)
{
	json_t *a = json_array();
	char s[16];
	unsigned i;

	for (i = 0; i < 17; i++) {
		snprintf(s, sizeof(s), "h%u", i);
		json_array_append_new(a, json_string(s));
	}
	put(o, "hardware", a);
}

static void m_ver0(json_t *o) { put(o, "version", json_string("")); }
static void m_ver33(json_t *o) { put(o, "version", str_of('1', 33)); }
static void m_vernum(json_t *o) { put(o, "version", json_integer(1)); }
static void m_ctrneg(json_t *o) { put(o, "security_counter", json_integer(-1)); }
static void m_ctrbig(json_t *o) { put(o, "security_counter", json_integer(9007199254740992LL)); }
static void m_ctrmax(json_t *o) { put(o, "security_counter", json_integer(9007199254740991LL)); }
static void m_ctrstr(json_t *o) { put(o, "security_counter", json_string("7")); }
static void m_created(json_t *o) { put(o, "created", json_real(1.5)); }
static void m_expeq(json_t *o) { put(o, "expires", json_integer(json_integer_value(at(o, "created")))); }
static void m_notes(json_t *o) { put(o, "notes", str_of('n', 4097)); }
static void m_notes4096(json_t *o) { put(o, "notes", str_of('n', 4096)); }
static void m_notesctl(json_t *o) { put(o, "notes", json_string("a\x01" "b")); }
static void m_notesc1(json_t *o) { put(o, "notes", json_string("a\xc2\x9b" "b")); }
static void m_notesutf(json_t *o) { put(o, "notes", json_string("caf\xc3\xa9 \xe6\x97\xa5\t")); }
static void m_fixes(json_t *o) { put(o, "fixes", str_of('f', 4097)); }
static void m_nofixes(json_t *o) { json_object_del(o, "fixes"); }
static void m_pl0(json_t *o) { put(o, "payloads", json_array()); }

/* n more copies of the second payload, each named anew */
static void
add_payloads(json_t *o, unsigned n)
{
	json_t *a = json_object_get(o, "payloads"), *p;
	char name[16];
	unsigned i;

	for (i = 0; i < n; i++) {
		p = json_deep_copy(json_array_get(a, 1));
		snprintf(name, sizeof(name), "p%u", i);
		put(p, "name", json_string(name));
		json_array_append_new(a, p);
	}
}

static void m_pl8(json_t *o) { add_payloads(o, 6); }
static void m_pl9(json_t *o) { add_payloads(o, 7); }
static void m_name(json_t *o) { put(pl0(o), "name", json_string("RootFS")); }
static void m_name33(json_t *o) { put(pl0(o), "name", str_of('a', 33)); }
static void m_namedup(json_t *o) { put(pl1(o), "name", json_string("rootfs")); }
static void m_size0(json_t *o) { put(pl1(o), "size", json_integer(0)); }
static void m_sizebig(json_t *o) { put(pl1(o), "size", json_integer((1LL << 40) + 1)); }
static void m_sha(json_t *o) { put(pl1(o), "sha256", str_of('A', 64)); }
static void m_sha63(json_t *o) { put(pl1(o), "sha256", str_of('a', 63)); }
static void m_bs3(json_t *o) { put(pl0(o), "block_size", json_integer(12288)); }
static void m_bssmall(json_t *o) { put(pl0(o), "block_size", json_integer(2048)); }
static void m_bsbig(json_t *o) { put(pl0(o), "block_size", json_integer(32 * 1024 * 1024)); }
static void m_blocksless(json_t *o) { json_array_remove(at(pl0(o), "blocks"), 0); }
static void m_blocksmore(json_t *o) { json_t *b = at(pl0(o), "blocks"); json_array_append(b, json_array_get(b, 0)); }
static void m_blockbad(json_t *o) { json_array_set_new(at(pl0(o), "blocks"), 0, str_of('z', 64)); }
static void m_bsonly(json_t *o) { json_object_del(pl0(o), "blocks"); }
static void m_blocksonly(json_t *o) { json_object_del(pl0(o), "block_size"); }
static void m_plextra(json_t *o) { put(pl1(o), "mode", json_string("0755")); }
static void m_bs8k(json_t *o) { put(pl0(o), "block_size", json_integer(8192)); }

static void
test_manifest_parse(void **state)
{
	struct mm_upd_manifest *m;
	struct pl pls[2];
	char *big;

	(void)state;
	pl_fill(&pls[0], "rootfs", 3 * BS + 100, BS, 1);
	pl_fill(&pls[1], "app", 1000, 0, 2);
	mtext = manifest_text(&mf_default, pls, 2, &mlen);
	assert_int_equal(mm_upd_manifest_parse(mtext, mlen, &m, why, sizeof(why)),
	    MM_OK);
	assert_string_equal(m->product, "cam-100");
	assert_string_equal(m->notes, "notes\nline two");
	assert_int_equal(m->npayloads, 2);
	assert_int_equal(m->payloads[0].nblocks, 4);
	assert_int_equal(m->payloads[0].block_size, BS);
	assert_int_equal(m->payloads[1].block_size, 0);
	mm_upd_manifest_free(m);

	manifest_variant(m_unknown, MM_ERR_FORMAT);
	manifest_variant(m_v, MM_ERR_UNSUPPORTED);
	manifest_variant(m_type, MM_ERR_FORMAT);
	manifest_variant(m_prod0, MM_ERR_RANGE);
	manifest_variant(m_prod65, MM_ERR_RANGE);
	manifest_variant(m_prod64, MM_OK);
	manifest_variant(m_prodctl, MM_ERR_FORMAT);
	manifest_variant(m_produtf, MM_ERR_FORMAT);
	manifest_variant(m_hw0, MM_ERR_FORMAT);
	manifest_variant(m_hwstr, MM_ERR_FORMAT);
	manifest_variant(m_hwnum, MM_ERR_FORMAT);
	manifest_variant(m_hwdup, MM_ERR_FORMAT);
	manifest_variant(m_hw65, MM_ERR_RANGE);
	manifest_variant(m_hw17, MM_ERR_FORMAT);
	manifest_variant(m_ver0, MM_ERR_RANGE);
	manifest_variant(m_ver33, MM_ERR_RANGE);
	manifest_variant(m_vernum, MM_ERR_FORMAT);
	manifest_variant(m_ctrneg, MM_ERR_RANGE);
	manifest_variant(m_ctrbig, MM_ERR_RANGE);
	manifest_variant(m_ctrmax, MM_OK);
	manifest_variant(m_ctrstr, MM_ERR_FORMAT);
	manifest_variant(m_created, MM_ERR_FORMAT);
	manifest_variant(m_expeq, MM_ERR_RANGE);
	manifest_variant(m_notes, MM_ERR_RANGE);
	manifest_variant(m_notes4096, MM_OK);
	manifest_variant(m_notesctl, MM_ERR_FORMAT);
	manifest_variant(m_notesc1, MM_ERR_FORMAT);
	manifest_variant(m_notesutf, MM_OK);
	manifest_variant(m_fixes, MM_ERR_RANGE);
	manifest_variant(m_nofixes, MM_ERR_FORMAT);
	manifest_variant(m_pl0, MM_ERR_FORMAT);
	manifest_variant(m_pl8, MM_OK);
	manifest_variant(m_pl9, MM_ERR_FORMAT);
	manifest_variant(m_name, MM_ERR_FORMAT);
	manifest_variant(m_name33, MM_ERR_RANGE);
	manifest_variant(m_namedup, MM_ERR_FORMAT);
	manifest_variant(m_size0, MM_ERR_RANGE);
	manifest_variant(m_sizebig, MM_ERR_RANGE);
	manifest_variant(m_sha, MM_ERR_FORMAT);
	manifest_variant(m_sha63, MM_ERR_FORMAT);
	manifest_variant(m_bs3, MM_ERR_RANGE);
	manifest_variant(m_bssmall, MM_ERR_RANGE);
	manifest_variant(m_bsbig, MM_ERR_RANGE);
	manifest_variant(m_bs8k, MM_ERR_FORMAT);	/* 2 blocks, 4 listed */
	manifest_variant(m_blocksless, MM_ERR_FORMAT);
	manifest_variant(m_blocksmore, MM_ERR_FORMAT);
	manifest_variant(m_blockbad, MM_ERR_FORMAT);
	manifest_variant(m_bsonly, MM_ERR_FORMAT);
	manifest_variant(m_blocksonly, MM_ERR_FORMAT);
	manifest_variant(m_plextra, MM_ERR_FORMAT);
	big = padded(mtext, mlen);
	assert_int_equal(mm_upd_manifest_parse(big, MM_UPD_DOC_MAX + 1, &m, why,
	    sizeof(why)), MM_ERR_TOO_LARGE);
	free(big);
	mm_free(mtext);
	pls_free(pls, 2);
}

static void
test_accept(void **state)
{
	struct mm_upd_manifest *m;
	struct mm_upd_device d;
	struct mf f = mf_default;
	struct pl pl;
	char *text;
	size_t len;

	(void)state;
	pl_fill(&pl, "rootfs", 100, 0, 3);
	f.created = NOW + 2 * DAY;	/* ahead of the device's clock */
	text = manifest_text(&f, &pl, 1, &len);
	assert_int_equal(mm_upd_manifest_parse(text, len, &m, why, sizeof(why)), 0);
	d = dev_default;
	d.now = NOW + 3 * DAY;
	assert_int_equal(mm_upd_manifest_accept(m, &d, why, sizeof(why)), MM_OK);
	d.product = "cam-200";
	assert_int_equal(mm_upd_manifest_accept(m, &d, why, sizeof(why)),
	    MM_ERR_WRONG_TARGET);
	assert_non_null(strstr(why, "product"));
	d = dev_default;
	d.now = NOW + 3 * DAY;
	d.hardware = "rev-c";
	assert_int_equal(mm_upd_manifest_accept(m, &d, why, sizeof(why)),
	    MM_ERR_WRONG_TARGET);
	assert_non_null(strstr(why, "hardware"));
	d.hardware = "rev-a";
	assert_int_equal(mm_upd_manifest_accept(m, &d, why, sizeof(why)), MM_OK);
	/* rollback: a lower counter; an equal one is a reinstall */
	d.running_counter = 8;
	assert_int_equal(mm_upd_manifest_accept(m, &d, why, sizeof(why)),
	    MM_ERR_REPLAY);
	assert_non_null(strstr(why, "rollback"));
	d.running_counter = 7;
	assert_int_equal(mm_upd_manifest_accept(m, &d, why, sizeof(why)), MM_OK);
	/* freeze: expired at now */
	d.now = f.expires;
	assert_int_equal(mm_upd_manifest_accept(m, &d, why, sizeof(why)),
	    MM_ERR_EXPIRED);
	d.now = f.expires - 1;
	assert_int_equal(mm_upd_manifest_accept(m, &d, why, sizeof(why)), MM_OK);
	/* created more than a day after the device's time */
	d.now = NOW;
	assert_int_equal(mm_upd_manifest_accept(m, &d, why, sizeof(why)),
	    MM_ERR_NOT_YET_VALID);
	d.now = NOW + DAY;
	assert_int_equal(mm_upd_manifest_accept(m, &d, why, sizeof(why)), MM_OK);
	/* time unknown: now is the newest time seen, only expiry is judged */
	d.time_known = 0;
	d.now = NOW;
	assert_int_equal(mm_upd_manifest_accept(m, &d, why, sizeof(why)), MM_OK);
	d.now = 0;
	assert_int_equal(mm_upd_manifest_accept(m, &d, why, sizeof(why)), MM_OK);
	d.now = f.expires + 5;
	assert_int_equal(mm_upd_manifest_accept(m, &d, why, sizeof(why)),
	    MM_ERR_EXPIRED);
	assert_non_null(strstr(why, "newest time seen"));
	mm_upd_manifest_free(m);
	mm_free(text);
	free(pl.data);
}

/* ---- bundles ---- */

static void
three(struct pl *pls, int blocks, uint8_t seed)
{
	pl_fill(&pls[0], "boot", 5000, blocks ? BS : 0, seed);
	pl_fill(&pls[1], "rootfs", 6 * BS, blocks ? BS : 0, (uint8_t)(seed + 1));
	pl_fill(&pls[2], "app", 1, 0, (uint8_t)(seed + 2));
}

static void
roundtrip(int blocks)
{
	static const size_t chunks[] = { 1, 7, 4096, 100000 };
	static const size_t bufs[] = { 1, 333, 8192 };
	struct mm_upd_reader *rd;
	struct mm_upd_trust *t = trust_v1(NOW + DAY);
	struct memsrc src;
	struct pl pls[3];
	size_t len, given, i, j;
	uint8_t *b;

	three(pls, blocks, 10);
	b = bundle_std(&mf_default, pls, 3, BIT(K_R1), &len);
	for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		for (j = 0; j < sizeof(bufs) / sizeof(bufs[0]); j++) {
			assert_int_equal(open_mem(&src, b, len, chunks[i], t,
			    &dev_default, &rd), MM_OK);
			assert_int_equal(mm_upd_reader_manifest(rd)->npayloads, 3);
			assert_int_equal(read_all(rd, pls, bufs[j], &given), MM_OK);
			assert_int_equal(given, 5000 + 6 * BS + 1);
			/* nothing was read past the end but the one byte */
			assert_int_equal(src.off, len);
			mm_upd_reader_free(rd);
		}
	}
	/* the library's own memory source */
	assert_int_equal(mm_upd_reader_open_mem(&rd, b, len, t, &dev_default,
	    why, sizeof(why)), MM_OK);
	assert_int_equal(read_all(rd, pls, 8192, &given), MM_OK);
	mm_upd_reader_free(rd);
	assert_int_equal(mm_upd_reader_open_mem(&rd, b, len - 1, t, &dev_default,
	    why, sizeof(why)), MM_OK);
	assert_int_equal(read_all(rd, NULL, 8192, &given), MM_ERR_SHORT);
	mm_upd_reader_free(rd);
	/* payloads skipped by the caller are still read and checked */
	assert_int_equal(open_mem(&src, b, len, 4096, t, &dev_default, &rd), 0);
	assert_int_equal(mm_upd_reader_finish(rd), MM_OK);
	assert_int_equal(mm_upd_reader_finish(rd), MM_OK);
	mm_upd_reader_free(rd);
	b[len - 2] ^= 1;	/* in "rootfs", last block */
	assert_int_equal(open_mem(&src, b, len, 4096, t, &dev_default, &rd), 0);
	assert_int_equal(mm_upd_reader_finish(rd), MM_ERR_CORRUPT);
	mm_upd_reader_free(rd);
	free(b);
	pls_free(pls, 3);
	mm_upd_trust_free(t);
}

static void
test_bundle_roundtrip(void **state)
{
	(void)state;
	roundtrip(0);
	roundtrip(1);
}

static void
test_attack_signatures(void **state)
{
	struct mm_upd_trust *t = trust_v1(NOW + DAY);
	struct pl pls[3];
	uint8_t *b;
	size_t len, off;
	char *m, *e, *hit;
	size_t ml, el;

	(void)state;
	three(pls, 1, 20);
	/* unsigned: an empty envelope */
	b = bundle_std(&mf_default, pls, 3, 0, &len);
	assert_int_equal(verdict(b, len, t, &dev_default), MM_ERR_SIGNATURE);
	assert_non_null(strstr(why, "not signed"));
	free(b);
	/* a bad signature: one hex digit of it changed */
	m = manifest_text(&mf_default, pls, 3, &ml);
	e = env_text(MM_UPD_CTX_MANIFEST, m, ml, BIT(K_R1), &el);
	hit = strstr(e, "\"sig\"");
	assert_non_null(hit);
	off = (size_t)(hit - e) + 20;
	e[off] = e[off] == '0' ? '1' : '0';
	b = bundle_make(NULL, 0, m, ml, e, el, pls, 3, &len);
	assert_int_equal(verdict(b, len, t, &dev_default), MM_ERR_SIGNATURE);
	assert_non_null(strstr(why, "1 bad"));
	free(b);
	mm_free(e);
	/* the manifest changed after signing (counter raised by one digit) */
	e = env_text(MM_UPD_CTX_MANIFEST, m, ml, BIT(K_R1), &el);
	hit = strstr(m, "\"security_counter\": 7");
	assert_non_null(hit);
	hit[strlen("\"security_counter\": ")] = '9';
	b = bundle_make(NULL, 0, m, ml, e, el, pls, 3, &len);
	assert_int_equal(verdict(b, len, t, &dev_default), MM_ERR_SIGNATURE);
	free(b);
	mm_free(e);
	mm_free(m);
	/* signed by a revoked key */
	b = bundle_std(&mf_default, pls, 3, BIT(K_R3), &len);
	assert_int_equal(verdict(b, len, t, &dev_default), MM_ERR_SIGNATURE);
	assert_non_null(strstr(why, "1 by revoked keys"));
	free(b);
	/* signed by a stranger and by a root key */
	b = bundle_std(&mf_default, pls, 3, BIT(K_C) | BIT(K_A), &len);
	assert_int_equal(verdict(b, len, t, &dev_default), MM_ERR_SIGNATURE);
	assert_non_null(strstr(why, "1 by unknown keys, 1 by keys of another"));
	free(b);
	/* and the honest one passes */
	b = bundle_std(&mf_default, pls, 3, BIT(K_R2), &len);
	assert_int_equal(verdict(b, len, t, &dev_default), MM_OK);
	free(b);
	pls_free(pls, 3);
	mm_upd_trust_free(t);
}

static void
test_attack_target_rollback_freeze(void **state)
{
	struct mm_upd_trust *t = trust_v1(NOW + 100 * DAY), *old;
	struct mm_upd_device d = dev_default;
	struct mf f = mf_default;
	struct pl pls[3];
	uint8_t *b;
	size_t len;

	(void)state;
	three(pls, 0, 30);
	/* built for other hardware */
	f.hw2 = "rev-z";
	b = bundle_std(&f, pls, 3, BIT(K_R1), &len);
	assert_int_equal(verdict(b, len, t, &d), MM_ERR_WRONG_TARGET);
	assert_non_null(strstr(why, "rev-b"));
	free(b);
	/* an older security counter than the running one, whatever the version
	 * string says */
	f = mf_default;
	f.version = "9.9.9";
	f.counter = 6;
	b = bundle_std(&f, pls, 3, BIT(K_R1), &len);
	assert_int_equal(verdict(b, len, t, &d), MM_ERR_REPLAY);
	free(b);
	/* an expired manifest replayed (freeze) */
	f = mf_default;
	f.created = NOW - 40 * DAY;
	f.expires = NOW - DAY;
	b = bundle_std(&f, pls, 3, BIT(K_R1), &len);
	assert_int_equal(verdict(b, len, t, &d), MM_ERR_EXPIRED);
	/* no clock, but a newer time seen: still expired */
	d.time_known = 0;
	assert_int_equal(verdict(b, len, t, &d), MM_ERR_EXPIRED);
	/* no clock and only an old time seen: accepted until it sees later */
	d.now = NOW - 2 * DAY;
	assert_int_equal(verdict(b, len, t, &d), MM_OK);
	free(b);
	/* the trusted root itself expired: every manifest refused */
	old = trust_v1(NOW - 1);
	b = bundle_std(&mf_default, pls, 3, BIT(K_R1), &len);
	d = dev_default;
	assert_int_equal(verdict(b, len, old, &d), MM_ERR_EXPIRED);
	assert_non_null(strstr(why, "trusted root"));
	free(b);
	mm_upd_trust_free(old);
	pls_free(pls, 3);
	mm_upd_trust_free(t);
}

/* A bundle whose chain brings root v2 (roots B, C; R1 revoked too). */
static void
test_chain_in_bundle(void **state)
{
	struct mm_upd_trust *t = trust_v1(NOW - 1), *after;
	struct mm_upd_reader *rd;
	struct mm_upd_link link[2];
	struct memsrc src;
	struct pl pls[3];
	char *v2, *e2, *v1, *e1, *m, *e;
	size_t l2, le2, l1, le1, ml, el, len, given;
	unsigned rels = BIT(K_R1) | BIT(K_R2) | BIT(K_R3);
	uint8_t *b;

	(void)state;
	three(pls, 1, 40);
	v2 = root_text(2, NOW + DAY, 2, 1, BIT(K_B) | BIT(K_C), rels,
	    BIT(K_R3) | BIT(K_R1), &l2);
	e2 = env_text(MM_UPD_CTX_ROOT, v2, l2, BIT(K_A) | BIT(K_B) | BIT(K_C),
	    &le2);
	m = manifest_text(&mf_default, pls, 3, &ml);
	link[0] = (struct mm_upd_link){ (uint8_t *)v2, l2, (uint8_t *)e2, le2 };
	/* R1 is revoked by v2: a manifest it signed is refused */
	e = env_text(MM_UPD_CTX_MANIFEST, m, ml, BIT(K_R1), &el);
	b = bundle_make(link, 1, m, ml, e, el, pls, 3, &len);
	assert_int_equal(verdict(b, len, t, &dev_default), MM_ERR_SIGNATURE);
	free(b);
	mm_free(e);
	/* R2 signed: the expired v1 is replaced by v2 and the bundle passes */
	e = env_text(MM_UPD_CTX_MANIFEST, m, ml, BIT(K_R2), &el);
	b = bundle_make(link, 1, m, ml, e, el, pls, 3, &len);
	assert_int_equal(open_mem(&src, b, len, 999, t, &dev_default, &rd), 0);
	after = NULL;
	assert_int_equal(mm_upd_trust_copy(mm_upd_reader_trust(rd), &after), 0);
	assert_true(mm_upd_trust_root(after)->version == 2);
	assert_true(mm_upd_trust_root(t)->version == 1);	/* untouched */
	assert_int_equal(read_all(rd, pls, 1000, &given), MM_OK);
	mm_upd_reader_free(rd);
	/* the same bundle on a device that already has v2: v2 is skipped */
	assert_int_equal(verdict(b, len, after, &dev_default), MM_OK);
	free(b);
	/* a chain with v1 (already trusted) then v2: v1 skipped */
	v1 = root_text(1, NOW + DAY, 2, 1, BIT(K_A) | BIT(K_B), rels, BIT(K_R3),
	    &l1);
	e1 = env_text(MM_UPD_CTX_ROOT, v1, l1, 0, &le1);
	link[1] = link[0];
	link[0] = (struct mm_upd_link){ (uint8_t *)v1, l1, (uint8_t *)e1, le1 };
	b = bundle_make(link, 2, m, ml, e, el, pls, 3, &len);
	assert_int_equal(verdict(b, len, t, &dev_default), MM_OK);
	free(b);
	mm_free(e2);
	/* v2 signed only by the new roots: the bundle is refused */
	e2 = env_text(MM_UPD_CTX_ROOT, v2, l2, BIT(K_B) | BIT(K_C), &le2);
	link[0] = (struct mm_upd_link){ (uint8_t *)v2, l2, (uint8_t *)e2, le2 };
	b = bundle_make(link, 1, m, ml, e, el, pls, 3, &len);
	assert_int_equal(verdict(b, len, t, &dev_default), MM_ERR_SIGNATURE);
	assert_non_null(strstr(why, "root chain [0]"));
	free(b);
	mm_free(v1);
	mm_free(e1);
	mm_free(v2);
	mm_free(e2);
	mm_free(m);
	mm_free(e);
	mm_upd_trust_free(after);
	mm_upd_trust_free(t);
	pls_free(pls, 3);
}

/* Payload regions of two bundles swapped (mix and match). */
static void
mix_and_match(int blocks)
{
	struct mm_upd_trust *t = trust_v1(NOW + DAY);
	struct pl a[3], c[3];
	uint8_t *ba, *bc, *mixed;
	size_t la, lc, hdra, hdrc, n;

	three(a, blocks, 50);
	three(c, blocks, 60);	/* same sizes, other bytes */
	ba = bundle_std(&mf_default, a, 3, BIT(K_R1), &la);
	bc = bundle_std(&mf_default, c, 3, BIT(K_R1), &lc);
	n = a[0].size + a[1].size + a[2].size;
	hdra = la - n;
	hdrc = lc - n;
	assert_int_equal(verdict(ba, la, t, &dev_default), MM_OK);
	assert_int_equal(verdict(bc, lc, t, &dev_default), MM_OK);
	/* a's signed header with c's payloads */
	mixed = malloc(hdra + n);
	assert_non_null(mixed);
	memcpy(mixed, ba, hdra);
	memcpy(mixed + hdra, bc + hdrc, n);
	assert_int_equal(verdict(mixed, hdra + n, t, &dev_default),
	    MM_ERR_CORRUPT);
	assert_non_null(strstr(why, blocks ? "block 1 of" : "SHA-256"));
	/* only the middle payload swapped */
	memcpy(mixed + hdra, ba + hdra, n);
	memcpy(mixed + hdra + a[0].size, bc + hdrc + a[0].size, a[1].size);
	assert_int_equal(verdict(mixed, hdra + n, t, &dev_default),
	    MM_ERR_CORRUPT);
	assert_non_null(strstr(why, "rootfs"));
	free(mixed);
	free(ba);
	free(bc);
	pls_free(a, 3);
	pls_free(c, 3);
	mm_upd_trust_free(t);
}

static void
test_attack_mix_and_match(void **state)
{
	(void)state;
	mix_and_match(0);
	mix_and_match(1);
}

static void
test_attack_length(void **state)
{
	struct mm_upd_trust *t = trust_v1(NOW + DAY);
	struct mm_upd_reader *rd;
	struct memsrc src;
	struct pl pls[3];
	uint8_t *b, *longer;
	size_t len, cut, given, hdr;

	(void)state;
	three(pls, 1, 70);
	b = bundle_std(&mf_default, pls, 3, BIT(K_R1), &len);
	hdr = len - (5000 + 6 * BS + 1);
	/* payload longer than declared: bytes after the last payload */
	longer = malloc(len + 10);
	assert_non_null(longer);
	memcpy(longer, b, len);
	memset(longer + len, 'A', 10);
	assert_int_equal(verdict(longer, len + 10, t, &dev_default),
	    MM_ERR_TRAILING);
	assert_int_equal(verdict(longer, len + 1, t, &dev_default),
	    MM_ERR_TRAILING);
	free(longer);
	/* endless data: the reader stops one byte after the declared end */
	assert_int_equal(open_mem(&src, b, len, 4096, t, &dev_default, &rd), 0);
	src.endless = 1;
	assert_int_equal(read_all(rd, pls, 4096, &given), MM_ERR_TRAILING);
	assert_int_equal(src.calls_after_end, 1);
	assert_int_equal(mm_upd_reader_finish(rd), MM_ERR_TRAILING);	/* sticky */
	mm_upd_reader_free(rd);
	/* truncated download: every cut is refused, as short */
	for (cut = 0; cut < len; cut += cut < hdr + 64 ? 1 : 997) {
		int r = verdict(b, cut, t, &dev_default);

		if (r != MM_ERR_SHORT)
			fail_msg("cut at %zu of %zu: %d (%s)", cut, len, r, why);
	}
	free(b);
	pls_free(pls, 3);
	mm_upd_trust_free(t);
}

static void
test_attack_flip(void **state)
{
	struct mm_upd_trust *t = trust_v1(NOW + DAY);
	struct mm_upd_reader *rd;
	struct memsrc src;
	struct pl pls[3];
	uint8_t *b;
	size_t len, hdr, given, k, at;

	(void)state;
	/* with blocks: a byte flipped in block k of "rootfs" is caught when
	 * that block is read, and no byte of it reaches the caller */
	three(pls, 1, 80);
	b = bundle_std(&mf_default, pls, 3, BIT(K_R1), &len);
	hdr = len - (5000 + 6 * BS + 1);
	for (k = 0; k < 6; k++) {
		at = hdr + 5000 + k * BS + (k * 611) % BS;
		b[at] ^= 0x20;
		assert_int_equal(open_mem(&src, b, len, 4096, t, &dev_default,
		    &rd), 0);
		assert_int_equal(read_all(rd, pls, 512, &given), MM_ERR_CORRUPT);
		assert_int_equal(given, 5000 + k * BS);
		assert_non_null(strstr(mm_upd_reader_why(rd), "rootfs"));
		/* sticky: the next call gives the same error */
		assert_int_equal(mm_upd_reader_finish(rd), MM_ERR_CORRUPT);
		mm_upd_reader_free(rd);
		b[at] ^= 0x20;
	}
	free(b);
	pls_free(pls, 3);
	/* without blocks: caught at the payload's end */
	three(pls, 0, 90);
	b = bundle_std(&mf_default, pls, 3, BIT(K_R1), &len);
	hdr = len - (5000 + 6 * BS + 1);
	b[hdr + 5000 + 3 * BS] ^= 1;
	assert_int_equal(open_mem(&src, b, len, 4096, t, &dev_default, &rd), 0);
	assert_int_equal(read_all(rd, NULL, 512, &given), MM_ERR_CORRUPT);
	assert_int_equal(given, 5000 + 6 * BS);
	mm_upd_reader_free(rd);
	/* the last byte of the file, the one-byte payload */
	b[hdr + 5000 + 3 * BS] ^= 1;
	b[len - 1] ^= 1;
	assert_int_equal(verdict(b, len, t, &dev_default), MM_ERR_CORRUPT);
	assert_non_null(strstr(why, "app"));
	free(b);
	pls_free(pls, 3);
	mm_upd_trust_free(t);
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void
test_header_bounds(void **state)
{
	struct mm_upd_trust *t = trust_v1(NOW + DAY);
	struct mm_upd_reader *rd = NULL;
	struct memsrc src;
	struct pl pl;
	uint8_t *b, h[64];
	size_t len, given;

	(void)state;
	memset(h, 0, sizeof(h));
	pl_fill(&pl, "app", 10, 0, 1);
	b = bundle_std(&mf_default, &pl, 1, BIT(K_R1), &len);
	/* magic */
	b[0] = 'X';
	assert_int_equal(verdict(b, len, t, &dev_default), MM_ERR_FORMAT);
	b[0] = 'M';
	/* a chain length over the bound */
	put32(b + 7, MM_UPD_CHAIN_PART_MAX + 1);
	assert_int_equal(verdict(b, len, t, &dev_default), MM_ERR_TOO_LARGE);
	/* a chain of 4 bytes cannot hold a pair */
	memcpy(h, MM_UPD_MAGIC, 7);
	put32(h + 7, 4);
	put32(h + 11, 0);
	assert_int_equal(verdict(h, 15, t, &dev_default), MM_ERR_FORMAT);
	/* a chain document longer than the chain */
	put32(h + 7, 8);
	put32(h + 11, 5);
	assert_int_equal(verdict(h, 15 + 4, t, &dev_default), MM_ERR_FORMAT);
	/* a manifest over 64 KiB is refused before it is read */
	put32(h + 7, 0);
	put32(h + 11, MM_UPD_DOC_MAX + 1);
	assert_int_equal(verdict(h, 15, t, &dev_default), MM_ERR_TOO_LARGE);
	put32(h + 11, 0);
	assert_int_equal(verdict(h, 15, t, &dev_default), MM_ERR_FORMAT);
	/* more than 8 roots in the chain (each one already trusted: skipped) */
	{
		struct mm_upd_link links[MM_UPD_CHAIN_MAX + 1];
		const char *ee = "{\"sigs\":[]}";
		uint8_t *hdr2;
		size_t hl, i, l1, pair;
		char *v1;

		v1 = root_text(1, NOW + DAY, 2, 1, BIT(K_A) | BIT(K_B), BIT(K_R1),
		    0, &l1);
		for (i = 0; i <= MM_UPD_CHAIN_MAX; i++)
			links[i] = (struct mm_upd_link){ (const uint8_t *)v1, l1,
			    (const uint8_t *)ee, strlen(ee) };
		assert_int_equal(mm_upd_bundle_header(links, MM_UPD_CHAIN_MAX + 1,
		    "{}", 2, "{}", 2, &hdr2, &hl), MM_ERR_TOO_LARGE);
		assert_int_equal(mm_upd_bundle_header(links, MM_UPD_CHAIN_MAX,
		    "{}", 2, "{}", 2, &hdr2, &hl), MM_OK);
		/* 8 roots pass (skipped), then the envelope "{}" is malformed */
		assert_int_equal(verdict(hdr2, hl, t, &dev_default),
		    MM_ERR_FORMAT);
		assert_non_null(strstr(why, "envelope"));
		/* a forged chain of 9 pairs */
		pair = 8 + l1 + strlen(ee);
		b = realloc(b, 11 + 9 * pair);
		assert_non_null(b);
		memcpy(b, hdr2, 11 + 8 * pair);
		memcpy(b + 11 + 8 * pair, hdr2 + 11, pair);
		put32(b + 7, (uint32_t)(9 * pair));
		assert_int_equal(verdict(b, 11 + 9 * pair, t, &dev_default),
		    MM_ERR_TOO_LARGE);
		mm_free(hdr2);
		mm_free(v1);
	}
	free(b);
	/* reading before a payload is chosen */
	b = bundle_std(&mf_default, &pl, 1, BIT(K_R1), &len);
	assert_int_equal(open_mem(&src, b, len, 4096, t, &dev_default, &rd), 0);
	assert_int_equal(mm_upd_reader_read(rd, h, sizeof(h), &given),
	    MM_ERR_STATE);
	mm_upd_reader_free(rd);
	free(b);
	free(pl.data);
	mm_upd_trust_free(t);
}

/* Allocation failures anywhere in open and read: an error, never a crash
 * or a leak, and never a success that skipped a check. */
static void
test_alloc_failures(void **state)
{
	struct mm_upd_trust *t = trust_v1(NOW + DAY);
	struct pl pls[3];
	uint8_t *b;
	size_t len;
	long n;
	int r, ok = 0;

	(void)state;
	three(pls, 1, 99);
	b = bundle_std(&mf_default, pls, 3, BIT(K_R1), &len);
	for (n = 0; n < 400 && !ok; n++) {
		mm_alloc_fail_after(n);
		r = verdict(b, len, t, &dev_default);
		mm_alloc_fail_after(-1);
		assert_true(r == MM_OK || r == MM_ERR_ALLOC || r == MM_ERR_FORMAT);
		ok = r == MM_OK;
	}
	assert_true(ok);
	free(b);
	pls_free(pls, 3);
	mm_upd_trust_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keyid),
		cmocka_unit_test(test_root_parse),
		cmocka_unit_test(test_threshold),
		cmocka_unit_test(test_rotation),
		cmocka_unit_test(test_manifest_parse),
		cmocka_unit_test(test_accept),
		cmocka_unit_test(test_bundle_roundtrip),
		cmocka_unit_test(test_attack_signatures),
		cmocka_unit_test(test_attack_target_rollback_freeze),
		cmocka_unit_test(test_chain_in_bundle),
		cmocka_unit_test(test_attack_mix_and_match),
		cmocka_unit_test(test_attack_length),
		cmocka_unit_test(test_attack_flip),
		cmocka_unit_test(test_header_bounds),
		cmocka_unit_test(test_alloc_failures),
	};
	uint8_t seed[32];
	int k;

	if (mm_crypto_init() != 0)
		return 1;
	for (k = 0; k < K_N; k++) {
		memset(seed, 0, sizeof(seed));
		seed[0] = (uint8_t)(k + 1);
		crypto_sign_ed25519_seed_keypair(pk[k], sk[k], seed);
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
