/*
 * mamori-sign - update signing keys, root.json, manifests and bundles
 * (decision 0010, docs/update.md).  Meant to run off line: private keys
 * live in 0600 files and are wiped from memory after use.
 *
 * Exit status: 0 done (verify: the bundle is accepted), 1 failed or
 * refused (with the reason), 2 usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "common/mm_alloc.h"
#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "common/mm_file.h"
#include "common/mm_log.h"
#include "common/mm_str.h"
#include "device/mm_upd_bundle.h"
#include "tools/mamori_sign.h"

#define SIGN_KEYFILE_MAX 256

_Noreturn void
sign_usage(void)
{
	fprintf(stderr,
	    "usage: mamori-sign key new --role root|release --out NAME\n"
	    "       mamori-sign key id FILE.pub|FILE.key\n"
	    "       mamori-sign root init [--version N] --expires-days D\n"
	    "           --root-threshold R --release-threshold S\n"
	    "           --key ROOT.pub ... --release REL.pub ... --out root.json\n"
	    "       mamori-sign root sign ROOT.json --key ROOT.key ... --out ROOT.sig\n"
	    "       mamori-sign root next --from root.json [--version N+1]\n"
	    "           --expires-days D [--root-threshold R] [--release-threshold S]\n"
	    "           [--key ROOT.pub ...] [--release REL.pub ...]\n"
	    "           [--drop KEYID ...] [--revoke KEYID ...] --out next.json\n"
	    "       mamori-sign manifest --product P --hardware H ... --version V\n"
	    "           --counter C --expires-days D [--notes TEXT] [--fixes TEXT]\n"
	    "           --payload NAME=FILE [--block-size B] ... --out manifest.json\n"
	    "       mamori-sign bundle [--root-chain ROOT.json:ROOT.sig ...]\n"
	    "           --manifest manifest.json --key REL.key ...\n"
	    "           --payload NAME=FILE ... --out X.mmupd\n"
	    "       mamori-sign inspect X.mmupd\n"
	    "       mamori-sign verify X.mmupd --root root.json --root-sig root.sig\n"
	    "           --product P --hardware H --counter C [--now UNIX]\n"
	    "           [--time-unknown]\n"
	    "root sign adds to ROOT.sig if it exists.  --block-size applies to the\n"
	    "--payload before it.  --now UNIX replaces the clock (root init, root\n"
	    "next, manifest: the creation time; verify: the device's time, or with\n"
	    "--time-unknown the newest time it has seen).\n");
	exit(2);
}

/* ---- options ---- */

static const struct {
	const char *name;
	unsigned bit;
} sign_optnames[] = {
	{ "--role", O_ROLE }, { "--out", O_OUT }, { "--version", O_VERSION },
	{ "--expires-days", O_DAYS }, { "--root-threshold", O_RTH },
	{ "--release-threshold", O_STH }, { "--key", O_KEY },
	{ "--release", O_RELEASE }, { "--from", O_FROM },
	{ "--revoke", O_REVOKE }, { "--drop", O_DROP },
	{ "--product", O_PRODUCT }, { "--hardware", O_HARDWARE },
	{ "--counter", O_COUNTER }, { "--notes", O_NOTES },
	{ "--fixes", O_FIXES }, { "--payload", O_PAYLOAD },
	{ "--block-size", O_BLOCK }, { "--root-chain", O_CHAIN },
	{ "--manifest", O_MANIFEST }, { "--root", O_ROOT },
	{ "--root-sig", O_ROOTSIG }, { "--now", O_NOW },
};

static void
sign_push(struct sign_list *l, size_t max, const char *v)
{
	if (l->n >= max) {
		fprintf(stderr, "mamori-sign: too many values for one option "
		    "(at most %zu)\n", max);
		exit(2);
	}
	l->v[l->n++] = v;
}

static void
sign_payload_opt(struct sign_opts *o, const char *v)
{
	const char *eq = strchr(v, '=');
	struct sign_payload_arg *p;

	if (eq == NULL || eq == v || (size_t)(eq - v) > MM_UPD_NAME_MAX ||
	    eq[1] == '\0' || o->npayloads >= MM_UPD_PAYLOADS_MAX)
		sign_usage();
	p = &o->payloads[o->npayloads++];
	memcpy(p->name, v, (size_t)(eq - v));
	p->name[eq - v] = '\0';
	p->path = eq + 1;
}

static void
sign_number(const char *v, uint64_t max, uint64_t *out)
{
	if (mm_str_to_u64(v, max, out) != 0)
		sign_usage();
}

static void
sign_opt(struct sign_opts *o, unsigned bit, const char *v)
{
	uint64_t bs;

	switch (bit) {
	case O_ROLE: o->role = v; break;
	case O_OUT: o->out = v; break;
	case O_VERSION: o->version = v; break;
	case O_DAYS: sign_number(v, SIGN_DAYS_MAX, &o->days); break;
	case O_RTH: sign_number(v, MM_UPD_KEYS_MAX, &o->rth); break;
	case O_STH: sign_number(v, MM_UPD_KEYS_MAX, &o->sth); break;
	case O_KEY: sign_push(&o->keys, SIGN_LIST_MAX, v); break;
	case O_RELEASE: sign_push(&o->releases, SIGN_LIST_MAX, v); break;
	case O_FROM: o->from = v; break;
	case O_REVOKE: sign_push(&o->revoke, MM_UPD_REVOKED_MAX, v); break;
	case O_DROP: sign_push(&o->drop, SIGN_LIST_MAX, v); break;
	case O_PRODUCT: o->product = v; break;
	case O_HARDWARE: sign_push(&o->hardware, MM_UPD_HW_MAX, v); break;
	case O_COUNTER: sign_number(v, MM_UPD_INT_MAX, &o->counter); break;
	case O_NOTES: o->notes = v; break;
	case O_FIXES: o->fixes = v; break;
	case O_PAYLOAD: sign_payload_opt(o, v); break;
	case O_BLOCK:
		sign_number(v, MM_UPD_BLOCK_MAX, &bs);
		if (o->npayloads == 0)
			sign_usage();	/* it belongs to the --payload before it */
		o->payloads[o->npayloads - 1].block_size = (uint32_t)bs;
		break;
	case O_CHAIN: sign_push(&o->chain, MM_UPD_CHAIN_MAX, v); break;
	case O_MANIFEST: o->manifest = v; break;
	case O_ROOT: o->root = v; break;
	case O_ROOTSIG: o->rootsig = v; break;
	case O_NOW: sign_number(v, MM_UPD_INT_MAX, &o->now); break;
	default: sign_usage();
	}
}

/* Parses argv[first..]; exits with usage on an option outside allowed. */
static void
sign_parse(int argc, char **argv, int first, unsigned allowed,
    struct sign_opts *o)
{
	size_t k;
	int i;

	memset(o, 0, sizeof(*o));
	for (i = first; i < argc; i++) {
		const char *a = argv[i];

		if (strncmp(a, "--", 2) != 0) {
			if (o->npos >= 2)
				sign_usage();
			o->pos[o->npos++] = a;
			continue;
		}
		if (strcmp(a, "--time-unknown") == 0) {
			o->seen |= O_UNKNOWN_TIME;
			continue;
		}
		for (k = 0; k < sizeof(sign_optnames) / sizeof(sign_optnames[0]); k++)
			if (strcmp(a, sign_optnames[k].name) == 0)
				break;
		if (k == sizeof(sign_optnames) / sizeof(sign_optnames[0]) ||
		    i + 1 >= argc)
			sign_usage();
		o->seen |= sign_optnames[k].bit;
		sign_opt(o, sign_optnames[k].bit, argv[++i]);
	}
	if ((o->seen & ~allowed) != 0)
		sign_usage();
	if (!(o->seen & O_NOW))
		o->now = (uint64_t)time(NULL);
}

int
sign_fail(const char *what, int r, const char *why)
{
	fprintf(stderr, "mamori-sign: %s: %s%s%s\n", what, mm_strerror(r),
	    why != NULL && why[0] != '\0' ? ": " : "", why != NULL ? why : "");
	return 1;
}

/* ---- key files ---- */

static int
sign_role_parse(const char *s, enum mm_upd_role *out)
{
	if (s != NULL && strcmp(s, "root") == 0)
		*out = MM_UPD_ROLE_ROOT;
	else if (s != NULL && strcmp(s, "release") == 0)
		*out = MM_UPD_ROLE_RELEASE;
	else
		return MM_ERR_FORMAT;
	return MM_OK;
}

/* The text of a key file: refused unless only its owner may read it. */
static int
sign_keyfile_text(const char *path, char *buf, size_t bufsz, size_t *len)
{
	struct stat st;
	ssize_t n;
	int fd, r = MM_OK;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		fprintf(stderr, "mamori-sign: %s: %s\n", path, strerror(errno));
		return MM_ERR_IO;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		r = MM_ERR_IO;
	} else if ((st.st_mode & 077) != 0) {
		fprintf(stderr, "mamori-sign: %s: refusing a private key that its "
		    "group or others may use (mode %03o; chmod 600)\n", path,
		    (unsigned)(st.st_mode & 0777));
		r = MM_ERR_DENIED;
	} else {
		do
			n = read(fd, buf, bufsz - 1);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			r = MM_ERR_IO;
		else
			*len = (size_t)n;
	}
	close(fd);
	return r;
}

int
sign_secret_read(const char *path, struct sign_secret *s)
{
	char buf[SIGN_KEYFILE_MAX], role[16];
	uint8_t seed[32];
	size_t len = 0, rl;
	const char *sp;
	int r;

	if ((r = sign_keyfile_text(path, buf, sizeof(buf), &len)) != 0)
		return r;
	buf[len] = '\0';
	r = MM_ERR_FORMAT;
	/* "MMKEY1 " role " " 64 hex "\n" */
	if (len > 7 && memcmp(buf, "MMKEY1 ", 7) == 0 &&
	    (sp = strchr(buf + 7, ' ')) != NULL &&
	    (rl = (size_t)(sp - (buf + 7))) < sizeof(role) &&
	    len == 7 + rl + 1 + 64 + 1 && buf[len - 1] == '\n') {
		memcpy(role, buf + 7, rl);
		role[rl] = '\0';
		buf[len - 1] = '\0';
		if (sign_role_parse(role, &s->role) == 0 &&
		    mm_upd_hex_decode(seed, sizeof(seed), sp + 1) == 0 &&
		    crypto_sign_ed25519_seed_keypair(s->pk, s->sk, seed) == 0)
			r = MM_OK;
	}
	mm_wipe(seed, sizeof(seed));
	mm_wipe(buf, sizeof(buf));
	if (r != 0) {
		mm_wipe(s, sizeof(*s));
		fprintf(stderr, "mamori-sign: %s: not a mamori-sign private key\n",
		    path);
	}
	return r;
}

int
sign_public_read(const char *path, uint8_t pk[MM_SIGN_PK_LEN])
{
	char *text = NULL;
	size_t len;
	int r;

	if ((r = mm_file_read(path, SIGN_KEYFILE_MAX, &text, &len)) != 0) {
		fprintf(stderr, "mamori-sign: %s: %s\n", path, mm_strerror(r));
		return r;
	}
	if (len > 0 && text[len - 1] == '\n')
		text[--len] = '\0';
	if ((r = mm_upd_hex_decode(pk, MM_SIGN_PK_LEN, text)) != 0)
		fprintf(stderr, "mamori-sign: %s: not a public key (64 lower-case "
		    "hex digits)\n", path);
	mm_free(text);
	return r;
}

/* Writes path with mode 0600, never over an existing file. */
static int
sign_write_new(const char *path, const void *data, size_t len)
{
	int fd, r;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		fprintf(stderr, "mamori-sign: %s: %s\n", path, strerror(errno));
		return MM_ERR_IO;
	}
	r = fchmod(fd, 0600) != 0 ? MM_ERR_IO : mm_file_write_all(fd, data, len);
	if (r == 0 && fsync(fd) != 0)
		r = MM_ERR_IO;
	if (close(fd) != 0 && r == 0)
		r = MM_ERR_IO;
	if (r == 0)
		r = mm_file_sync_parent(path);
	if (r != 0) {
		fprintf(stderr, "mamori-sign: %s: %s\n", path, mm_strerror(r));
		unlink(path);
	}
	return r;
}

static int
sign_key_new(const struct sign_opts *o)
{
	char path[4096], text[SIGN_KEYFILE_MAX], pub[2 * MM_SIGN_PK_LEN + 2];
	char seedhex[65], kid[MM_UPD_KEYID_HEX + 1];
	uint8_t seed[32], pk[MM_SIGN_PK_LEN], sk[MM_SIGN_SK_LEN];
	enum mm_upd_role role;
	int n, r;

	if (sign_role_parse(o->role, &role) != 0 || o->out == NULL || o->npos != 0)
		sign_usage();
	mm_random(seed, sizeof(seed));
	if (crypto_sign_ed25519_seed_keypair(pk, sk, seed) != 0) {
		mm_wipe(seed, sizeof(seed));
		return sign_fail("key new", MM_ERR_CRYPTO, NULL);
	}
	mm_wipe(sk, sizeof(sk));
	mm_hex_encode(seedhex, seed, sizeof(seed));
	mm_wipe(seed, sizeof(seed));
	n = snprintf(text, sizeof(text), "MMKEY1 %s %s\n", mm_upd_role_name(role),
	    seedhex);
	mm_wipe(seedhex, sizeof(seedhex));
	r = snprintf(path, sizeof(path), "%s.key", o->out) >= (int)sizeof(path) ?
	    MM_ERR_TOO_LARGE : sign_write_new(path, text, (size_t)n);
	mm_wipe(text, sizeof(text));
	if (r != 0)
		return 1;
	mm_hex_encode(pub, pk, sizeof(pk));
	memcpy(pub + 2 * MM_SIGN_PK_LEN, "\n", 2);
	if (snprintf(path, sizeof(path), "%s.pub", o->out) >= (int)sizeof(path) ||
	    (r = mm_file_write_atomic(path, pub, strlen(pub), 0644)) != 0)
		return sign_fail(path, MM_ERR_IO, NULL);
	mm_upd_keyid_hex(kid, pk);
	printf("keyid=%s role=%s\nsecret: %s.key (0600, keep off line)\n"
	    "public: %s.pub\n", kid, mm_upd_role_name(role), o->out, o->out);
	return 0;
}

static int
sign_key_id(const struct sign_opts *o)
{
	char kid[MM_UPD_KEYID_HEX + 1], pub[2 * MM_SIGN_PK_LEN + 1];
	struct sign_secret s;
	const char *role = "-";
	size_t n;

	if (o->npos != 1)
		sign_usage();
	n = strlen(o->pos[0]);
	if (n > 4 && strcmp(o->pos[0] + n - 4, ".key") == 0) {
		if (sign_secret_read(o->pos[0], &s) != 0)
			return 1;
		mm_wipe(s.sk, sizeof(s.sk));
		role = mm_upd_role_name(s.role);
	} else if (sign_public_read(o->pos[0], s.pk) != 0)
		return 1;
	mm_upd_keyid_hex(kid, s.pk);
	mm_hex_encode(pub, s.pk, sizeof(s.pk));
	printf("keyid=%s role=%s public=%s\n", kid, role, pub);
	return 0;
}

int
sign_read_doc(const char *path, char **out, size_t *len)
{
	int r;

	if ((r = mm_file_read(path, MM_UPD_DOC_MAX, out, len)) != 0)
		fprintf(stderr, "mamori-sign: %s: %s\n", path, mm_strerror(r));
	return r;
}

int
sign_with_keys(const struct sign_list *paths, enum mm_upd_role role,
    enum mm_upd_ctx ctx, const void *doc, size_t len, struct mm_upd_env *env)
{
	char kid[MM_UPD_KEYID_HEX + 1];
	struct sign_secret s;
	size_t i;
	int r;

	for (i = 0; i < paths->n; i++) {
		if ((r = sign_secret_read(paths->v[i], &s)) != 0)
			return r;
		r = s.role == role ? mm_upd_env_sign(env, ctx, doc, len, s.sk) :
		    MM_ERR_BAD_KEY;
		mm_upd_keyid_hex(kid, s.pk);
		mm_wipe(&s, sizeof(s));
		if (r != 0) {
			fprintf(stderr, "mamori-sign: %s: %s%s\n", paths->v[i],
			    mm_strerror(r), r == MM_ERR_BAD_KEY ? role ==
			    MM_UPD_ROLE_ROOT ? " (not a root key)" :
			    " (not a release key)" : "");
			return r;
		}
		printf("signed by %s (%s)\n", kid, paths->v[i]);
	}
	return MM_OK;
}

/* ---- root.json ---- */

static int
sign_root_add(struct mm_upd_root *rt, const struct sign_list *l,
    enum mm_upd_role role)
{
	uint8_t pk[MM_SIGN_PK_LEN], id[MM_KEYID_LEN];
	size_t i, k;

	for (i = 0; i < l->n; i++) {
		if (sign_public_read(l->v[i], pk) != 0)
			return 1;
		mm_sign_keyid(id, pk);
		for (k = 0; k < rt->nkeys; k++)
			if (memcmp(rt->keys[k].id, id, MM_KEYID_LEN) == 0)
				break;
		if (k < rt->nkeys || rt->nkeys == MM_UPD_KEYS_MAX) {
			fprintf(stderr, "mamori-sign: %s: %s\n", l->v[i],
			    k < rt->nkeys ? "key listed twice" : "too many keys");
			return 1;
		}
		memcpy(rt->keys[k].id, id, MM_KEYID_LEN);
		memcpy(rt->keys[k].pk, pk, MM_SIGN_PK_LEN);
		rt->keys[k].role = role;
		rt->nkeys++;
	}
	return 0;
}

/* Encodes rt and writes it to o->out. */
static int
sign_root_write(const struct mm_upd_root *rt, const char *path)
{
	char why[MM_UPD_WHY_MAX] = "", *text;
	unsigned th[2] = { 0, 0 };
	size_t len, i;
	int r;

	if ((r = mm_upd_root_encode(rt, &text, &len, why, sizeof(why))) != 0)
		return sign_fail("root.json", r, why);
	r = mm_file_write_atomic(path, text, len, 0644);
	mm_free(text);
	if (r != 0)
		return sign_fail(path, r, NULL);
	for (i = 0; i < rt->nkeys; i++)
		th[rt->keys[i].role]++;
	printf("root version %" PRIu64 " written to %s: %u root keys (threshold "
	    "%u), %u release keys (threshold %u), %zu revoked, expires %" PRIu64
	    "\nnot signed yet: mamori-sign root sign %s --key ROOT.key ...\n",
	    rt->version, path, th[MM_UPD_ROLE_ROOT],
	    rt->threshold[MM_UPD_ROLE_ROOT], th[MM_UPD_ROLE_RELEASE],
	    rt->threshold[MM_UPD_ROLE_RELEASE], rt->nrevoked, rt->expires, path);
	return 0;
}

static int
sign_root_init(const struct sign_opts *o)
{
	struct mm_upd_root *rt;
	uint64_t version = 1;
	int rc = 1;

	if ((o->seen & (O_DAYS | O_RTH | O_STH | O_OUT)) !=
	    (O_DAYS | O_RTH | O_STH | O_OUT) || o->npos != 0 ||
	    (o->version != NULL && mm_str_to_u64(o->version, MM_UPD_INT_MAX,
	    &version) != 0) || version == 0 || o->days == 0)
		sign_usage();
	if ((rt = mm_calloc(1, sizeof(*rt))) == NULL)
		return sign_fail("root init", MM_ERR_ALLOC, NULL);
	rt->version = version;
	rt->expires = o->now + o->days * 86400;
	rt->threshold[MM_UPD_ROLE_ROOT] = (unsigned)o->rth;
	rt->threshold[MM_UPD_ROLE_RELEASE] = (unsigned)o->sth;
	if (sign_root_add(rt, &o->keys, MM_UPD_ROLE_ROOT) == 0 &&
	    sign_root_add(rt, &o->releases, MM_UPD_ROLE_RELEASE) == 0)
		rc = sign_root_write(rt, o->out);
	mm_free(rt);
	return rc;
}

static int
sign_keyid_arg(const char *s, uint8_t id[MM_KEYID_LEN])
{
	if (mm_upd_hex_decode(id, MM_KEYID_LEN, s) == 0)
		return 0;
	fprintf(stderr, "mamori-sign: %s: not a key id (16 lower-case hex "
	    "digits)\n", s);
	return 1;
}

/* --drop and --revoke on a copy of the previous root. */
static int
sign_root_edit(struct mm_upd_root *rt, const struct sign_opts *o)
{
	uint8_t id[MM_KEYID_LEN];
	size_t i, k;

	for (i = 0; i < o->drop.n; i++) {
		if (sign_keyid_arg(o->drop.v[i], id) != 0)
			return 1;
		for (k = 0; k < rt->nkeys; k++)
			if (memcmp(rt->keys[k].id, id, MM_KEYID_LEN) == 0)
				break;
		if (k == rt->nkeys) {
			fprintf(stderr, "mamori-sign: --drop %s: no such key\n",
			    o->drop.v[i]);
			return 1;
		}
		memmove(&rt->keys[k], &rt->keys[k + 1],
		    (rt->nkeys - k - 1) * sizeof(rt->keys[0]));
		rt->nkeys--;
	}
	for (i = 0; i < o->revoke.n; i++) {
		if (sign_keyid_arg(o->revoke.v[i], id) != 0)
			return 1;
		if (mm_upd_root_is_revoked(rt, id))
			continue;
		if (rt->nrevoked == MM_UPD_REVOKED_MAX) {
			fprintf(stderr, "mamori-sign: too many revoked keys\n");
			return 1;
		}
		/* kept sorted: the lookups use bsearch */
		for (k = rt->nrevoked; k > 0 &&
		    memcmp(rt->revoked[k - 1], id, MM_KEYID_LEN) > 0; k--)
			memcpy(rt->revoked[k], rt->revoked[k - 1], MM_KEYID_LEN);
		memcpy(rt->revoked[k], id, MM_KEYID_LEN);
		rt->nrevoked++;
	}
	return 0;
}

static int
sign_root_next(const struct sign_opts *o)
{
	char why[MM_UPD_WHY_MAX] = "", *text = NULL;
	struct mm_upd_root *rt;
	uint64_t version;
	size_t len;
	int r, rc = 1;

	if (o->from == NULL || o->out == NULL || !(o->seen & O_DAYS) ||
	    o->days == 0 || o->npos != 0)
		sign_usage();
	if (sign_read_doc(o->from, &text, &len) != 0)
		return 1;
	if ((rt = mm_calloc(1, sizeof(*rt))) == NULL) {
		mm_free(text);
		return sign_fail("root next", MM_ERR_ALLOC, NULL);
	}
	if ((r = mm_upd_root_parse(text, len, rt, why, sizeof(why))) != 0) {
		rc = sign_fail(o->from, r, why);
		goto out;
	}
	version = rt->version + 1;
	if (o->version != NULL && (mm_str_to_u64(o->version, MM_UPD_INT_MAX,
	    &version) != 0 || version != rt->version + 1)) {
		fprintf(stderr, "mamori-sign: --version must be %" PRIu64 ": roots "
		    "go one version at a time\n", rt->version + 1);
		goto out;
	}
	rt->version = version;
	rt->expires = o->now + o->days * 86400;
	if (o->seen & O_RTH)
		rt->threshold[MM_UPD_ROLE_ROOT] = (unsigned)o->rth;
	if (o->seen & O_STH)
		rt->threshold[MM_UPD_ROLE_RELEASE] = (unsigned)o->sth;
	if (sign_root_edit(rt, o) == 0 &&
	    sign_root_add(rt, &o->keys, MM_UPD_ROLE_ROOT) == 0 &&
	    sign_root_add(rt, &o->releases, MM_UPD_ROLE_RELEASE) == 0 &&
	    (rc = sign_root_write(rt, o->out)) == 0)
		printf("a device takes it only when signed by the root threshold "
		    "of version %" PRIu64 " and of version %" PRIu64 "\n",
		    version - 1, version);
 out:
	mm_free(rt);
	mm_free(text);
	return rc;
}

/* The envelope already at path, or an empty one. */
static int
sign_env_load(const char *path, struct mm_upd_env *env)
{
	char why[MM_UPD_WHY_MAX] = "", *text;
	size_t len;
	int r;

	memset(env, 0, sizeof(*env));
	if ((r = mm_file_read(path, MM_UPD_DOC_MAX, &text, &len)) ==
	    MM_ERR_NOT_FOUND)
		return MM_OK;
	if (r != 0)
		return sign_fail(path, r, NULL);
	r = mm_upd_env_parse(text, len, env, why, sizeof(why));
	mm_free(text);
	return r != 0 ? sign_fail(path, r, why) : MM_OK;
}

static int
sign_root_sign(const struct sign_opts *o)
{
	char why[MM_UPD_WHY_MAX] = "", *text = NULL, *out = NULL;
	struct mm_upd_root *rt = NULL;
	struct mm_upd_env env;
	struct mm_upd_count c;
	size_t len, outlen;
	int r = 0, rc = 1;

	if (o->npos != 1 || o->keys.n == 0 || o->out == NULL)
		sign_usage();
	if (sign_read_doc(o->pos[0], &text, &len) != 0)
		return 1;
	if ((rt = mm_calloc(1, sizeof(*rt))) == NULL ||
	    (r = mm_upd_root_parse(text, len, rt, why, sizeof(why))) != 0) {
		rc = sign_fail(o->pos[0], rt == NULL ? MM_ERR_ALLOC : r, why);
		goto out;
	}
	if (sign_env_load(o->out, &env) != 0 ||
	    sign_with_keys(&o->keys, MM_UPD_ROLE_ROOT, MM_UPD_CTX_ROOT, text, len,
	    &env) != 0)
		goto out;
	if ((r = mm_upd_env_encode(&env, &out, &outlen)) != 0 ||
	    (r = mm_file_write_atomic(o->out, out, outlen, 0644)) != 0) {
		rc = sign_fail(o->out, r, NULL);
		goto out;
	}
	r = mm_upd_sig_check(rt, MM_UPD_ROLE_ROOT, MM_UPD_CTX_ROOT, text, len,
	    &env, &c, NULL, 0);
	printf("%s: %zu signature(s); %u of its own root keys signed, %u "
	    "needed%s\n", o->out, env.n, c.valid, rt->threshold[MM_UPD_ROLE_ROOT],
	    r == 0 ? "" : " (a rotation needs the previous version's root keys "
	    "too)");
	rc = 0;
 out:
	mm_free(out);
	mm_free(text);
	mm_free(rt);
	return rc;
}

/* ---- main ---- */

int
main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "", *sub = argc > 2 ? argv[2] : "";
	struct sign_opts *o;
	int rc;

	if (argc < 2)
		sign_usage();
	mm_log_init("mamori-sign", MM_LOG_WARN, 0);
	if (mm_crypto_init() != 0 || (o = mm_calloc(1, sizeof(*o))) == NULL)
		return 1;
	if (strcmp(cmd, "key") == 0 && strcmp(sub, "new") == 0) {
		sign_parse(argc, argv, 3, O_ROLE | O_OUT, o);
		rc = sign_key_new(o);
	} else if (strcmp(cmd, "key") == 0 && strcmp(sub, "id") == 0) {
		sign_parse(argc, argv, 3, 0, o);
		rc = sign_key_id(o);
	} else if (strcmp(cmd, "root") == 0 && strcmp(sub, "init") == 0) {
		sign_parse(argc, argv, 3, O_VERSION | O_DAYS | O_RTH | O_STH |
		    O_KEY | O_RELEASE | O_OUT | O_NOW, o);
		rc = sign_root_init(o);
	} else if (strcmp(cmd, "root") == 0 && strcmp(sub, "sign") == 0) {
		sign_parse(argc, argv, 3, O_KEY | O_OUT, o);
		rc = sign_root_sign(o);
	} else if (strcmp(cmd, "root") == 0 && strcmp(sub, "next") == 0) {
		sign_parse(argc, argv, 3, O_FROM | O_VERSION | O_DAYS | O_RTH |
		    O_STH | O_KEY | O_RELEASE | O_DROP | O_REVOKE | O_OUT | O_NOW,
		    o);
		rc = sign_root_next(o);
	} else if (strcmp(cmd, "manifest") == 0) {
		sign_parse(argc, argv, 2, O_PRODUCT | O_HARDWARE | O_VERSION |
		    O_COUNTER | O_DAYS | O_NOTES | O_FIXES | O_PAYLOAD | O_BLOCK |
		    O_OUT | O_NOW, o);
		rc = sign_manifest(o);
	} else if (strcmp(cmd, "bundle") == 0) {
		sign_parse(argc, argv, 2, O_CHAIN | O_MANIFEST | O_KEY | O_PAYLOAD |
		    O_OUT, o);
		rc = sign_bundle(o);
	} else if (strcmp(cmd, "inspect") == 0) {
		sign_parse(argc, argv, 2, 0, o);
		rc = sign_inspect(o);
	} else if (strcmp(cmd, "verify") == 0) {
		sign_parse(argc, argv, 2, O_ROOT | O_ROOTSIG | O_PRODUCT |
		    O_HARDWARE | O_COUNTER | O_NOW | O_UNKNOWN_TIME, o);
		rc = sign_verify(o);
	} else
		sign_usage();
	mm_free(o);
	return rc;
}
