/*
 * srv_seclog_int.h - what the fleet's sealed-log ingest (srv_seclog.c) and
 * its key import and queries (srv_seclog_query.c) share.  Internal to
 * those two files: everything else uses srv_seclog.h.
 *
 * What has external linkage carries the srv_sl_ prefix, so that it cannot
 * meet libmamori's own sl_ statics (src/device); the struct tags and
 * macros keep the sl_ / SL_ names they have inside the module.
 */
#ifndef SRV_SECLOG_INT_H
#define SRV_SECLOG_INT_H

#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "device/mm_seclog.h"
#include "server/srv_db.h"

/* a log id in hex, with its NUL */
#define SL_ID_HEX (2 * MM_SECLOG_ID_LEN + 1)

/* A device's imported initial key (seclog_keys). */
struct sl_key {
	uint8_t id[MM_SECLOG_ID_LEN];
	uint8_t root[MM_SECLOG_KEY_LEN];
};

/* A device's row of seclog_state: where its verifier stands, counters. */
struct sl_state {
	struct mm_seclog_vstate v;
	uint64_t batches, records, duplicates, resends, gaps;
	int64_t last_batch_at;
	char last_error[256];	/* "<outcome>: <what>" */
};

/* The previous tag of record 1: all zero. */
extern const uint8_t srv_sl_zero_tag[MM_SECLOG_TAG_LEN];

/* Column col as exactly len bytes; MM_ERR_CORRUPT if it is not. */
int srv_sl_blob(sqlite3_stmt *st, int col, uint8_t *out, size_t len);

/* devid's imported key; MM_ERR_NOT_FOUND if no key is imported.  The
 * caller wipes k->root. */
int srv_sl_key_load(struct srv_db *db, const char *devid, struct sl_key *k);

/* The state of devid's log log_id; the state before record 1 if there is
 * none (or only one of another log).  MM_ERR_CORRUPT if the row is out of
 * range. */
int srv_sl_state_load(struct srv_db *db, const char *devid,
    const uint8_t *log_id, struct sl_state *s);

#endif
