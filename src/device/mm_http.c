/* mm_http.c - strict HTTP/1.1 subset parser and helpers; see mm_http.h. */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "common/mm_buf.h"
#include "common/mm_err.h"
#include "device/mm_http.h"

enum { MM_HTTP_STAGE_LINE, MM_HTTP_STAGE_HEADERS, MM_HTTP_STAGE_BODY };

/* Header names that may occur only once: a second one is an ambiguity an
 * attacker could use against a proxy or against us. */
static const char *const mm_http_single[] = {
	"host", "content-length", "cookie", "origin", "content-type",
};

static int
mm_http_is_tchar(uint8_t c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int
mm_http_is_hex(uint8_t c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

static unsigned
mm_http_hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return c - 'A' + 10;
}

/* RFC 3986 pchar without '%' (checked separately). */
static int
mm_http_is_pchar(uint8_t c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("-._~!$&'()*+,;=:@", c) != NULL;
}

static int
mm_http_fail(struct mm_http_req *req, int status)
{
	req->status = status;
	switch (status) {
	case 413:
	case 414:
	case 431:
		req->err = MM_ERR_TOO_LARGE;
		break;
	case 501:
	case 505:
		req->err = MM_ERR_UNSUPPORTED;
		break;
	default:
		req->err = MM_ERR_FORMAT;
		break;
	}
	return req->err;
}

void
mm_http_req_init(struct mm_http_req *req, size_t max_body)
{
	memset(req, 0, sizeof(*req));
	req->max_body = max_body;
}

/*
 * Checks one part of the target (s[0..n), path or query) and copies it
 * into out[outsz].  Returns 0 or the HTTP status of the refusal.
 */
static int
mm_http_target_part(const uint8_t *s, size_t n, int query, char *out,
    size_t outsz)
{
	size_t i;

	if (n >= outsz)
		return 414;
	for (i = 0; i < n; i++) {
		if (s[i] == '%') {
			if (n - i < 3 || !mm_http_is_hex(s[i + 1]) ||
			    !mm_http_is_hex(s[i + 2]))
				return 400;
			if (s[i + 1] == '0' && s[i + 2] == '0')
				return 400;
			i += 2;
		} else if (!mm_http_is_pchar(s[i]) && s[i] != '/' &&
		    !(query && s[i] == '?'))
			return 400;
	}
	memcpy(out, s, n);
	out[n] = '\0';
	return 0;
}

/* method SP origin-form SP HTTP-version; returns 0 or an HTTP status. */
static int
mm_http_request_line(struct mm_http_req *req, const uint8_t *l, size_t n)
{
	size_t i, m, t, q, plen;
	int st;

	if (n == 0)
		return 400;
	if (n > MM_HTTP_LINE_MAX)
		return 414;
	for (m = 0; m < n && mm_http_is_tchar(l[m]); m++)
		;
	if (m == 0 || m == n || l[m] != ' ')
		return 400;
	if (m == 3 && memcmp(l, "GET", 3) == 0)
		req->method = MM_HTTP_GET;
	else if (m == 4 && memcmp(l, "HEAD", 4) == 0)
		req->method = MM_HTTP_HEAD;
	else if (m == 4 && memcmp(l, "POST", 4) == 0)
		req->method = MM_HTTP_POST;
	else
		req->method = MM_HTTP_NONE;
	t = m + 1;
	for (i = t; i < n && l[i] != ' '; i++)
		;
	if (i == n || i == t)
		return 400;
	/* version: exactly one space before it, nothing after it */
	if (n - (i + 1) != 8 || memcmp(l + i + 1, "HTTP/", 5) != 0 ||
	    l[i + 6] < '0' || l[i + 6] > '9' || l[i + 7] != '.' ||
	    l[i + 8] < '0' || l[i + 8] > '9')
		return 400;
	if (l[i + 6] != '1' || (l[i + 8] != '0' && l[i + 8] != '1'))
		return 505;
	req->minor = l[i + 8] - '0';
	if (l[t] != '/')
		return 400;
	for (q = t; q < i && l[q] != '?'; q++)
		;
	plen = q - t;
	if ((st = mm_http_target_part(l + t, plen, 0, req->path,
	    sizeof(req->path))) != 0)
		return st;
	if (q < i) {
		req->has_query = 1;
		if ((st = mm_http_target_part(l + q + 1, i - q - 1, 1,
		    req->query, sizeof(req->query))) != 0)
			return st;
	}
	/* only now, so that a bad target is 400 rather than 501 */
	if (req->method == MM_HTTP_NONE)
		return 501;
	return 0;
}

static int
mm_http_is_single(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(mm_http_single) / sizeof(mm_http_single[0]); i++)
		if (strcasecmp(name, mm_http_single[i]) == 0)
			return 1;
	return 0;
}

/* field-name ":" OWS field-value OWS; returns 0 or an HTTP status. */
static int
mm_http_header_line(struct mm_http_req *req, const uint8_t *l, size_t n)
{
	size_t i, nl, vs, ve;
	char *name;

	if (l[0] == ' ' || l[0] == '\t')
		return 400;		/* obs-fold */
	for (nl = 0; nl < n && mm_http_is_tchar(l[nl]); nl++)
		;
	if (nl == 0 || nl == n || l[nl] != ':')
		return 400;
	for (i = nl + 1; i < n; i++)
		if (!(l[i] >= 0x20 && l[i] <= 0x7e) && l[i] != '\t')
			return 400;
	for (vs = nl + 1; vs < n && (l[vs] == ' ' || l[vs] == '\t'); vs++)
		;
	for (ve = n; ve > vs && (l[ve - 1] == ' ' || l[ve - 1] == '\t'); ve--)
		;
	if (req->nhdr >= MM_HTTP_HEADERS_MAX)
		return 431;
	/* name NUL value NUL is never longer than the line with its CRLF */
	if (req->store_used + nl + (ve - vs) + 2 > sizeof(req->store))
		return 431;
	name = req->store + req->store_used;
	memcpy(name, l, nl);
	name[nl] = '\0';
	if (mm_http_is_single(name) && mm_http_header(req, name) != NULL)
		return 400;
	req->hdr[req->nhdr].name = (uint16_t)req->store_used;
	req->store_used += nl + 1;
	memcpy(req->store + req->store_used, l + vs, ve - vs);
	req->store[req->store_used + (ve - vs)] = '\0';
	req->hdr[req->nhdr].value = (uint16_t)req->store_used;
	req->store_used += ve - vs + 1;
	req->nhdr++;
	return 0;
}

static int
mm_http_host_ok(const char *h)
{
	if (*h == '\0')
		return 0;
	for (; *h != '\0'; h++) {
		uint8_t c = (uint8_t)*h;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '.' || c == '-' ||
		    c == ':' || c == '[' || c == ']'))
			return 0;
	}
	return 1;
}

/* Checks done once the blank line is seen; returns 0 or an HTTP status. */
static int
mm_http_finish_head(struct mm_http_req *req)
{
	const char *host, *cl;
	size_t len = 0;
	int big = 0;

	if (mm_http_header(req, "transfer-encoding") != NULL)
		return 501;
	host = mm_http_header(req, "host");
	if (host == NULL && req->minor == 1)
		return 400;
	if (host != NULL && !mm_http_host_ok(host))
		return 400;
	if ((cl = mm_http_header(req, "content-length")) != NULL) {
		if (*cl == '\0')
			return 400;
		for (; *cl != '\0'; cl++) {
			if (*cl < '0' || *cl > '9')
				return 400;
			/* stop before it can overflow: anything over is 413 */
			if (len <= req->max_body && len <= (SIZE_MAX - 9) / 10)
				len = len * 10 + (size_t)(*cl - '0');
			else
				big = 1;
		}
		if (big || len > req->max_body)
			return 413;
	}
	req->body_len = len;
	if (req->minor == 1)
		req->keep_alive = !mm_http_conn_has(req, "close");
	else
		req->keep_alive = mm_http_conn_has(req, "keep-alive") &&
		    !mm_http_conn_has(req, "close");
	return 0;
}

int
mm_http_parse(struct mm_http_req *req, const uint8_t *buf, size_t len,
    size_t *consumed)
{
	const uint8_t *lf;
	size_t end;
	int st;

	if (req->err != 0)
		return req->err;
	if (len < req->scan || (buf == NULL && len != 0))
		return MM_ERR_INVALID_ARG;
	while (req->stage != MM_HTTP_STAGE_BODY) {
		lf = req->scan < len ?
		    memchr(buf + req->scan, '\n', len - req->scan) : NULL;
		if (lf == NULL) {
			req->scan = len;
			if (req->stage == MM_HTTP_STAGE_LINE &&
			    len - req->pos > MM_HTTP_LINE_MAX + 1)
				return mm_http_fail(req, 414);
			if (len > MM_HTTP_HEAD_MAX)
				return mm_http_fail(req, 431);
			return MM_ERR_SHORT;
		}
		end = (size_t)(lf - buf);
		if (end == req->pos || buf[end - 1] != '\r')
			return mm_http_fail(req, 400);	/* bare LF */
		if (memchr(buf + req->pos, '\r', end - 1 - req->pos) != NULL)
			return mm_http_fail(req, 400);	/* bare CR */
		if (req->stage == MM_HTTP_STAGE_LINE) {
			st = mm_http_request_line(req, buf + req->pos,
			    end - 1 - req->pos);
			if (st == 0 && end + 1 > MM_HTTP_HEAD_MAX)
				st = 431;
			req->stage = MM_HTTP_STAGE_HEADERS;
		} else if (end + 1 > MM_HTTP_HEAD_MAX) {
			st = 431;
		} else if (end - 1 == req->pos) {
			st = mm_http_finish_head(req);
			req->head_len = end + 1;
			req->stage = MM_HTTP_STAGE_BODY;
		} else
			st = mm_http_header_line(req, buf + req->pos,
			    end - 1 - req->pos);
		if (st != 0)
			return mm_http_fail(req, st);
		req->pos = req->scan = end + 1;
	}
	if (len - req->head_len < req->body_len)
		return MM_ERR_SHORT;
	req->body = buf + req->head_len;
	*consumed = req->head_len + req->body_len;
	return MM_OK;
}

const char *
mm_http_header(const struct mm_http_req *req, const char *name)
{
	size_t i;

	for (i = 0; i < req->nhdr; i++)
		if (strcasecmp(req->store + req->hdr[i].name, name) == 0)
			return req->store + req->hdr[i].value;
	return NULL;
}

int
mm_http_conn_has(const struct mm_http_req *req, const char *token)
{
	size_t i, n, tl = strlen(token);
	const char *v, *e;

	for (i = 0; i < req->nhdr; i++) {
		if (strcasecmp(req->store + req->hdr[i].name, "connection") != 0)
			continue;
		for (v = req->store + req->hdr[i].value; *v != '\0'; v = e) {
			while (*v == ' ' || *v == '\t' || *v == ',')
				v++;
			for (e = v; *e != '\0' && *e != ','; e++)
				;
			for (n = (size_t)(e - v); n > 0 &&
			    (v[n - 1] == ' ' || v[n - 1] == '\t'); n--)
				;
			if (n == tl && strncasecmp(v, token, n) == 0)
				return 1;
		}
	}
	return 0;
}

/* RFC 6265 cookie-octet. */
static int
mm_http_is_cookie_octet(uint8_t c)
{
	return c == 0x21 || (c >= 0x23 && c <= 0x2b) ||
	    (c >= 0x2d && c <= 0x3a) || (c >= 0x3c && c <= 0x5b) ||
	    (c >= 0x5d && c <= 0x7e);
}

int
mm_http_cookie(const struct mm_http_req *req, const char *name, char *out,
    size_t outsz)
{
	const char *h, *p, *v, *e, *found = NULL;
	size_t nl, vl, flen = 0, i;

	if ((h = mm_http_header(req, "cookie")) == NULL)
		return MM_ERR_NOT_FOUND;
	for (p = h;;) {
		for (nl = 0; mm_http_is_tchar((uint8_t)p[nl]); nl++)
			;
		if (nl == 0 || p[nl] != '=')
			return MM_ERR_FORMAT;
		v = p + nl + 1;
		for (e = v; *e != '\0' && *e != ';'; e++)
			;
		vl = (size_t)(e - v);
		if (nl == strlen(name) && memcmp(p, name, nl) == 0) {
			if (found != NULL)
				return MM_ERR_FORMAT;
			if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
				v++;
				vl -= 2;
			}
			for (i = 0; i < vl; i++)
				if (!mm_http_is_cookie_octet((uint8_t)v[i]))
					return MM_ERR_FORMAT;
			found = v;
			flen = vl;
		}
		if (*e == '\0')
			break;
		for (p = e + 1; *p == ' '; p++)
			;
	}
	if (found == NULL)
		return MM_ERR_NOT_FOUND;
	if (flen >= outsz)
		return MM_ERR_TOO_LARGE;
	memcpy(out, found, flen);
	out[flen] = '\0';
	return MM_OK;
}

/*
 * Streaming UTF-8 check (RFC 3629) that also refuses control characters:
 * feed decoded bytes one at a time; 0 while valid.
 */
struct mm_utf8 {
	unsigned need;		/* continuation bytes still expected */
	uint8_t lo, hi;		/* range of the next continuation byte */
};

static int
mm_utf8_feed(struct mm_utf8 *u, uint8_t c)
{
	if (u->need > 0) {
		if (c < u->lo || c > u->hi)
			return -1;
		u->need--;
		u->lo = 0x80;
		u->hi = 0xbf;
		return 0;
	}
	u->lo = 0x80;
	u->hi = 0xbf;
	if (c < 0x20 || c == 0x7f)
		return -1;
	if (c < 0x80)
		return 0;
	if (c == 0xc2) {
		u->lo = 0xa0;		/* U+0080..U+009F are C1 controls */
		u->need = 1;
	} else if (c > 0xc2 && c <= 0xdf)
		u->need = 1;
	else if (c == 0xe0) {
		u->lo = 0xa0;
		u->need = 2;
	} else if ((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef)
		u->need = 2;
	else if (c == 0xed) {
		u->hi = 0x9f;		/* no surrogates */
		u->need = 2;
	} else if (c == 0xf0) {
		u->lo = 0x90;
		u->need = 3;
	} else if (c >= 0xf1 && c <= 0xf3)
		u->need = 3;
	else if (c == 0xf4) {
		u->hi = 0x8f;
		u->need = 3;
	} else
		return -1;
	return 0;
}

/*
 * Decodes one form name or value s[0..n).  If out is not NULL the result
 * goes to out[outsz] with a NUL (MM_ERR_TOO_LARGE if it does not fit);
 * *outlen gets the decoded length either way.
 */
static int
mm_form_decode(const uint8_t *s, size_t n, char *out, size_t outsz,
    size_t *outlen)
{
	struct mm_utf8 u;
	size_t i, o = 0;
	uint8_t c;

	memset(&u, 0, sizeof(u));
	for (i = 0; i < n; i++) {
		c = s[i];
		if (c == '%') {
			if (n - i < 3 || !mm_http_is_hex(s[i + 1]) ||
			    !mm_http_is_hex(s[i + 2]))
				return MM_ERR_FORMAT;
			c = (uint8_t)(mm_http_hexval(s[i + 1]) << 4 |
			    mm_http_hexval(s[i + 2]));
			i += 2;
		} else if (c == '+')
			c = ' ';
		else if (c < 0x21 || c > 0x7e || c == '=' || c == '&')
			return MM_ERR_FORMAT;
		if (mm_utf8_feed(&u, c) != 0)
			return MM_ERR_FORMAT;
		if (out != NULL) {
			if (o + 1 >= outsz)
				return MM_ERR_TOO_LARGE;
			out[o] = (char)c;
		}
		o++;
	}
	if (u.need != 0)
		return MM_ERR_FORMAT;
	if (out != NULL) {
		if (o >= outsz)
			return MM_ERR_TOO_LARGE;
		out[o] = '\0';
	}
	*outlen = o;
	return MM_OK;
}

int
mm_http_form(const uint8_t *body, size_t len, const char *name, char *out,
    size_t outsz)
{
	char names[MM_HTTP_FORM_FIELDS_MAX][MM_HTTP_FORM_NAME_MAX + 1];
	const uint8_t *p, *amp, *eq, *fv = NULL;
	size_t nf = 0, i, nl, vl, dl, flen = 0, rest;
	int r;

	if (body == NULL && len != 0)
		return MM_ERR_INVALID_ARG;
	for (p = body, rest = len; rest > 0;) {
		amp = memchr(p, '&', rest);
		nl = amp != NULL ? (size_t)(amp - p) : rest;
		if (nl == 0 || (eq = memchr(p, '=', nl)) == NULL)
			return MM_ERR_FORMAT;
		if (nf == MM_HTTP_FORM_FIELDS_MAX)
			return MM_ERR_FORMAT;
		vl = nl - (size_t)(eq - p) - 1;
		if (eq == p || (r = mm_form_decode(p, (size_t)(eq - p),
		    names[nf], sizeof(names[nf]), &dl)) != 0)
			return MM_ERR_FORMAT;
		for (i = 0; i < nf; i++)
			if (strcmp(names[i], names[nf]) == 0)
				return MM_ERR_FORMAT;
		if ((r = mm_form_decode(eq + 1, vl, NULL, 0, &dl)) != 0)
			return r;
		if (strcmp(names[nf], name) == 0) {
			fv = eq + 1;
			flen = vl;
		}
		nf++;
		if (amp == NULL)
			break;
		rest -= nl + 1;
		p = amp + 1;
		if (rest == 0)
			return MM_ERR_FORMAT;	/* trailing '&' */
	}
	if (fv == NULL)
		return MM_ERR_NOT_FOUND;
	if ((r = mm_form_decode(fv, flen, NULL, 0, &dl)) != 0)
		return r;
	if (dl >= outsz)
		return MM_ERR_TOO_LARGE;
	return mm_form_decode(fv, flen, out, outsz, &dl);
}

int
mm_html_escape(struct mm_buf *b, const char *s, size_t len)
{
	size_t i, start = 0;
	const char *rep;
	int r;

	for (i = 0; i < len; i++) {
		switch (s[i]) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default: continue;
		}
		if ((r = mm_buf_put(b, s + start, i - start)) != 0 ||
		    (r = mm_buf_put(b, rep, strlen(rep))) != 0)
			return r;
		start = i + 1;
	}
	return mm_buf_put(b, s + start, len - start);
}

const char *
mm_http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 303: return "See Other";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 503: return "Service Unavailable";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}
