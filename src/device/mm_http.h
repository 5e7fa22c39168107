/*
 * mm_http.h - a strict, incremental parser for the small HTTP/1.1 subset
 * the admin page needs (docs/decisions/0007-local-authentication.md), and
 * the helpers around it: header and cookie look-up, form decoding, HTML
 * escaping.
 *
 * Accepted: "GET", "HEAD" or "POST", an origin-form target ("/path" with
 * an optional "?query"), "HTTP/1.1" or "HTTP/1.0", at most
 * MM_HTTP_HEADERS_MAX header lines, a head of at most MM_HTTP_HEAD_MAX
 * bytes, a body given only by Content-Length.  Lines end in CRLF only.
 * Everything else is refused, and the refusal carries the HTTP status the
 * server should answer with (then close the connection):
 *
 *   400  bare LF or CR, NUL or other control bytes, non-ASCII bytes in the
 *        request line or a header name, header values with anything but
 *        visible ASCII, space and tab, obs-fold (a line starting with space
 *        or tab), a header name that is not a token or is followed by
 *        space before ':', a target not starting with '/', a bad or %00
 *        percent escape in the target, a malformed Content-Length, a
 *        duplicate Host, Content-Length, Cookie, Origin or Content-Type,
 *        no Host on HTTP/1.1, a Host with characters outside
 *        [A-Za-z0-9.-:[]], an empty line before the request line
 *   413  Content-Length over the body limit
 *   414  request line over MM_HTTP_LINE_MAX, path over MM_HTTP_PATH_MAX or
 *        query over MM_HTTP_QUERY_MAX bytes
 *   431  head over MM_HTTP_HEAD_MAX bytes or over MM_HTTP_HEADERS_MAX lines
 *   501  a method other than GET, HEAD, POST; any Transfer-Encoding
 *   505  a well-formed HTTP version other than 1.0 and 1.1
 */
#ifndef MM_HTTP_H
#define MM_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct mm_buf;

#define MM_HTTP_HEAD_MAX 8192		/* request line + headers + CRLF CRLF */
#define MM_HTTP_LINE_MAX 1024		/* request line without CRLF */
#define MM_HTTP_PATH_MAX 256		/* bytes, without the query */
#define MM_HTTP_QUERY_MAX 512		/* bytes, without the '?' */
#define MM_HTTP_HEADERS_MAX 32
#define MM_HTTP_BODY_DEFAULT 4096
#define MM_HTTP_FORM_FIELDS_MAX 16
#define MM_HTTP_FORM_NAME_MAX 32	/* decoded bytes */

enum mm_http_method {
	MM_HTTP_NONE = 0,
	MM_HTTP_GET,
	MM_HTTP_HEAD,
	MM_HTTP_POST
};

struct mm_http_hdr {
	uint16_t name;			/* offsets into store */
	uint16_t value;
};

/*
 * One request.  Everything but body is copied into the structure, so the
 * strings stay valid however the input buffer changes and the structure
 * may be copied.  The fields below "parser state" are private.
 */
struct mm_http_req {
	enum mm_http_method method;
	int minor;			/* 0: HTTP/1.0, 1: HTTP/1.1 */
	char path[MM_HTTP_PATH_MAX + 1];	/* NUL-terminated, not decoded */
	char query[MM_HTTP_QUERY_MAX + 1];	/* "" if none; not decoded */
	int has_query;			/* 1 if the target had a '?' */
	size_t nhdr;
	struct mm_http_hdr hdr[MM_HTTP_HEADERS_MAX];
	/* Points into the caller's buffer (see mm_http_parse). */
	const uint8_t *body;
	size_t body_len;
	int keep_alive;			/* 1: the client may send another request */
	int status;			/* HTTP status of a refusal, else 0 */

	/* parser state */
	size_t max_body;
	int stage;
	int err;
	size_t pos;			/* start of the next unparsed line */
	size_t scan;			/* where the search for LF resumes */
	size_t head_len;
	size_t store_used;
	char store[MM_HTTP_HEAD_MAX];	/* header names and values, NUL-ended */
};

/* Prepares req for a new request whose body may be at most max_body bytes
 * (MM_HTTP_BODY_DEFAULT is a sensible choice). */
void mm_http_req_init(struct mm_http_req *req, size_t max_body);

/*
 * Parses the request at the start of buf[0..len).  Incremental: call it
 * again with the same req each time more bytes have been appended; the
 * bytes given before must be unchanged (the buffer may move), and the work
 * done is linear in the total length however the bytes arrive.
 *
 * Returns MM_OK when the whole request (head and body) is in buf: req is
 * filled in, req->body points at buf[head .. head + body_len) and stays
 * valid only while those bytes do, and *consumed is the length of the
 * request (bytes after it belong to the next one; parse those with a
 * freshly initialised req).  MM_ERR_SHORT: more bytes are needed.  A
 * refusal sets req->status (see the top of this file) and returns
 * MM_ERR_FORMAT (400), MM_ERR_TOO_LARGE (413, 414, 431) or
 * MM_ERR_UNSUPPORTED (501, 505); later calls return the same.
 * MM_ERR_INVALID_ARG if len shrank below what was already parsed.
 */
int mm_http_parse(struct mm_http_req *req, const uint8_t *buf, size_t len,
    size_t *consumed);

/* The value (trimmed, NUL-terminated, inside req) of the first header
 * named name, compared case-insensitively; NULL if there is none. */
const char *mm_http_header(const struct mm_http_req *req, const char *name);

/* 1 if the request's Connection headers list token (case-insensitive). */
int mm_http_conn_has(const struct mm_http_req *req, const char *token);

/*
 * Looks cookie name up in the Cookie header and copies its value (without
 * surrounding double quotes) into out[outsz] with a NUL.  The header must
 * be "n=v" pairs separated by ';' and optional spaces, every name a token;
 * the value of the cookie looked up must be cookie-octets (RFC 6265).
 * Values of other cookies are only split off, not judged, so a sloppy
 * cookie set by another service on the same host cannot lock users out.
 * MM_ERR_NOT_FOUND if there is no Cookie header or no such cookie,
 * MM_ERR_FORMAT if the header is malformed or name occurs twice,
 * MM_ERR_TOO_LARGE if the value does not fit.  out is written only on
 * success.
 */
int mm_http_cookie(const struct mm_http_req *req, const char *name,
    char *out, size_t outsz);

/*
 * Looks field name up in an application/x-www-form-urlencoded body and
 * decodes its value into out[outsz] with a NUL.  The whole body is checked
 * on every call: "n=v" pairs separated by '&', no empty pair, at most
 * MM_HTTP_FORM_FIELDS_MAX fields, names of 1 to MM_HTTP_FORM_NAME_MAX
 * decoded bytes, no name twice, '+' is a space, '%' takes exactly two hex
 * digits, raw bytes must be visible ASCII other than '=' in a value, and
 * decoded names and values must be valid UTF-8 without control characters
 * (C0, DEL, C1).  MM_OK, MM_ERR_NOT_FOUND, MM_ERR_FORMAT (any of the
 * above, or over MM_HTTP_FORM_FIELDS_MAX fields), MM_ERR_TOO_LARGE (value
 * does not fit out).  out is written only on success; the caller wipes it
 * if it held a secret.
 */
int mm_http_form(const uint8_t *body, size_t len, const char *name,
    char *out, size_t outsz);

/*
 * Appends s[0..len) to b with &, <, >, " and ' replaced by character
 * references, so it is safe in element content and quoted attributes.
 * MM_ERR_NO_SPACE if b fills up; b may then hold part of the text and the
 * caller discards the whole page.
 */
int mm_html_escape(struct mm_buf *b, const char *s, size_t len);

/* Reason phrase for status ("Not Found"); "Unknown" if it has none. */
const char *mm_http_reason(int status);

#endif
