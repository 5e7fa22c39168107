/*
 * mm_upd_bundle.h - update bundle files (decision 0010, docs/update.md):
 * a streaming reader that authenticates before it gives out a payload
 * byte, and the writer used by mamori-sign.
 *
 * Format: "MMUPD1\n", then three parts, each a u32 big-endian length and
 * its bytes: the root chain (zero or more pairs of u32-prefixed root.json
 * and u32-prefixed envelope), the manifest, the manifest's envelope; then
 * each payload's bytes back to back in manifest order, nothing after.
 *
 * Memory: the reader holds at most one root.json and one envelope at a time
 * while it walks the chain, the manifest and its envelope (each at most
 * MM_UPD_DOC_MAX), and for payloads with blocks one block (at most
 * MM_UPD_BLOCK_MAX, 16 MiB); never a whole payload.
 */
#ifndef MM_UPD_BUNDLE_H
#define MM_UPD_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "device/mm_upd_keys.h"
#include "device/mm_upd_manifest.h"

#define MM_UPD_MAGIC "MMUPD1\n"
#define MM_UPD_MAGIC_LEN 7
#define MM_UPD_CHAIN_MAX 8		/* root versions in one bundle */
/* the largest chain part: MM_UPD_CHAIN_MAX pairs of two documents */
#define MM_UPD_CHAIN_PART_MAX \
	((uint32_t)MM_UPD_CHAIN_MAX * 2 * (4 + MM_UPD_DOC_MAX))

/*
 * Where bundle bytes come from: reads up to len bytes into buf, sets *got
 * (0 only at the end of the data) and returns MM_OK, or a negative MM_ERR_*.
 */
typedef int (*mm_upd_read_fn)(void *arg, void *buf, size_t len, size_t *got);

/* Called for each root chain pair, in bundle order (index from 0); a
 * non-zero return stops the reading with that error (reason in why). */
typedef int (*mm_upd_link_fn)(void *arg, size_t index, const uint8_t *root,
    size_t rootlen, const uint8_t *env, size_t envlen, char *why,
    size_t whylen);

/*
 * Reads the header (magic and the three parts) without judging anything:
 * calls on_link for each chain pair and returns the manifest and its
 * envelope in new buffers (mm_free).  For mamori-sign inspect; a device
 * uses mm_upd_reader_open.  MM_ERR_FORMAT (magic, a length that does not
 * add up), MM_ERR_TOO_LARGE (a part or the chain over its bound),
 * MM_ERR_SHORT (the data ended), or what on_link returned; why says where.
 */
int mm_upd_header_read(mm_upd_read_fn fn, void *arg, mm_upd_link_fn on_link,
    void *link_arg, uint8_t **manifest, size_t *mlen, uint8_t **env,
    size_t *envlen, char *why, size_t whylen);

struct mm_upd_reader;

/*
 * Opens a bundle: reads the header, applies the root chain to a copy of
 * trust (a root not newer than the one trusted is skipped; any other
 * refusal refuses the bundle), verifies the manifest against the resulting
 * root and accepts it for dev (mm_upd_manifest_verify), all before a
 * payload byte is read.  On failure returns the error with the reason in
 * why; on success *out reads the payloads.  The read function is called
 * only from the reader's functions, never past the bundle's declared end
 * plus one byte (to see that nothing follows).
 */
int mm_upd_reader_open(struct mm_upd_reader **out, mm_upd_read_fn fn,
    void *arg, const struct mm_upd_trust *trust,
    const struct mm_upd_device *dev, char *why, size_t whylen);
/* The same over a file descriptor (not closed by the reader). */
int mm_upd_reader_open_fd(struct mm_upd_reader **out, int fd,
    const struct mm_upd_trust *trust, const struct mm_upd_device *dev,
    char *why, size_t whylen);
/* The same over data[0..len), which must outlive the reader. */
int mm_upd_reader_open_mem(struct mm_upd_reader **out, const void *data,
    size_t len, const struct mm_upd_trust *trust,
    const struct mm_upd_device *dev, char *why, size_t whylen);

/* The accepted manifest; the trust store with the chain applied (persist it
 * only once the update is installed).  Both valid until the reader is freed. */
const struct mm_upd_manifest *mm_upd_reader_manifest(
    const struct mm_upd_reader *r);
const struct mm_upd_trust *mm_upd_reader_trust(const struct mm_upd_reader *r);

/*
 * Moves to the next payload (the first on the first call) and points *p at
 * its manifest entry; the rest of the current payload is read and checked
 * first.  MM_ERR_NOT_FOUND after the last payload.
 *
 * read: up to len bytes of the current payload.  *got = 0 means the payload
 * ended and its SHA-256 matched.  A payload with blocks is given out one
 * verified block at a time: no byte of a block reaches the caller before
 * the whole block matched its hash (and, for the last block, the payload
 * its sha256).  A payload without blocks is given out as read and judged
 * at its end: whatever was written from it must not be used (made bootable)
 * before read returned *got = 0 or mm_upd_reader_finish returned MM_OK.
 *
 * finish: reads and checks what is left and that nothing follows the last
 * payload; the final verdict.
 *
 * Errors: MM_ERR_CORRUPT (a hash did not match), MM_ERR_SHORT (the data
 * ended early), MM_ERR_TRAILING (bytes after the last payload), MM_ERR_IO
 * or what the read function returned, MM_ERR_STATE (read before
 * next_payload).  An error is final: every later call returns it.
 */
int mm_upd_reader_next_payload(struct mm_upd_reader *r,
    const struct mm_upd_payload **p);
int mm_upd_reader_read(struct mm_upd_reader *r, void *buf, size_t len,
    size_t *got);
int mm_upd_reader_finish(struct mm_upd_reader *r);
/* Why the reader failed ("" if it has not). */
const char *mm_upd_reader_why(const struct mm_upd_reader *r);
void mm_upd_reader_free(struct mm_upd_reader *r);

/* One pair of the root chain, for the writer. */
struct mm_upd_link {
	const uint8_t *root;
	size_t rootlen;
	const uint8_t *env;
	size_t envlen;
};

/*
 * The bundle header (magic and three parts) in a new buffer (mm_free).
 * MM_ERR_TOO_LARGE if a part is over its bound.
 */
int mm_upd_bundle_header(const struct mm_upd_link *chain, size_t nchain,
    const void *manifest, size_t mlen, const void *env, size_t envlen,
    uint8_t **out, size_t *outlen);

/*
 * Hashes a payload file from fd's current position to its end: size,
 * SHA-256 and, when block_size is not 0, the hash of each block (p->blocks
 * allocated; free it with mm_free).  p->name is left alone.  MM_ERR_RANGE
 * for an empty payload or one over MM_UPD_SIZE_MAX.
 */
int mm_upd_payload_hash_fd(int fd, uint32_t block_size,
    struct mm_upd_payload *p);
/*
 * Copies exactly p->size bytes from in to out, checking them against p
 * (MM_ERR_CORRUPT if they differ, MM_ERR_SHORT or MM_ERR_TRAILING if the
 * file is shorter or longer): a bundle is never written with a payload
 * its manifest does not describe.
 */
int mm_upd_payload_copy(int in, int out, const struct mm_upd_payload *p);

#endif
