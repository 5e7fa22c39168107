/*
 * agent_web_page.c - what the HTTPS admin page answers: routes, pages,
 * forms and the calls to the monitor (agent_web.h; the connections are in
 * agent_web.c).
 *
 *
 * Routes (every page but /login and /style.css needs the session cookie;
 * every POST but /login needs the form field "csrf", which is handed to
 * the monitor, and is refused if it has an Origin other than https://Host):
 *
 *   GET  /              whoami, status     overview and links by role
 *   GET  /style.css     -                  the one stylesheet
 *   GET  /login         -                  login form
 *   POST /login         login              sets the cookie
 *   POST /logout        logout             clears the cookie
 *   GET  /password      whoami             change form (also when the
 *   POST /password      passwd             initial password must go)
 *   GET  /users         whoami, users      admin
 *   POST /users/add     user_add           admin
 *   POST /users/delete  user_del           admin
 *   GET  /settings      whoami             operator
 *   POST /settings      config_set         operator
 *   GET  /maintenance   whoami, status     admin
 *   POST /maintenance   maintenance        admin (and presence to start)
 *
 * The role checks here only decide which links and pages are shown; the
 * monitor checks every request again.
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

#define WEB_TOKEN_LEN 64	/* session tokens: 64 lower-case hex digits */
#define WEB_CSRF_MAX 128
#define WEB_PAGE_MAX 65536
#define WEB_PW_MAX 256		/* form buffers; the monitor's limit is lower */
#define WEB_FIELD_MAX 64	/* user names, roles, numbers */
#define WEB_MSG_MAX 512		/* texts from the monitor */
enum { WEB_ROLE_NONE = -1, WEB_ROLE_VIEWER, WEB_ROLE_OPERATOR, WEB_ROLE_ADMIN };

static const char web_headers[] =
    "Content-Security-Policy: default-src 'none'; style-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'\r\n"
    "X-Frame-Options: DENY\r\n"
    "X-Content-Type-Options: nosniff\r\n"
    "Referrer-Policy: same-origin\r\n"
    "Cache-Control: no-store\r\n"
    "Strict-Transport-Security: max-age=31536000\r\n";

static const char web_cookie_attrs[] = "; Secure; HttpOnly; SameSite=Strict; "
    "Path=/";

static const char web_css[] =
    "body{font-family:system-ui,sans-serif;margin:0;background:#f4f5f7;"
    "color:#1d1f23}\n"
    "main{max-width:42rem;margin:2rem auto;padding:1.5rem;background:#fff;"
    "border-radius:6px;box-shadow:0 1px 3px rgba(0,0,0,.15)}\n"
    "h1{font-size:1.4rem;margin-top:0}\n"
    "h2{font-size:1.1rem;margin-top:1.6rem}\n"
    "label{display:block;margin-top:.8rem;font-weight:600}\n"
    "input,select{width:100%;box-sizing:border-box;padding:.45rem;"
    "margin-top:.25rem;font:inherit}\n"
    "button{margin-top:1rem;padding:.5rem 1.2rem;font:inherit;cursor:pointer}\n"
    "table{border-collapse:collapse;width:100%}\n"
    "th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #e1e3e8;"
    "vertical-align:top}\n"
    ".error{color:#a4000f;font-weight:600}\n"
    ".warning{background:#fff4ce;padding:.6rem;border-left:4px solid #e0a800}\n"
    ".notice{background:#e7f5ea;padding:.6rem;border-left:4px solid #2e7d32}\n"
    "form.inline{display:inline;margin:0}\n"
    "form.inline button{margin:0;padding:.2rem .6rem}\n";


/* ---- one request: what it asked, what it gets ---- */

struct web_rq {
	struct agent_web *w;
	const char *src;
	const struct mm_http_req *http;
	char token[WEB_TOKEN_LEN + 1];	/* from the cookie; "" if none */
	json_t *who;			/* the whoami reply, once asked */
	const char *csrf;		/* for the forms on the page */
	int role;
	/* the answer */
	int status;
	const char *location;		/* fixed strings only */
	int cookie;			/* 1: set set_token, -1: clear */
	char set_token[WEB_TOKEN_LEN + 1];
	long retry_after;
	const char *allow;
	const char *ctype;
	struct mm_buf *body;
	int err;			/* first failure while writing the page */
};

/*
 * Page writers.  The first failure (a page over WEB_PAGE_MAX) sticks in
 * q->err and the rest is skipped, so a renderer reads as straight HTML;
 * the caller then sends a short error page instead.
 */
static void
web_raw(struct web_rq *q, const char *s)
{
	int r;

	if (q->err == 0 && (r = mm_buf_put(q->body, s, strlen(s))) != 0)
		q->err = r;
}

static void web_fmt(struct web_rq *q, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Formats numbers and fixed strings; never text from outside. */
static void
web_fmt(struct web_rq *q, const char *fmt, ...)
{
	char tmp[256];
	va_list ap;
	int n;

	if (q->err != 0)
		return;
	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		q->err = MM_ERR_TOO_LARGE;
		return;
	}
	web_raw(q, tmp);
}

/* Any text that did not come from this file goes through here. */
static void
web_esc(struct web_rq *q, const char *s)
{
	int r;

	if (q->err == 0 && (r = mm_html_escape(q->body, s, strlen(s))) != 0)
		q->err = r;
}

static void
web_begin(struct web_rq *q, int status, const char *title)
{
	q->status = status;
	q->err = 0;
	mm_buf_reset(q->body);
	web_raw(q, "<!DOCTYPE html>\n<html lang=\"en\"><head>"
	    "<meta charset=\"utf-8\">\n<meta name=\"viewport\" "
	    "content=\"width=device-width, initial-scale=1\">\n<title>");
	web_esc(q, title);
	web_raw(q, " - mamori</title>\n<link rel=\"stylesheet\" "
	    "href=\"/style.css\">\n</head>\n<body>\n<main>\n<h1>");
	web_esc(q, title);
	web_raw(q, "</h1>\n");
}

static void
web_end(struct web_rq *q)
{
	web_raw(q, "</main>\n</body>\n</html>\n");
}

static void
web_para(struct web_rq *q, const char *cls, const char *text)
{
	web_fmt(q, "<p class=\"%s\">", cls);
	web_esc(q, text);
	web_raw(q, "</p>\n");
}

static void
web_back(struct web_rq *q)
{
	web_raw(q, "<p><a href=\"/\">Back to the overview</a></p>\n");
}

static void
web_message(struct web_rq *q, int status, const char *title, const char *text)
{
	web_begin(q, status, title);
	web_para(q, "error", text);
	web_back(q);
	web_end(q);
}

static void
web_redirect(struct web_rq *q, const char *to)
{
	web_begin(q, 303, "See other");
	q->location = to;
	web_raw(q, "<p><a href=\"");
	web_esc(q, to);
	web_raw(q, "\">Continue</a></p>\n");
	web_end(q);
}

static void
web_csrf_field(struct web_rq *q)
{
	web_raw(q, "<input type=\"hidden\" name=\"csrf\" value=\"");
	web_esc(q, q->csrf != NULL ? q->csrf : "");
	web_raw(q, "\">\n");
}

/* A fixed notice after a POST/redirect/GET ("?done=1" carries nothing). */
static void
web_done_notice(struct web_rq *q, const char *text)
{
	if (strcmp(q->http->query, "done=1") == 0)
		web_para(q, "notice", text);
}

static void
web_time(char *out, size_t outsz, int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, outsz, "%Y-%m-%d %H:%M UTC", &tm) == 0)
		snprintf(out, outsz, "%lld", (long long)t);
}

/* ---- talking to the monitor ---- */

static void
web_reply_free(json_t *rep)
{
	mm_admin_json_wipe_free(rep);	/* replies may carry token and csrf */
}

/* Sends req (wiped and freed here) to the monitor; *rep is its reply. */
static int
web_call(struct web_rq *q, json_t *req, const char *csrf, json_t **rep)
{
	json_t *o = NULL;
	int r;

	if (req == NULL)
		return MM_ERR_ALLOC;
	r = agent_admin_call(agent_web_admin(q->w), req, q->src, "web", csrf, &o);
	mm_admin_json_wipe_free(req);
	if (r != 0)
		return r;
	*rep = o;
	return MM_OK;
}

static int
web_ok(const json_t *rep)
{
	return rep != NULL && json_is_true(json_object_get(rep, "ok"));
}

/* A string field of a reply, or NULL if missing or malformed. */
static const char *
web_str(const json_t *rep, const char *key, size_t max)
{
	const char *s;

	if (rep == NULL || mm_msg_get_str(rep, key, 0, max, &s) != 0)
		return NULL;
	return s;
}

static int
web_is(const json_t *rep, const char *code)
{
	const char *e = web_str(rep, "error", 32);

	return e != NULL && strcmp(e, code) == 0;
}

static int
web_role(const char *s)
{
	if (s == NULL)
		return WEB_ROLE_NONE;
	if (strcmp(s, "viewer") == 0)
		return WEB_ROLE_VIEWER;
	if (strcmp(s, "operator") == 0)
		return WEB_ROLE_OPERATOR;
	if (strcmp(s, "admin") == 0)
		return WEB_ROLE_ADMIN;
	return WEB_ROLE_NONE;
}

static int
web_token_ok(const char *t)
{
	size_t i;

	for (i = 0; i < WEB_TOKEN_LEN; i++)
		if (!((t[i] >= '0' && t[i] <= '9') || (t[i] >= 'a' && t[i] <= 'f')))
			return 0;
	return t[WEB_TOKEN_LEN] == '\0';
}

/* 1 and q->retry_after set for throttled, locked and busy. */
static int
web_retry(struct web_rq *q, const json_t *rep, char *text, size_t textsz)
{
	int64_t s = 1;

	if (web_is(rep, "locked"))
		snprintf(text, textsz, "Too many failed attempts from your "
		    "address. ");
	else if (web_is(rep, "busy"))
		snprintf(text, textsz, "The device is busy. ");
	else if (web_is(rep, "throttled"))
		snprintf(text, textsz, "Too many attempts. ");
	else
		return 0;
	if (mm_msg_get_int(rep, "retry_after", 0, 86400, &s) != 0 || s < 1)
		s = 1;
	q->retry_after = (long)s;
	snprintf(text + strlen(text), textsz - strlen(text),
	    "Try again in %lld second%s.", (long long)s, s == 1 ? "" : "s");
	return 1;
}

/* Maps a failed call or an {"ok":false} reply to an answer. */
static void
web_fail(struct web_rq *q, const json_t *rep, int r)
{
	const char *msg = web_str(rep, "message", WEB_MSG_MAX);
	char text[160];

	if (r != 0 || rep == NULL || web_str(rep, "error", 32) == NULL) {
		if (r != 0)
			mm_log(MM_LOG_WARN, "web: monitor call failed: %s",
			    mm_strerror(r));
		web_message(q, 500, "Error", "Something went wrong. Try again "
		    "later.");
	} else if (web_is(rep, "session")) {
		q->cookie = -1;
		web_redirect(q, "/login");
	} else if (web_is(rep, "must_change"))
		web_redirect(q, "/password");
	else if (web_is(rep, "denied"))
		web_message(q, 403, "Not allowed", "Your role does not allow "
		    "this.");
	else if (web_is(rep, "csrf"))
		web_message(q, 403, "Form expired", "The form has expired. Go "
		    "back, reload the page and try again.");
	else if (web_is(rep, "policy"))
		web_message(q, 422, "Not accepted", msg != NULL ? msg :
		    "The value does not meet the rules.");
	else if (web_retry(q, rep, text, sizeof(text)))
		web_message(q, 429, "Try again later", text);
	else if (web_is(rep, "format"))
		web_message(q, 400, "Not accepted", msg != NULL ? msg :
		    "The request was malformed.");
	else if (web_is(rep, "state"))
		web_message(q, 409, "Not possible", msg != NULL ? msg :
		    "Not possible now.");
	else if (web_is(rep, "presence"))
		web_message(q, 403, "Physical presence needed", msg != NULL ?
		    msg : "Press the maintenance button on the device first.");
	else if (web_is(rep, "auth"))
		web_message(q, 401, "Not accepted", "Wrong user name or "
		    "password.");
	else
		web_message(q, 500, "Error", "Something went wrong. Try again "
		    "later.");
}

/*
 * Asks the monitor who the session is.  0: q->who, q->csrf and q->role
 * are set.  Otherwise the answer (a redirect or an error) is ready.
 */
static int
web_session(struct web_rq *q, int initial_ok)
{
	json_t *rep = NULL;
	int r;

	if (q->token[0] == '\0') {
		web_redirect(q, "/login");
		return -1;
	}
	if ((r = web_call(q, json_pack("{s:s, s:s}", "op", "whoami", "token",
	    q->token), NULL, &rep)) != 0 || !web_ok(rep)) {
		web_fail(q, rep, r);
		web_reply_free(rep);
		return -1;
	}
	q->who = rep;
	q->csrf = web_str(rep, "csrf", WEB_CSRF_MAX);
	q->role = web_role(web_str(rep, "role", 16));
	if (q->csrf == NULL || q->role == WEB_ROLE_NONE ||
	    web_str(rep, "user", MM_USER_MAX) == NULL) {
		web_message(q, 500, "Error", "Something went wrong.");
		return -1;
	}
	if (!initial_ok && json_is_true(json_object_get(rep, "must_change"))) {
		web_redirect(q, "/password");
		return -1;
	}
	return 0;
}

static int
web_need_role(struct web_rq *q, int role)
{
	if (q->role >= role)
		return 0;
	web_message(q, 403, "Not allowed", "Your role does not allow this "
	    "page.");
	return -1;
}

/* ---- forms ---- */

static int
web_field(struct web_rq *q, const char *name, char *out, size_t outsz)
{
	return mm_http_form(q->http->body, q->http->body_len, name, out, outsz);
}

/* A whole number of at most 9 digits. */
static int
web_number(const char *s, int64_t *out)
{
	int64_t v = 0;
	size_t i;

	if (s[0] == '\0' || strlen(s) > 9)
		return MM_ERR_FORMAT;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9')
			return MM_ERR_FORMAT;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return MM_OK;
}

/*
 * What every POST must pass: an Origin, if sent, of this very site; a form
 * body; and unless csrf is NULL, a csrf field (copied to csrf[csrfsz]) and
 * a session cookie.  0, or -1 with the answer ready.
 */
static int
web_post_ok(struct web_rq *q, char *csrf, size_t csrfsz)
{
	static const char form[] = "application/x-www-form-urlencoded";
	const char *origin = mm_http_header(q->http, "origin");
	const char *host = mm_http_header(q->http, "host");
	const char *ct = mm_http_header(q->http, "content-type");

	if (origin != NULL && (host == NULL ||
	    strncmp(origin, "https://", 8) != 0 ||
	    strcasecmp(origin + 8, host) != 0)) {
		mm_log(MM_LOG_WARN, "web: %s: cross-site POST %s refused",
		    q->src, q->http->path);
		web_message(q, 403, "Not allowed", "Cross-site requests are "
		    "refused.");
		return -1;
	}
	if (ct == NULL || strncasecmp(ct, form, sizeof(form) - 1) != 0 ||
	    (ct[sizeof(form) - 1] != '\0' && ct[sizeof(form) - 1] != ';')) {
		web_message(q, 415, "Not accepted", "Send the form from the "
		    "page.");
		return -1;
	}
	if (csrf == NULL)
		return 0;
	if (q->token[0] == '\0') {
		web_redirect(q, "/login");
		return -1;
	}
	if (web_field(q, "csrf", csrf, csrfsz) != 0 || csrf[0] == '\0') {
		web_message(q, 403, "Form expired", "The form has expired. Go "
		    "back, reload the page and try again.");
		return -1;
	}
	return 0;
}

/* Sends a state-changing op; on success redirects to done. */
static void
web_act(struct web_rq *q, json_t *req, const char *csrf, const char *done)
{
	json_t *rep = NULL;
	int r;

	if ((r = web_call(q, req, csrf, &rep)) == 0 && web_ok(rep))
		web_redirect(q, done);
	else
		web_fail(q, rep, r);
	web_reply_free(rep);
}

/* ---- login, logout, password ---- */

static void
web_login_page(struct web_rq *q, int status, const char *user,
    const char *notice, const char *error)
{
	web_begin(q, status, "Log in");
	if (notice != NULL)
		web_para(q, "notice", notice);
	if (error != NULL)
		web_para(q, "error", error);
	web_raw(q, "<form method=\"post\" action=\"/login\">\n"
	    "<label for=\"user\">User name</label>\n"
	    "<input id=\"user\" name=\"user\" autocomplete=\"username\" "
	    "autocapitalize=\"none\" maxlength=\"32\" required value=\"");
	web_esc(q, user != NULL ? user : "");
	web_raw(q, "\">\n<label for=\"password\">Password</label>\n"
	    "<input id=\"password\" name=\"password\" type=\"password\" "
	    "autocomplete=\"current-password\" required>\n"
	    "<button type=\"submit\">Log in</button>\n</form>\n");
	web_end(q);
}

static void
web_get_login(struct web_rq *q)
{
	web_login_page(q, 200, NULL, strcmp(q->http->query, "changed=1") == 0 ?
	    "Your password has been changed. Log in again with the new one." :
	    NULL, NULL);
}

static void
web_post_login(struct web_rq *q)
{
	char user[WEB_FIELD_MAX + 1], pw[WEB_PW_MAX + 1], text[160];
	json_t *rep = NULL;
	const char *tok;
	int r;

	user[0] = pw[0] = '\0';
	if (web_post_ok(q, NULL, 0) != 0)
		goto out;
	if (web_field(q, "user", user, sizeof(user)) != 0 ||
	    web_field(q, "password", pw, sizeof(pw)) != 0) {
		web_login_page(q, 400, NULL, NULL, "Enter a user name and a "
		    "password.");
		goto out;
	}
	r = web_call(q, json_pack("{s:s, s:s, s:s}", "op", "login", "user", user,
	    "password", pw), NULL, &rep);
	if (r == 0 && web_ok(rep)) {
		if ((tok = web_str(rep, "token", WEB_TOKEN_LEN)) == NULL ||
		    !web_token_ok(tok)) {
			web_message(q, 500, "Error", "Something went wrong.");
			goto out;
		}
		memcpy(q->set_token, tok, WEB_TOKEN_LEN + 1);
		q->cookie = 1;
		web_redirect(q, json_is_true(json_object_get(rep,
		    "must_change")) ? "/password" : "/");
	} else if (r == 0 && (web_is(rep, "auth") || web_is(rep, "format")))
		web_login_page(q, 401, user, NULL, "Wrong user name or password.");
	else if (r == 0 && web_retry(q, rep, text, sizeof(text)))
		web_login_page(q, 429, user, NULL, text);
	else
		web_fail(q, rep, r);
 out:
	mm_wipe(pw, sizeof(pw));
	web_reply_free(rep);
}

static void
web_post_logout(struct web_rq *q)
{
	char csrf[WEB_CSRF_MAX + 1];
	json_t *rep = NULL;
	int r;

	if (q->token[0] == '\0') {
		q->cookie = -1;
		web_redirect(q, "/login");
		return;
	}
	if (web_post_ok(q, csrf, sizeof(csrf)) != 0)
		return;
	r = web_call(q, json_pack("{s:s, s:s}", "op", "logout", "token",
	    q->token), csrf, &rep);
	if (r == 0 && (web_ok(rep) || web_is(rep, "session"))) {
		q->cookie = -1;
		web_redirect(q, "/login");
	} else
		web_fail(q, rep, r);
	web_reply_free(rep);
}

static void
web_password_page(struct web_rq *q, int status, int must_change,
    const char *error)
{
	const struct agent_web_conf *wc = agent_web_settings(q->w);
	unsigned len = wc->pw_min_len > 0 ? wc->pw_min_len : 8;
	unsigned cls = wc->pw_min_classes > 0 ? wc->pw_min_classes : 2;

	web_begin(q, status, "Change password");
	if (must_change)
		web_para(q, "warning", "This account still has its initial "
		    "password. Change it before doing anything else.");
	if (error != NULL)
		web_para(q, "error", error);
	web_fmt(q, "<p>The new password must</p>\n<ul>\n"
	    "<li>have at least %u characters,</li>\n"
	    "<li>mix at least %s of letters, digits and symbols,</li>\n",
	    len, cls >= 3 ? "all three" : "two");
	web_raw(q, "<li>not be a well-known or leaked password, and not contain your "
	    "user name or the device's model, serial number or id,</li>\n"
	    "<li>differ from your recent passwords.</li>\n</ul>\n"
	    "<p>Changing it logs you out everywhere.</p>\n"
	    "<form method=\"post\" action=\"/password\">\n");
	web_csrf_field(q);
	web_raw(q, "<label for=\"old\">Current password</label>\n"
	    "<input id=\"old\" name=\"old\" type=\"password\" "
	    "autocomplete=\"current-password\" required>\n"
	    "<label for=\"new\">New password</label>\n");
	web_fmt(q, "<input id=\"new\" name=\"new\" type=\"password\" "
	    "autocomplete=\"new-password\" minlength=\"%u\" required>\n", len);
	web_raw(q, "<label for=\"confirm\">New password again</label>\n");
	web_fmt(q, "<input id=\"confirm\" name=\"confirm\" type=\"password\" "
	    "autocomplete=\"new-password\" minlength=\"%u\" required>\n", len);
	web_raw(q, "<button type=\"submit\">Change password</button>\n</form>\n");
	if (!must_change)
		web_back(q);
	web_end(q);
}

static void
web_get_password(struct web_rq *q)
{
	if (web_session(q, 1) != 0)
		return;
	web_password_page(q, 200, json_is_true(json_object_get(q->who,
	    "must_change")), NULL);
}

static void
web_post_password(struct web_rq *q)
{
	char csrf[WEB_CSRF_MAX + 1], old[WEB_PW_MAX + 1], nw[WEB_PW_MAX + 1];
	char cf[WEB_PW_MAX + 1], text[160];
	const char *msg;
	json_t *rep = NULL;
	int r, mc;

	old[0] = nw[0] = cf[0] = '\0';
	if (web_post_ok(q, csrf, sizeof(csrf)) != 0 || web_session(q, 1) != 0)
		goto out;
	/* shown again after a refusal: keep saying why this page is forced */
	mc = json_is_true(json_object_get(q->who, "must_change"));
	q->csrf = csrf;		/* for the form, if it is shown again */
	if (web_field(q, "old", old, sizeof(old)) != 0 ||
	    web_field(q, "new", nw, sizeof(nw)) != 0 ||
	    web_field(q, "confirm", cf, sizeof(cf)) != 0) {
		web_password_page(q, 400, mc, "Fill in all three fields.");
		goto out;
	}
	if (strcmp(nw, cf) != 0) {
		web_password_page(q, 422, mc, "The new password and its "
		    "repetition differ.");
		goto out;
	}
	r = web_call(q, json_pack("{s:s, s:s, s:s, s:s}", "op", "passwd",
	    "token", q->token, "old", old, "new", nw), csrf, &rep);
	if (r == 0 && web_ok(rep)) {
		/* the monitor has ended every session of this user */
		q->cookie = -1;
		web_redirect(q, "/login?changed=1");
	} else if (r == 0 && web_is(rep, "policy")) {
		msg = web_str(rep, "message", WEB_MSG_MAX);
		web_password_page(q, 422, mc, msg != NULL ? msg :
		    "The new password does not meet the rules.");
	} else if (r == 0 && web_is(rep, "auth"))
		web_password_page(q, 401, mc, "The current password is wrong.");
	else if (r == 0 && web_retry(q, rep, text, sizeof(text)))
		web_password_page(q, 429, mc, text);
	else
		web_fail(q, rep, r);
 out:
	mm_wipe(old, sizeof(old));
	mm_wipe(nw, sizeof(nw));
	mm_wipe(cf, sizeof(cf));
	web_reply_free(rep);
}

/* ---- overview ---- */

static void
web_row(struct web_rq *q, const char *label, const char *value)
{
	web_fmt(q, "<tr><th>%s</th><td>", label);
	web_esc(q, value != NULL ? value : "unknown");
	web_raw(q, "</td></tr>\n");
}

static void
web_maint_text(const json_t *st, char *out, size_t outsz)
{
	int64_t until = 0;
	char t[40];

	if (mm_msg_get_int(st, "maintenance_until", 0, INT64_MAX, &until) != 0)
		snprintf(out, outsz, "unknown");
	else if (until == 0)
		snprintf(out, outsz, "off");
	else {
		web_time(t, sizeof(t), until);
		snprintf(out, outsz, "on until %s", t);
	}
}

static void
web_logout_form(struct web_rq *q)
{
	web_raw(q, "<form method=\"post\" action=\"/logout\">\n");
	web_csrf_field(q);
	web_raw(q, "<button type=\"submit\">Log out</button>\n</form>\n");
}

static void
web_get_index(struct web_rq *q)
{
	json_t *st = NULL, *v;
	int64_t days;
	char text[80];
	int r;

	if (web_session(q, 0) != 0)
		return;
	if ((r = web_call(q, json_pack("{s:s, s:s}", "op", "status", "token",
	    q->token), NULL, &st)) != 0 || !web_ok(st)) {
		web_fail(q, st, r);
		goto out;
	}
	web_begin(q, 200, "Device overview");
	if (mm_msg_get_int(q->who, "expires_in_days", 0, 100000, &days) == 0) {
		snprintf(text, sizeof(text), "Your password expires in %lld "
		    "day%s.", (long long)days, days == 1 ? "" : "s");
		web_para(q, "warning", text);
	}
	if (json_is_true(json_object_get(st, "cred_initial")))
		web_para(q, "warning", "An administrator account still has its "
		    "initial password.");
	web_raw(q, "<table>\n");
	web_row(q, "Model", web_str(st, "model", 64));
	web_row(q, "Serial number", web_str(st, "serial", 64));
	web_row(q, "Firmware", web_str(st, "fw_version", 64));
	web_row(q, "Device id", web_str(st, "device_id", 64));
	v = json_object_get(st, "enrolled");
	web_row(q, "Fleet enrolment", !json_is_boolean(v) ? NULL :
	    json_is_true(v) ? "enrolled" : "not enrolled");
	v = json_object_get(st, "cred_initial");
	web_row(q, "Initial credentials", !json_is_boolean(v) ? NULL :
	    json_is_true(v) ? "still in use" : "changed");
	web_maint_text(st, text, sizeof(text));
	web_row(q, "Maintenance mode", text);
	web_raw(q, "<tr><th>Signed in as</th><td>");
	web_esc(q, web_str(q->who, "user", MM_USER_MAX));
	web_raw(q, " (");
	web_esc(q, web_str(q->who, "role", 16));
	web_raw(q, ")</td></tr>\n</table>\n<h2>Manage</h2>\n<ul>\n"
	    "<li><a href=\"/password\">Change your password</a></li>\n");
	if (q->role >= WEB_ROLE_OPERATOR)
		web_raw(q, "<li><a href=\"/settings\">Settings</a></li>\n");
	if (q->role >= WEB_ROLE_ADMIN)
		web_raw(q, "<li><a href=\"/users\">Users</a></li>\n"
		    "<li><a href=\"/maintenance\">Maintenance mode</a></li>\n");
	web_raw(q, "</ul>\n");
	web_logout_form(q);
	web_end(q);
 out:
	web_reply_free(st);
}

static void
web_get_css(struct web_rq *q)
{
	q->status = 200;
	q->ctype = "text/css; charset=utf-8";
	web_raw(q, web_css);
}

/* ---- users ---- */

static void
web_user_row(struct web_rq *q, const json_t *u)
{
	const char *name = web_str(u, "user", MM_USER_MAX);
	int64_t changed = 0;
	char t[40];

	if (name == NULL)
		return;
	web_raw(q, "<tr><td>");
	web_esc(q, name);
	web_raw(q, "</td><td>");
	web_esc(q, web_str(u, "role", 16) != NULL ? web_str(u, "role", 16) :
	    "unknown");
	web_raw(q, "</td><td>");
	if (json_is_true(json_object_get(u, "must_change")))
		web_raw(q, "must be changed");
	else if (mm_msg_get_int(u, "changed", 1, INT64_MAX, &changed) == 0) {
		web_time(t, sizeof(t), changed);
		web_esc(q, t);
	}
	web_raw(q, "</td><td><form class=\"inline\" method=\"post\" "
	    "action=\"/users/delete\">\n");
	web_csrf_field(q);
	web_raw(q, "<input type=\"hidden\" name=\"user\" value=\"");
	web_esc(q, name);
	web_raw(q, "\"><button type=\"submit\">Delete</button></form>"
	    "</td></tr>\n");
}

static void
web_get_users(struct web_rq *q)
{
	json_t *rep = NULL, *list;
	size_t i;
	int r;

	if (web_session(q, 0) != 0 || web_need_role(q, WEB_ROLE_ADMIN) != 0)
		return;
	if ((r = web_call(q, json_pack("{s:s, s:s}", "op", "users", "token",
	    q->token), NULL, &rep)) != 0 || !web_ok(rep) ||
	    !json_is_array(list = json_object_get(rep, "users"))) {
		web_fail(q, rep, r);
		goto out;
	}
	web_begin(q, 200, "Users");
	web_done_notice(q, "Done.");
	web_raw(q, "<table>\n<tr><th>User</th><th>Role</th>"
	    "<th>Password changed</th><th></th></tr>\n");
	for (i = 0; i < json_array_size(list); i++)
		web_user_row(q, json_array_get(list, i));
	web_raw(q, "</table>\n<h2>Add a user</h2>\n"
	    "<form method=\"post\" action=\"/users/add\">\n");
	web_csrf_field(q);
	web_raw(q, "<label for=\"user\">User name (a-z, 0-9, '.', '_', '-')"
	    "</label>\n<input id=\"user\" name=\"user\" maxlength=\"32\" "
	    "autocapitalize=\"none\" required>\n"
	    "<label for=\"role\">Role</label>\n<select id=\"role\" name=\"role\">"
	    "\n<option value=\"viewer\">viewer: sees the status</option>\n"
	    "<option value=\"operator\">operator: also changes settings</option>\n"
	    "<option value=\"admin\">admin: also manages users</option>\n"
	    "</select>\n<label for=\"password\">Initial password (to be changed "
	    "at the first login)</label>\n<input id=\"password\" "
	    "name=\"password\" type=\"password\" autocomplete=\"new-password\" "
	    "required>\n<button type=\"submit\">Add</button>\n</form>\n");
	web_back(q);
	web_end(q);
 out:
	web_reply_free(rep);
}

static void
web_post_user_add(struct web_rq *q)
{
	char csrf[WEB_CSRF_MAX + 1], user[WEB_FIELD_MAX + 1];
	char role[WEB_FIELD_MAX + 1], pw[WEB_PW_MAX + 1];

	pw[0] = '\0';
	if (web_post_ok(q, csrf, sizeof(csrf)) != 0)
		goto out;
	if (web_field(q, "user", user, sizeof(user)) != 0 ||
	    web_field(q, "role", role, sizeof(role)) != 0 ||
	    web_role(role) == WEB_ROLE_NONE ||
	    web_field(q, "password", pw, sizeof(pw)) != 0) {
		web_message(q, 400, "Not accepted", "Give a user name, a role "
		    "and a password.");
		goto out;
	}
	web_act(q, json_pack("{s:s, s:s, s:s, s:s, s:s}", "op", "user_add",
	    "token", q->token, "user", user, "role", role, "password", pw),
	    csrf, "/users?done=1");
 out:
	mm_wipe(pw, sizeof(pw));
}

static void
web_post_user_del(struct web_rq *q)
{
	char csrf[WEB_CSRF_MAX + 1], user[WEB_FIELD_MAX + 1];

	if (web_post_ok(q, csrf, sizeof(csrf)) != 0)
		return;
	if (web_field(q, "user", user, sizeof(user)) != 0) {
		web_message(q, 400, "Not accepted", "Which user?");
		return;
	}
	web_act(q, json_pack("{s:s, s:s, s:s}", "op", "user_del", "token",
	    q->token, "user", user), csrf, "/users?done=1");
}

/* ---- settings and maintenance ---- */

static void
web_get_settings(struct web_rq *q)
{
	if (web_session(q, 0) != 0 || web_need_role(q, WEB_ROLE_OPERATOR) != 0)
		return;
	web_begin(q, 200, "Settings");
	web_done_notice(q, "Saved.");
	web_raw(q, "<form method=\"post\" action=\"/settings\">\n");
	web_csrf_field(q);
	web_raw(q, "<label for=\"hb\">Heartbeat interval to the fleet server, "
	    "in seconds (1 to 86400)</label>\n<input id=\"hb\" "
	    "name=\"heartbeat_interval\" type=\"number\" min=\"1\" "
	    "max=\"86400\" required>\n<button type=\"submit\">Save</button>\n"
	    "</form>\n");
	web_back(q);
	web_end(q);
}

static void
web_post_settings(struct web_rq *q)
{
	char csrf[WEB_CSRF_MAX + 1], num[WEB_FIELD_MAX + 1];
	int64_t v;

	if (web_post_ok(q, csrf, sizeof(csrf)) != 0)
		return;
	if (web_field(q, "heartbeat_interval", num, sizeof(num)) != 0 ||
	    web_number(num, &v) != 0) {
		web_message(q, 400, "Not accepted", "Enter a whole number of "
		    "seconds.");
		return;
	}
	web_act(q, json_pack("{s:s, s:s, s:s, s:I}", "op", "config_set",
	    "token", q->token, "key", "heartbeat_interval", "value",
	    (json_int_t)v), csrf, "/settings?done=1");
}

static void
web_get_maint(struct web_rq *q)
{
	json_t *st = NULL;
	char text[80];
	int r;

	if (web_session(q, 0) != 0 || web_need_role(q, WEB_ROLE_ADMIN) != 0)
		return;
	if ((r = web_call(q, json_pack("{s:s, s:s}", "op", "status", "token",
	    q->token), NULL, &st)) != 0 || !web_ok(st)) {
		web_fail(q, st, r);
		goto out;
	}
	web_maint_text(st, text, sizeof(text));
	web_begin(q, 200, "Maintenance mode");
	web_done_notice(q, "Done.");
	web_raw(q, "<p>Maintenance mode is ");
	web_esc(q, text);
	web_raw(q, ".</p>\n<p>To switch it on, press the maintenance button "
	    "on the device first (physical presence), then send this form. "
	    "0 minutes switches it off.</p>\n"
	    "<form method=\"post\" action=\"/maintenance\">\n");
	web_csrf_field(q);
	web_raw(q, "<label for=\"minutes\">Minutes</label>\n<input "
	    "id=\"minutes\" name=\"minutes\" type=\"number\" min=\"0\" "
	    "required>\n<button type=\"submit\">Apply</button>\n</form>\n");
	web_back(q);
	web_end(q);
 out:
	web_reply_free(st);
}

static void
web_post_maint(struct web_rq *q)
{
	char csrf[WEB_CSRF_MAX + 1], num[WEB_FIELD_MAX + 1];
	int64_t v;

	if (web_post_ok(q, csrf, sizeof(csrf)) != 0)
		return;
	if (web_field(q, "minutes", num, sizeof(num)) != 0 ||
	    web_number(num, &v) != 0) {
		web_message(q, 400, "Not accepted", "Enter a whole number of "
		    "minutes.");
		return;
	}
	web_act(q, json_pack("{s:s, s:s, s:I}", "op", "maintenance", "token",
	    q->token, "minutes", (json_int_t)v), csrf, "/maintenance?done=1");
}

/* ---- dispatch ---- */

struct web_route {
	const char *path;
	void (*get)(struct web_rq *);	/* also HEAD */
	void (*post)(struct web_rq *);
	const char *allow;
};

static const struct web_route web_routes[] = {
	{ "/", web_get_index, NULL, "GET, HEAD" },
	{ "/style.css", web_get_css, NULL, "GET, HEAD" },
	{ "/login", web_get_login, web_post_login, "GET, HEAD, POST" },
	{ "/logout", NULL, web_post_logout, "POST" },
	{ "/password", web_get_password, web_post_password, "GET, HEAD, POST" },
	{ "/users", web_get_users, NULL, "GET, HEAD" },
	{ "/users/add", NULL, web_post_user_add, "POST" },
	{ "/users/delete", NULL, web_post_user_del, "POST" },
	{ "/settings", web_get_settings, web_post_settings, "GET, HEAD, POST" },
	{ "/maintenance", web_get_maint, web_post_maint, "GET, HEAD, POST" },
};

static void
web_route(struct web_rq *q)
{
	const struct web_route *rt = NULL;
	char tok[WEB_TOKEN_LEN + 1];
	size_t i;

	/* a malformed cookie counts as none: the pages ask to log in */
	if (mm_http_cookie(q->http, AGENT_WEB_COOKIE, tok, sizeof(tok)) == 0 &&
	    web_token_ok(tok))
		memcpy(q->token, tok, sizeof(tok));
	mm_wipe(tok, sizeof(tok));
	for (i = 0; i < sizeof(web_routes) / sizeof(web_routes[0]); i++)
		if (strcmp(q->http->path, web_routes[i].path) == 0)
			rt = &web_routes[i];
	if (rt == NULL)
		web_message(q, 404, "Not found", "There is no such page.");
	else if (q->http->method != MM_HTTP_POST && rt->get != NULL)
		rt->get(q);
	else if (q->http->method == MM_HTTP_POST && rt->post != NULL)
		rt->post(q);
	else {
		q->allow = rt->allow;
		web_message(q, 405, "Not allowed", "This page does not take "
		    "that method.");
	}
}

static int
web_put(struct mm_buf *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
web_put(struct mm_buf *out, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n, r;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		r = MM_ERR_TOO_LARGE;
	else
		r = mm_buf_put(out, line, (size_t)n);
	mm_wipe(line, sizeof(line));	/* it may have held the token */
	return r;
}

/* Status line, headers, body. */
static int
web_write(const struct web_rq *q, struct mm_buf *out, int close_after)
{
	const struct mm_http_req *h = q->http;
	size_t blen = mm_buf_len(q->body);
	int r;

	if ((r = web_put(out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\n", q->status, mm_http_reason(q->status),
	    q->ctype != NULL ? q->ctype : "text/html; charset=utf-8",
	    blen)) != 0 ||
	    (r = mm_buf_put(out, web_headers, sizeof(web_headers) - 1)) != 0)
		return r;
	if (q->location != NULL &&
	    (r = web_put(out, "Location: %s\r\n", q->location)) != 0)
		return r;
	if (q->cookie != 0 && (r = web_put(out, "Set-Cookie: %s=%s%s%s\r\n",
	    AGENT_WEB_COOKIE, q->cookie > 0 ? q->set_token : "",
	    q->cookie > 0 ? "" : "; Max-Age=0", web_cookie_attrs)) != 0)
		return r;
	if (q->retry_after > 0 &&
	    (r = web_put(out, "Retry-After: %ld\r\n", q->retry_after)) != 0)
		return r;
	if (q->allow != NULL &&
	    (r = web_put(out, "Allow: %s\r\n", q->allow)) != 0)
		return r;
	if (close_after)
		r = web_put(out, "Connection: close\r\n\r\n");
	else if (h->minor == 0)
		r = web_put(out, "Connection: keep-alive\r\n\r\n");
	else
		r = web_put(out, "\r\n");
	if (r != 0)
		return r;
	if (h->method == MM_HTTP_HEAD)
		return MM_OK;
	return mm_buf_put(out, mm_buf_ptr(q->body), blen);
}

int
agent_web_respond(struct agent_web *w, const char *src,
    const struct mm_http_req *req, struct mm_buf *out, int *close_after)
{
	struct web_rq q;
	int r, cl;

	memset(&q, 0, sizeof(q));
	q.w = w;
	q.src = src;
	q.http = req;
	q.role = WEB_ROLE_NONE;
	if ((q.body = mm_buf_new(WEB_PAGE_MAX)) == NULL)
		return MM_ERR_ALLOC;
	if (req->status != 0)
		web_message(&q, req->status, mm_http_reason(req->status),
		    "The request was refused.");
	else
		web_route(&q);
	if (q.err != 0) {
		mm_log(MM_LOG_WARN, "web: page %s: %s", req->path,
		    mm_strerror(q.err));
		q.cookie = 0;
		q.location = NULL;
		web_message(&q, 500, "Error", "Something went wrong.");
	}
	cl = req->status != 0 || !req->keep_alive || q.status >= 500;
	if ((r = web_write(&q, out, cl)) == 0) {
		*close_after = cl;
		r = q.status;
	}
	web_reply_free(q.who);
	mm_wipe(q.token, sizeof(q.token));
	mm_wipe(q.set_token, sizeof(q.set_token));
	mm_buf_free(q.body);
	return r;
}
