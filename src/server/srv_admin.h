/*
 * srv_admin.h - operator actions on a fleet directory that do not need the
 * running server: revocation with CRL and broker reload, factory bundles,
 * listings.
 */
#ifndef SRV_ADMIN_H
#define SRV_ADMIN_H

#include <stdio.h>

#include "server/srv_conf.h"
#include "server/srv_db.h"

/* Regenerates <dir>/ca/crl.pem from the revoked certificates. */
int srv_admin_write_crl(const struct srv_conf *c, struct srv_db *db);

/* Marks the device and its certificates revoked, rewrites the CRL and, if
 * the embedded broker runs, restarts it so the CRL takes effect. */
int srv_admin_revoke(const struct srv_conf *c, struct srv_db *db,
    const char *devid, const char *reason);

/*
 * Writes a factory bundle for one device into outdir (created 0700):
 * agent.json, ca.crt (trust anchor), cmd_sign.pub, enroll.token (0600).
 * Copying it into the device's state directory is the factory step.
 */
int srv_admin_bundle(const struct srv_conf *c, const char *outdir,
    const char *serial, const char *model, const char *token);

void srv_admin_list_devices(struct srv_db *db, FILE *out);
void srv_admin_list_alerts(struct srv_db *db, FILE *out);
void srv_admin_list_stats(struct srv_db *db, FILE *out);
void srv_admin_list_commands(struct srv_db *db, FILE *out);

#endif
