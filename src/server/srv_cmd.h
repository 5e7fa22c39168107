/*
 * srv_cmd.h - signed commands to devices.  Operators queue them in the
 * database (any process); the running server assigns each the device's next
 * counter, signs it with the command key and publishes it, in one
 * transaction, and records the device's result.
 */
#ifndef SRV_CMD_H
#define SRV_CMD_H

#include <stdint.h>

#include "server/srv.h"

#define SRV_CMD_USER_MAX 32		/* a device's local user name */
#define SRV_CMD_MAINT_MAX_MIN 1440	/* maintenance {"minutes": 0..1440} */

/* Queues a command for an active device.  args: JSON object text or NULL.
 * MM_ERR_NOT_FOUND / MM_ERR_STATE / MM_ERR_FORMAT (also for arguments of
 * maintenance and cred_reset that the device would refuse: see
 * docs/protocol.md).  *id gets the row id. */
int srv_cmd_queue(struct srv_db *db, const char *devid, const char *name,
    const char *args, int64_t *id);

/* 1 if s is a valid local user name on a device: 1-32 of [a-z0-9._-],
 * starting with a letter. */
int srv_cmd_user_valid(const char *s);

/* Signs and publishes every pending command (with s->lock held). */
int srv_cmd_dispatch(struct srv *s);

#endif
