/*
 * srv_ingest.h - messages from devices on their up topics: dispatch by
 * kind through a table, each handler with its own decoder and limits.
 * Called with s->lock held.
 */
#ifndef SRV_INGEST_H
#define SRV_INGEST_H

#include <stddef.h>

#include "server/srv.h"

/* Handles one message received on topic.  Bad input is refused, counted
 * and logged; it never stops the server. */
void srv_ingest_message(struct srv *s, const char *topic, const void *payload,
    size_t len);

#endif
