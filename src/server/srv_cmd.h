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

/* Queues a command for an active device.  args: JSON object text or NULL.
 * MM_ERR_NOT_FOUND / MM_ERR_STATE / MM_ERR_FORMAT.  *id gets the row id. */
int srv_cmd_queue(struct srv_db *db, const char *devid, const char *name,
    const char *args, int64_t *id);

/* Signs and publishes every pending command (with s->lock held). */
int srv_cmd_dispatch(struct srv *s);

#endif
