/*
 * agent_admin.h - the admin worker: serves the HTTPS admin page
 * (agent_web.c) and the mamorictl control socket, both unprivileged, and
 * forwards every request to the monitor, which alone decides
 * (docs/decisions/0007-local-authentication.md).
 */
#ifndef AGENT_ADMIN_H
#define AGENT_ADMIN_H

#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>
#include <openssl/ssl.h>

#include "agent/agent.h"

/* Source strings: "ip:<address>" (IPv6 cut to its /64) or "local:uid=<n>". */
#define AGENT_SRC_MAX 63

/*
 * One event-loop registration.  Modules embed it in their own structures
 * and put its address in epoll_event.data.ptr; the loop calls fn with the
 * epoll events.
 */
struct agent_ev {
	void (*fn)(struct agent_ev *ev, uint32_t events);
};

struct agent_admin;

/* Who may use the control socket: root, the user who started the agent,
 * and the members of ctl_group (primary or supplementary), resolved by the
 * monitor before the worker loses access to the user database. */
#define AGENT_CTL_MEMBERS_MAX 32
struct agent_ctl_acl {
	uid_t owner;
	gid_t gid;			/* (gid_t)-1: no group */
	size_t nmembers;
	uid_t members[AGENT_CTL_MEMBERS_MAX];
};

/*
 * Sends one admin request to the monitor and waits for its answer.  req is
 * an object built by the caller (op and its fields); this adds "src" and
 * "chan" ("web" or "ctl") and, when csrf is not NULL, "csrf".  On success
 * *resp is the monitor's reply object ({"ok":true,...} or
 * {"ok":false,"error":...}); json_decref it.  MM_ERR_IO if the monitor is
 * gone (the worker then exits).
 */
int agent_admin_call(struct agent_admin *a, json_t *req, const char *src,
    const char *chan, const char *csrf, json_t **resp);

/* The epoll descriptor of the admin worker's loop. */
int agent_admin_epfd(const struct agent_admin *a);

/* Monotonic milliseconds, the clock every admin time-out uses. */
uint64_t agent_admin_now(void);

/*
 * Runs the admin worker (in the child, after the privilege drop); returns
 * an AGENT_EXIT_* code.  web_fd and ctl_fd are listening sockets made by
 * the monitor (-1: none; web_ctx is NULL without web_fd).  A control
 * client is served only if its peer credentials (SO_PEERCRED) pass acl.
 */
int agent_admin_run(const struct agent_conf *c, SSL_CTX *web_ctx, int web_fd,
    int ctl_fd, const struct agent_ctl_acl *acl, int ipc_fd);

#endif
