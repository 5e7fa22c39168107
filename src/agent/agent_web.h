/*
 * agent_web.h - the HTTPS admin page, served inside the admin worker
 * (agent_admin.c) like a network camera's setup page.
 *
 * Non-blocking TLS connections on the admin worker's epoll loop, each
 * request parsed by mm_http and turned into one admin request for the
 * monitor (agent_admin_call), which alone authenticates, keeps sessions,
 * checks the CSRF token and the role (docs/decisions/0007).  This module
 * only renders pages, maps the monitor's answers to HTTP and keeps the
 * session token in a "__Host-mamori" cookie (Secure, HttpOnly,
 * SameSite=Strict, Path=/).  The routes are listed in agent_web.c.
 *
 * Limits against slow and greedy clients: at most max_conns connections,
 * at most max_per_src from one source (an IPv4 address or an IPv6 /64),
 * refused at accept before any TLS work; a deadline of timeout_ms for the
 * TLS handshake and then for each whole request (read, answer, write), not
 * per read; idle_ms between keep-alive requests; a read buffer of
 * MM_HTTP_HEAD_MAX + max_body bytes.
 */
#ifndef AGENT_WEB_H
#define AGENT_WEB_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

#include "agent/agent_admin.h"

struct mm_buf;
struct mm_http_req;

struct agent_web_conf {
	unsigned max_conns;	/* connections in all */
	unsigned max_per_src;	/* connections from one source */
	unsigned timeout_ms;	/* handshake, and each whole request */
	unsigned idle_ms;	/* keep-alive wait for the next request */
	size_t max_body;	/* request body bytes, at most 65536 */
	/* the password rules the page states (the monitor enforces them) */
	unsigned pw_min_len;
	unsigned pw_min_classes;
};

#define AGENT_WEB_CONF_DEFAULT { .max_conns = 64, .max_per_src = 8, \
	.timeout_ms = 10000, .idle_ms = 15000, .max_body = 4096, \
	.pw_min_len = 8, .pw_min_classes = 2 }

#define AGENT_WEB_COOKIE "__Host-mamori"
/* Room for any one response: a page of at most 65536 bytes and its head. */
#define AGENT_WEB_OUT_MAX (65536 + 4096)

struct agent_web;

/*
 * Starts serving listen_fd (a listening TCP socket; made non-blocking
 * here) on the epoll loop of adm with TLS context ctx.  Takes its own
 * reference to ctx; does not take listen_fd, which the caller closes after
 * agent_web_free.  Ignores SIGPIPE for the process (a client that resets
 * the connection must not end the worker).  MM_ERR_INVALID_ARG for zero
 * limits or max_body over 65536, MM_ERR_ALLOC, MM_ERR_IO (epoll or fcntl
 * failed).  *out is set only on success.
 */
int agent_web_new(struct agent_admin *adm, SSL_CTX *ctx, int listen_fd,
    const struct agent_web_conf *conf, struct agent_web **out);

/* Closes connections past their deadline and resumes accepting after a
 * pause for lack of descriptors.  Call every few hundred milliseconds with
 * agent_admin_now(). */
void agent_web_tick(struct agent_web *w, uint64_t now_ms);

/* Closes every connection, removes listen_fd from the loop, drops the
 * reference to ctx.  NULL is allowed. */
void agent_web_free(struct agent_web *w);

/*
 * Source string of a peer: "ip:192.0.2.1", "ip:2001:db8:1:2::/64" (an
 * IPv6 address cut to its /64), an IPv4-mapped IPv6 address as IPv4.
 * MM_ERR_UNSUPPORTED for other families, MM_ERR_TOO_LARGE if out[outsz]
 * is too small (AGENT_SRC_MAX + 1 always suffices).
 */
int agent_web_source(const struct sockaddr *sa, socklen_t salen, char *out,
    size_t outsz);

/*
 * Answers one parsed request from src (what a connection does after
 * mm_http_parse returned MM_OK; exposed for the unit tests): appends the
 * whole HTTP response to out, sets *close_after to 1 if the connection
 * must be closed after it, and returns the status code sent (for the log)
 * or a negative mm_err code.
 * A request the parser refused (req->status != 0) is answered with that
 * status and close.  MM_ERR_NO_SPACE if out is too small (65536 + 4096
 * bytes always suffice), out then holding part of a response.
 */
int agent_web_respond(struct agent_web *w, const char *src,
    const struct mm_http_req *req, struct mm_buf *out, int *close_after);

/* The admin worker w forwards requests to, and w's settings (for
 * agent_web_page.c). */
struct agent_admin *agent_web_admin(const struct agent_web *w);
const struct agent_web_conf *agent_web_settings(const struct agent_web *w);

#endif
