/*
 * srv_io.h - the I/O loop of the server's device-listener connection, the
 * ingest hot path.  It replaces libmosquitto's own loop thread so that one
 * read() brings in many TLS records (OpenSSL read-ahead) and every record
 * already buffered is handled before waiting again; libmosquitto's loop
 * would wait in select() for each message.
 */
#ifndef SRV_IO_H
#define SRV_IO_H

#include "server/srv.h"

/* Sets s->mq up with our TLS context and starts the I/O thread, which
 * connects (and reconnects with back-off) by itself. */
int srv_io_start(struct srv *s, const char *ca, const char *crt, const char *key);
/* Stops the thread and disconnects. */
void srv_io_stop(struct srv *s);

#endif
