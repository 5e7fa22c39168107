/*
 * srv_seclog.h - the fleet's copy of each device's sealed security log
 * (decisions 0008, 0009; docs/server-seclog.md): the initial keys the
 * operator imports, batches from up/log verified from the initial key where
 * the previous batch ended, stored, and judged (duplicate, resend, declared
 * gap, rewrite, tampering, splicing) with alerts; and the queries of the
 * command line (show, verify, status).
 *
 * Everything works on the fleet database only: srv_ingest.c publishes the
 * acknowledgement this module computes.  Not thread-safe; the running
 * server calls it with its lock held.
 */
#ifndef SRV_SECLOG_H
#define SRV_SECLOG_H

#include <stdint.h>
#include <stdio.h>

#include "proto/mm_logmsg.h"
#include "server/srv_db.h"

/* How a batch was judged. */
enum srv_seclog_outcome {
	SRV_SECLOG_STORED,	/* new records verified and stored */
	SRV_SECLOG_DUPLICATE,	/* every record already held, byte for byte */
	SRV_SECLOG_RESEND,	/* starts above what the fleet holds, no loss
				 * declared: the device is asked to resend */
	/* refusals: nothing stored, the verifier's state did not move */
	SRV_SECLOG_NO_KEY,	/* no initial key imported (log_unverifiable) */
	SRV_SECLOG_SPLICED,	/* another log's id (log_spliced) */
	SRV_SECLOG_MALFORMED,	/* not n whole records numbered from seq */
	SRV_SECLOG_REWRITTEN,	/* differs from what is held (log_rewritten) */
	SRV_SECLOG_TAMPERED,	/* does not verify (log_tampered) */
};

struct srv_seclog_result {
	enum srv_seclog_outcome outcome;
	int refused;		/* outcome is one of the refusals */
	uint32_t stored;	/* records stored from this batch */
	uint32_t duplicates;	/* records of it already held */
	uint64_t gap_from;	/* a declared gap accepted: gap_from..gap_to */
	uint64_t gap_to;	/* (0, 0: none) */
	int send_ack;		/* publish ack on down/log_ack */
	struct mm_logmsg_ack ack;
	char what[224];		/* one line for the server's log */
};

/*
 * Judges one decoded up/log batch of device devid and, in one transaction,
 * stores its new records and the verifier's new state, or refuses it
 * whole; raises the alerts and updates the per-device counters either way
 * (docs/server-seclog.md lists them).  Returns MM_OK when the batch was
 * judged: *res says how and what to acknowledge.  Any other return means
 * the server could not judge it (MM_ERR_DB, MM_ERR_ALLOC, MM_ERR_CORRUPT
 * for a stored state no verifier could be in): nothing changed, nothing is
 * to be sent, *res is not written.
 */
int srv_seclog_ingest(struct srv_db *db, const char *devid,
    const struct mm_logmsg_batch *b, struct srv_seclog_result *res);

/* Name of an outcome ("stored", "rewritten", ...). */
const char *srv_seclog_outcome_name(enum srv_seclog_outcome o);

/*
 * Imports the initial key of devid's log from a key file written by
 * `mamori-factory --seclog-key-out` or `mamori-log create`; the key is
 * wiped from memory afterwards.  *what (if not NULL) gets SRV_SECLOG_KEY_*.
 * The same key again changes nothing.  Another log's key needs replace:
 * the state is reset for the new log, the old log's records stay (they are
 * stored under their log id).  Errors: MM_ERR_NOT_FOUND (no such device),
 * MM_ERR_EXISTS (another log's key is there, no replace),
 * MM_ERR_KEY_MISMATCH (the same log id with another key: refused when
 * records of that log are stored, else needs replace), the key file's
 * errors (MM_ERR_FORMAT, MM_ERR_IO, ...), MM_ERR_DB.
 */
enum { SRV_SECLOG_KEY_NEW, SRV_SECLOG_KEY_SAME, SRV_SECLOG_KEY_REPLACED };
int srv_seclog_key_import(struct srv_db *db, const char *devid,
    const char *keyfile, int replace, int *what);

/* What `log show` prints. */
struct srv_seclog_filter {
	uint64_t from, to;	/* seq range, 0: open */
	int has_type;
	uint16_t type;
	int max_severity;	/* -1: any, else severity 0..max_severity */
	uint64_t limit;		/* 0: no limit */
	int json;		/* one JSON object per line */
};
void srv_seclog_filter_init(struct srv_seclog_filter *f);
/* Sets the type filter from a type's name ("auth", "loss", ...);
 * MM_ERR_INVALID_ARG if there is no such type. */
int srv_seclog_filter_type(struct srv_seclog_filter *f, const char *name);

/*
 * Prints the stored records of devid's current log (the imported key's)
 * matching f, in seq order, to out; *shown (if not NULL) gets how many.
 * Text: one line per record, non-printable bytes escaped as \xNN.
 * MM_ERR_NOT_FOUND if no key is imported, MM_ERR_CORRUPT for a stored
 * record that does not decode, MM_ERR_IO, MM_ERR_DB.
 */
int srv_seclog_show(struct srv_db *db, const char *devid,
    const struct srv_seclog_filter *f, FILE *out, uint64_t *shown);

/* What re-verifying a device's stored log found. */
struct srv_seclog_check {
	int ok;			/* all verifies, and ends where the state says */
	uint64_t records, epochs, seals, gaps;
	uint64_t first_seq, last_seq;
	uint64_t next_seq;	/* the stored state's */
	uint64_t error_seq;	/* where the first problem is (0: none) */
	char what[224];		/* the first problem */
};

/*
 * Re-verifies every stored record of devid's current log from seq 1 with
 * the initial key, starting again after each recorded gap from the anchor
 * stored with it, and compares the end with the stored state.  MM_OK when
 * the check ran (c->ok says how it went); MM_ERR_NOT_FOUND (no key),
 * MM_ERR_DB, MM_ERR_ALLOC otherwise.
 */
int srv_seclog_verify(struct srv_db *db, const char *devid,
    struct srv_seclog_check *c);
void srv_seclog_check_print(const char *devid,
    const struct srv_seclog_check *c, FILE *out);

/* A tab-separated table (header line first) of every device with an
 * imported key, or of devid only (MM_ERR_NOT_FOUND if it has none). */
int srv_seclog_status(struct srv_db *db, const char *devid, FILE *out);

#endif
