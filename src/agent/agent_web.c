/*
 * agent_web.c - the admin page's connections: accept with per-source and
 * total limits, non-blocking TLS, reading a request with mm_http, deadlines
 * against slow clients, writing the answer.  What is answered is
 * agent_web_page.c's business.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "agent/agent_admin.h"
#include "agent/agent_web.h"
#include "common/mm_alloc.h"
#include "common/mm_buf.h"
#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "common/mm_log.h"
#include "device/mm_admin_msg.h"
#include "device/mm_http.h"
#include "proto/mm_msg.h"

#define WEB_BODY_CEILING 65536
#define WEB_LOG_GAP_MS 1000	/* at most one refusal notice a second */
#define WEB_PAUSE_MS 1000	/* no accept for this long when out of fds */
#define WEB_BATCH 4		/* requests per event before others' turn */
#define WEB_ACCEPT_BATCH 16

#define WEB_CONTAINER(p, type, member) \
	((type *)(void *)((char *)(p) - offsetof(type, member)))

/* ---- the server and its connections ---- */

enum web_state { WEB_HANDSHAKE, WEB_READ, WEB_WRITE };
enum { WEB_WAIT, WEB_GO, WEB_CLOSE };	/* what the state machine does next */

struct web_conn {
	struct agent_ev ev;		/* data.ptr of its epoll registration */
	struct agent_web *w;
	struct web_conn *prev, *next;
	int fd;
	SSL *ssl;
	enum web_state state;
	uint32_t events;		/* what epoll waits for */
	uint64_t deadline;
	int busy;			/* within a request: deadline timeout_ms */
	int close_after;
	char src[AGENT_SRC_MAX + 1];
	uint8_t *in;			/* bytes read, not yet answered */
	size_t inlen, inmax;
	struct mm_buf *out;		/* the answer being written */
	size_t outoff;
	struct mm_http_req req;
};

struct agent_web {
	struct agent_ev ev;		/* the listening socket */
	struct agent_admin *adm;
	SSL_CTX *ctx;
	int lfd, epfd;
	int listening;			/* registered with epoll */
	uint64_t resume_ms;		/* when to listen again after a pause */
	struct agent_web_conf conf;
	struct web_conn *conns;
	unsigned nconns;
	uint64_t refuse_log_ms;
	unsigned long refused;		/* since the last notice */
	uint64_t r429_log_ms;		/* throttled answers: logged once a second */
	unsigned long r429_quiet;
};


/* ---- connections ---- */

int
agent_web_source(const struct sockaddr *sa, socklen_t salen, char *out,
    size_t outsz)
{
	const struct sockaddr_in6 *s6;
	const struct sockaddr_in *s4;
	struct in6_addr a6;
	struct in_addr a4;
	char addr[INET6_ADDRSTRLEN];
	int n;

	if (sa->sa_family == AF_INET && salen >= sizeof(*s4)) {
		s4 = (const struct sockaddr_in *)(const void *)sa;
		a4 = s4->sin_addr;
	} else if (sa->sa_family == AF_INET6 && salen >= sizeof(*s6)) {
		s6 = (const struct sockaddr_in6 *)(const void *)sa;
		a6 = s6->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(&a6))
			memcpy(&a4, &a6.s6_addr[12], sizeof(a4));
		else {
			/* one subscriber usually holds a whole /64 */
			memset(&a6.s6_addr[8], 0, 8);
			if (inet_ntop(AF_INET6, &a6, addr, sizeof(addr)) == NULL)
				return MM_ERR_INTERNAL;
			n = snprintf(out, outsz, "ip:%s/64", addr);
			return n < 0 || (size_t)n >= outsz ? MM_ERR_TOO_LARGE :
			    MM_OK;
		}
	} else
		return MM_ERR_UNSUPPORTED;
	if (inet_ntop(AF_INET, &a4, addr, sizeof(addr)) == NULL)
		return MM_ERR_INTERNAL;
	n = snprintf(out, outsz, "ip:%s", addr);
	return n < 0 || (size_t)n >= outsz ? MM_ERR_TOO_LARGE : MM_OK;
}

static void
web_conn_close(struct web_conn *c)
{
	struct agent_web *w = c->w;

	(void)epoll_ctl(w->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	SSL_free(c->ssl);
	ERR_clear_error();
	close(c->fd);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	w->nconns--;
	mm_freezero(c->in, c->inmax);
	mm_buf_free(c->out);
	mm_freezero(c, sizeof(*c));
}

static int
web_conn_arm(struct web_conn *c, uint32_t events)
{
	struct epoll_event ee;

	if (events == c->events)
		return WEB_WAIT;
	memset(&ee, 0, sizeof(ee));
	ee.events = events;
	ee.data.ptr = &c->ev;
	if (epoll_ctl(c->w->epfd, EPOLL_CTL_MOD, c->fd, &ee) != 0)
		return WEB_CLOSE;
	c->events = events;
	return WEB_WAIT;
}

/* After a TLS call returned ret <= 0: wait for what it wants, or close. */
static int
web_conn_ssl_wait(struct web_conn *c, int ret)
{
	switch (SSL_get_error(c->ssl, ret)) {
	case SSL_ERROR_WANT_READ:
		return web_conn_arm(c, EPOLLIN);
	case SSL_ERROR_WANT_WRITE:
		return web_conn_arm(c, EPOLLOUT);
	default:		/* closed, reset, or a TLS failure */
		ERR_clear_error();
		return WEB_CLOSE;
	}
}

/* Reads what TLS has.  WEB_GO if the buffer is full. */
static int
web_conn_fill(struct web_conn *c)
{
	int n;

	while (c->inlen < c->inmax) {
		ERR_clear_error();
		n = SSL_read(c->ssl, c->in + c->inlen, (int)(c->inmax - c->inlen));
		if (n <= 0)
			return web_conn_ssl_wait(c, n);
		c->inlen += (size_t)n;
	}
	return WEB_GO;
}

static const char *
web_method_name(enum mm_http_method m)
{
	switch (m) {
	case MM_HTTP_GET: return "GET";
	case MM_HTTP_HEAD: return "HEAD";
	case MM_HTTP_POST: return "POST";
	default: return "-";
	}
}

/*
 * With a whole request (or a refusal) buffered, prepares its answer:
 * WEB_GO, state WEB_WRITE.  WEB_WAIT if more bytes are needed.
 */
static int
web_conn_request(struct web_conn *c)
{
	size_t used = 0;
	int r, st;

	if (c->inlen == 0)
		return WEB_WAIT;
	if (!c->busy) {
		c->busy = 1;
		c->deadline = agent_admin_now() + c->w->conf.timeout_ms;
	}
	r = mm_http_parse(&c->req, c->in, c->inlen, &used);
	if (r == MM_ERR_SHORT)
		return WEB_WAIT;
	if (r != MM_OK && c->req.status == 0)
		return WEB_CLOSE;
	st = agent_web_respond(c->w, c->src, &c->req, c->out, &c->close_after);
	if (st < 0) {
		mm_log(MM_LOG_WARN, "web: cannot answer %s: %s", c->src,
		    mm_strerror(st));
		return WEB_CLOSE;
	}
	/* never the query, the body or the cookies; an attack's thousands of
	 * throttled answers must not flood the log (the monitor logs the
	 * lockout itself) */
	if (st == 429 && agent_admin_now() - c->w->r429_log_ms < 1000)
		c->w->r429_quiet++;
	else {
		mm_log(MM_LOG_INFO, "web %s %s %d %s%s", web_method_name(c->req.method),
		    c->req.status == 0 ? c->req.path : "-", st, c->src,
		    st == 429 && c->w->r429_quiet > 0 ? " (and more throttled "
		    "answers not logged)" : "");
		if (st == 429) {
			c->w->r429_log_ms = agent_admin_now();
			c->w->r429_quiet = 0;
		}
	}
	if (r != MM_OK)
		used = c->inlen;	/* the connection closes after this */
	/* keep what follows, wipe what was answered (it may hold passwords) */
	memmove(c->in, c->in + used, c->inlen - used);
	mm_wipe(c->in + (c->inlen - used), used);
	c->inlen -= used;
	c->outoff = 0;
	c->state = WEB_WRITE;
	return WEB_GO;
}

/* Writes the answer; then closes or waits for the next request. */
static int
web_conn_flush(struct web_conn *c)
{
	size_t len = mm_buf_len(c->out);
	int n;

	while (c->outoff < len) {
		ERR_clear_error();
		n = SSL_write(c->ssl, mm_buf_ptr(c->out) + c->outoff,
		    (int)(len - c->outoff));
		if (n <= 0)
			return web_conn_ssl_wait(c, n);
		c->outoff += (size_t)n;
	}
	mm_buf_reset(c->out);
	c->outoff = 0;
	if (c->close_after) {
		(void)SSL_shutdown(c->ssl);	/* close_notify, no waiting */
		return WEB_CLOSE;
	}
	c->state = WEB_READ;
	mm_http_req_init(&c->req, c->w->conf.max_body);
	c->busy = c->inlen > 0;		/* a pipelined request has begun */
	c->deadline = agent_admin_now() + (c->busy ? c->w->conf.timeout_ms :
	    c->w->conf.idle_ms);
	return WEB_GO;
}

static void
web_conn_run(struct web_conn *c)
{
	int a, served = 0;

	for (;;) {
		switch (c->state) {
		case WEB_HANDSHAKE:
			ERR_clear_error();
			if ((a = SSL_accept(c->ssl)) == 1) {
				c->state = WEB_READ;
				a = WEB_GO;
			} else
				a = web_conn_ssl_wait(c, a);
			break;
		case WEB_READ:
			if (served == WEB_BATCH) {
				/* pipelined requests wait for the next round
				 * (a writable socket reports at once) */
				a = web_conn_arm(c, EPOLLOUT);
				break;
			}
			if ((a = web_conn_fill(c)) == WEB_CLOSE)
				break;
			if (web_conn_request(c) == WEB_GO) {
				served++;
				a = WEB_GO;
			} else if (a == WEB_GO)
				a = WEB_CLOSE;	/* full yet incomplete: cannot be */
			break;
		case WEB_WRITE:
		default:
			a = web_conn_flush(c);
			break;
		}
		if (a == WEB_CLOSE) {
			web_conn_close(c);
			return;
		}
		if (a == WEB_WAIT)
			return;
	}
}

static void
web_conn_on_event(struct agent_ev *ev, uint32_t events)
{
	struct web_conn *c = WEB_CONTAINER(ev, struct web_conn, ev);

	if (events & EPOLLERR) {
		web_conn_close(c);
		return;
	}
	web_conn_run(c);
}

static unsigned
web_count(const struct agent_web *w, const char *src)
{
	const struct web_conn *c;
	unsigned n = 0;

	for (c = w->conns; c != NULL; c = c->next)
		if (strcmp(c->src, src) == 0)
			n++;
	return n;
}

static void
web_refused(struct agent_web *w, const char *src)
{
	uint64_t now = agent_admin_now();

	w->refused++;
	if (w->refuse_log_ms != 0 && now - w->refuse_log_ms < WEB_LOG_GAP_MS)
		return;
	mm_log(MM_LOG_WARN, "web: connection from %s refused (%u open, %u from "
	    "there); %lu refused since the last notice", src, w->nconns,
	    web_count(w, src), w->refused);
	w->refused = 0;
	w->refuse_log_ms = now != 0 ? now : 1;
}

static void
web_conn_open(struct agent_web *w, int fd, const struct sockaddr *sa,
    socklen_t salen)
{
	char src[AGENT_SRC_MAX + 1];
	struct web_conn *c = NULL;
	struct epoll_event ee;
	size_t inmax = MM_HTTP_HEAD_MAX + w->conf.max_body;

	if (agent_web_source(sa, salen, src, sizeof(src)) != 0) {
		close(fd);
		return;
	}
	if (w->nconns >= w->conf.max_conns ||
	    web_count(w, src) >= w->conf.max_per_src) {
		web_refused(w, src);
		close(fd);
		return;
	}
	if ((c = mm_calloc(1, sizeof(*c))) == NULL ||
	    (c->in = mm_malloc(inmax)) == NULL ||
	    (c->out = mm_buf_new(AGENT_WEB_OUT_MAX)) == NULL ||
	    (c->ssl = SSL_new(w->ctx)) == NULL || SSL_set_fd(c->ssl, fd) != 1)
		goto fail;
	SSL_set_accept_state(c->ssl);
	SSL_set_mode(c->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	c->ev.fn = web_conn_on_event;
	c->w = w;
	c->fd = fd;
	c->inmax = inmax;
	memcpy(c->src, src, sizeof(src));
	c->state = WEB_HANDSHAKE;
	c->busy = 1;		/* the handshake and the first request */
	c->deadline = agent_admin_now() + w->conf.timeout_ms;
	mm_http_req_init(&c->req, w->conf.max_body);
	memset(&ee, 0, sizeof(ee));
	ee.events = EPOLLIN;
	ee.data.ptr = &c->ev;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ee) != 0)
		goto fail;
	c->events = EPOLLIN;
	c->next = w->conns;
	if (w->conns != NULL)
		w->conns->prev = c;
	w->conns = c;
	w->nconns++;
	return;
 fail:
	mm_log(MM_LOG_WARN, "web: cannot take a connection from %s", src);
	ERR_clear_error();
	if (c != NULL) {
		SSL_free(c->ssl);
		mm_buf_free(c->out);
		mm_free(c->in);
		mm_free(c);
	}
	close(fd);
}

static int
web_listen(struct agent_web *w, int on)
{
	struct epoll_event ee;

	if (on == w->listening)
		return MM_OK;
	memset(&ee, 0, sizeof(ee));
	ee.events = EPOLLIN;
	ee.data.ptr = &w->ev;
	if (epoll_ctl(w->epfd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, w->lfd,
	    &ee) != 0)
		return MM_ERR_IO;
	w->listening = on;
	return MM_OK;
}

static void
web_on_accept(struct agent_ev *ev, uint32_t events)
{
	struct agent_web *w = WEB_CONTAINER(ev, struct agent_web, ev);
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, i;

	(void)events;
	for (i = 0; i < WEB_ACCEPT_BATCH; i++) {
		sl = sizeof(ss);
		fd = accept4(w->lfd, (struct sockaddr *)&ss, &sl,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd >= 0) {
			web_conn_open(w, fd, (struct sockaddr *)&ss, sl);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM) {
			/* level-triggered: stop asking until the next tick */
			mm_log(MM_LOG_WARN, "web: accept: %s; pausing",
			    strerror(errno));
			if (web_listen(w, 0) == 0)
				w->resume_ms = agent_admin_now() + WEB_PAUSE_MS;
		} else if (errno != EAGAIN && errno != EWOULDBLOCK)
			mm_log(MM_LOG_WARN, "web: accept: %s", strerror(errno));
		return;
	}
}

int
agent_web_new(struct agent_admin *adm, SSL_CTX *ctx, int listen_fd,
    const struct agent_web_conf *conf, struct agent_web **out)
{
	struct agent_web *w;
	struct sigaction sa;
	int fl;

	if (adm == NULL || ctx == NULL || listen_fd < 0 || conf == NULL ||
	    conf->max_conns == 0 || conf->max_per_src == 0 ||
	    conf->timeout_ms == 0 || conf->idle_ms == 0 ||
	    conf->max_body == 0 || conf->max_body > WEB_BODY_CEILING)
		return MM_ERR_INVALID_ARG;
	if ((fl = fcntl(listen_fd, F_GETFL)) == -1 ||
	    fcntl(listen_fd, F_SETFL, fl | O_NONBLOCK) == -1)
		return MM_ERR_IO;
	if ((w = mm_calloc(1, sizeof(*w))) == NULL)
		return MM_ERR_ALLOC;
	w->ev.fn = web_on_accept;
	w->adm = adm;
	w->lfd = listen_fd;
	w->epfd = agent_admin_epfd(adm);
	w->conf = *conf;
	if (web_listen(w, 1) != 0) {
		mm_free(w);
		return MM_ERR_IO;
	}
	if (SSL_CTX_up_ref(ctx) != 1) {
		(void)web_listen(w, 0);
		mm_free(w);
		return MM_ERR_CRYPTO;
	}
	w->ctx = ctx;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	(void)sigaction(SIGPIPE, &sa, NULL);
	*out = w;
	return MM_OK;
}

void
agent_web_tick(struct agent_web *w, uint64_t now_ms)
{
	struct web_conn *c, *next;

	if (w == NULL)
		return;
	for (c = w->conns; c != NULL; c = next) {
		next = c->next;
		if (now_ms < c->deadline)
			continue;
		if (c->busy)
			mm_log(MM_LOG_INFO, "web: %s: request timed out", c->src);
		web_conn_close(c);
	}
	if (!w->listening && now_ms >= w->resume_ms)
		(void)web_listen(w, 1);
}

void
agent_web_free(struct agent_web *w)
{
	if (w == NULL)
		return;
	while (w->conns != NULL)
		web_conn_close(w->conns);
	(void)web_listen(w, 0);
	SSL_CTX_free(w->ctx);
	mm_freezero(w, sizeof(*w));
}

struct agent_admin *
agent_web_admin(const struct agent_web *w)
{
	return w->adm;
}

const struct agent_web_conf *
agent_web_settings(const struct agent_web *w)
{
	return &w->conf;
}
