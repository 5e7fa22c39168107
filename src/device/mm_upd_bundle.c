/* mm_upd_bundle.c - update bundles: the streaming reader and the writer. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "common/mm_alloc.h"
#include "common/mm_buf.h"
#include "common/mm_err.h"
#include "common/mm_file.h"
#include "device/mm_upd_bundle.h"

struct mm_upd_reader {
	mm_upd_read_fn fn;
	void *arg;
	void *own;			/* arg, when the reader made it */
	struct mm_upd_trust *trust;	/* a copy, chain applied */
	struct mm_upd_manifest *m;
	int err;			/* sticky */
	char why[MM_UPD_WHY_MAX];
	size_t next;			/* index of the next payload */
	const struct mm_upd_payload *cur;	/* NULL before the first */
	uint64_t left;			/* bytes of cur not yet read */
	int ended;			/* cur read to its end and matched */
	crypto_hash_sha256_state whole;
	uint8_t *blk;			/* one verified block */
	size_t blkcap, blklen, blkoff, blkidx;
	int finished;
};

/* ---- reading the source ---- */

static int
upd_read_full(mm_upd_read_fn fn, void *arg, void *buf, size_t len)
{
	size_t off = 0, got;
	int r;

	while (off < len) {
		got = 0;
		if ((r = fn(arg, (uint8_t *)buf + off, len - off, &got)) != 0)
			return r;
		if (got == 0)
			return MM_ERR_SHORT;
		if (got > len - off)
			return MM_ERR_INTERNAL;	/* a read function that overran */
		off += got;
	}
	return MM_OK;
}

static int
upd_read_u32(mm_upd_read_fn fn, void *arg, uint32_t *v)
{
	uint8_t b[4];
	int r;

	if ((r = upd_read_full(fn, arg, b, sizeof(b))) != 0)
		return r;
	*v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 |
	    b[3];
	return MM_OK;
}

/* A u32-prefixed document of 1..MM_UPD_DOC_MAX bytes, within *left (if
 * left is not NULL) bytes of its enclosing part. */
static int
upd_read_doc(mm_upd_read_fn fn, void *arg, uint32_t *left, const char *what,
    uint8_t **out, size_t *outlen, char *why, size_t whylen)
{
	uint32_t n;
	uint8_t *p;
	int r;

	if (left != NULL && *left < 4) {
		mm_upd_say(why, whylen, "bundle: %s: length runs past the root "
		    "chain", what);
		return MM_ERR_FORMAT;
	}
	if ((r = upd_read_u32(fn, arg, &n)) != 0) {
		mm_upd_say(why, whylen, "bundle: %s: length: %s", what,
		    mm_strerror(r));
		return r;
	}
	if (left != NULL)
		*left -= 4;
	if (n > MM_UPD_DOC_MAX) {
		mm_upd_say(why, whylen, "bundle: %s: %u bytes, over %d", what, n,
		    MM_UPD_DOC_MAX);
		return MM_ERR_TOO_LARGE;
	}
	if (n == 0 || (left != NULL && n > *left)) {
		mm_upd_say(why, whylen, "bundle: %s: %s", what, n == 0 ? "empty" :
		    "runs past the root chain");
		return MM_ERR_FORMAT;
	}
	if ((p = mm_malloc(n)) == NULL)
		return MM_ERR_ALLOC;
	if ((r = upd_read_full(fn, arg, p, n)) != 0) {
		mm_upd_say(why, whylen, "bundle: %s: %s", what, mm_strerror(r));
		mm_free(p);
		return r;
	}
	if (left != NULL)
		*left -= n;
	*out = p;
	*outlen = n;
	return MM_OK;
}

/* The chain part: pairs one at a time, each handed to on_link. */
static int
upd_read_chain(mm_upd_read_fn fn, void *arg, mm_upd_link_fn on_link,
    void *link_arg, char *why, size_t whylen)
{
	uint8_t *root = NULL, *env = NULL;
	size_t rootlen, envlen, n;
	uint32_t left;
	int r;

	if ((r = upd_read_u32(fn, arg, &left)) != 0) {
		mm_upd_say(why, whylen, "bundle: root chain length: %s",
		    mm_strerror(r));
		return r;
	}
	if (left > MM_UPD_CHAIN_PART_MAX) {
		mm_upd_say(why, whylen, "bundle: root chain of %u bytes, over %u",
		    left, MM_UPD_CHAIN_PART_MAX);
		return MM_ERR_TOO_LARGE;
	}
	for (n = 0; left > 0; n++) {
		if (n == MM_UPD_CHAIN_MAX) {
			mm_upd_say(why, whylen, "bundle: more than %d roots in the "
			    "chain", MM_UPD_CHAIN_MAX);
			return MM_ERR_TOO_LARGE;
		}
		if ((r = upd_read_doc(fn, arg, &left, "chain root.json", &root,
		    &rootlen, why, whylen)) != 0)
			return r;
		if ((r = upd_read_doc(fn, arg, &left, "chain envelope", &env,
		    &envlen, why, whylen)) == 0)
			r = on_link(link_arg, n, root, rootlen, env, envlen, why,
			    whylen);
		mm_free(root);
		mm_free(env);
		root = env = NULL;
		if (r != 0)
			return r;
	}
	return MM_OK;
}

int
mm_upd_header_read(mm_upd_read_fn fn, void *arg, mm_upd_link_fn on_link,
    void *link_arg, uint8_t **manifest, size_t *mlen, uint8_t **env,
    size_t *envlen, char *why, size_t whylen)
{
	uint8_t magic[MM_UPD_MAGIC_LEN], *m = NULL;
	size_t ml;
	int r;

	if ((r = upd_read_full(fn, arg, magic, sizeof(magic))) != 0) {
		mm_upd_say(why, whylen, "bundle: no header: %s", mm_strerror(r));
		return r;
	}
	if (memcmp(magic, MM_UPD_MAGIC, MM_UPD_MAGIC_LEN) != 0) {
		mm_upd_say(why, whylen, "bundle: not an update bundle (magic)");
		return MM_ERR_FORMAT;
	}
	if ((r = upd_read_chain(fn, arg, on_link, link_arg, why, whylen)) != 0 ||
	    (r = upd_read_doc(fn, arg, NULL, "manifest", &m, &ml, why,
	    whylen)) != 0)
		return r;
	if ((r = upd_read_doc(fn, arg, NULL, "manifest envelope", env, envlen,
	    why, whylen)) != 0) {
		mm_free(m);
		return r;
	}
	*manifest = m;
	*mlen = ml;
	return MM_OK;
}

/* ---- the reader ---- */

struct upd_apply {
	struct mm_upd_trust *trust;
	uint64_t now;
};

/* A chain link: the next root, or one we have (skipped). */
static int
upd_apply_link(void *arg, size_t index, const uint8_t *root, size_t rootlen,
    const uint8_t *env, size_t envlen, char *why, size_t whylen)
{
	struct upd_apply *a = arg;
	char sub[MM_UPD_WHY_MAX];
	int r;

	r = mm_upd_trust_update(a->trust, root, rootlen, env, envlen, a->now,
	    sub, sizeof(sub));
	if (r == MM_ERR_REPLAY)
		return MM_OK;	/* a root the device already went past */
	if (r != 0)
		mm_upd_say(why, whylen, "root chain [%zu]: %s", index, sub);
	return r;
}

static int
upd_fd_read(void *arg, void *buf, size_t len, size_t *got)
{
	int fd = (int)(intptr_t)arg;
	ssize_t n;

	do
		n = read(fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return MM_ERR_IO;
	*got = (size_t)n;
	return MM_OK;
}

static int
upd_reader_start(struct mm_upd_reader *rd, const struct mm_upd_device *dev,
    char *why, size_t whylen)
{
	struct upd_apply a = { rd->trust, dev->now };
	uint8_t *mdoc = NULL, *edoc = NULL;
	size_t mlen, elen, i, bs = 0;
	int r;

	if ((r = mm_upd_header_read(rd->fn, rd->arg, upd_apply_link, &a, &mdoc,
	    &mlen, &edoc, &elen, why, whylen)) != 0)
		return r;
	r = mm_upd_manifest_verify(rd->trust, mdoc, mlen, edoc, elen, dev, &rd->m,
	    why, whylen);
	mm_free(mdoc);
	mm_free(edoc);
	if (r != 0)
		return r;
	for (i = 0; i < rd->m->npayloads; i++)
		if (rd->m->payloads[i].block_size > bs)
			bs = rd->m->payloads[i].block_size;
	if (bs > 0 && (rd->blk = mm_malloc(bs)) == NULL)
		return MM_ERR_ALLOC;
	rd->blkcap = bs;
	return MM_OK;
}

int
mm_upd_reader_open(struct mm_upd_reader **out, mm_upd_read_fn fn, void *arg,
    const struct mm_upd_trust *trust, const struct mm_upd_device *dev,
    char *why, size_t whylen)
{
	struct mm_upd_reader *rd;
	int r;

	if (fn == NULL || trust == NULL || dev == NULL)
		return MM_ERR_INVALID_ARG;
	if ((rd = mm_calloc(1, sizeof(*rd))) == NULL)
		return MM_ERR_ALLOC;
	rd->fn = fn;
	rd->arg = arg;
	if ((r = mm_upd_trust_copy(trust, &rd->trust)) != 0 ||
	    (r = upd_reader_start(rd, dev, why, whylen)) != 0) {
		mm_upd_reader_free(rd);
		return r;
	}
	*out = rd;
	return MM_OK;
}

int
mm_upd_reader_open_fd(struct mm_upd_reader **out, int fd,
    const struct mm_upd_trust *trust, const struct mm_upd_device *dev,
    char *why, size_t whylen)
{
	if (fd < 0)
		return MM_ERR_INVALID_ARG;
	return mm_upd_reader_open(out, upd_fd_read, (void *)(intptr_t)fd, trust,
	    dev, why, whylen);
}

struct upd_mem {
	const uint8_t *p;
	size_t len, off;
};

static int
upd_mem_read(void *arg, void *buf, size_t len, size_t *got)
{
	struct upd_mem *m = arg;
	size_t n = m->len - m->off < len ? m->len - m->off : len;

	if (n > 0)
		memcpy(buf, m->p + m->off, n);
	m->off += n;
	*got = n;
	return MM_OK;
}

int
mm_upd_reader_open_mem(struct mm_upd_reader **out, const void *data,
    size_t len, const struct mm_upd_trust *trust,
    const struct mm_upd_device *dev, char *why, size_t whylen)
{
	struct upd_mem *m;
	int r;

	if (data == NULL && len > 0)
		return MM_ERR_INVALID_ARG;
	if ((m = mm_calloc(1, sizeof(*m))) == NULL)
		return MM_ERR_ALLOC;
	m->p = data;
	m->len = len;
	if ((r = mm_upd_reader_open(out, upd_mem_read, m, trust, dev, why,
	    whylen)) != 0) {
		mm_free(m);
		return r;
	}
	(*out)->own = m;
	return MM_OK;
}

const struct mm_upd_manifest *
mm_upd_reader_manifest(const struct mm_upd_reader *r)
{
	return r->m;
}

const struct mm_upd_trust *
mm_upd_reader_trust(const struct mm_upd_reader *r)
{
	return r->trust;
}

const char *
mm_upd_reader_why(const struct mm_upd_reader *r)
{
	return r->why;
}

/* Records the reader's final error. */
static int
upd_fail(struct mm_upd_reader *r, int err, const char *what)
{
	r->err = err;
	mm_upd_say(r->why, sizeof(r->why), "payload %s: %s", r->cur != NULL ?
	    r->cur->name : "-", what);
	return err;
}

/* At a payload's end: its whole SHA-256 must be the manifest's. */
static int
upd_check_whole(struct mm_upd_reader *r)
{
	uint8_t h[MM_SHA256_LEN];

	crypto_hash_sha256_final(&r->whole, h);
	if (mm_memeq_ct(h, r->cur->sha256, sizeof(h)) != 0)
		return upd_fail(r, MM_ERR_CORRUPT,
		    "SHA-256 does not match the manifest");
	return MM_OK;
}

static int
upd_source_error(struct mm_upd_reader *r, int err)
{
	char what[128];

	if (err == MM_ERR_SHORT)
		snprintf(what, sizeof(what), "the bundle ends inside its %llu "
		    "bytes", (unsigned long long)r->cur->size);
	else
		snprintf(what, sizeof(what), "read failed: %s", mm_strerror(err));
	return upd_fail(r, err, what);
}

static int
upd_read_plain(struct mm_upd_reader *r, void *buf, size_t len, size_t *got)
{
	size_t n, g = 0;
	int e;

	if (r->left == 0) {
		if (!r->ended && (e = upd_check_whole(r)) != 0)
			return e;
		r->ended = 1;
		*got = 0;
		return MM_OK;
	}
	n = r->left < len ? (size_t)r->left : len;
	if ((e = r->fn(r->arg, buf, n, &g)) != 0)
		return upd_source_error(r, e);
	if (g == 0)
		return upd_source_error(r, MM_ERR_SHORT);
	if (g > n)
		return upd_fail(r, MM_ERR_INTERNAL, "read function overran");
	crypto_hash_sha256_update(&r->whole, buf, g);
	r->left -= g;
	*got = g;
	return MM_OK;
}

/* Reads and checks the next block into r->blk. */
static int
upd_load_block(struct mm_upd_reader *r)
{
	const struct mm_upd_payload *p = r->cur;
	uint8_t h[MM_SHA256_LEN];
	char what[128];
	size_t want;
	int e;

	want = r->left < p->block_size ? (size_t)r->left : p->block_size;
	if (r->blkidx >= p->nblocks || want > r->blkcap)
		return upd_fail(r, MM_ERR_INTERNAL, "block count");
	if ((e = upd_read_full(r->fn, r->arg, r->blk, want)) != 0)
		return upd_source_error(r, e);
	crypto_hash_sha256(h, r->blk, want);
	if (mm_memeq_ct(h, p->blocks[r->blkidx], sizeof(h)) != 0) {
		snprintf(what, sizeof(what), "block %zu of %zu (bytes %llu..) does "
		    "not match the manifest", r->blkidx + 1, p->nblocks,
		    (unsigned long long)r->blkidx * p->block_size);
		return upd_fail(r, MM_ERR_CORRUPT, what);
	}
	crypto_hash_sha256_update(&r->whole, r->blk, want);
	r->left -= want;
	r->blkidx++;
	r->blklen = want;
	r->blkoff = 0;
	if (r->left == 0 && (e = upd_check_whole(r)) != 0)
		return e;
	return MM_OK;
}

static int
upd_read_blocks(struct mm_upd_reader *r, void *buf, size_t len, size_t *got)
{
	size_t n;
	int e;

	if (r->blkoff == r->blklen) {
		if (r->left == 0) {
			r->ended = 1;
			*got = 0;
			return MM_OK;
		}
		if ((e = upd_load_block(r)) != 0)
			return e;
	}
	n = r->blklen - r->blkoff < len ? r->blklen - r->blkoff : len;
	memcpy(buf, r->blk + r->blkoff, n);
	r->blkoff += n;
	*got = n;
	return MM_OK;
}

int
mm_upd_reader_read(struct mm_upd_reader *r, void *buf, size_t len, size_t *got)
{
	if (r->err != 0)
		return r->err;
	if (r->cur == NULL)
		return MM_ERR_STATE;
	if (buf == NULL || len == 0)
		return MM_ERR_INVALID_ARG;
	if (r->cur->block_size != 0)
		return upd_read_blocks(r, buf, len, got);
	return upd_read_plain(r, buf, len, got);
}

/* Reads the rest of the current payload, checking it. */
static int
upd_drain(struct mm_upd_reader *r)
{
	uint8_t scratch[4096];
	size_t got;
	int e;

	if (r->cur == NULL)
		return MM_OK;
	do {
		if ((e = mm_upd_reader_read(r, scratch, sizeof(scratch), &got)) != 0)
			return e;
	} while (got > 0);
	return MM_OK;
}

int
mm_upd_reader_next_payload(struct mm_upd_reader *r,
    const struct mm_upd_payload **p)
{
	int e;

	if (r->err != 0)
		return r->err;
	if ((e = upd_drain(r)) != 0)
		return e;
	if (r->next >= r->m->npayloads)
		return MM_ERR_NOT_FOUND;
	r->cur = &r->m->payloads[r->next++];
	r->left = r->cur->size;
	r->ended = 0;
	r->blklen = r->blkoff = r->blkidx = 0;
	crypto_hash_sha256_init(&r->whole);
	*p = r->cur;
	return MM_OK;
}

int
mm_upd_reader_finish(struct mm_upd_reader *r)
{
	const struct mm_upd_payload *p;
	uint8_t b;
	size_t got = 0;
	int e;

	if (r->err != 0 || r->finished)
		return r->err;
	while ((e = mm_upd_reader_next_payload(r, &p)) == 0)
		;
	if (e != MM_ERR_NOT_FOUND)
		return e;
	if ((e = r->fn(r->arg, &b, 1, &got)) != 0)
		return upd_source_error(r, e);
	if (got != 0) {
		r->err = MM_ERR_TRAILING;
		mm_upd_say(r->why, sizeof(r->why), "bytes after the last payload");
		return r->err;
	}
	r->finished = 1;
	return MM_OK;
}

void
mm_upd_reader_free(struct mm_upd_reader *r)
{
	if (r == NULL)
		return;
	mm_upd_trust_free(r->trust);
	mm_upd_manifest_free(r->m);
	mm_free(r->blk);
	mm_free(r->own);
	mm_free(r);
}

/* ---- the writer ---- */

static int
upd_put_doc(struct mm_buf *b, const void *p, size_t len)
{
	int r;

	if (len == 0 || len > MM_UPD_DOC_MAX)
		return MM_ERR_TOO_LARGE;
	if ((r = mm_buf_put_u32(b, (uint32_t)len)) != 0)
		return r;
	return mm_buf_put(b, p, len);
}

int
mm_upd_bundle_header(const struct mm_upd_link *chain, size_t nchain,
    const void *manifest, size_t mlen, const void *env, size_t envlen,
    uint8_t **out, size_t *outlen)
{
	struct mm_buf *b;
	size_t i, chainlen = 0;
	uint8_t *res;
	int r;

	if (nchain > MM_UPD_CHAIN_MAX)
		return MM_ERR_TOO_LARGE;
	for (i = 0; i < nchain; i++) {
		if (chain[i].rootlen > MM_UPD_DOC_MAX ||
		    chain[i].envlen > MM_UPD_DOC_MAX)
			return MM_ERR_TOO_LARGE;
		chainlen += 8 + chain[i].rootlen + chain[i].envlen;
	}
	if ((b = mm_buf_new(MM_UPD_MAGIC_LEN + 12 + MM_UPD_CHAIN_PART_MAX +
	    2 * MM_UPD_DOC_MAX)) == NULL)
		return MM_ERR_ALLOC;
	r = mm_buf_put(b, MM_UPD_MAGIC, MM_UPD_MAGIC_LEN);
	if (r == 0)
		r = mm_buf_put_u32(b, (uint32_t)chainlen);
	for (i = 0; r == 0 && i < nchain; i++)
		if ((r = upd_put_doc(b, chain[i].root, chain[i].rootlen)) == 0)
			r = upd_put_doc(b, chain[i].env, chain[i].envlen);
	if (r == 0 && (r = upd_put_doc(b, manifest, mlen)) == 0)
		r = upd_put_doc(b, env, envlen);
	if (r == 0 && (res = mm_malloc(mm_buf_len(b))) == NULL)
		r = MM_ERR_ALLOC;
	if (r == 0) {
		memcpy(res, mm_buf_ptr(b), mm_buf_len(b));
		*out = res;
		*outlen = mm_buf_len(b);
	}
	mm_buf_free(b);
	return r;
}

/*
 * Reads exactly size bytes from in (copying them to out unless out < 0),
 * hashing the whole and, with block_size, each block into blocks; then
 * checks that in has nothing more.
 */
static int
upd_stream(int in, int out, uint64_t size, uint32_t block_size,
    uint8_t sha[MM_SHA256_LEN], uint8_t (*blocks)[MM_SHA256_LEN])
{
	crypto_hash_sha256_state whole, blk;
	uint8_t buf[65536];
	uint64_t done = 0;
	size_t want, got, inblk = 0, nblk = 0;
	int r;

	crypto_hash_sha256_init(&whole);
	crypto_hash_sha256_init(&blk);
	while (done < size) {
		want = size - done < sizeof(buf) ? (size_t)(size - done) : sizeof(buf);
		if (block_size != 0 && want > block_size - inblk)
			want = block_size - inblk;
		if ((r = upd_fd_read((void *)(intptr_t)in, buf, want, &got)) != 0)
			return r;
		if (got == 0)
			return MM_ERR_SHORT;
		if (out >= 0 && (r = mm_file_write_all(out, buf, got)) != 0)
			return r;
		crypto_hash_sha256_update(&whole, buf, got);
		done += got;
		if (block_size == 0)
			continue;
		crypto_hash_sha256_update(&blk, buf, got);
		inblk += got;
		if (inblk == block_size || done == size) {
			crypto_hash_sha256_final(&blk, blocks[nblk++]);
			crypto_hash_sha256_init(&blk);
			inblk = 0;
		}
	}
	crypto_hash_sha256_final(&whole, sha);
	if ((r = upd_fd_read((void *)(intptr_t)in, buf, 1, &got)) != 0)
		return r;
	return got == 0 ? MM_OK : MM_ERR_TRAILING;
}

int
mm_upd_payload_hash_fd(int fd, uint32_t block_size, struct mm_upd_payload *p)
{
	uint8_t (*blocks)[MM_SHA256_LEN] = NULL;
	struct stat st;
	uint64_t size, nblocks = 0;
	off_t pos;
	int r;

	if (block_size != 0 && (block_size < MM_UPD_BLOCK_MIN ||
	    block_size > MM_UPD_BLOCK_MAX || (block_size & (block_size - 1)) != 0))
		return MM_ERR_RANGE;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (pos = lseek(fd, 0, SEEK_CUR)) < 0 || pos > st.st_size)
		return MM_ERR_IO;
	size = (uint64_t)(st.st_size - pos);
	if (size == 0 || size > MM_UPD_SIZE_MAX)
		return MM_ERR_RANGE;
	if (block_size != 0) {
		nblocks = (size + block_size - 1) / block_size;
		/* each takes 67 bytes in a manifest of MM_UPD_DOC_MAX */
		if (nblocks > MM_UPD_DOC_MAX / 64)
			return MM_ERR_TOO_LARGE;
		if ((blocks = mm_calloc((size_t)nblocks, MM_SHA256_LEN)) == NULL)
			return MM_ERR_ALLOC;
	}
	if ((r = upd_stream(fd, -1, size, block_size, p->sha256, blocks)) != 0) {
		mm_free(blocks);
		return r == MM_ERR_SHORT || r == MM_ERR_TRAILING ? MM_ERR_IO : r;
	}
	p->size = size;
	p->block_size = block_size;
	p->nblocks = (size_t)nblocks;
	p->blocks = blocks;
	return MM_OK;
}

int
mm_upd_payload_copy(int in, int out, const struct mm_upd_payload *p)
{
	uint8_t sha[MM_SHA256_LEN], (*blocks)[MM_SHA256_LEN] = NULL;
	int r;

	if (p->block_size != 0 &&
	    (blocks = mm_calloc(p->nblocks, MM_SHA256_LEN)) == NULL)
		return MM_ERR_ALLOC;
	r = upd_stream(in, out, p->size, p->block_size, sha, blocks);
	if (r == 0 && (memcmp(sha, p->sha256, sizeof(sha)) != 0 ||
	    (p->block_size != 0 &&
	    memcmp(blocks, p->blocks, p->nblocks * MM_SHA256_LEN) != 0)))
		r = MM_ERR_CORRUPT;
	mm_free(blocks);
	return r;
}
