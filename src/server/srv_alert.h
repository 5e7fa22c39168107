/*
 * srv_alert.h - fleet alerts: stored with a lifecycle (open, acknowledged,
 * resolved) and de-duplicated: a repeat of an open alert of the same kind
 * for the same device raises its hit count instead of a new row, replaces
 * its detail and raises (never lowers) its severity.
 */
#ifndef SRV_ALERT_H
#define SRV_ALERT_H

#include "server/srv_db.h"

enum srv_severity { SRV_SEV_INFO, SRV_SEV_WARNING, SRV_SEV_CRITICAL };

/* reqs: requirement identifiers the alert serves, e.g. "T7/L2 KP16". */
int srv_alert_raise(struct srv_db *db, const char *device_id, const char *kind,
    enum srv_severity sev, const char *reqs, const char *detail);

#endif
