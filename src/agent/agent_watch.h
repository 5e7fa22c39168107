/*
 * agent_watch.h - who touches the log and the keys (T12/L2): fanotify
 * marks on the state directory and its log/, events of any process but
 * the monitor itself become LOG_ACCESS records.  See docs/seclog.md.
 */
#ifndef AGENT_WATCH_H
#define AGENT_WATCH_H

struct agent_watch;

/* One LOG_ACCESS record to write: severity and JSON text. */
typedef void (*agent_watch_fn)(void *arg, int severity, const char *text);

/*
 * Marks dir and dir/log.  Needs CAP_SYS_ADMIN at this moment only (the
 * monitor gives it up right after, see agent_watch_drop_cap);
 * MM_ERR_DENIED without it, MM_ERR_UNSUPPORTED on a kernel without
 * fanotify.
 */
int agent_watch_open(const char *dir, struct agent_watch **out);
/* Drops CAP_SYS_ADMIN from the monitor's effective and permitted sets. */
int agent_watch_drop_cap(void);
int agent_watch_fd(const struct agent_watch *w);
/* Reads what is pending (non-blocking) and reports it through fn: events
 * of one process on one file are merged, and at most 20 records a second
 * are written, the rest counted in the next one. */
void agent_watch_read(struct agent_watch *w, agent_watch_fn fn, void *arg);
void agent_watch_close(struct agent_watch *w);

#endif
