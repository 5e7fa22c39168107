/*
 * mm_seclog.h - the device's sealed security log (decision 0008): records
 * chained with HMAC-SHA256 under forward-secure epoch keys, written in
 * segments with group commit, cut back to the last valid record after a
 * crash, and verified from the initial key.
 */
#ifndef MM_SECLOG_H
#define MM_SECLOG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#define MM_SECLOG_KEY_LEN 32
#define MM_SECLOG_TAG_LEN 32
#define MM_SECLOG_ID_LEN 16
#define MM_SECLOG_SOURCE_MAX 64
#define MM_SECLOG_PAYLOAD_MAX 1024
#define MM_SECLOG_RECORD_MAX 2048	/* bytes after the length field */

/*
 * Files in conf.dir: seclog.id (the log id, 32 hex digits and a newline),
 * seclog.key ("MMSLKEY1", the frontier as mm_slk_encode writes it, and
 * SHA-256 of both), log/seg-<first seq, 16 lower-case hex>.msl.
 *
 * Segment header (MM_SECLOG_SEG_HDR_LEN bytes, then records): "MMSLSEG1",
 * version (1), 3 zero bytes, log id (16), first seq (8), first epoch (4),
 * previous tag (32).
 */
#define MM_SECLOG_SEG_HDR_LEN 72

/* Event types: KP13's list, and the log's own records. */
enum mm_seclog_type {
	MM_SLT_ATTACK = 1,	/* an attack detected */
	MM_SLT_AUTH,		/* user authentication */
	MM_SLT_DATA_ACCESS,
	MM_SLT_CONFIG,		/* configuration change */
	MM_SLT_EXEC,		/* application execution */
	MM_SLT_COMM,		/* communication */
	MM_SLT_TAMPER,		/* door / tamper switch */
	MM_SLT_CHECKSUM,	/* integrity check result */
	MM_SLT_MOVEMENT,
	MM_SLT_HW_FAILURE,
	MM_SLT_SW_FAILURE,
	MM_SLT_RESULT,		/* results of a function */
	MM_SLT_STATE,		/* device state */
	MM_SLT_ENVIRONMENT,	/* temperature, CPU and network load */
	MM_SLT_RESOURCE,	/* resource use */
	MM_SLT_UPDATE,		/* software update */
	MM_SLT_LOG_START,
	MM_SLT_LOG_STOP,
	MM_SLT_LOG_ACCESS,	/* someone touched the log files */
	MM_SLT_SEAL = 0x100,	/* end of an epoch (payload: record count) */
	MM_SLT_LOSS,		/* records dropped: how many, which range */
	MM_SLT_TIME,		/* clock offset learnt from the server */
};

struct mm_seclog_event {
	enum mm_seclog_type type;
	uint8_t severity;	/* 0 emergency .. 7 debug */
	const char *source;	/* 1..64 bytes */
	const void *payload;	/* 0..1024 bytes */
	size_t payload_len;
};

/* Names of the types ("attack", "log_access", "seal", ...); NULL if
 * unknown.  parse: MM_ERR_INVALID_ARG if unknown; user_only accepts only
 * the types callers may append (not the log's own). */
const char *mm_seclog_type_name(uint16_t type);
int mm_seclog_type_parse(const char *name, int user_only, uint16_t *out);

/* One decoded record (pointers into the reader's buffer). */
struct mm_seclog_record {
	uint64_t seq;
	uint32_t epoch;
	uint64_t wall_ms;
	uint64_t mono_ms;
	uint8_t boot_id[16];
	uint16_t type;
	uint8_t severity;
	const char *source;
	size_t source_len;
	const uint8_t *payload;
	size_t payload_len;
	uint8_t tag[MM_SECLOG_TAG_LEN];
};

struct mm_seclog_conf {
	const char *dir;		/* holds seclog.key, seclog.id and log/ */
	uint32_t epoch_records;		/* default 65536 */
	uint32_t epoch_ms;		/* default 60000 */
	size_t segment_bytes;		/* default 1 MiB */
	uint32_t group_records;		/* default 512 */
	uint32_t group_ms;		/* default 50 */
};

/*
 * Sets the defaults above.  epoch_records, epoch_ms and segment_bytes must
 * be > 0; group_records 0 means no sync by count (only mm_seclog_sync and
 * mm_seclog_tick), group_ms 0 means every tick syncs what is waiting.
 */
void mm_seclog_defaults(struct mm_seclog_conf *c);

/*
 * Provisioning: makes a new log in dir (seclog.id, seclog.key at epoch 0,
 * empty log/) and returns its log id and initial key for the fleet; the
 * device keeps only the frontier.  MM_ERR_EXISTS if there is one.
 */
int mm_seclog_create(const char *dir, uint8_t log_id[MM_SECLOG_ID_LEN],
    uint8_t root_key[MM_SECLOG_KEY_LEN]);
/* The same with a log id and initial key made elsewhere (tests, a factory
 * that generates the key off the device). */
int mm_seclog_create_from(const char *dir,
    const uint8_t log_id[MM_SECLOG_ID_LEN],
    const uint8_t root_key[MM_SECLOG_KEY_LEN]);

struct mm_seclog;

/*
 * Opens the log for appending: cuts a torn tail back to the last record
 * that verifies, completes an interrupted epoch change, and appends and
 * syncs a LOG_START record.  Writes *cut (if not NULL): bytes cut from the
 * tail.  MM_ERR_CORRUPT if the log cannot be continued (bad segment header,
 * damage before the current epoch, log shorter than the key's epoch says).
 * One writer per directory (flock; a second open fails with
 * MM_ERR_STATE); a struct mm_seclog is not thread-safe.
 */
int mm_seclog_open(const struct mm_seclog_conf *c, struct mm_seclog **out,
    size_t *cut);
/* Appends one record (buffered: not yet durable); *seq its number.  May end
 * the epoch first (count).  MM_ERR_INVALID_ARG / MM_ERR_TOO_LARGE for bad
 * events (SEAL is the log's own and refused).  After an I/O failure every
 * call fails with MM_ERR_IO: close, and reopen to recover. */
int mm_seclog_append(struct mm_seclog *l, const struct mm_seclog_event *ev,
    uint64_t *seq);
/* Group commit: writes and fdatasyncs everything appended; once it returns
 * MM_OK every record up to *durable_seq is acknowledged. */
int mm_seclog_sync(struct mm_seclog *l, uint64_t *durable_seq);
/* Timer work, call at least every group_ms: ends the epoch by time (also
 * an empty one), syncs a group that has waited group_ms. */
int mm_seclog_tick(struct mm_seclog *l);
/* Last appended and last durable sequence numbers, current epoch. */
void mm_seclog_position(const struct mm_seclog *l, uint64_t *last_seq,
    uint64_t *durable_seq, uint32_t *epoch);
/* The log's id. */
void mm_seclog_id(const struct mm_seclog *l, uint8_t id[MM_SECLOG_ID_LEN]);
/* Frees l without writing anything: for a child process right after fork,
 * which must neither keep the keys nor touch the log.  Keys wiped, files
 * closed (the parent keeps its lock).  NULL is allowed. */
void mm_seclog_abandon(struct mm_seclog *l);
/* Appends LOG_STOP, seals, syncs and closes; wipes the keys and frees l
 * (also when it fails).  NULL is allowed. */
int mm_seclog_close(struct mm_seclog *l);

/*
 * Retention (docs/seclog.md): while the segments take more than max_bytes,
 * removes the oldest whole segment, never the one being written.  Segments
 * whose records are all at or below acked (what the fleet holds) go
 * first and silently; if the bound still forces it, unacknowledged
 * records go too, and a LOSS record (severity 3, payload {"from":A,
 * "to":B,"count":N,"reason":"retention"}) states which, synced before
 * returning.  rep (may be NULL) says what was removed.
 */
struct mm_seclog_retain_report {
	uint32_t segments;		/* removed */
	uint64_t bytes;			/* removed */
	uint64_t lost_from, lost_to;	/* unacknowledged records removed; 0 */
	uint64_t loss_seq;		/* the LOSS record's seq, or 0 */
	uint64_t total;			/* bytes left in the segments */
};
int mm_seclog_retain(struct mm_seclog *l, uint64_t max_bytes, uint64_t acked,
    struct mm_seclog_retain_report *rep);

/* ---- forwarding (decision 0009) ---- */

/*
 * Reads batches of whole records, as they are in the segment files, for
 * the fleet.  It remembers where the last batch ended, so reading on from
 * there costs no rescan; any other start is found from the segment list.
 * A batch never crosses a segment, and holds only records up to upto (the
 * durable seq: a record the writer could still lose is never sent).
 */
struct mm_seclog_reader;
struct mm_seclog_batch {
	uint64_t first;		/* seq of the first record */
	uint32_t n;		/* records */
	size_t len;		/* bytes in buf */
	uint8_t prev[MM_SECLOG_TAG_LEN];	/* the tag before first */
	/* first > from: records from .. first - 1 are no longer on the
	 * device (removed by retention) */
};
int mm_seclog_reader_new(const char *dir, struct mm_seclog_reader **out);
void mm_seclog_reader_free(struct mm_seclog_reader *rd);
/*
 * Records from seq from on (from >= 1), at most upto, at most max bytes,
 * into buf.  MM_ERR_NOT_FOUND: nothing to send (from > upto, or the log
 * ends before from).  MM_ERR_CORRUPT: the files do not hold the sequence
 * they claim.  MM_ERR_NO_SPACE: max cannot hold the next record.
 */
int mm_seclog_reader_batch(struct mm_seclog_reader *rd, uint64_t from,
    uint64_t upto, uint8_t *buf, size_t max, struct mm_seclog_batch *b);

/* ---- reading and verifying (device tool and server) ---- */

/*
 * Decodes one record at buf[0..len): *used bytes.  MM_ERR_SHORT (incomplete),
 * MM_ERR_FORMAT / MM_ERR_TOO_LARGE (malformed).  Does not verify the tag.
 * rec->source is not NUL-terminated (source_len; it holds no NUL).
 */
int mm_seclog_decode(const uint8_t *buf, size_t len, struct mm_seclog_record *rec,
    size_t *used);

/* What a verification found. */
struct mm_seclog_report {
	uint64_t records;	/* verified */
	uint64_t first_seq, last_seq;
	uint32_t first_epoch, last_epoch;
	uint64_t seals;
	int complete;		/* last epoch sealed */
	/* mm_seclog_verify_dir: records 1 .. removed are no longer in the
	 * directory (retention); the chain is checked from the first segment
	 * on, and whether those records were true only the fleet can say */
	uint64_t removed;
	/* first problem, if any */
	int error;		/* 0 or an MM_ERR_* code */
	uint64_t error_seq;	/* the record it was found at (or the gap) */
	char what[160];		/* e.g. "tag does not verify (epoch 3)" */
};

/* A segment file's header. */
struct mm_seclog_seghdr {
	uint8_t log_id[MM_SECLOG_ID_LEN];
	uint64_t first_seq;
	uint32_t first_epoch;
	uint8_t prev_tag[MM_SECLOG_TAG_LEN];
};
/* Decodes the first MM_SECLOG_SEG_HDR_LEN bytes of buf.  MM_ERR_SHORT,
 * MM_ERR_FORMAT (magic, version, reserved bytes, first seq 0). */
int mm_seclog_seghdr_decode(const uint8_t *buf, size_t len,
    struct mm_seclog_seghdr *h);

struct mm_seclog_verifier;

/*
 * A verifier for the log with this id and initial key, starting at record
 * start_seq of epoch start_epoch whose previous tag is prev_tag (all zero
 * and 1, 0 for the beginning).  Keys of any epoch are derived from the root.
 * Started after seq 1, it cannot know how many records of start_epoch came
 * before start_seq: that epoch's SEAL count must then be at least the
 * number it saw.  The first record must be of start_epoch.
 */
int mm_seclog_verifier_new(const uint8_t log_id[MM_SECLOG_ID_LEN],
    const uint8_t root_key[MM_SECLOG_KEY_LEN], uint64_t start_seq,
    uint32_t start_epoch, const uint8_t prev_tag[MM_SECLOG_TAG_LEN],
    struct mm_seclog_verifier **out);
/* Feeds the raw bytes of one record (length field included).  MM_OK, or
 * the first problem (also kept in the report, after which every feed fails). */
int mm_seclog_verify_record(struct mm_seclog_verifier *v, const uint8_t *raw,
    size_t len);
void mm_seclog_verifier_report(const struct mm_seclog_verifier *v,
    struct mm_seclog_report *out);
void mm_seclog_verifier_free(struct mm_seclog_verifier *v);

/*
 * Where a verifier stands, so that verification can stop and go on later
 * (the fleet verifies batch after batch, across restarts).  A state from
 * mm_seclog_verifier_state given to mm_seclog_verifier_resume makes a
 * verifier that accepts exactly what the first one would have accepted
 * next.  mm_seclog_vstate_init gives the state before record 1.
 */
struct mm_seclog_vstate {
	uint64_t next_seq;
	uint32_t epoch;
	uint8_t sealed;		/* the last record was the SEAL of epoch */
	uint8_t count_known;	/* the verifier saw the epoch begin */
	uint64_t count;		/* records of the epoch so far, SEAL excluded */
	uint8_t prev[MM_SECLOG_TAG_LEN];
};
void mm_seclog_vstate_init(struct mm_seclog_vstate *st);
/* MM_ERR_STATE if the verifier has failed (its state is not to be kept). */
int mm_seclog_verifier_state(const struct mm_seclog_verifier *v,
    struct mm_seclog_vstate *st);
/* MM_ERR_INVALID_ARG for a state no verifier could be in. */
int mm_seclog_verifier_resume(const uint8_t log_id[MM_SECLOG_ID_LEN],
    const uint8_t root_key[MM_SECLOG_KEY_LEN],
    const struct mm_seclog_vstate *st, struct mm_seclog_verifier **out);

/*
 * Verifies a whole log directory (every segment in order, headers
 * included) with its initial key; fills rep (also on failure).  A log
 * that does not start at seq 1 fails (MM_ERR_CORRUPT, rep->removed says
 * how many records are gone): retention, or someone deleted them; only the
 * fleet's copy can tell.  MM_OK if
 * all verifies.  If seclog.key is there it must be the frontier the root
 * gives for its epoch E, and the log must end in E, or with the SEAL of
 * E - 1 (or of E: a crash before the key file moved on); so a log cut back
 * into a sealed epoch fails (MM_ERR_CORRUPT).  A partial record at the end
 * fails (MM_ERR_SHORT): mm_seclog_open cuts it.  Errors: MM_ERR_SIGNATURE
 * (a tag), MM_ERR_REPLAY (seq goes back), MM_ERR_CORRUPT (gaps, epochs,
 * SEALs, headers, key file), the decoder's codes, MM_ERR_IO.
 */
int mm_seclog_verify_dir(const char *dir, const uint8_t root_key[MM_SECLOG_KEY_LEN],
    struct mm_seclog_report *rep);
/* The same, but a log whose oldest segments are gone is checked from its
 * first segment's header on (rep->removed > 0, MM_OK if the rest holds). */
int mm_seclog_verify_dir_retained(const char *dir,
    const uint8_t root_key[MM_SECLOG_KEY_LEN], struct mm_seclog_report *rep);

/* ---- files for tools ---- */

/* The initial-key file handed to the fleet: "log_id=<hex>" and
 * "root_key=<hex>" lines ('#' comments allowed), mode 0600.  Reading is
 * strict: both lines once, nothing else; MM_ERR_FORMAT otherwise. */
int mm_seclog_keyfile_write(const char *path, const uint8_t id[MM_SECLOG_ID_LEN],
    const uint8_t key[MM_SECLOG_KEY_LEN]);
int mm_seclog_keyfile_read(const char *path, uint8_t id[MM_SECLOG_ID_LEN],
    uint8_t key[MM_SECLOG_KEY_LEN]);
/*
 * Provisioning in one step: mm_seclog_create in dir, then the key file at
 * keyfile; the initial key is wiped from memory.  If the key file cannot be
 * written the new log is removed again (a log whose initial key nobody
 * holds could never be verified).  *id (if not NULL) gets the log id.
 */
int mm_seclog_provision(const char *dir, const char *keyfile,
    uint8_t id[MM_SECLOG_ID_LEN]);
/* The first seqs of the segments of the log in dir, ascending (*seqs is
 * mm_free'd by the caller), and the path of one segment. */
int mm_seclog_segment_list(const char *dir, uint64_t **seqs, size_t *n);
int mm_seclog_segment_path(char *out, size_t outsz, const char *dir,
    uint64_t first_seq);

/* ---- formatting ---- */

/*
 * How mamori-log show and mamori-server log show print a record (either
 * tool adds its own fields: the device tool's verification, the server's
 * received_at).
 *
 * Text, one line:
 *   seq=S epoch=E time=T type=N severity=V source=SRC[ EXTRA] payload=PAY
 * T as mm_seclog_time_iso writes it; N the type's name
 * (mm_seclog_type_name), or "type-0x" and four lower-case hex digits for a
 * type this build does not know; SRC and PAY escaped as mm_seclog_escape
 * does (never cut short).
 *
 * JSON, one object with these members in this order: seq, epoch, wall_ms,
 * time (as in the text), mono_ms, boot_id (32 lower-case hex digits), type
 * (as in the text), severity, then source and payload as strings if the
 * bytes are UTF-8, else source_hex / payload_hex (lower-case hex).  The tag
 * is not shown.
 */

/* Wide enough for any time mm_seclog_time_iso writes, with its NUL. */
#define MM_SECLOG_TIME_MAX 48

/* Unix milliseconds as ISO 8601 UTC with milliseconds,
 * "2024-05-01T12:00:00.123Z"; "?" if the time cannot be shown. */
void mm_seclog_time_iso(uint64_t ms, char *out, size_t outsz);

/*
 * Bytes for a terminal: printable ASCII (0x20..0x7e) as it is, except the
 * backslash as "\\"; every other byte as "\xNN" (lower-case hex).  Writes
 * what fits into out, never half an escape, and always a NUL (if outsz >
 * 0); 4 * len + 1 bytes hold anything.  Returns the length written
 * (without the NUL).
 */
size_t mm_seclog_escape(char *out, size_t outsz, const uint8_t *p, size_t len);

/* Writes rec's line of text to out, newline included; extra (if not NULL,
 * e.g. "verified=yes") goes after the source, before the payload.  MM_OK,
 * MM_ERR_ALLOC or MM_ERR_IO. */
int mm_seclog_record_print(FILE *out, const struct mm_seclog_record *rec,
    const char *extra);

/* rec as a new JSON object (the caller adds its own members, dumps it and
 * json_decref's it); NULL if out of memory. */
json_t *mm_seclog_record_json(const struct mm_seclog_record *rec);

#endif
