/*
 * mm_upd_keys.h - update signing keys and the root of trust (decision
 * 0010, docs/update.md): key ids, root.json, signature envelopes, the
 * threshold check and the device's trust store.
 *
 * Every document is signed over its exact bytes with a context prefix
 * (8 bytes, NUL included) so a root signature never passes for a manifest
 * signature.  JSON is read strictly: duplicate keys, unknown keys, wrong
 * types, upper-case or malformed hex and out-of-range values are refused.
 * Functions that take why/whylen write a human reason there on failure
 * (why may be NULL).
 */
#ifndef MM_UPD_KEYS_H
#define MM_UPD_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/mm_crypto.h"

#define MM_UPD_DOC_MAX (64 * 1024)	/* root.json, manifest, envelope */
#define MM_UPD_KEYS_MAX 64		/* keys in one root.json */
#define MM_UPD_REVOKED_MAX 256		/* revoked ids in one root.json */
#define MM_UPD_SIGS_MAX 32		/* entries in one envelope */
#define MM_UPD_ALG_MAX 32
#define MM_UPD_KEYID_HEX (2 * MM_KEYID_LEN)	/* 16 lower-case hex digits */
#define MM_UPD_INT_MAX 9007199254740991ULL	/* 2^53 - 1: exact in JSON */
#define MM_UPD_CTX_LEN 8
#define MM_UPD_WHY_MAX 512		/* a reason always fits this */

/* What a signature is for: selects the context prefix. */
enum mm_upd_ctx {
	MM_UPD_CTX_ROOT,	/* "MMROOT1\0" */
	MM_UPD_CTX_MANIFEST	/* "MMMANI1\0" */
};

enum mm_upd_role {
	MM_UPD_ROLE_ROOT,
	MM_UPD_ROLE_RELEASE
};

struct mm_upd_key {
	uint8_t id[MM_KEYID_LEN];
	uint8_t pk[MM_SIGN_PK_LEN];
	enum mm_upd_role role;
};

/* A parsed root.json. */
struct mm_upd_root {
	uint64_t version;		/* 1 .. 2^53-1 */
	uint64_t expires;		/* Unix seconds */
	unsigned threshold[2];		/* by enum mm_upd_role */
	size_t nkeys;
	struct mm_upd_key keys[MM_UPD_KEYS_MAX];	/* sorted by id */
	size_t nrevoked;
	uint8_t revoked[MM_UPD_REVOKED_MAX][MM_KEYID_LEN];
};

/* One envelope entry.  Entries of another algorithm keep only alg. */
struct mm_upd_sig {
	char alg[MM_UPD_ALG_MAX + 1];
	int ed25519;			/* alg is "ed25519": keyid, sig valid */
	uint8_t keyid[MM_KEYID_LEN];
	uint8_t sig[MM_SIGN_LEN];
};

struct mm_upd_env {
	size_t n;
	struct mm_upd_sig sigs[MM_UPD_SIGS_MAX];
};

/* What a threshold check found, entry by entry. */
struct mm_upd_count {
	unsigned valid;		/* distinct keys of the role whose signature holds */
	unsigned bad;		/* known key of the role, signature does not hold */
	unsigned revoked;	/* by a revoked key: never counted */
	unsigned other_role;	/* by a key of the other role */
	unsigned unknown_key;	/* key id not in the root */
	unsigned unknown_alg;	/* ignored */
	unsigned repeated;	/* a key id already counted */
};

struct mm_upd_trust;

const char *mm_upd_role_name(enum mm_upd_role role);
/* 8-byte context prefix of ctx. */
const uint8_t *mm_upd_ctx_prefix(enum mm_upd_ctx ctx);

/* The key id of pk in hex: out holds MM_UPD_KEYID_HEX + 1 bytes. */
void mm_upd_keyid_hex(char *out, const uint8_t pk[MM_SIGN_PK_LEN]);
/* Decodes exactly 2*len lower-case hex digits.  MM_ERR_FORMAT. */
int mm_upd_hex_decode(uint8_t *out, size_t len, const char *hex);
/* obj[key] must be a string of 2*len lower-case hex digits. */
int mm_upd_json_hex(const json_t *obj, const char *key, uint8_t *out,
    size_t len);
/* obj[key] must be a JSON integer in [min, max]. */
int mm_upd_json_u64(const json_t *obj, const char *key, uint64_t min,
    uint64_t max, uint64_t *out);
/* Parses doc[0..len) as one strict JSON object (no duplicate keys) of at
 * most MM_UPD_DOC_MAX bytes (else MM_ERR_TOO_LARGE, before parsing); what
 * names the document in why. */
int mm_upd_json_load(const void *doc, size_t len, const char *what,
    json_t **out, char *why, size_t whylen);
/* Serialises j (which it consumes) indented, with a final newline, into a
 * new NUL-terminated *out (mm_free); MM_ERR_TOO_LARGE over MM_UPD_DOC_MAX. */
int mm_upd_json_text(json_t *j, char **out, size_t *outlen);
/* snprintf into why[whylen] when why is not NULL. */
void mm_upd_say(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * root.json.  Parse refuses (MM_ERR_TOO_LARGE) over MM_UPD_DOC_MAX bytes or
 * MM_UPD_KEYS_MAX keys, and (MM_ERR_FORMAT / MM_ERR_RANGE /
 * MM_ERR_UNSUPPORTED) anything off the schema: a key id that is not the id
 * of its public key, a role other than root/release, a threshold below 1
 * or above the number of unrevoked keys of its role, version below 1.
 * Encode writes what parse accepts (it checks by parsing); *out is
 * NUL-terminated, free it with mm_free.
 */
int mm_upd_root_parse(const void *doc, size_t len, struct mm_upd_root *out,
    char *why, size_t whylen);
int mm_upd_root_encode(const struct mm_upd_root *root, char **out,
    size_t *outlen, char *why, size_t whylen);
/* The key of id in root, or NULL. */
const struct mm_upd_key *mm_upd_root_key(const struct mm_upd_root *root,
    const uint8_t id[MM_KEYID_LEN]);
int mm_upd_root_is_revoked(const struct mm_upd_root *root,
    const uint8_t id[MM_KEYID_LEN]);

/*
 * Envelopes {"sigs":[...]}: at most MM_UPD_SIGS_MAX entries.  An entry of
 * an unknown algorithm needs only a string "alg"; an "ed25519" one has
 * exactly alg, keyid and sig.  Sign adds (or replaces) the entry of the key
 * whose secret is sk (libsodium layout: seed then public key).
 */
int mm_upd_env_parse(const void *doc, size_t len, struct mm_upd_env *out,
    char *why, size_t whylen);
int mm_upd_env_encode(const struct mm_upd_env *env, char **out,
    size_t *outlen);
int mm_upd_env_sign(struct mm_upd_env *env, enum mm_upd_ctx ctx,
    const void *doc, size_t len, const uint8_t sk[MM_SIGN_SK_LEN]);

/*
 * Counts the signatures of env over ctx || doc by keys of role in root.  A
 * key counts once, a revoked key never, other algorithms are ignored.
 * Returns MM_OK when at least root->threshold[role] distinct keys signed,
 * else MM_ERR_SIGNATURE with the tally in *count (may be NULL) and why.
 */
int mm_upd_sig_check(const struct mm_upd_root *root, enum mm_upd_role role,
    enum mm_upd_ctx ctx, const void *doc, size_t len,
    const struct mm_upd_env *env, struct mm_upd_count *count, char *why,
    size_t whylen);

/*
 * The trust store: the current root.json with its envelope.
 *
 * load: the factory root, which must be signed by the threshold of its own
 * root keys; it is accepted even if expired (a bundle may bring a newer
 * one; manifests are refused under an expired root, mm_upd_trust_fresh).
 *
 * update: the next root, accepted only when its version is exactly the
 * current one plus one (older or equal: MM_ERR_REPLAY; a skip:
 * MM_ERR_RANGE), it is signed by the root threshold of the current root's
 * keys and by its own root threshold of its own keys (MM_ERR_SIGNATURE), it
 * is not expired at now (MM_ERR_EXPIRED), and it still revokes every key
 * the current root revokes (MM_ERR_DENIED).  On failure t is unchanged.
 * now is the Unix time, or when the device does not know it, the newest
 * time it has seen: a lower bound of the real time, so an expiry that
 * fails against it fails for real.
 */
int mm_upd_trust_load(const void *root, size_t rootlen, const void *env,
    size_t envlen, struct mm_upd_trust **out, char *why, size_t whylen);
int mm_upd_trust_update(struct mm_upd_trust *t, const void *root,
    size_t rootlen, const void *env, size_t envlen, uint64_t now, char *why,
    size_t whylen);
/* MM_OK if the current root is not expired at now, else MM_ERR_EXPIRED. */
int mm_upd_trust_fresh(const struct mm_upd_trust *t, uint64_t now, char *why,
    size_t whylen);
int mm_upd_trust_copy(const struct mm_upd_trust *t, struct mm_upd_trust **out);
const struct mm_upd_root *mm_upd_trust_root(const struct mm_upd_trust *t);
/* The current root.json and envelope bytes, to persist; valid while t. */
void mm_upd_trust_doc(const struct mm_upd_trust *t, const uint8_t **root,
    size_t *rootlen, const uint8_t **env, size_t *envlen);
void mm_upd_trust_free(struct mm_upd_trust *t);

#endif
