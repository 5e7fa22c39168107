/*
 * srv_registry.h - the in-memory view of the device registry used on the
 * ingest hot path: state, last seen (flushed to the database in batches)
 * and the instance ids used for clone detection.
 */
#ifndef SRV_REGISTRY_H
#define SRV_REGISTRY_H

#include <stdint.h>

#include "proto/mm_topic.h"
#include "server/srv_db.h"

#define SRV_INSTANCE_LEN 16

enum srv_dev_state { SRV_DEV_REGISTERED, SRV_DEV_ACTIVE, SRV_DEV_REVOKED };

/* The device's local credential state as it reports it (decision 0007);
 * SRV_CRED_UNKNOWN is NULL in the database: never reported. */
enum srv_cred { SRV_CRED_UNKNOWN, SRV_CRED_INITIAL, SRV_CRED_SET, SRV_CRED_NONE };

/* Cumulative local-authentication counters stop growing here. */
#define SRV_AUTH_COUNT_MAX 1000000000000000000LL

struct srv_dev {
	char id[MM_DEVID_SIZE];
	enum srv_dev_state state;
	int64_t last_seen;
	int dirty;			/* last_seen not yet in the database */
	int revoked_alerted;
	char inst[SRV_INSTANCE_LEN + 1];	/* current instance */
	char prev_inst[SRV_INSTANCE_LEN + 1];
	int64_t switched_at;
	/* local authentication summary, flushed in the same batches */
	int auth_dirty;			/* the fields below not yet written */
	enum srv_cred cred;
	int64_t maint_until;		/* device clock; 0 = maintenance off */
	int64_t auth_failures;		/* to add to the stored counters */
	int64_t auth_refused;
	int64_t auth_lockouts;
};

struct srv_registry;

int srv_registry_new(struct srv_registry **out);
void srv_registry_free(struct srv_registry *reg);
/* (Re)loads every device's state from the database; keeps runtime fields
 * and values not yet flushed. */
int srv_registry_load(struct srv_registry *reg, struct srv_db *db);
struct srv_dev *srv_registry_get(struct srv_registry *reg, const char *id);
/* Adds or updates one device. */
int srv_registry_put(struct srv_registry *reg, const char *id,
    enum srv_dev_state state, struct srv_dev **out);
/* Writes every dirty last_seen and authentication summary in one
 * transaction; the pending counter increments are then zero. */
int srv_registry_flush(struct srv_registry *reg, struct srv_db *db);
size_t srv_registry_count(const struct srv_registry *reg);

/*
 * Records that a message from instance inst arrived at now.  Returns 1 if
 * this shows two live instances of one identity (instances alternating
 * A -> B -> A within window seconds), else 0.
 */
int srv_registry_seen(struct srv_dev *d, const char *inst, int64_t now,
    int64_t window);

/*
 * Records a local-authentication summary: cred and maint_until replace the
 * current values, the counts are added to the pending increments
 * (saturating at SRV_AUTH_COUNT_MAX).  Marks the device auth_dirty only if
 * something changed, so an idle heartbeat costs no database write.
 */
void srv_registry_auth(struct srv_dev *d, enum srv_cred cred,
    int64_t maint_until, int64_t failures, int64_t refused, int64_t lockouts);

enum srv_dev_state srv_dev_state_parse(const char *s);
const char *srv_dev_state_name(enum srv_dev_state st);
/* "initial", "set", "none" -> value; NULL or anything else: UNKNOWN. */
enum srv_cred srv_cred_parse(const char *s);
/* NULL for SRV_CRED_UNKNOWN. */
const char *srv_cred_name(enum srv_cred c);

#endif
