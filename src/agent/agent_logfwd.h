/*
 * agent_logfwd.h - the monitor's side of forwarding the sealed log to the
 * fleet (decision 0009): batches for the network worker, what the fleet
 * acknowledged (seclog.acked), the clock offset the fleet's time shows
 * (TIME records), and retention against that acknowledgement.
 */
#ifndef AGENT_LOGFWD_H
#define AGENT_LOGFWD_H

#include <stdint.h>

#include "agent/agent.h"
#include "common/mm_buf.h"
#include "device/mm_seclog.h"

struct agent_logfwd;

/* For the log in c->state_dir (its writer l is open).  MM_ERR_CORRUPT if
 * seclog.acked is there but unreadable (it is then ignored: the fleet
 * de-duplicates what is sent again, so *out is still made). */
int agent_logfwd_open(const struct agent_conf *c, struct mm_seclog *l,
    struct agent_logfwd **out);
/* Writes seclog.acked if it moved, frees f.  NULL is allowed. */
void agent_logfwd_close(struct agent_logfwd *f);
/* Frees f writing nothing (a worker right after fork).  NULL is allowed. */
void agent_logfwd_abandon(struct agent_logfwd *f);

/* AGENT_IPC_LOG_BATCH and AGENT_IPC_LOG_ACK (fields in agent_ipc.h):
 * MM_OK, a status for the worker, or AGENT_IPC_BAD if req is malformed. */
#define AGENT_IPC_BAD 1
int agent_logfwd_batch(struct agent_logfwd *f, struct mm_buf *req,
    struct mm_buf *reply);
int agent_logfwd_ack(struct agent_logfwd *f, struct mm_buf *req);

/* Timer work, from the monitor's loop: retention every 10 s, seclog.acked
 * written at most every 5 s. */
void agent_logfwd_tick(struct agent_logfwd *f);

/* What the fleet acknowledged so far (for status output and tests). */
uint64_t agent_logfwd_acked(const struct agent_logfwd *f);

#endif
