/*
 * srv_admin.h - operator actions on a fleet directory that do not need the
 * running server: revocation with CRL and broker reload, factory bundles,
 * credential resets, listings.
 */
#ifndef SRV_ADMIN_H
#define SRV_ADMIN_H

#include <stdint.h>
#include <stdio.h>

#include "server/srv_cmd.h"
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

/*
 * Credential reset of a device's local user (decision 0007), in two steps.
 *
 * srv_admin_cred_reset makes an X25519 key pair, stores it in
 * <dir>/server/credreset/<devid>.key (0600; directory 0700) and queues
 * cred_reset {"user", "pub"} for the active device; *cmd_id gets the
 * command's id.  MM_ERR_INVALID_ARG for a bad user name or device id, else
 * as srv_cmd_queue.
 *
 * srv_admin_cred_open opens the device's sealed answer to the command that
 * carries the stored key: secret gets the one-time secret (printable
 * ASCII, NUL-terminated), user the account it belongs to.  Errors, each
 * logged with its reason: MM_ERR_NOT_FOUND (no key file, or no command for
 * it), MM_ERR_STATE (no answer yet, or the command did not succeed),
 * MM_ERR_FORMAT / MM_ERR_SIGNATURE (an answer that does not open).  The
 * caller shows the secret, wipes it, then calls srv_admin_cred_forget,
 * which deletes the key so the secret cannot be opened again.
 */
#define SRV_CRED_SECRET_MAX 208		/* 512 hex chars minus the seal */
int srv_admin_cred_reset(const struct srv_conf *c, struct srv_db *db,
    const char *devid, const char *user, int64_t *cmd_id);
int srv_admin_cred_open(const struct srv_conf *c, struct srv_db *db,
    const char *devid, char secret[SRV_CRED_SECRET_MAX + 1],
    char user[SRV_CMD_USER_MAX + 1]);
int srv_admin_cred_forget(const struct srv_conf *c, const char *devid);

void srv_admin_list_devices(struct srv_db *db, FILE *out);
void srv_admin_list_alerts(struct srv_db *db, FILE *out);
void srv_admin_list_stats(struct srv_db *db, FILE *out);
void srv_admin_list_commands(struct srv_db *db, FILE *out);

#endif
