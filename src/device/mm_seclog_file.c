/*
 * mm_seclog_file.c - the sealed log's files and tag, shared by the writer
 * and the verifier: segment headers and reading, the segment list,
 * seclog.id and seclog.key, the HMAC context.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/params.h>

#include "common/mm_alloc.h"
#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "common/mm_file.h"
#include "device/mm_seclog_int.h"

/* Enough for a few dozen records per read; far above SL_RAW_MAX. */
#define SL_READ_BUF (64 * 1024)

int
mm_seclog_mac_new(struct mm_seclog_mac *m,
    const uint8_t log_id[MM_SECLOG_ID_LEN])
{
	memset(m, 0, sizeof(*m));
	if ((m->mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
		return MM_ERR_CRYPTO;
	if ((m->ctx = EVP_MAC_CTX_new(m->mac)) == NULL) {
		EVP_MAC_free(m->mac);
		m->mac = NULL;
		return MM_ERR_CRYPTO;
	}
	memcpy(m->pre, SL_TAG_CONTEXT, SL_TAG_CONTEXT_LEN);
	memcpy(m->pre + SL_TAG_CONTEXT_LEN, log_id, MM_SECLOG_ID_LEN);
	return MM_OK;
}

int
mm_seclog_mac_key(struct mm_seclog_mac *m, const uint8_t key[MM_SECLOG_KEY_LEN])
{
	OSSL_PARAM params[2];

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	m->keyed = 0;
	if (EVP_MAC_init(m->ctx, key, MM_SECLOG_KEY_LEN, params) != 1)
		return MM_ERR_CRYPTO;
	m->keyed = 1;
	return MM_OK;
}

int
mm_seclog_mac_tag(struct mm_seclog_mac *m,
    const uint8_t prev[MM_SECLOG_TAG_LEN], const uint8_t *body, size_t len,
    uint8_t tag[MM_SECLOG_TAG_LEN])
{
	size_t outl = 0;

	if (!m->keyed)
		return MM_ERR_INTERNAL;
	memcpy(m->pre + SL_TAG_CONTEXT_LEN + MM_SECLOG_ID_LEN, prev,
	    MM_SECLOG_TAG_LEN);
	/* NULL key: keep the key schedule, start a new message */
	if (EVP_MAC_init(m->ctx, NULL, 0, NULL) != 1 ||
	    EVP_MAC_update(m->ctx, m->pre, sizeof(m->pre)) != 1 ||
	    EVP_MAC_update(m->ctx, body, len) != 1 ||
	    EVP_MAC_final(m->ctx, tag, &outl, MM_SECLOG_TAG_LEN) != 1 ||
	    outl != MM_SECLOG_TAG_LEN)
		return MM_ERR_CRYPTO;
	return MM_OK;
}

void
mm_seclog_mac_free(struct mm_seclog_mac *m)
{
	EVP_MAC_CTX_free(m->ctx);	/* cleanses the keyed state */
	EVP_MAC_free(m->mac);
	m->ctx = NULL;
	m->mac = NULL;
	m->keyed = 0;
}

static uint32_t
sl_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static uint64_t
sl_get64(const uint8_t *p)
{
	return (uint64_t)sl_get32(p) << 32 | sl_get32(p + 4);
}

void
mm_seclog_seghdr_encode(uint8_t out[MM_SECLOG_SEG_HDR_LEN],
    const struct mm_seclog_seghdr *h)
{
	memset(out, 0, MM_SECLOG_SEG_HDR_LEN);
	memcpy(out, SL_SEG_MAGIC, SL_SEG_MAGIC_LEN);
	out[8] = SL_VERSION;
	/* out[9..11] reserved, zero */
	memcpy(out + 12, h->log_id, MM_SECLOG_ID_LEN);
	sl_put64(out + 28, h->first_seq);
	sl_put32(out + 36, h->first_epoch);
	memcpy(out + 40, h->prev_tag, MM_SECLOG_TAG_LEN);
}

int
mm_seclog_seghdr_decode(const uint8_t *buf, size_t len,
    struct mm_seclog_seghdr *h)
{
	struct mm_seclog_seghdr tmp;

	if (buf == NULL || len < MM_SECLOG_SEG_HDR_LEN)
		return MM_ERR_SHORT;
	if (memcmp(buf, SL_SEG_MAGIC, SL_SEG_MAGIC_LEN) != 0 ||
	    buf[8] != SL_VERSION || buf[9] != 0 || buf[10] != 0 || buf[11] != 0)
		return MM_ERR_FORMAT;
	memcpy(tmp.log_id, buf + 12, MM_SECLOG_ID_LEN);
	tmp.first_seq = sl_get64(buf + 28);
	tmp.first_epoch = sl_get32(buf + 36);
	memcpy(tmp.prev_tag, buf + 40, MM_SECLOG_TAG_LEN);
	if (tmp.first_seq == 0)
		return MM_ERR_FORMAT;
	*h = tmp;
	return MM_OK;
}

static int
sl_read_full(int fd, uint8_t *p, size_t len, size_t *got)
{
	ssize_t n;

	*got = 0;
	while (*got < len) {
		n = read(fd, p + *got, len - *got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return MM_ERR_IO;
		if (n == 0)
			break;
		*got += (size_t)n;
	}
	return MM_OK;
}

int
mm_seclog_segrd_open(struct mm_seclog_segrd *s, const char *path)
{
	uint8_t hdr[MM_SECLOG_SEG_HDR_LEN];
	struct stat st;
	size_t got;
	int r;

	memset(s, 0, sizeof(*s));
	if ((s->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return errno == ENOENT ? MM_ERR_NOT_FOUND : MM_ERR_IO;
	if (fstat(s->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		r = MM_ERR_IO;
		goto fail;
	}
	s->size = (uint64_t)st.st_size;
	if ((r = sl_read_full(s->fd, hdr, sizeof(hdr), &got)) != 0)
		goto fail;
	if ((r = mm_seclog_seghdr_decode(hdr, got, &s->hdr)) != 0)
		goto fail;
	if ((s->buf = mm_malloc(SL_READ_BUF)) == NULL) {
		r = MM_ERR_ALLOC;
		goto fail;
	}
	s->off = MM_SECLOG_SEG_HDR_LEN;
	return MM_OK;
 fail:
	close(s->fd);
	s->fd = -1;
	return r;
}

int
mm_seclog_segrd_next(struct mm_seclog_segrd *s, const uint8_t **raw,
    size_t *len, struct mm_seclog_record *rec)
{
	size_t used, avail, got;
	int r;

	for (;;) {
		avail = s->end - s->pos;
		r = mm_seclog_decode(s->buf + s->pos, avail, rec, &used);
		if (r == MM_OK) {
			*raw = s->buf + s->pos;
			*len = used;
			s->pos += used;
			s->off += used;
			return MM_OK;
		}
		if (r != MM_ERR_SHORT)
			return r;
		if (s->eof)
			return avail == 0 ? MM_ERR_NOT_FOUND : MM_ERR_SHORT;
		memmove(s->buf, s->buf + s->pos, avail);
		s->pos = 0;
		s->end = avail;
		if ((r = sl_read_full(s->fd, s->buf + s->end,
		    SL_READ_BUF - s->end, &got)) != 0)
			return r;
		if (got < SL_READ_BUF - s->end)
			s->eof = 1;
		s->end += got;
	}
}

int
mm_seclog_segrd_seek(struct mm_seclog_segrd *s, uint64_t off)
{
	if (off < MM_SECLOG_SEG_HDR_LEN || off > (uint64_t)INT64_MAX ||
	    lseek(s->fd, (off_t)off, SEEK_SET) < 0)
		return MM_ERR_IO;
	s->pos = s->end = 0;
	s->eof = 0;
	s->off = off;
	return MM_OK;
}

void
mm_seclog_segrd_close(struct mm_seclog_segrd *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	mm_free(s->buf);
	s->buf = NULL;
}

int
mm_seclog_seg_path(char *out, size_t outsz, const char *dir, uint64_t first_seq)
{
	int n = snprintf(out, outsz, "%s/%s/seg-%016llx.msl", dir, SL_LOG_DIR,
	    (unsigned long long)first_seq);

	if (n < 0 || (size_t)n >= outsz)
		return MM_ERR_TOO_LARGE;
	return MM_OK;
}

/* "seg-<16 lower-case hex>.msl" -> first seq; -1 for any other name. */
static int
sl_seg_name(const char *name, uint64_t *seq)
{
	uint64_t v = 0;
	int i, c;

	if (strlen(name) != 4 + 16 + 4 || strncmp(name, "seg-", 4) != 0 ||
	    strcmp(name + 20, ".msl") != 0)
		return -1;
	for (i = 4; i < 20; i++) {
		c = (unsigned char)name[i];
		if (c >= '0' && c <= '9')
			v = v << 4 | (uint64_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v = v << 4 | (uint64_t)(c - 'a' + 10);
		else
			return -1;
	}
	*seq = v;
	return 0;
}

static int
sl_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int
mm_seclog_segments(const char *logdir, uint64_t **seqs, size_t *n)
{
	uint64_t *v = NULL, *nv, seq;
	size_t cnt = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int r = MM_OK;

	if ((d = opendir(logdir)) == NULL)
		return errno == ENOENT ? MM_ERR_NOT_FOUND : MM_ERR_IO;
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0)
				r = MM_ERR_IO;
			break;
		}
		/* anything else (a rename's temporary file) is not a segment */
		if (sl_seg_name(de->d_name, &seq) != 0)
			continue;
		if (cnt == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			nv = mm_reallocarray(v, cap, sizeof(*v));
			if (nv == NULL) {
				r = MM_ERR_ALLOC;
				break;
			}
			v = nv;
		}
		v[cnt++] = seq;
	}
	closedir(d);
	if (r != MM_OK) {
		mm_free(v);
		return r;
	}
	if (cnt > 0)
		qsort(v, cnt, sizeof(*v), sl_cmp_u64);
	*seqs = v;
	*n = cnt;
	return MM_OK;
}

int
mm_seclog_read_id(const char *dir, uint8_t id[MM_SECLOG_ID_LEN])
{
	char path[SL_PATH_MAX], hex[2 * MM_SECLOG_ID_LEN + 1], *text = NULL;
	uint8_t tmp[MM_SECLOG_ID_LEN];
	size_t len, n;
	int r;

	if ((r = mm_path_join(path, sizeof(path), dir, SL_ID_FILE)) != 0 ||
	    (r = mm_file_read(path, 64, &text, &len)) != 0)
		return r == MM_ERR_TOO_LARGE ? MM_ERR_CORRUPT : r;
	r = MM_ERR_CORRUPT;
	n = len;
	if (n == 2 * MM_SECLOG_ID_LEN + 1 && text[n - 1] == '\n')
		n--;
	if (n != 2 * MM_SECLOG_ID_LEN)
		goto out;
	memcpy(hex, text, n);
	hex[n] = '\0';
	if (mm_hex_decode(tmp, sizeof(tmp), hex) != 0)
		goto out;
	memcpy(id, tmp, sizeof(tmp));
	r = MM_OK;
 out:
	mm_freezero(text, len + 1);
	return r;
}

int
mm_seclog_read_key(const char *dir, struct mm_slk_frontier *f)
{
	char path[SL_PATH_MAX], *text = NULL;
	uint8_t sum[MM_SHA256_LEN];
	const uint8_t *p;
	size_t len, body;
	int r;

	if ((r = mm_path_join(path, sizeof(path), dir, SL_KEY_FILE)) != 0 ||
	    (r = mm_file_read(path, SL_KEYFILE_MAX, &text, &len)) != 0)
		return r == MM_ERR_TOO_LARGE ? MM_ERR_CORRUPT : r;
	r = MM_ERR_CORRUPT;
	p = (const uint8_t *)text;
	if (len < SL_KEY_MAGIC_LEN + MM_SHA256_LEN ||
	    memcmp(p, SL_KEY_MAGIC, SL_KEY_MAGIC_LEN) != 0)
		goto out;
	body = len - MM_SHA256_LEN;
	mm_sha256(sum, p, body);
	if (mm_memeq_ct(sum, p + body, MM_SHA256_LEN) != 0)
		goto out;
	if (mm_slk_decode(f, p + SL_KEY_MAGIC_LEN,
	    body - SL_KEY_MAGIC_LEN) != 0)
		goto out;
	r = MM_OK;
 out:
	mm_freezero(text, len + 1);
	return r;
}

int
mm_seclog_write_key(const char *dir, const struct mm_slk_frontier *f)
{
	char path[SL_PATH_MAX];
	uint8_t buf[SL_KEYFILE_MAX];
	size_t len;
	int r;

	if ((r = mm_path_join(path, sizeof(path), dir, SL_KEY_FILE)) != 0)
		return r;
	memcpy(buf, SL_KEY_MAGIC, SL_KEY_MAGIC_LEN);
	if ((r = mm_slk_encode(f, buf + SL_KEY_MAGIC_LEN,
	    sizeof(buf) - SL_KEY_MAGIC_LEN - MM_SHA256_LEN, &len)) != 0)
		goto out;
	len += SL_KEY_MAGIC_LEN;
	mm_sha256(buf + len, buf, len);
	len += MM_SHA256_LEN;
	r = mm_file_write_atomic(path, buf, len, 0600);
 out:
	mm_wipe(buf, sizeof(buf));
	return r;
}

int
mm_seclog_seal_count(const uint8_t *p, size_t len, uint32_t *count)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 10 || (len > 1 && p[0] == '0'))
		return MM_ERR_FORMAT;
	for (i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return MM_ERR_FORMAT;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	if (v > UINT32_MAX)
		return MM_ERR_FORMAT;
	*count = (uint32_t)v;
	return MM_OK;
}

/* ---- files for tools ---- */

#define SL_INITKEY_FILE_MAX 4096	/* the key file handed to the fleet */

int
mm_seclog_keyfile_write(const char *path, const uint8_t id[MM_SECLOG_ID_LEN],
    const uint8_t key[MM_SECLOG_KEY_LEN])
{
	char idhex[2 * MM_SECLOG_ID_LEN + 1], keyhex[2 * MM_SECLOG_KEY_LEN + 1];
	char text[512];
	int n, r;

	mm_hex_encode(idhex, id, MM_SECLOG_ID_LEN);
	mm_hex_encode(keyhex, key, MM_SECLOG_KEY_LEN);
	n = snprintf(text, sizeof(text),
	    "# mamori sealed log: initial key (decision 0008).  Hand it to the\n"
	    "# fleet, then delete this file: it verifies and forges the log.\n"
	    "log_id=%s\nroot_key=%s\n", idhex, keyhex);
	r = n > 0 && (size_t)n < sizeof(text) ?
	    mm_file_write_atomic(path, text, (size_t)n, 0600) : MM_ERR_INTERNAL;
	mm_wipe(keyhex, sizeof(keyhex));
	mm_wipe(text, sizeof(text));
	return r;
}

int
mm_seclog_keyfile_read(const char *path, uint8_t id[MM_SECLOG_ID_LEN],
    uint8_t key[MM_SECLOG_KEY_LEN])
{
	char *text = NULL, *line, *next;
	size_t len;
	int r, have_id = 0, have_key = 0;

	if ((r = mm_file_read(path, SL_INITKEY_FILE_MAX, &text, &len)) != 0)
		return r;
	r = MM_OK;
	for (line = text; line != NULL && *line != '\0'; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (strncmp(line, "log_id=", 7) == 0 && !have_id) {
			if ((r = mm_hex_decode(id, MM_SECLOG_ID_LEN, line + 7)) != 0)
				break;
			have_id = 1;
		} else if (strncmp(line, "root_key=", 9) == 0 && !have_key) {
			if ((r = mm_hex_decode(key, MM_SECLOG_KEY_LEN, line + 9)) != 0)
				break;
			have_key = 1;
		} else {
			r = MM_ERR_FORMAT;
			break;
		}
	}
	if (r == MM_OK && (!have_id || !have_key))
		r = MM_ERR_FORMAT;
	mm_freezero(text, len + 1);
	if (r != MM_OK)
		mm_wipe(key, MM_SECLOG_KEY_LEN);
	return r;
}

int
mm_seclog_provision(const char *dir, const char *keyfile,
    uint8_t id[MM_SECLOG_ID_LEN])
{
	static const char *const files[] = { "seclog.key", "seclog.id" };
	uint8_t lid[MM_SECLOG_ID_LEN], key[MM_SECLOG_KEY_LEN];
	char path[SL_PATH_MAX];
	size_t i;
	int r;

	if ((r = mm_seclog_create(dir, lid, key)) != 0)
		return r;
	r = mm_seclog_keyfile_write(keyfile, lid, key);
	mm_wipe(key, sizeof(key));
	if (r != 0) {
		for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
			if (mm_path_join(path, sizeof(path), dir, files[i]) == 0)
				(void)unlink(path);
		if (mm_path_join(path, sizeof(path), dir, SL_LOG_DIR) == 0)
			(void)rmdir(path);
		return r;
	}
	if (id != NULL)
		memcpy(id, lid, sizeof(lid));
	return MM_OK;
}

int
mm_seclog_segment_list(const char *dir, uint64_t **seqs, size_t *n)
{
	char logdir[SL_PATH_MAX];
	int r;

	if ((r = mm_path_join(logdir, sizeof(logdir), dir, SL_LOG_DIR)) != 0)
		return r;
	return mm_seclog_segments(logdir, seqs, n);
}

int
mm_seclog_segment_path(char *out, size_t outsz, const char *dir,
    uint64_t first_seq)
{
	return mm_seclog_seg_path(out, outsz, dir, first_seq);
}
