/*
 * Unit tests for the HTTPS admin page (src/agent/agent_web.c) against a
 * fake monitor: routes, redirects, cookies, CSRF and Origin checks, error
 * mapping, escaping, security headers; then real TLS connections through
 * the epoll state machine (keep-alive, pipelining, slow clients,
 * per-source limit), with a forked client.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "agent/agent_admin.h"
#include "agent/agent_web.h"
#include "common/mm_buf.h"
#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "common/mm_log.h"
#include "common/mm_time.h"
#include "device/mm_http.h"

#define TOK "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define CSRF "c0ffee0123456789abcdef0123456789abcdef0123456789abcdef01234567"
#define COOKIE "Cookie: __Host-mamori=" TOK "\r\n"
#define FORM "Content-Type: application/x-www-form-urlencoded\r\n"

/* ---- the fake monitor ---- */

static struct {
	const char *role;
	int must_change;
	int calls;
	char op[32];
	char csrf[96];
	char src[64];
	char chan[8];
	json_t *req;			/* copy of the last request */
} mon;

static int epfd = -1;

uint64_t
agent_admin_now(void)
{
	return (uint64_t)mm_now_ms();
}

int
agent_admin_epfd(const struct agent_admin *a)
{
	(void)a;
	return epfd;
}

static json_t *
mon_err(const char *code, const char *msg)
{
	return json_pack("{s:b, s:s, s:s}", "ok", 0, "error", code, "message",
	    msg);
}

static int
mon_changes(const char *op)
{
	return strcmp(op, "whoami") != 0 && strcmp(op, "status") != 0 &&
	    strcmp(op, "users") != 0 && strcmp(op, "login") != 0;
}

static json_t *
mon_answer(json_t *req, const char *csrf)
{
	const char *op = json_string_value(json_object_get(req, "op"));
	const char *tok = json_string_value(json_object_get(req, "token"));
	const char *user = json_string_value(json_object_get(req, "user"));
	const char *pw = json_string_value(json_object_get(req, "password"));

	if (strcmp(op, "login") == 0) {
		if (strcmp(user, "slow") == 0)
			return json_pack("{s:b, s:s, s:s, s:i}", "ok", 0, "error",
			    "locked", "message", "wait", "retry_after", 30);
		if (strcmp(user, "admin") != 0 || strcmp(pw, "correct horse") != 0)
			return mon_err("auth", "wrong user name or password");
		return json_pack("{s:b, s:s, s:s, s:s, s:s, s:b}", "ok", 1,
		    "token", TOK, "csrf", CSRF, "user", "admin", "role",
		    mon.role, "must_change", mon.must_change);
	}
	if (tok == NULL || strcmp(tok, TOK) != 0)
		return mon_err("session", "not logged in");
	if (mon_changes(op) && (csrf == NULL || strcmp(csrf, CSRF) != 0))
		return mon_err("csrf", "the form has expired");
	if (strcmp(op, "whoami") == 0)
		return json_pack("{s:b, s:s, s:s, s:b, s:s}", "ok", 1, "user",
		    "admin", "role", mon.role, "must_change", mon.must_change,
		    "csrf", CSRF);
	if (mon.must_change && strcmp(op, "passwd") != 0 &&
	    strcmp(op, "logout") != 0)
		return mon_err("must_change", "change your password first");
	if (strcmp(op, "status") == 0)
		return json_pack("{s:b, s:s, s:s, s:s, s:s, s:b, s:b, s:I}",
		    "ok", 1, "device_id", "d-0011223344556677", "model",
		    "<cam>", "serial", "S/N 1&2", "fw_version", "1.2.3",
		    "enrolled", 1, "cred_initial", 0, "maintenance_until",
		    (json_int_t)1700000000);
	if (strcmp(op, "users") == 0)
		return strcmp(mon.role, "admin") != 0 ?
		    mon_err("denied", "your role does not allow this") :
		    json_pack("{s:b, s:[{s:s, s:s, s:b, s:I}, {s:s, s:s, s:b, "
		    "s:I}]}", "ok", 1, "users", "user", "admin", "role", "admin",
		    "must_change", 0, "changed", (json_int_t)1700000000, "user",
		    "x\"><script>", "role", "viewer", "must_change", 1, "changed",
		    (json_int_t)0);
	if (strcmp(op, "passwd") == 0) {
		if (strcmp(json_string_value(json_object_get(req, "old")),
		    "correct horse") != 0)
			return mon_err("auth", "the current password is wrong");
		if (strcmp(json_string_value(json_object_get(req, "new")),
		    "weakweak") == 0)
			return json_pack("{s:b, s:s, s:s, s:s}", "ok", 0, "error",
			    "policy", "message", "a <well-known> password",
			    "rule", "denylist");
		return json_pack("{s:b}", "ok", 1);
	}
	if (strcmp(op, "user_add") == 0 && strcmp(user, "admin") == 0)
		return mon_err("state", "that user exists already");
	if (strcmp(op, "maintenance") == 0 && json_integer_value(
	    json_object_get(req, "minutes")) > 0)
		return mon_err("presence", "press the maintenance button");
	return json_pack("{s:b}", "ok", 1);
}

int
agent_admin_call(struct agent_admin *a, json_t *req, const char *src,
    const char *chan, const char *csrf, json_t **resp)
{
	(void)a;
	mon.calls++;
	snprintf(mon.op, sizeof(mon.op), "%s",
	    json_string_value(json_object_get(req, "op")));
	snprintf(mon.csrf, sizeof(mon.csrf), "%s", csrf != NULL ? csrf : "");
	snprintf(mon.src, sizeof(mon.src), "%s", src);
	snprintf(mon.chan, sizeof(mon.chan), "%s", chan);
	json_decref(mon.req);
	mon.req = json_deep_copy(req);
	*resp = mon_answer(req, csrf);
	return *resp != NULL ? MM_OK : MM_ERR_ALLOC;
}

/* ---- driving one request ---- */

static struct agent_web *web;
static int lfd = -1;
static SSL_CTX *sctx;
static char resp[80000];
static const char *rbody;
static int rstatus, rclose;

static const char *
hdr(const char *name)
{
	static char v[512];
	char key[64];
	const char *p, *e;

	snprintf(key, sizeof(key), "\r\n%s: ", name);
	if ((p = strstr(resp, key)) == NULL || p > rbody)
		return NULL;
	p += strlen(key);
	e = strstr(p, "\r\n");
	snprintf(v, sizeof(v), "%.*s", (int)(e - p), p);
	return v;
}

static int
run(const char *raw)
{
	static struct mm_http_req req;
	struct mm_buf *out;
	size_t used;
	int st;

	mm_http_req_init(&req, 4096);
	(void)mm_http_parse(&req, (const uint8_t *)raw, strlen(raw), &used);
	assert_non_null(out = mm_buf_new(sizeof(resp) - 1));
	st = agent_web_respond(web, "ip:192.0.2.7", &req, out, &rclose);
	assert_true(st >= 200);
	memcpy(resp, mm_buf_ptr(out), mm_buf_len(out));
	resp[mm_buf_len(out)] = '\0';
	mm_buf_free(out);
	assert_non_null(rbody = strstr(resp, "\r\n\r\n"));
	rbody += 4;
	assert_int_equal(sscanf(resp, "HTTP/1.1 %d ", &rstatus), 1);
	assert_int_equal(rstatus, st);
	/* on every answer */
	assert_string_equal(hdr("Content-Security-Policy"), "default-src 'none'; "
	    "style-src 'self'; form-action 'self'; frame-ancestors 'none'; "
	    "base-uri 'none'");
	assert_string_equal(hdr("X-Frame-Options"), "DENY");
	assert_string_equal(hdr("X-Content-Type-Options"), "nosniff");
	assert_string_equal(hdr("Referrer-Policy"), "same-origin");
	assert_string_equal(hdr("Cache-Control"), "no-store");
	assert_string_equal(hdr("Strict-Transport-Security"), "max-age=31536000");
	if (req.method != MM_HTTP_HEAD)
		assert_int_equal(strtoul(hdr("Content-Length"), NULL, 10),
		    strlen(rbody));
	return st;
}

static int
post(const char *path, const char *extra, const char *body)
{
	static char raw[8192];

	snprintf(raw, sizeof(raw), "POST %s HTTP/1.1\r\nHost: cam.local\r\n"
	    "%s" FORM "Content-Length: %zu\r\n\r\n%s", path, extra, strlen(body),
	    body);
	return run(raw);
}

static int
setup(void **state)
{
	struct agent_web_conf c = AGENT_WEB_CONF_DEFAULT;
	struct sockaddr_in sin;

	(void)state;
	/* a stricter policy than the default: the page must say so */
	c.pw_min_len = 12;
	c.pw_min_classes = 3;
	memset(&mon, 0, sizeof(mon));
	mon.role = "admin";
	assert_int_not_equal(epfd = epoll_create1(0), -1);
	assert_int_not_equal(lfd = socket(AF_INET, SOCK_STREAM, 0), -1);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(lfd, 16), 0);
	assert_non_null(sctx = SSL_CTX_new(TLS_server_method()));
	assert_int_equal(agent_web_new((struct agent_admin *)&mon, sctx, lfd, &c,
	    &web), MM_OK);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	agent_web_free(web);
	web = NULL;
	SSL_CTX_free(sctx);
	close(lfd);
	close(epfd);
	json_decref(mon.req);
	mon.req = NULL;
	return 0;
}

/* ---- pages ---- */

static void
test_anonymous(void **state)
{
	(void)state;
	assert_int_equal(run("GET / HTTP/1.1\r\nHost: h\r\n\r\n"), 303);
	assert_string_equal(hdr("Location"), "/login");
	assert_int_equal(mon.calls, 0);
	assert_false(rclose);
	assert_null(hdr("Connection"));
	assert_int_equal(run("GET /login HTTP/1.1\r\nHost: h\r\n\r\n"), 200);
	assert_non_null(strstr(rbody, "action=\"/login\""));
	assert_non_null(strstr(hdr("Content-Type"), "text/html"));
	assert_int_equal(run("GET /login?changed=1 HTTP/1.1\r\nHost: h\r\n\r\n"),
	    200);
	assert_non_null(strstr(rbody, "password has been changed"));
	assert_int_equal(run("GET /style.css HTTP/1.1\r\nHost: h\r\n\r\n"), 200);
	assert_string_equal(hdr("Content-Type"), "text/css; charset=utf-8");
	/* a cookie that is not a token is no cookie */
	assert_int_equal(run("GET / HTTP/1.1\r\nHost: h\r\n"
	    "Cookie: __Host-mamori=xyz\r\n\r\n"), 303);
	assert_int_equal(mon.calls, 0);
	assert_int_equal(run("GET /nope HTTP/1.1\r\nHost: h\r\n\r\n"), 404);
	assert_int_equal(run("POST / HTTP/1.1\r\nHost: h\r\n\r\n"), 405);
	assert_string_equal(hdr("Allow"), "GET, HEAD");
	assert_int_equal(run("GET /logout HTTP/1.1\r\nHost: h\r\n\r\n"), 405);
	assert_string_equal(hdr("Allow"), "POST");
	assert_int_equal(run("HEAD /login HTTP/1.1\r\nHost: h\r\n"
	    "Connection: close\r\n\r\n"), 200);
	assert_string_equal(rbody, "");
	assert_true(strtoul(hdr("Content-Length"), NULL, 10) > 100);
	assert_string_equal(hdr("Connection"), "close");
	assert_true(rclose);
	/* refused by the parser: that status, and close */
	assert_int_equal(run("GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n"),
	    400);
	assert_true(rclose);
	assert_string_equal(hdr("Connection"), "close");
	assert_int_equal(run("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"),
	    303);
	assert_string_equal(hdr("Connection"), "keep-alive");
}

static void
test_login(void **state)
{
	(void)state;
	assert_int_equal(post("/login", "", "user=admin&password=correct+horse"),
	    303);
	assert_string_equal(hdr("Location"), "/");
	assert_string_equal(hdr("Set-Cookie"), "__Host-mamori=" TOK "; Secure; "
	    "HttpOnly; SameSite=Strict; Path=/");
	assert_string_equal(mon.op, "login");
	assert_string_equal(mon.csrf, "");
	assert_string_equal(mon.src, "ip:192.0.2.7");
	assert_string_equal(mon.chan, "web");
	assert_null(strstr(rbody, TOK));

	assert_int_equal(post("/login", "", "user=%3Cb%3E&password=x"), 401);
	assert_null(hdr("Set-Cookie"));
	assert_non_null(strstr(rbody, "Wrong user name or password"));
	assert_non_null(strstr(rbody, "value=\"&lt;b&gt;\""));
	assert_null(strstr(rbody, "<b>"));

	assert_int_equal(post("/login", "", "user=slow&password=x"), 429);
	assert_string_equal(hdr("Retry-After"), "30");
	assert_non_null(strstr(rbody, "30 seconds"));

	mon.must_change = 1;
	assert_int_equal(post("/login", "", "user=admin&password=correct+horse"),
	    303);
	assert_string_equal(hdr("Location"), "/password");

	/* cross-site, not a form, a broken form */
	mon.calls = 0;
	assert_int_equal(post("/login", "Origin: https://evil.example\r\n",
	    "user=admin&password=correct+horse"), 403);
	assert_int_equal(post("/login", "Origin: null\r\n",
	    "user=admin&password=correct+horse"), 403);
	assert_int_equal(post("/login", "", "user=admin&password=%zz"), 400);
	assert_int_equal(post("/login", "", "user=admin&user=root&password=x"),
	    400);
	assert_int_equal(run("POST /login HTTP/1.1\r\nHost: h\r\n"
	    "Content-Type: text/plain\r\nContent-Length: 3\r\n\r\na=b"), 415);
	assert_int_equal(mon.calls, 0);
	assert_int_equal(post("/login", "Origin: https://cam.local\r\n",
	    "user=admin&password=correct+horse"), 303);
}

static void
test_dashboard(void **state)
{
	(void)state;
	assert_int_equal(run("GET / HTTP/1.1\r\nHost: h\r\n" COOKIE "\r\n"), 200);
	assert_string_equal(mon.op, "status");
	assert_non_null(strstr(rbody, "&lt;cam&gt;"));
	assert_non_null(strstr(rbody, "S/N 1&amp;2"));
	assert_non_null(strstr(rbody, "d-0011223344556677"));
	assert_non_null(strstr(rbody, "on until 2023-11-14 22:13 UTC"));
	assert_non_null(strstr(rbody, "href=\"/users\""));
	assert_non_null(strstr(rbody, "href=\"/settings\""));
	assert_non_null(strstr(rbody, "value=\"" CSRF "\""));
	assert_non_null(strstr(rbody, "action=\"/logout\""));
	assert_null(strstr(rbody, TOK));
	assert_int_equal(run("HEAD / HTTP/1.1\r\nHost: h\r\n" COOKIE "\r\n"), 200);
	assert_string_equal(rbody, "");

	mon.role = "viewer";
	assert_int_equal(run("GET / HTTP/1.1\r\nHost: h\r\n" COOKIE "\r\n"), 200);
	assert_null(strstr(rbody, "href=\"/users\""));
	assert_null(strstr(rbody, "href=\"/settings\""));
	assert_int_equal(run("GET /users HTTP/1.1\r\nHost: h\r\n" COOKIE "\r\n"),
	    403);
	assert_int_equal(run("GET /settings HTTP/1.1\r\nHost: h\r\n" COOKIE
	    "\r\n"), 403);

	/* an unknown token: back to the login, the cookie cleared */
	assert_int_equal(run("GET / HTTP/1.1\r\nHost: h\r\nCookie: __Host-mamori="
	    "1111111111111111111111111111111111111111111111111111111111111111"
	    "\r\n\r\n"), 303);
	assert_string_equal(hdr("Location"), "/login");
	assert_string_equal(hdr("Set-Cookie"), "__Host-mamori=; Max-Age=0; "
	    "Secure; HttpOnly; SameSite=Strict; Path=/");

	mon.role = "admin";
	mon.must_change = 1;
	assert_int_equal(run("GET / HTTP/1.1\r\nHost: h\r\n" COOKIE "\r\n"), 303);
	assert_string_equal(hdr("Location"), "/password");
	assert_int_equal(run("GET /users HTTP/1.1\r\nHost: h\r\n" COOKIE "\r\n"),
	    303);
	assert_string_equal(hdr("Location"), "/password");
	assert_int_equal(run("GET /password HTTP/1.1\r\nHost: h\r\n" COOKIE
	    "\r\n"), 200);
	assert_non_null(strstr(rbody, "initial password"));
	assert_non_null(strstr(rbody, "at least 12 characters"));
	assert_non_null(strstr(rbody, "all three of letters, digits and symbols"));
	assert_non_null(strstr(rbody, "minlength=\"12\""));
}

static void
test_password(void **state)
{
	(void)state;
	mon.calls = 0;
	assert_int_equal(post("/password", COOKIE, "csrf=" CSRF "&old=a&new="
	    "abcdefgh1&confirm=abcdefgh2"), 422);
	/* only whoami (to keep the page's must-change notice), no passwd */
	assert_int_equal(mon.calls, 1);
	assert_string_equal(mon.op, "whoami");
	assert_non_null(strstr(rbody, "differ"));
	assert_non_null(strstr(rbody, "value=\"" CSRF "\""));
	mon.calls = 0;
	assert_int_equal(post("/password", COOKIE, "old=a&new=b&confirm=b"), 403);
	assert_int_equal(mon.calls, 0);
	assert_int_equal(post("/password", "", "csrf=" CSRF "&old=a&new=b&"
	    "confirm=b"), 303);
	assert_string_equal(hdr("Location"), "/login");
	assert_int_equal(mon.calls, 0);

	assert_int_equal(post("/password", COOKIE, "csrf=" CSRF "&old=correct+"
	    "horse&new=weakweak&confirm=weakweak"), 422);
	assert_string_equal(mon.op, "passwd");
	assert_string_equal(mon.csrf, CSRF);
	assert_non_null(strstr(rbody, "a &lt;well-known&gt; password"));
	assert_int_equal(post("/password", COOKIE, "csrf=" CSRF "&old=wrong&"
	    "new=N3w%21pass&confirm=N3w%21pass"), 401);
	assert_non_null(strstr(rbody, "current password is wrong"));
	assert_int_equal(post("/password", COOKIE, "csrf=bad&old=correct+horse&"
	    "new=N3w%21pass&confirm=N3w%21pass"), 403);
	assert_int_equal(post("/password", COOKIE, "csrf=" CSRF "&old=correct+"
	    "horse&new=N3w%21pass&confirm=N3w%21pass"), 303);
	assert_string_equal(hdr("Location"), "/login?changed=1");
	assert_non_null(strstr(hdr("Set-Cookie"), "Max-Age=0"));
	assert_string_equal(json_string_value(json_object_get(mon.req, "new")),
	    "N3w!pass");
	assert_string_equal(json_string_value(json_object_get(mon.req, "token")),
	    TOK);
}

static void
test_admin_pages(void **state)
{
	(void)state;
	assert_int_equal(run("GET /users HTTP/1.1\r\nHost: h\r\n" COOKIE "\r\n"),
	    200);
	assert_non_null(strstr(rbody, "x&quot;&gt;&lt;script&gt;"));
	assert_null(strstr(rbody, "<script>"));
	assert_non_null(strstr(rbody, "must be changed"));
	assert_int_equal(run("GET /users?done=1 HTTP/1.1\r\nHost: h\r\n" COOKIE
	    "\r\n"), 200);
	assert_non_null(strstr(rbody, "Done."));

	assert_int_equal(post("/users/add", COOKIE, "csrf=" CSRF "&user=bob&"
	    "role=operator&password=Initial-1234"), 303);
	assert_string_equal(hdr("Location"), "/users?done=1");
	assert_string_equal(mon.op, "user_add");
	assert_string_equal(json_string_value(json_object_get(mon.req, "role")),
	    "operator");
	assert_int_equal(post("/users/add", COOKIE, "csrf=" CSRF "&user=admin&"
	    "role=admin&password=Initial-1234"), 409);
	assert_non_null(strstr(rbody, "exists already"));
	mon.calls = 0;
	assert_int_equal(post("/users/add", COOKIE, "csrf=" CSRF "&user=bob&"
	    "role=root&password=x"), 400);
	assert_int_equal(mon.calls, 0);
	assert_int_equal(post("/users/delete", COOKIE, "csrf=" CSRF "&user=bob"),
	    303);
	assert_string_equal(mon.op, "user_del");

	assert_int_equal(run("GET /settings HTTP/1.1\r\nHost: h\r\n" COOKIE
	    "\r\n"), 200);
	assert_int_equal(post("/settings", COOKIE, "csrf=" CSRF
	    "&heartbeat_interval=300"), 303);
	assert_string_equal(hdr("Location"), "/settings?done=1");
	assert_string_equal(json_string_value(json_object_get(mon.req, "key")),
	    "heartbeat_interval");
	assert_int_equal(json_integer_value(json_object_get(mon.req, "value")),
	    300);
	assert_int_equal(post("/settings", COOKIE, "csrf=" CSRF
	    "&heartbeat_interval=-1"), 400);
	assert_int_equal(post("/settings", COOKIE, "csrf=" CSRF
	    "&heartbeat_interval=1e3"), 400);

	assert_int_equal(run("GET /maintenance HTTP/1.1\r\nHost: h\r\n" COOKIE
	    "\r\n"), 200);
	assert_non_null(strstr(rbody, "on until"));
	assert_int_equal(post("/maintenance", COOKIE, "csrf=" CSRF "&minutes=0"),
	    303);
	assert_int_equal(post("/maintenance", COOKIE, "csrf=" CSRF "&minutes=30"),
	    403);
	assert_non_null(strstr(rbody, "maintenance button"));

	assert_int_equal(post("/logout", COOKIE, "csrf=" CSRF), 303);
	assert_string_equal(mon.op, "logout");
	assert_string_equal(hdr("Location"), "/login");
	assert_non_null(strstr(hdr("Set-Cookie"), "Max-Age=0"));
	assert_int_equal(post("/logout", COOKIE, "csrf=nope"), 403);
}

static void
test_source(void **state)
{
	struct sockaddr_in6 s6;
	struct sockaddr_in s4;
	char out[AGENT_SRC_MAX + 1];

	(void)state;
	memset(&s4, 0, sizeof(s4));
	s4.sin_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.1", &s4.sin_addr);
	assert_int_equal(agent_web_source((struct sockaddr *)&s4, sizeof(s4),
	    out, sizeof(out)), MM_OK);
	assert_string_equal(out, "ip:192.0.2.1");
	memset(&s6, 0, sizeof(s6));
	s6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8:1:2:aaaa:bbbb:cccc:dddd", &s6.sin6_addr);
	assert_int_equal(agent_web_source((struct sockaddr *)&s6, sizeof(s6),
	    out, sizeof(out)), MM_OK);
	assert_string_equal(out, "ip:2001:db8:1:2::/64");
	inet_pton(AF_INET6, "::ffff:198.51.100.9", &s6.sin6_addr);
	assert_int_equal(agent_web_source((struct sockaddr *)&s6, sizeof(s6),
	    out, sizeof(out)), MM_OK);
	assert_string_equal(out, "ip:198.51.100.9");
	inet_pton(AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
	    &s6.sin6_addr);
	assert_int_equal(agent_web_source((struct sockaddr *)&s6, sizeof(s6),
	    out, sizeof(out)), MM_OK);
	assert_string_equal(out, "ip:ffff:ffff:ffff:ffff::/64");
	assert_int_equal(agent_web_source((struct sockaddr *)&s6, sizeof(s6),
	    out, 10), MM_ERR_TOO_LARGE);
	s4.sin_family = AF_UNIX;
	assert_int_equal(agent_web_source((struct sockaddr *)&s4, sizeof(s4),
	    out, sizeof(out)), MM_ERR_UNSUPPORTED);
}

/* ---- real TLS through the event loop ---- */

static int
tls_identity(SSL_CTX *ctx)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *n;
	int ok;

	ok = key != NULL && x != NULL && X509_set_version(x, 2) == 1 &&
	    ASN1_INTEGER_set(X509_get_serialNumber(x), 1) == 1 &&
	    X509_gmtime_adj(X509_getm_notBefore(x), -60) != NULL &&
	    X509_gmtime_adj(X509_getm_notAfter(x), 3600) != NULL &&
	    (n = X509_get_subject_name(x)) != NULL &&
	    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"cam.local", -1, -1, 0) == 1 &&
	    X509_set_issuer_name(x, n) == 1 && X509_set_pubkey(x, key) == 1 &&
	    X509_sign(x, key, EVP_sha256()) > 0 &&
	    SSL_CTX_use_certificate(ctx, x) == 1 &&
	    SSL_CTX_use_PrivateKey(ctx, key) == 1;
	X509_free(x);
	EVP_PKEY_free(key);
	return ok ? 0 : -1;
}

static int
tcp_connect(int port)
{
	struct sockaddr_in sin;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0)
		_exit(10);
	return fd;
}

/* Reads until the peer closes; returns the length read. */
static size_t
tls_read_all(SSL *s, char *buf, size_t max)
{
	size_t len = 0;
	int n;

	while (len < max - 1 && (n = SSL_read(s, buf + len,
	    (int)(max - 1 - len))) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	return len;
}

/* 0 if the server closes fd within ms milliseconds. */
static int
closed_within(int fd, int ms)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	char c;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return recv(fd, &c, 1, 0) == 0 ? 0 : -1;
}

static void
client(int port)
{
	static char buf[65536];
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	SSL *s;
	int fd, fd2, fd3;
	const char *p;

	/* keep-alive and pipelining: three answers on one connection */
	fd = tcp_connect(port);
	s = SSL_new(ctx);
	SSL_set_fd(s, fd);
	if (SSL_connect(s) != 1)
		_exit(11);
	p = "GET /style.css HTTP/1.1\r\nHost: h\r\n\r\n"
	    "GET /nope HTTP/1.1\r\nHost: h\r\n\r\n"
	    "POST /login HTTP/1.1\r\nHost: h\r\n" FORM "Content-Length: 33\r\n"
	    "Connection: close\r\n\r\nuser=admin&password=correct+horse";
	if (SSL_write(s, p, (int)strlen(p)) != (int)strlen(p))
		_exit(12);
	tls_read_all(s, buf, sizeof(buf));
	if (strncmp(buf, "HTTP/1.1 200 OK\r\n", 17) != 0 ||
	    (p = strstr(buf, "HTTP/1.1 404 ")) == NULL ||
	    (p = strstr(p, "HTTP/1.1 303 ")) == NULL ||
	    strstr(p, "Set-Cookie: __Host-mamori=" TOK) == NULL ||
	    strstr(p, "Connection: close") == NULL)
		_exit(13);
	SSL_free(s);
	close(fd);

	/* a slow client is cut off at the whole-request deadline */
	fd = tcp_connect(port);
	s = SSL_new(ctx);
	SSL_set_fd(s, fd);
	if (SSL_connect(s) != 1)
		_exit(14);
	SSL_write(s, "GET / HTTP/1.1\r\n", 16);
	usleep(300000);
	SSL_write(s, "Host: h\r\n", 9);	/* still under way */
	if (tls_read_all(s, buf, sizeof(buf)) != 0)
		_exit(15);
	SSL_free(s);
	close(fd);

	/* per source: the third connection is closed at once */
	fd = tcp_connect(port);
	fd2 = tcp_connect(port);
	fd3 = tcp_connect(port);
	if (closed_within(fd3, 400) != 0)
		_exit(16);
	if (send(fd, "x", 1, MSG_DONTWAIT | MSG_NOSIGNAL) != 1)
		_exit(17);
	close(fd);
	close(fd2);
	close(fd3);

	/* no TLS at all: dropped at the deadline */
	fd = tcp_connect(port);
	if (closed_within(fd, 6000) != 0)
		_exit(18);
	close(fd);
	SSL_CTX_free(ctx);
	_exit(0);
}

static void
test_tls(void **state)
{
	struct agent_web_conf c = AGENT_WEB_CONF_DEFAULT;
	struct epoll_event evs[16];
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	int64_t end;
	pid_t pid;
	int n, i, st = -1;

	(void)state;
	agent_web_free(web);
	c.timeout_ms = 2000;
	c.max_per_src = 2;
	assert_int_equal(tls_identity(sctx), 0);
	assert_int_equal(agent_web_new((struct agent_admin *)&mon, sctx, lfd, &c,
	    &web), MM_OK);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sin, &sl), 0);
	if ((pid = fork()) == 0)
		client(ntohs(sin.sin_port));
	assert_true(pid > 0);
	end = mm_now_ms() + 30000;
	while (mm_now_ms() < end) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			break;
		n = epoll_wait(epfd, evs, 16, 50);
		for (i = 0; i < n; i++) {
			struct agent_ev *ev = evs[i].data.ptr;

			ev->fn(ev, evs[i].events);
		}
		agent_web_tick(web, agent_admin_now());
	}
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_anonymous, setup, teardown),
		cmocka_unit_test_setup_teardown(test_login, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dashboard, setup, teardown),
		cmocka_unit_test_setup_teardown(test_password, setup, teardown),
		cmocka_unit_test_setup_teardown(test_admin_pages, setup, teardown),
		cmocka_unit_test(test_source),
		cmocka_unit_test_setup_teardown(test_tls, setup, teardown),
	};

	if (mm_crypto_init() != 0)
		return 1;
	mm_log_init("test_web", MM_LOG_WARN, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
