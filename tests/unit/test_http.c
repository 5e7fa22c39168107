/* Unit tests for the strict HTTP/1.1 subset parser and its helpers
 * (src/device/mm_http.c): valid requests, pipelining, byte-by-byte
 * feeding, every refusal with its status, cookies, forms, escaping. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "common/mm_buf.h"
#include "common/mm_err.h"
#include "device/mm_http.h"

static struct mm_http_req req;

static int
parse_n(const char *s, size_t n, size_t max_body, size_t *consumed)
{
	mm_http_req_init(&req, max_body);
	return mm_http_parse(&req, (const uint8_t *)s, n, consumed);
}

static int
parse(const char *s, size_t *consumed)
{
	return parse_n(s, strlen(s), MM_HTTP_BODY_DEFAULT, consumed);
}

/* Expects s to be refused with status. */
static void
refused(const char *s, size_t n, int status)
{
	size_t c = 12345;
	int r = parse_n(s, n, MM_HTTP_BODY_DEFAULT, &c);

	if (r == MM_OK || r == MM_ERR_SHORT || req.status != status)
		fail_msg("expected %d for \"%.60s\", got r=%d status=%d", status,
		    s, r, req.status);
	assert_int_equal(c, 12345);	/* not written on failure */
}

#define REFUSED(s, st) refused((s), sizeof(s) - 1, (st))

static void
test_get(void **state)
{
	static const char r[] = "GET /status?x=1&y=%41 HTTP/1.1\r\n"
	    "Host: 192.168.1.20:8443\r\n"
	    "User-Agent:   curl/8.0  \r\n"
	    "Accept: */*\r\n\r\n";
	size_t c;

	(void)state;
	assert_int_equal(parse(r, &c), MM_OK);
	assert_int_equal(c, sizeof(r) - 1);
	assert_int_equal(req.method, MM_HTTP_GET);
	assert_int_equal(req.minor, 1);
	assert_string_equal(req.path, "/status");
	assert_true(req.has_query);
	assert_string_equal(req.query, "x=1&y=%41");
	assert_int_equal(req.nhdr, 3);
	assert_string_equal(mm_http_header(&req, "host"), "192.168.1.20:8443");
	assert_string_equal(mm_http_header(&req, "USER-AGENT"), "curl/8.0");
	assert_null(mm_http_header(&req, "cookie"));
	assert_int_equal(req.body_len, 0);
	assert_true(req.keep_alive);
	assert_int_equal(req.status, 0);
}

static void
test_post(void **state)
{
	static const char r[] = "POST /login HTTP/1.1\r\n"
	    "Host: cam.local\r\n"
	    "Content-Type: application/x-www-form-urlencoded\r\n"
	    "Content-Length: 27\r\n"
	    "Connection: close\r\n\r\n"
	    "user=admin&password=s3cr%21t";
	char v[64];
	size_t c;

	(void)state;
	assert_int_equal(parse_n(r, sizeof(r) - 1, MM_HTTP_BODY_DEFAULT, &c),
	    MM_OK);
	assert_int_equal(req.method, MM_HTTP_POST);
	assert_false(req.has_query);
	assert_int_equal(req.body_len, 27);
	assert_int_equal(c, sizeof(r) - 2);	/* the last byte is not in it */
	assert_false(req.keep_alive);
	assert_int_equal(mm_http_form(req.body, req.body_len, "user", v,
	    sizeof(v)), MM_OK);
	assert_string_equal(v, "admin");
	assert_int_equal(mm_http_form(req.body, req.body_len, "password", v,
	    sizeof(v)), MM_OK);
	assert_string_equal(v, "s3cr!");
}

static void
test_head_and_http10(void **state)
{
	size_t c;

	(void)state;
	assert_int_equal(parse("HEAD / HTTP/1.0\r\n\r\n", &c), MM_OK);
	assert_int_equal(req.method, MM_HTTP_HEAD);
	assert_int_equal(req.minor, 0);
	assert_false(req.keep_alive);
	assert_int_equal(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
	    &c), MM_OK);
	assert_true(req.keep_alive);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\n"
	    "Connection: foo, close\r\n\r\n", &c), MM_OK);
	assert_false(req.keep_alive);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\n\r\n",
	    &c), MM_OK);
	assert_string_equal(mm_http_header(&req, "x-empty"), "");
}

static void
test_pipelined(void **state)
{
	static const char r[] = "POST /a HTTP/1.1\r\nHost: h\r\n"
	    "Content-Length: 3\r\n\r\nabc"
	    "GET /b HTTP/1.1\r\nHost: h\r\n\r\n";
	size_t c, c2;

	(void)state;
	assert_int_equal(parse(r, &c), MM_OK);
	assert_string_equal(req.path, "/a");
	assert_memory_equal(req.body, "abc", 3);
	assert_int_equal(parse(r + c, &c2), MM_OK);
	assert_string_equal(req.path, "/b");
	assert_int_equal(c + c2, sizeof(r) - 1);
}

static void
test_incremental(void **state)
{
	static const char r[] = "POST /password HTTP/1.1\r\nHost: h\r\n"
	    "Cookie: a=b\r\nContent-Length: 10\r\n\r\n0123456789";
	uint8_t *buf;
	size_t i, c = 0;
	int rc = MM_ERR_SHORT;

	(void)state;
	/* a heap copy that grows, so valgrind and ASan see every over-read */
	mm_http_req_init(&req, 64);
	for (i = 1; i <= sizeof(r) - 1; i++) {
		assert_non_null(buf = malloc(i));
		memcpy(buf, r, i);
		rc = mm_http_parse(&req, buf, i, &c);
		if (i < sizeof(r) - 1)
			assert_int_equal(rc, MM_ERR_SHORT);
		else {
			assert_int_equal(rc, MM_OK);
			assert_int_equal(c, sizeof(r) - 1);
			assert_memory_equal(req.body, "0123456789", 10);
		}
		free(buf);
	}
	assert_string_equal(req.path, "/password");
	assert_string_equal(mm_http_header(&req, "cookie"), "a=b");
}

static void
test_refusals(void **state)
{
	char big[MM_HTTP_HEAD_MAX + 64];
	size_t n;
	int i;

	(void)state;
	/* line endings and control bytes */
	REFUSED("GET / HTTP/1.1\nHost: h\r\n\r\n", 400);
	REFUSED("GET / HTTP/1.1\r\nHost: h\n\r\n", 400);
	REFUSED("GET / HTTP/1.1\r\nHost: h\r\n\n", 400);
	REFUSED("GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n", 400);
	REFUSED("GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n", 400);
	REFUSED("GET /\0 HTTP/1.1\r\nHost: h\r\n\r\n", 400);
	REFUSED("GET / HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n", 400);
	REFUSED("GET / HTTP/1.1\r\nHost: h\r\nX: a\x01\r\n\r\n", 400);
	REFUSED("GET / HTTP/1.1\r\nHost: h\r\nX: a\x7f\r\n\r\n", 400);
	REFUSED("GET / HTTP/1.1\r\nHost: h\r\nX: caf\xc3\xa9\r\n\r\n", 400);
	REFUSED("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n", 400);
	REFUSED("GET / HTTP/1.1\r\nHost: h\r\nX\xc3\xa9: a\r\n\r\n", 400);
	REFUSED("\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", 400);
	/* obs-fold, bad names */
	REFUSED("GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", 400);
	REFUSED("GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n\tb\r\n\r\n", 400);
	REFUSED("GET / HTTP/1.1\r\nHost: h\r\nX : a\r\n\r\n", 400);
	REFUSED("GET / HTTP/1.1\r\nHost: h\r\nX(y): a\r\n\r\n", 400);
	REFUSED("GET / HTTP/1.1\r\nHost: h\r\n: a\r\n\r\n", 400);
	REFUSED("GET / HTTP/1.1\r\nHost: h\r\nnocolon\r\n\r\n", 400);
	/* request line */
	REFUSED("GET  / HTTP/1.1\r\nHost: h\r\n\r\n", 400);
	REFUSED("GET / HTTP/1.1 \r\nHost: h\r\n\r\n", 400);
	REFUSED("GET http://h/ HTTP/1.1\r\nHost: h\r\n\r\n", 400);
	REFUSED("GET * HTTP/1.1\r\nHost: h\r\n\r\n", 400);
	REFUSED("GET /a#frag HTTP/1.1\r\nHost: h\r\n\r\n", 400);
	REFUSED("GET /a%00b HTTP/1.1\r\nHost: h\r\n\r\n", 400);
	REFUSED("GET /a?b=%00 HTTP/1.1\r\nHost: h\r\n\r\n", 400);
	REFUSED("GET /a%zz HTTP/1.1\r\nHost: h\r\n\r\n", 400);
	REFUSED("GET /a% HTTP/1.1\r\nHost: h\r\n\r\n", 400);
	REFUSED("GET / HTTP/1.2x\r\nHost: h\r\n\r\n", 400);
	REFUSED("GET / http/1.1\r\nHost: h\r\n\r\n", 400);
	REFUSED("GET /\r\n\r\n", 400);
	REFUSED("GET / HTTP/2.0\r\nHost: h\r\n\r\n", 505);
	REFUSED("GET / HTTP/1.2\r\nHost: h\r\n\r\n", 505);
	REFUSED("PUT / HTTP/1.1\r\nHost: h\r\n\r\n", 501);
	REFUSED("get / HTTP/1.1\r\nHost: h\r\n\r\n", 501);
	REFUSED("G@T / HTTP/1.1\r\nHost: h\r\n\r\n", 400);
	/* Host, Content-Length, Transfer-Encoding */
	REFUSED("GET / HTTP/1.1\r\n\r\n", 400);
	REFUSED("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400);
	REFUSED("GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n", 400);
	REFUSED("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400);
	REFUSED("GET / HTTP/1.1\r\nHost: \r\n\r\n", 400);
	REFUSED("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\n"
	    "Content-Length: 1\r\n\r\nx", 400);
	REFUSED("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1, 1\r\n\r\nx",
	    400);
	REFUSED("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400);
	REFUSED("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\nx", 400);
	REFUSED("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400);
	REFUSED("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
	    "\r\n0\r\n\r\n", 501);
	REFUSED("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", 501);
	REFUSED("GET / HTTP/1.1\r\nHost: a\r\nCookie: a=1\r\nCookie: b=2\r\n\r\n",
	    400);
	REFUSED("GET / HTTP/1.1\r\nHost: a\r\nOrigin: x\r\nOrigin: y\r\n\r\n",
	    400);
	/* sizes */
	REFUSED("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4097\r\n\r\n", 413);
	REFUSED("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: "
	    "99999999999999999999999999999999999\r\n\r\n", 413);

	/* request line too long, complete and still incomplete */
	memset(big, 'a', sizeof(big));
	memcpy(big, "GET /", 5);
	memcpy(big + MM_HTTP_LINE_MAX + 100, " HTTP/1.1\r\n\r\n", 13);
	refused(big, MM_HTTP_LINE_MAX + 113, 414);
	refused(big, MM_HTTP_LINE_MAX + 3, 414);
	assert_int_equal(parse_n(big, MM_HTTP_LINE_MAX, 0, &n), MM_ERR_SHORT);
	/* path and query limits */
	n = (size_t)snprintf(big, sizeof(big), "GET /%0*d HTTP/1.1\r\nHost: h"
	    "\r\n\r\n", MM_HTTP_PATH_MAX, 0);
	refused(big, n, 414);
	n = (size_t)snprintf(big, sizeof(big), "GET /%0*d HTTP/1.1\r\nHost: h"
	    "\r\n\r\n", MM_HTTP_PATH_MAX - 1, 0);
	assert_int_equal(parse_n(big, n, 0, &n), MM_OK);
	n = (size_t)snprintf(big, sizeof(big), "GET /?%0*d HTTP/1.1\r\nHost: h"
	    "\r\n\r\n", MM_HTTP_QUERY_MAX + 1, 0);
	refused(big, n, 414);

	/* head too large: one long header, and incomplete */
	n = (size_t)snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nHost: h\r\n"
	    "X: %0*d\r\n\r\n", MM_HTTP_HEAD_MAX, 0);
	refused(big, n, 431);
	refused(big, MM_HTTP_HEAD_MAX + 1, 431);
	/* exactly the limit is fine */
	n = (size_t)snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nHost: h\r\n"
	    "X: %0*d\r\n\r\n", MM_HTTP_HEAD_MAX - 32, 0);
	assert_int_equal(n, MM_HTTP_HEAD_MAX);
	assert_int_equal(parse_n(big, n, 0, &n), MM_OK);
	/* too many header lines */
	n = (size_t)snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nHost: h\r\n");
	for (i = 0; i < MM_HTTP_HEADERS_MAX; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "X%d: y\r\n", i);
	n += (size_t)snprintf(big + n, sizeof(big) - n, "\r\n");
	refused(big, n, 431);
}

static void
test_errors_stick(void **state)
{
	static const char r[] = "GET / HTTP/1.1\r\nHost: h\r\nX: \x01\r\n\r\n";
	size_t c;

	(void)state;
	assert_int_equal(parse(r, &c), MM_ERR_FORMAT);
	assert_int_equal(mm_http_parse(&req, (const uint8_t *)r, sizeof(r) - 1,
	    &c), MM_ERR_FORMAT);
	assert_int_equal(req.status, 400);
	assert_int_equal(parse("PUT / HTTP/1.1\r\n", &c), MM_ERR_UNSUPPORTED);
	assert_int_equal(parse("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: "
	    "5000\r\n\r\n", &c), MM_ERR_TOO_LARGE);
	/* a shrinking buffer is the caller's bug */
	mm_http_req_init(&req, 0);
	assert_int_equal(mm_http_parse(&req, (const uint8_t *)"GET / HT", 8, &c),
	    MM_ERR_SHORT);
	assert_int_equal(mm_http_parse(&req, (const uint8_t *)"GET", 3, &c),
	    MM_ERR_INVALID_ARG);
}

static void
test_huge_body(void **state)
{
	static const char head[] = "POST /login HTTP/1.1\r\nHost: h\r\n"
	    "Content-Length: 4096\r\n\r\n";
	uint8_t *buf;
	size_t c, n = sizeof(head) - 1 + 4096;

	(void)state;
	assert_non_null(buf = calloc(1, n + 100));
	memcpy(buf, head, sizeof(head) - 1);
	mm_http_req_init(&req, 4096);
	assert_int_equal(mm_http_parse(&req, buf, n - 1, &c), MM_ERR_SHORT);
	assert_int_equal(mm_http_parse(&req, buf, n + 100, &c), MM_OK);
	assert_int_equal(c, n);
	/* the same with a smaller limit */
	mm_http_req_init(&req, 4095);
	assert_int_equal(mm_http_parse(&req, buf, n, &c), MM_ERR_TOO_LARGE);
	assert_int_equal(req.status, 413);
	free(buf);
}

static void
test_injection(void **state)
{
	size_t c;

	(void)state;
	/* response splitting / smuggling attempts */
	REFUSED("GET / HTTP/1.1\r\nHost: h\r\nX: a\r\rSet-Cookie: x=y\r\n\r\n",
	    400);
	REFUSED("GET / HTTP/1.1\r\nHost: h\r\nX: a\nSet-Cookie: x=y\r\n\r\n",
	    400);
	/* an encoded CRLF in the path stays encoded: the path is never
	 * decoded, so it can go into a log line or a 404 page as it is */
	assert_int_equal(parse("GET /a%0d%0aSet-Cookie:x HTTP/1.1\r\n"
	    "Host: h\r\n\r\n", &c), MM_OK);
	assert_string_equal(req.path, "/a%0d%0aSet-Cookie:x");
	/* a request hidden behind a body-less one is parsed on its own */
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\n\r\n"
	    "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
	    "\r\n", &c), MM_OK);
	assert_int_equal(c, 27);
}

static void
test_cookie(void **state)
{
	char v[80];
	size_t c;

	(void)state;
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\nCookie: a=1; "
	    "__Host-mamori=abc123;b=\"q v\"; c=\"quoted\"\r\n\r\n", &c), MM_OK);
	assert_int_equal(mm_http_cookie(&req, "__Host-mamori", v, sizeof(v)),
	    MM_OK);
	assert_string_equal(v, "abc123");
	assert_int_equal(mm_http_cookie(&req, "a", v, sizeof(v)), MM_OK);
	assert_string_equal(v, "1");
	assert_int_equal(mm_http_cookie(&req, "c", v, sizeof(v)), MM_OK);
	assert_string_equal(v, "quoted");
	assert_int_equal(mm_http_cookie(&req, "b", v, sizeof(v)), MM_ERR_FORMAT);
	assert_int_equal(mm_http_cookie(&req, "d", v, sizeof(v)),
	    MM_ERR_NOT_FOUND);
	assert_int_equal(mm_http_cookie(&req, "__Host-mamor", v, sizeof(v)),
	    MM_ERR_NOT_FOUND);
	snprintf(v, sizeof(v), "untouched");
	assert_int_equal(mm_http_cookie(&req, "__Host-mamori", v, 6),
	    MM_ERR_TOO_LARGE);
	assert_string_equal(v, "untouched");
	assert_int_equal(mm_http_cookie(&req, "__Host-mamori", v, 7), MM_OK);

	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\n\r\n", &c), MM_OK);
	assert_int_equal(mm_http_cookie(&req, "a", v, sizeof(v)),
	    MM_ERR_NOT_FOUND);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\n"
	    "Cookie: s=1; s=2\r\n\r\n", &c), MM_OK);
	assert_int_equal(mm_http_cookie(&req, "s", v, sizeof(v)), MM_ERR_FORMAT);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\n"
	    "Cookie: s=1;\r\n\r\n", &c), MM_OK);
	assert_int_equal(mm_http_cookie(&req, "s", v, sizeof(v)), MM_ERR_FORMAT);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\n"
	    "Cookie: s=1; novalue\r\n\r\n", &c), MM_OK);
	assert_int_equal(mm_http_cookie(&req, "s", v, sizeof(v)), MM_ERR_FORMAT);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\n"
	    "Cookie: s=a,b\r\n\r\n", &c), MM_OK);
	assert_int_equal(mm_http_cookie(&req, "s", v, sizeof(v)), MM_ERR_FORMAT);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\n"
	    "Cookie: s=\r\n\r\n", &c), MM_OK);
	assert_int_equal(mm_http_cookie(&req, "s", v, sizeof(v)), MM_OK);
	assert_string_equal(v, "");
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\n"
	    "Cookie: s=\"\"\r\n\r\n", &c), MM_OK);
	assert_int_equal(mm_http_cookie(&req, "s", v, sizeof(v)), MM_OK);
	assert_string_equal(v, "");
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\n"
	    "Cookie: s=\"abc\r\n\r\n", &c), MM_OK);
	assert_int_equal(mm_http_cookie(&req, "s", v, sizeof(v)), MM_ERR_FORMAT);
	assert_int_equal(parse("GET / HTTP/1.1\r\nHost: h\r\n"
	    "Cookie: x y=1\r\n\r\n", &c), MM_OK);
	assert_int_equal(mm_http_cookie(&req, "s", v, sizeof(v)), MM_ERR_FORMAT);
}

static int
form(const char *body, const char *name, char *out, size_t outsz)
{
	return mm_http_form((const uint8_t *)body, strlen(body), name, out,
	    outsz);
}

static void
test_form(void **state)
{
	char v[32], many[512];
	size_t n;
	int i;

	(void)state;
	assert_int_equal(form("a=1&b=two+words&c=%41%62%2B", "b", v, sizeof(v)),
	    MM_OK);
	assert_string_equal(v, "two words");
	assert_int_equal(form("a=1&b=two+words&c=%41%62%2B", "c", v, sizeof(v)),
	    MM_OK);
	assert_string_equal(v, "Ab+");
	assert_int_equal(form("a=&b=1", "a", v, sizeof(v)), MM_OK);
	assert_string_equal(v, "");
	assert_int_equal(form("a=1", "b", v, sizeof(v)), MM_ERR_NOT_FOUND);
	assert_int_equal(form("", "b", v, sizeof(v)), MM_ERR_NOT_FOUND);
	assert_int_equal(form("%61=x", "a", v, sizeof(v)), MM_OK);
	assert_string_equal(v, "x");
	/* UTF-8 is fine when valid */
	assert_int_equal(form("p=%E3%81%82%C3%A9", "p", v, sizeof(v)), MM_OK);
	assert_string_equal(v, "\xe3\x81\x82\xc3\xa9");

	snprintf(v, sizeof(v), "keep");
	assert_int_equal(form("a=%zz", "a", v, sizeof(v)), MM_ERR_FORMAT);
	assert_int_equal(form("a=%4", "a", v, sizeof(v)), MM_ERR_FORMAT);
	assert_int_equal(form("a=%", "a", v, sizeof(v)), MM_ERR_FORMAT);
	assert_int_equal(form("a=%00", "a", v, sizeof(v)), MM_ERR_FORMAT);
	assert_int_equal(form("a=%0a", "a", v, sizeof(v)), MM_ERR_FORMAT);
	assert_int_equal(form("a=%0D%0A", "a", v, sizeof(v)), MM_ERR_FORMAT);
	assert_int_equal(form("a=%7f", "a", v, sizeof(v)), MM_ERR_FORMAT);
	assert_int_equal(form("a=%C2%85", "a", v, sizeof(v)), MM_ERR_FORMAT);
	assert_int_equal(form("a=%C3", "a", v, sizeof(v)), MM_ERR_FORMAT);
	assert_int_equal(form("a=%C0%AF", "a", v, sizeof(v)), MM_ERR_FORMAT);
	assert_int_equal(form("a=%ED%A0%80", "a", v, sizeof(v)), MM_ERR_FORMAT);
	assert_int_equal(form("a=%F4%90%80%80", "a", v, sizeof(v)),
	    MM_ERR_FORMAT);
	assert_int_equal(form("a=%FF", "a", v, sizeof(v)), MM_ERR_FORMAT);
	assert_int_equal(form("a=1&a=2", "a", v, sizeof(v)), MM_ERR_FORMAT);
	assert_int_equal(form("a=1&%61=2", "b", v, sizeof(v)), MM_ERR_FORMAT);
	assert_int_equal(form("a=1&&b=2", "a", v, sizeof(v)), MM_ERR_FORMAT);
	assert_int_equal(form("a=1&", "a", v, sizeof(v)), MM_ERR_FORMAT);
	assert_int_equal(form("&a=1", "a", v, sizeof(v)), MM_ERR_FORMAT);
	assert_int_equal(form("a", "a", v, sizeof(v)), MM_ERR_FORMAT);
	assert_int_equal(form("=1", "a", v, sizeof(v)), MM_ERR_FORMAT);
	assert_int_equal(form("a=1=2", "a", v, sizeof(v)), MM_ERR_FORMAT);
	assert_int_equal(form("a=b c", "a", v, sizeof(v)), MM_ERR_FORMAT);
	assert_int_equal(form("a=\xc3\xa9", "a", v, sizeof(v)), MM_ERR_FORMAT);
	/* a bad field elsewhere spoils the whole body */
	assert_int_equal(form("a=1&b=%zz", "a", v, sizeof(v)), MM_ERR_FORMAT);
	assert_int_equal(form("a=0123456789012345678901234567890123", "a", v,
	    sizeof(v)), MM_ERR_TOO_LARGE);
	assert_int_equal(form("a=0123456789012345678901234567890", "a", v,
	    sizeof(v)), MM_OK);
	assert_int_equal(form("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa=1", "a", v,
	    sizeof(v)), MM_ERR_FORMAT);
	snprintf(v, sizeof(v), "keep");
	assert_int_equal(form("a=12345", "a", v, 5), MM_ERR_TOO_LARGE);
	assert_string_equal(v, "keep");

	/* field count */
	for (i = 0, n = 0; i < MM_HTTP_FORM_FIELDS_MAX; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n, "%sf%d=1",
		    i ? "&" : "", i);
	assert_int_equal(form(many, "f15", v, sizeof(v)), MM_OK);
	snprintf(many + n, sizeof(many) - n, "&x=1");
	assert_int_equal(form(many, "f0", v, sizeof(v)), MM_ERR_FORMAT);
}

static void
test_escape(void **state)
{
	static const char in[] = "<a href=\"x\">O'Neil & co</a>";
	struct mm_buf *b;

	(void)state;
	assert_non_null(b = mm_buf_new(1024));
	assert_int_equal(mm_html_escape(b, in, strlen(in)), MM_OK);
	assert_int_equal(mm_buf_len(b), strlen("&lt;a href=&quot;x&quot;&gt;"
	    "O&#39;Neil &amp; co&lt;/a&gt;"));
	assert_memory_equal(mm_buf_ptr(b), "&lt;a href=&quot;x&quot;&gt;"
	    "O&#39;Neil &amp; co&lt;/a&gt;", mm_buf_len(b));
	mm_buf_reset(b);
	assert_int_equal(mm_html_escape(b, "plain", 5), MM_OK);
	assert_memory_equal(mm_buf_ptr(b), "plain", 5);
	assert_int_equal(mm_html_escape(b, "", 0), MM_OK);
	mm_buf_free(b);
	assert_non_null(b = mm_buf_new(8));
	assert_int_equal(mm_html_escape(b, "<<<", 3), MM_ERR_NO_SPACE);
	mm_buf_free(b);
	assert_string_equal(mm_http_reason(404), "Not Found");
	assert_string_equal(mm_http_reason(999), "Unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get),
		cmocka_unit_test(test_post),
		cmocka_unit_test(test_head_and_http10),
		cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_incremental),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_errors_stick),
		cmocka_unit_test(test_huge_body),
		cmocka_unit_test(test_injection),
		cmocka_unit_test(test_cookie),
		cmocka_unit_test(test_form),
		cmocka_unit_test(test_escape),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
