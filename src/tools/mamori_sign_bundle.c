/*
 * mamori_sign_bundle.c - mamori-sign's manifest, bundle, inspect and
 * verify commands (decision 0010, docs/update.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/mm_alloc.h"
#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "common/mm_file.h"
#include "common/mm_str.h"
#include "device/mm_upd_bundle.h"
#include "tools/mamori_sign.h"

/* ---- manifest ---- */

static int
sign_manifest_text(struct mm_upd_manifest *m, const struct sign_opts *o)
{
	size_t i;

	if (mm_strlcpy(m->product, o->product, sizeof(m->product)) != 0 ||
	    mm_strlcpy(m->version, o->version, sizeof(m->version)) != 0 ||
	    mm_strlcpy(m->notes, o->notes != NULL ? o->notes : "",
	    sizeof(m->notes)) != 0 ||
	    mm_strlcpy(m->fixes, o->fixes != NULL ? o->fixes : "",
	    sizeof(m->fixes)) != 0) {
		fprintf(stderr, "mamori-sign: product (64), version (32), notes or "
		    "fixes (4096 bytes) too long\n");
		return 1;
	}
	for (i = 0; i < o->hardware.n; i++) {
		if (mm_strlcpy(m->hardware[i], o->hardware.v[i],
		    sizeof(m->hardware[i])) != 0) {
			fprintf(stderr, "mamori-sign: --hardware %s: over 64 bytes\n",
			    o->hardware.v[i]);
			return 1;
		}
	}
	m->nhardware = o->hardware.n;
	return 0;
}

static int
sign_manifest_payloads(struct mm_upd_manifest *m, const struct sign_opts *o)
{
	struct mm_upd_payload *p;
	size_t i;
	int fd, r;

	for (i = 0; i < o->npayloads; i++) {
		p = &m->payloads[m->npayloads];
		memcpy(p->name, o->payloads[i].name, sizeof(p->name));
		if ((fd = open(o->payloads[i].path, O_RDONLY | O_CLOEXEC)) < 0) {
			fprintf(stderr, "mamori-sign: %s: %s\n", o->payloads[i].path,
			    strerror(errno));
			return 1;
		}
		r = mm_upd_payload_hash_fd(fd, o->payloads[i].block_size, p);
		close(fd);
		if (r != 0) {
			fprintf(stderr, "mamori-sign: payload %s (%s): %s%s\n", p->name,
			    o->payloads[i].path, mm_strerror(r), r == MM_ERR_RANGE ?
			    " (empty, over 1 TiB, or a bad block size: a power of two "
			    "from 4096 to 16 MiB)" : r == MM_ERR_TOO_LARGE ?
			    " (too many blocks: choose a larger block size)" : "");
			return 1;
		}
		m->npayloads++;
	}
	return 0;
}

static void
sign_manifest_print(const struct mm_upd_manifest *m)
{
	char hex[2 * MM_SHA256_LEN + 1];
	size_t i;

	printf("product=%s version=%s security_counter=%" PRIu64 "\n",
	    m->product, m->version, m->security_counter);
	for (i = 0; i < m->nhardware; i++)
		printf("hardware=%s\n", m->hardware[i]);
	printf("created=%" PRIu64 " expires=%" PRIu64 "\n", m->created,
	    m->expires);
	for (i = 0; i < m->npayloads; i++) {
		mm_hex_encode(hex, m->payloads[i].sha256, MM_SHA256_LEN);
		printf("payload %s size=%" PRIu64 " sha256=%s", m->payloads[i].name,
		    m->payloads[i].size, hex);
		if (m->payloads[i].block_size != 0)
			printf(" block_size=%" PRIu32 " blocks=%zu",
			    m->payloads[i].block_size, m->payloads[i].nblocks);
		printf("\n");
	}
}

int
sign_manifest(const struct sign_opts *o)
{
	char why[MM_UPD_WHY_MAX] = "", *text = NULL;
	struct mm_upd_manifest *m;
	size_t len;
	int r, rc = 1;

	if (o->product == NULL || o->hardware.n == 0 || o->version == NULL ||
	    !(o->seen & O_COUNTER) || o->days == 0 || o->npayloads == 0 ||
	    o->out == NULL || o->npos != 0)
		sign_usage();
	if ((m = mm_calloc(1, sizeof(*m))) == NULL)
		return sign_fail("manifest", MM_ERR_ALLOC, NULL);
	m->security_counter = o->counter;
	m->created = o->now;
	m->expires = o->now + o->days * 86400;
	if (sign_manifest_text(m, o) != 0 || sign_manifest_payloads(m, o) != 0)
		goto out;
	if ((r = mm_upd_manifest_encode(m, &text, &len, why, sizeof(why))) != 0) {
		rc = sign_fail("manifest", r, why);
		goto out;
	}
	if ((r = mm_file_write_atomic(o->out, text, len, 0644)) != 0) {
		rc = sign_fail(o->out, r, NULL);
		goto out;
	}
	printf("manifest written to %s (not signed: mamori-sign bundle signs "
	    "it)\n", o->out);
	sign_manifest_print(m);
	rc = 0;
 out:
	mm_free(text);
	mm_upd_manifest_free(m);
	return rc;
}

/* ---- bundle ---- */

struct sign_chain {
	size_t n;
	struct mm_upd_link links[MM_UPD_CHAIN_MAX];
	char *text[2 * MM_UPD_CHAIN_MAX];
};

static void
sign_chain_free(struct sign_chain *c)
{
	size_t i;

	for (i = 0; i < 2 * c->n; i++)
		mm_free(c->text[i]);
}

/* --root-chain ROOT.json:ROOT.sig, split at the last ':'. */
static int
sign_chain_load(const struct sign_list *l, struct sign_chain *c)
{
	char path[4096];
	const char *colon;
	size_t i, n;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < l->n; i++) {
		colon = strrchr(l->v[i], ':');
		n = colon != NULL ? (size_t)(colon - l->v[i]) : 0;
		if (n == 0 || n >= sizeof(path) || colon[1] == '\0') {
			fprintf(stderr, "mamori-sign: --root-chain %s: want "
			    "ROOT.json:ROOT.sig\n", l->v[i]);
			return 1;
		}
		memcpy(path, l->v[i], n);
		path[n] = '\0';
		c->n++;
		if (sign_read_doc(path, &c->text[2 * i], &c->links[i].rootlen) != 0 ||
		    sign_read_doc(colon + 1, &c->text[2 * i + 1],
		    &c->links[i].envlen) != 0)
			return 1;
		c->links[i].root = (const uint8_t *)c->text[2 * i];
		c->links[i].env = (const uint8_t *)c->text[2 * i + 1];
	}
	return 0;
}

/* The --payload file for the manifest's payload p; each used once. */
static const char *
sign_payload_path(const struct sign_opts *o, const struct mm_upd_payload *p)
{
	size_t i;

	for (i = 0; i < o->npayloads; i++)
		if (strcmp(o->payloads[i].name, p->name) == 0)
			return o->payloads[i].path;
	return NULL;
}

static int
sign_bundle_payloads(const struct sign_opts *o, const struct mm_upd_manifest *m,
    int out)
{
	const char *path;
	size_t i;
	int in, r;

	if (o->npayloads != m->npayloads) {
		fprintf(stderr, "mamori-sign: the manifest has %zu payloads, %zu "
		    "given\n", m->npayloads, o->npayloads);
		return 1;
	}
	for (i = 0; i < m->npayloads; i++) {
		if ((path = sign_payload_path(o, &m->payloads[i])) == NULL) {
			fprintf(stderr, "mamori-sign: no --payload %s=FILE\n",
			    m->payloads[i].name);
			return 1;
		}
		if ((in = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
			fprintf(stderr, "mamori-sign: %s: %s\n", path, strerror(errno));
			return 1;
		}
		r = mm_upd_payload_copy(in, out, &m->payloads[i]);
		close(in);
		if (r != 0) {
			fprintf(stderr, "mamori-sign: payload %s (%s): %s: not the file "
			    "the manifest describes\n", m->payloads[i].name, path,
			    mm_strerror(r));
			return 1;
		}
	}
	return 0;
}

/* Writes header and payloads to path through a temporary file. */
static int
sign_bundle_write(const struct sign_opts *o, const struct mm_upd_manifest *m,
    const uint8_t *hdr, size_t hdrlen)
{
	char tmp[4096];
	int fd, rc = 1;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", o->out, (long)getpid()) >=
	    (int)sizeof(tmp))
		return sign_fail(o->out, MM_ERR_TOO_LARGE, NULL);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "mamori-sign: %s: %s\n", tmp, strerror(errno));
		return 1;
	}
	if (mm_file_write_all(fd, hdr, hdrlen) != 0)
		fprintf(stderr, "mamori-sign: %s: write failed\n", tmp);
	else if (sign_bundle_payloads(o, m, fd) == 0)
		rc = 0;
	if (rc == 0 && fsync(fd) != 0)
		rc = 1;
	if (close(fd) != 0)
		rc = 1;
	if (rc == 0 && (rename(tmp, o->out) != 0 ||
	    mm_file_sync_parent(o->out) != 0))
		rc = 1;
	if (rc != 0) {
		unlink(tmp);
		fprintf(stderr, "mamori-sign: no bundle written\n");
	}
	return rc;
}

int
sign_bundle(const struct sign_opts *o)
{
	char why[MM_UPD_WHY_MAX] = "", *mtext = NULL, *etext = NULL;
	struct mm_upd_manifest *m = NULL;
	struct mm_upd_env env;
	struct sign_chain chain;
	uint8_t *hdr = NULL;
	size_t mlen, elen, hdrlen;
	int r, rc = 1;

	if (o->manifest == NULL || o->keys.n == 0 || o->npayloads == 0 ||
	    o->out == NULL || o->npos != 0)
		sign_usage();
	memset(&env, 0, sizeof(env));
	if (sign_chain_load(&o->chain, &chain) != 0 ||
	    sign_read_doc(o->manifest, &mtext, &mlen) != 0)
		goto out;
	if ((r = mm_upd_manifest_parse(mtext, mlen, &m, why, sizeof(why))) != 0) {
		rc = sign_fail(o->manifest, r, why);
		goto out;
	}
	if (sign_with_keys(&o->keys, MM_UPD_ROLE_RELEASE, MM_UPD_CTX_MANIFEST,
	    mtext, mlen, &env) != 0)
		goto out;
	if ((r = mm_upd_env_encode(&env, &etext, &elen)) != 0 ||
	    (r = mm_upd_bundle_header(chain.links, chain.n, mtext, mlen, etext,
	    elen, &hdr, &hdrlen)) != 0) {
		rc = sign_fail("bundle header", r, NULL);
		goto out;
	}
	if ((rc = sign_bundle_write(o, m, hdr, hdrlen)) == 0)
		printf("bundle written to %s: %zu root(s) in the chain, %zu "
		    "payload(s), %zu signature(s)\n", o->out, chain.n, m->npayloads,
		    env.n);
 out:
	sign_chain_free(&chain);
	mm_upd_manifest_free(m);
	mm_free(mtext);
	mm_free(etext);
	mm_free(hdr);
	return rc;
}

/* ---- inspect ---- */

struct sign_src {
	int fd;
	uint64_t count;		/* bytes read so far */
};

static int
sign_src_read(void *arg, void *buf, size_t len, size_t *got)
{
	struct sign_src *s = arg;
	ssize_t n;

	do
		n = read(s->fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return MM_ERR_IO;
	*got = (size_t)n;
	s->count += (uint64_t)n;
	return MM_OK;
}

static void
sign_env_print(const char *label, const char *indent, const uint8_t *doc,
    size_t len)
{
	char why[MM_UPD_WHY_MAX] = "", kid[MM_UPD_KEYID_HEX + 1];
	struct mm_upd_env env;
	size_t i;
	int r;

	if ((r = mm_upd_env_parse(doc, len, &env, why, sizeof(why))) != 0) {
		printf("%s: unreadable: %s\n", label, why);
		return;
	}
	printf("%s: %zu\n", label, env.n);
	for (i = 0; i < env.n; i++) {
		if (!env.sigs[i].ed25519) {
			printf("%s  alg=%s (not known: ignored)\n", indent,
			    env.sigs[i].alg);
			continue;
		}
		mm_hex_encode(kid, env.sigs[i].keyid, MM_KEYID_LEN);
		printf("%s  alg=ed25519 keyid=%s\n", indent, kid);
	}
}

static int
sign_link_print(void *arg, size_t index, const uint8_t *root, size_t rootlen,
    const uint8_t *env, size_t envlen, char *why, size_t whylen)
{
	char sub[MM_UPD_WHY_MAX] = "", kid[MM_UPD_KEYID_HEX + 1];
	struct mm_upd_root *rt;
	size_t i;

	(void)arg;
	if ((rt = mm_calloc(1, sizeof(*rt))) == NULL)
		return MM_ERR_ALLOC;
	if (mm_upd_root_parse(root, rootlen, rt, sub, sizeof(sub)) != 0)
		printf("root chain [%zu]: unreadable: %s\n", index, sub);
	else {
		printf("root chain [%zu]: version=%" PRIu64 " expires=%" PRIu64
		    " threshold root=%u release=%u revoked=%zu\n", index,
		    rt->version, rt->expires, rt->threshold[MM_UPD_ROLE_ROOT],
		    rt->threshold[MM_UPD_ROLE_RELEASE], rt->nrevoked);
		for (i = 0; i < rt->nkeys; i++) {
			mm_hex_encode(kid, rt->keys[i].id, MM_KEYID_LEN);
			printf("  key %s %s\n", kid, mm_upd_role_name(rt->keys[i].role));
		}
	}
	mm_free(rt);
	sign_env_print("  signatures", "    ", env, envlen);
	return MM_OK;
}

static void
sign_payloads_print(const struct mm_upd_manifest *m, uint64_t offset,
    uint64_t filesize)
{
	uint64_t end = offset;
	size_t i;

	for (i = 0; i < m->npayloads; i++) {
		printf("payload %s at offset %" PRIu64 "\n", m->payloads[i].name, end);
		end += m->payloads[i].size;
	}
	if (end == filesize)
		printf("file size %" PRIu64 ": as the manifest says\n", filesize);
	else
		printf("file size %" PRIu64 ": the manifest says %" PRIu64 " (%s)\n",
		    filesize, end, filesize < end ? "truncated" : "bytes after the "
		    "last payload");
}

int
sign_inspect(const struct sign_opts *o)
{
	char why[MM_UPD_WHY_MAX] = "";
	struct mm_upd_manifest *m = NULL;
	struct sign_src src = { -1, 0 };
	uint8_t *mdoc = NULL, *edoc = NULL;
	struct stat st;
	size_t mlen, elen;
	int r, rc = 1;

	if (o->npos != 1)
		sign_usage();
	if ((src.fd = open(o->pos[0], O_RDONLY | O_CLOEXEC)) < 0 ||
	    fstat(src.fd, &st) != 0) {
		fprintf(stderr, "mamori-sign: %s: %s\n", o->pos[0], strerror(errno));
		goto out;
	}
	if ((r = mm_upd_header_read(sign_src_read, &src, sign_link_print, NULL,
	    &mdoc, &mlen, &edoc, &elen, why, sizeof(why))) != 0) {
		rc = sign_fail(o->pos[0], r, why);
		goto out;
	}
	printf("manifest: %zu bytes (not verified: use mamori-sign verify)\n",
	    mlen);
	if ((r = mm_upd_manifest_parse(mdoc, mlen, &m, why, sizeof(why))) != 0)
		printf("manifest unreadable: %s: %s\n", mm_strerror(r), why);
	else {
		sign_manifest_print(m);
		if (m->notes[0] != '\0')
			printf("notes: %s\n", m->notes);
		if (m->fixes[0] != '\0')
			printf("fixes: %s\n", m->fixes);
	}
	sign_env_print("manifest signatures", "  ", edoc, elen);
	if (m != NULL)
		sign_payloads_print(m, src.count, (uint64_t)st.st_size);
	rc = m != NULL ? 0 : 1;
 out:
	if (src.fd >= 0)
		close(src.fd);
	mm_upd_manifest_free(m);
	mm_free(mdoc);
	mm_free(edoc);
	return rc;
}

/* ---- verify ---- */

static int
sign_trust_load(const struct sign_opts *o, struct mm_upd_trust **t)
{
	char why[MM_UPD_WHY_MAX] = "", *root = NULL, *sig = NULL;
	size_t rlen, slen;
	int r;

	if (sign_read_doc(o->root, &root, &rlen) != 0 ||
	    sign_read_doc(o->rootsig, &sig, &slen) != 0)
		r = MM_ERR_IO;
	else if ((r = mm_upd_trust_load(root, rlen, sig, slen, t, why,
	    sizeof(why))) != 0)
		printf("refused: trusted root %s: %s: %s\n", o->root, mm_strerror(r),
		    why);
	mm_free(root);
	mm_free(sig);
	return r;
}

static int
sign_refused(int r, const char *why)
{
	printf("refused: %s: %s\n", mm_strerror(r), why);
	return 1;
}

/* Reads every payload to its end, then the final verdict. */
static int
sign_verify_payloads(struct mm_upd_reader *rd)
{
	const struct mm_upd_payload *p;
	static uint8_t buf[65536];
	uint64_t total;
	size_t got;
	int r;

	while ((r = mm_upd_reader_next_payload(rd, &p)) == 0) {
		total = 0;
		do {
			if ((r = mm_upd_reader_read(rd, buf, sizeof(buf), &got)) != 0)
				return sign_refused(r, mm_upd_reader_why(rd));
			total += got;
		} while (got > 0);
		printf("payload %s: %" PRIu64 " bytes, hashes match\n", p->name,
		    total);
	}
	if (r != MM_ERR_NOT_FOUND || (r = mm_upd_reader_finish(rd)) != 0)
		return sign_refused(r, mm_upd_reader_why(rd));
	return 0;
}

int
sign_verify(const struct sign_opts *o)
{
	char why[MM_UPD_WHY_MAX] = "";
	struct mm_upd_trust *t = NULL;
	struct mm_upd_reader *rd = NULL;
	struct mm_upd_device dev;
	int fd = -1, r, rc = 1;

	if (o->npos != 1 || o->root == NULL || o->rootsig == NULL ||
	    o->product == NULL || o->hardware.n != 1 || !(o->seen & O_COUNTER))
		sign_usage();
	if (sign_trust_load(o, &t) != 0)
		return 1;
	dev.product = o->product;
	dev.hardware = o->hardware.v[0];
	dev.running_counter = o->counter;
	dev.now = o->now;
	dev.time_known = !(o->seen & O_UNKNOWN_TIME);
	if ((fd = open(o->pos[0], O_RDONLY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "mamori-sign: %s: %s\n", o->pos[0], strerror(errno));
		goto out;
	}
	if ((r = mm_upd_reader_open_fd(&rd, fd, t, &dev, why, sizeof(why))) != 0) {
		rc = sign_refused(r, why);
		goto out;
	}
	sign_manifest_print(mm_upd_reader_manifest(rd));
	if ((rc = sign_verify_payloads(rd)) == 0)
		printf("accepted: signed by the release threshold of root version "
		    "%" PRIu64 ", every payload matches\n",
		    mm_upd_trust_root(mm_upd_reader_trust(rd))->version);
 out:
	if (fd >= 0)
		close(fd);
	mm_upd_reader_free(rd);
	mm_upd_trust_free(t);
	return rc;
}
