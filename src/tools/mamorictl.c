/*
 * mamorictl - local administration of a mamori device over the agent's
 * control socket (decision 0007).  Every request is decided by the agent's
 * monitor; this program only asks and prints.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/mm_alloc.h"
#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "common/mm_file.h"
#include "device/mm_admin_msg.h"
#include "device/mm_pwpolicy.h"

/* the packaged configuration's socket, then the agent's built-in default
 * (ctl.sock in the packaged state directory) */
#define CTL_DEFAULT_SOCKET "/run/mamori-agent/ctl.sock"
#define CTL_FALLBACK_SOCKET "/var/lib/mamori-agent/ctl.sock"
#define CTL_TIMEOUT_S 30

struct ctl {
	const char *socket;
	char session[512];
	int fd;
	char token[65];
};

static _Noreturn void
usage(void)
{
	fprintf(stderr,
	    "usage: mamorictl [--socket PATH] [--session FILE] <command>\n"
	    "  (socket: $MAMORI_CTL_SOCKET, else " CTL_DEFAULT_SOCKET ", else\n"
	    "   " CTL_FALLBACK_SOCKET ")\n"
	    "  login [USER]               log in (default user admin)\n"
	    "  logout | whoami | status | users | diag\n"
	    "  passwd [USER]              change your password (or, as admin, USER's)\n"
	    "  user-add NAME ROLE         add a user (viewer, operator, admin)\n"
	    "  user-del NAME\n"
	    "  set heartbeat_interval N\n"
	    "  maintenance MINUTES|off    needs the maintenance button pressed\n"
	    "Passwords are read from the terminal without echo, or one per line\n"
	    "from standard input when it is not a terminal.\n");
	exit(2);
}

static void
ctl_session_path(struct ctl *c, const char *given)
{
	const char *dir;

	if (given != NULL)
		snprintf(c->session, sizeof(c->session), "%s", given);
	else if ((dir = getenv("XDG_RUNTIME_DIR")) != NULL && *dir == '/')
		snprintf(c->session, sizeof(c->session), "%s/mamorictl.session", dir);
	else if ((dir = getenv("HOME")) != NULL && *dir == '/')
		snprintf(c->session, sizeof(c->session), "%s/.mamorictl.session", dir);
	else
		snprintf(c->session, sizeof(c->session), ".mamorictl.session");
}

static int
ctl_connect(struct ctl *c)
{
	struct sockaddr_un sun;
	struct timeval tv = { CTL_TIMEOUT_S, 0 };

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(c->socket) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "mamorictl: socket path too long\n");
		return -1;
	}
	memcpy(sun.sun_path, c->socket, strlen(c->socket) + 1);
	if ((c->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    connect(c->fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		fprintf(stderr, "mamorictl: cannot reach the agent at %s: %s\n",
		    c->socket, strerror(errno));
		return -1;
	}
	return 0;
}

/* Sends req (consumed, secrets wiped) and returns the reply object. */
static json_t *
ctl_call(struct ctl *c, json_t *req)
{
	char *text = json_dumps(req, JSON_COMPACT);
	char buf[MM_ADMREP_MAX + 1];
	json_t *o = NULL;
	ssize_t n;

	mm_admin_json_wipe_free(req);
	if (text == NULL)
		return NULL;
	n = send(c->fd, text, strlen(text), MSG_NOSIGNAL);
	mm_wipe(text, strlen(text));
	free(text);
	if (n < 0) {
		fprintf(stderr, "mamorictl: send: %s\n", strerror(errno));
		return NULL;
	}
	if ((n = recv(c->fd, buf, sizeof(buf) - 1, 0)) <= 0) {
		fprintf(stderr, "mamorictl: no answer from the agent%s%s\n",
		    n < 0 ? ": " : "", n < 0 ? strerror(errno) : "");
		return NULL;
	}
	o = json_loadb(buf, (size_t)n, JSON_REJECT_DUPLICATES, NULL);
	mm_wipe(buf, sizeof(buf));
	if (o == NULL || !json_is_object(o)) {
		fprintf(stderr, "mamorictl: malformed answer\n");
		json_decref(o);
		return NULL;
	}
	return o;
}

/* Prints an error reply; returns the exit code. */
static int
ctl_failed(const json_t *o)
{
	const char *err = json_string_value(json_object_get(o, "error"));
	const char *msg = json_string_value(json_object_get(o, "message"));
	json_int_t retry = json_integer_value(json_object_get(o, "retry_after"));

	fprintf(stderr, "mamorictl: %s (%s)", msg != NULL ? msg : "refused",
	    err != NULL ? err : "?");
	if (retry > 0)
		fprintf(stderr, "; retry in %lld s", (long long)retry);
	fputc('\n', stderr);
	return err != NULL && strcmp(err, "session") == 0 ? 3 : 1;
}

static int
ctl_read_password(const char *prompt, char *out, size_t outsz)
{
	struct termios old, quiet;
	int tty = isatty(STDIN_FILENO), ok;
	size_t n;

	if (tty) {
		fprintf(stderr, "%s", prompt);
		if (tcgetattr(STDIN_FILENO, &old) != 0)
			return -1;
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	ok = fgets(out, (int)outsz, stdin) != NULL;
	if (tty) {
		(void)tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (!ok)
		return -1;
	n = strlen(out);
	if (n > 0 && out[n - 1] != '\n' && !feof(stdin)) {
		mm_wipe(out, outsz);
		fprintf(stderr, "mamorictl: password longer than %d bytes\n", MM_PW_MAX);
		return -1;
	}
	out[strcspn(out, "\r\n")] = '\0';
	return 0;
}

static int
ctl_load_token(struct ctl *c)
{
	char *text = NULL;
	size_t len;

	if (mm_file_read(c->session, 256, &text, &len) != 0 || len < 64) {
		mm_free(text);
		fprintf(stderr, "mamorictl: not logged in (mamorictl login)\n");
		return -1;
	}
	memcpy(c->token, text, 64);
	c->token[64] = '\0';
	mm_freezero(text, len);
	return 0;
}

static json_t *
ctl_req(struct ctl *c, const char *op)
{
	json_t *o = json_pack("{s:s}", "op", op);

	if (o != NULL && c->token[0] != '\0' &&
	    json_object_set_new(o, "token", json_string(c->token)) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static void
ctl_print_user(const json_t *o)
{
	json_int_t days = json_integer_value(json_object_get(o, "expires_in_days"));

	printf("user %s, role %s\n", json_string_value(json_object_get(o, "user")),
	    json_string_value(json_object_get(o, "role")));
	if (json_is_true(json_object_get(o, "must_change")))
		printf("the password must be changed before anything else "
		    "(mamorictl passwd)\n");
	if (json_object_get(o, "expires_in_days") != NULL)
		printf("the password expires in %lld day(s)\n", (long long)days);
}

static int
cmd_login(struct ctl *c, const char *user)
{
	char pw[MM_PW_MAX + 2];
	json_t *o;
	const char *tok;
	int rc;

	if (ctl_read_password("password: ", pw, sizeof(pw)) != 0)
		return 1;
	o = json_pack("{s:s, s:s, s:s}", "op", "login", "user", user, "password", pw);
	mm_wipe(pw, sizeof(pw));
	if (o == NULL || (o = ctl_call(c, o)) == NULL)
		return 1;
	if (!json_is_true(json_object_get(o, "ok"))) {
		rc = ctl_failed(o);
		mm_admin_json_wipe_free(o);
		return rc;
	}
	tok = json_string_value(json_object_get(o, "token"));
	if (tok == NULL || strlen(tok) != 64 ||
	    mm_file_write_atomic(c->session, tok, 64, 0600) != 0) {
		fprintf(stderr, "mamorictl: cannot keep the session in %s\n",
		    c->session);
		mm_admin_json_wipe_free(o);
		return 1;
	}
	ctl_print_user(o);
	mm_admin_json_wipe_free(o);
	return 0;
}

static int
cmd_passwd(struct ctl *c, const char *user)
{
	char old[MM_PW_MAX + 2], pw[MM_PW_MAX + 2], again[MM_PW_MAX + 2];
	json_t *o = NULL;
	int rc = 1;

	if (ctl_read_password(user != NULL ? "your current password: " :
	    "current password: ", old, sizeof(old)) != 0 ||
	    ctl_read_password("new password: ", pw, sizeof(pw)) != 0 ||
	    ctl_read_password("new password again: ", again, sizeof(again)) != 0)
		goto out;
	if (strcmp(pw, again) != 0) {
		fprintf(stderr, "mamorictl: the two new passwords differ\n");
		goto out;
	}
	if ((o = ctl_req(c, "passwd")) == NULL ||
	    json_object_set_new(o, "old", json_string(old)) != 0 ||
	    json_object_set_new(o, "new", json_string(pw)) != 0 ||
	    (user != NULL && json_object_set_new(o, "user", json_string(user)) != 0))
		goto out;
	if ((o = ctl_call(c, o)) == NULL)
		goto out;
	if (!json_is_true(json_object_get(o, "ok")))
		rc = ctl_failed(o);
	else {
		printf("password changed; every session of that user has ended\n");
		if (user == NULL)
			(void)unlink(c->session);
		rc = 0;
	}
 out:
	mm_wipe(old, sizeof(old));
	mm_wipe(pw, sizeof(pw));
	mm_wipe(again, sizeof(again));
	mm_admin_json_wipe_free(o);
	return rc;
}

static int
cmd_user_add(struct ctl *c, const char *name, const char *role)
{
	char pw[MM_PW_MAX + 2];
	json_t *o;
	int r;

	if (ctl_read_password("first password of the new user: ", pw,
	    sizeof(pw)) != 0)
		return 1;
	o = ctl_req(c, "user_add");
	r = o == NULL || json_object_set_new(o, "user", json_string(name)) != 0 ||
	    json_object_set_new(o, "role", json_string(role)) != 0 ||
	    json_object_set_new(o, "password", json_string(pw)) != 0;
	mm_wipe(pw, sizeof(pw));
	if (r != 0 || (o = ctl_call(c, o)) == NULL)
		return 1;
	r = json_is_true(json_object_get(o, "ok")) ? 0 : ctl_failed(o);
	if (r == 0)
		printf("user %s added; they must change the password at first "
		    "login\n", name);
	json_decref(o);
	return r;
}

/* Requests whose reply is printed as it comes. */
static int
cmd_simple(struct ctl *c, json_t *o, const char *op)
{
	const char *u;
	size_t i;
	json_t *v;
	int r;

	if (o == NULL || (o = ctl_call(c, o)) == NULL)
		return 1;
	if (!json_is_true(json_object_get(o, "ok"))) {
		r = ctl_failed(o);
		json_decref(o);
		return r;
	}
	if (strcmp(op, "logout") == 0) {
		(void)unlink(c->session);
		printf("logged out\n");
	} else if (strcmp(op, "whoami") == 0)
		ctl_print_user(o);
	else if (strcmp(op, "users") == 0) {
		json_array_foreach(json_object_get(o, "users"), i, v) {
			u = json_string_value(json_object_get(v, "user"));
			printf("%-32s %-8s%s\n", u != NULL ? u : "?",
			    json_string_value(json_object_get(v, "role")),
			    json_is_true(json_object_get(v, "must_change")) ?
			    "  (must change password)" : "");
		}
	} else {
		json_object_del(o, "ok");
		json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		fputc('\n', stdout);
	}
	json_decref(o);
	return 0;
}

int
main(int argc, char **argv)
{
	struct ctl c;
	const char *session = NULL;
	json_t *o;
	char *end;
	long v;
	int i, rc;

	memset(&c, 0, sizeof(c));
	c.fd = -1;
	c.socket = getenv("MAMORI_CTL_SOCKET") != NULL ?
	    getenv("MAMORI_CTL_SOCKET") : access(CTL_DEFAULT_SOCKET, F_OK) == 0 ||
	    access(CTL_FALLBACK_SOCKET, F_OK) != 0 ? CTL_DEFAULT_SOCKET :
	    CTL_FALLBACK_SOCKET;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc)
			c.socket = argv[++i];
		else if (strcmp(argv[i], "--session") == 0 && i + 1 < argc)
			session = argv[++i];
		else
			usage();
	}
	if (i >= argc)
		usage();
	argc -= i;
	argv += i;
	if (mm_crypto_init() != 0)
		return 1;
	ctl_session_path(&c, session);
	if (strcmp(argv[0], "login") != 0 && ctl_load_token(&c) != 0)
		return 3;
	if (ctl_connect(&c) != 0)
		return 1;
	if (strcmp(argv[0], "login") == 0 && argc <= 2)
		rc = cmd_login(&c, argc == 2 ? argv[1] : "admin");
	else if (strcmp(argv[0], "passwd") == 0 && argc <= 2)
		rc = cmd_passwd(&c, argc == 2 ? argv[1] : NULL);
	else if (strcmp(argv[0], "user-add") == 0 && argc == 3)
		rc = cmd_user_add(&c, argv[1], argv[2]);
	else if (strcmp(argv[0], "user-del") == 0 && argc == 2) {
		o = ctl_req(&c, "user_del");
		if (o != NULL)
			json_object_set_new(o, "user", json_string(argv[1]));
		rc = cmd_simple(&c, o, "user_del");
	} else if (strcmp(argv[0], "set") == 0 && argc == 3) {
		errno = 0;
		v = strtol(argv[2], &end, 10);
		if (errno != 0 || *end != '\0' || end == argv[2] || v < 0)
			usage();
		o = ctl_req(&c, "config_set");
		if (o != NULL) {
			json_object_set_new(o, "key", json_string(argv[1]));
			json_object_set_new(o, "value", json_integer(v));
		}
		rc = cmd_simple(&c, o, "config_set");
	} else if (strcmp(argv[0], "maintenance") == 0 && argc == 2) {
		if (strcmp(argv[1], "off") == 0)
			v = 0;
		else {
			errno = 0;
			v = strtol(argv[1], &end, 10);
			if (errno != 0 || *end != '\0' || end == argv[1] || v <= 0)
				usage();
		}
		o = ctl_req(&c, "maintenance");
		if (o != NULL)
			json_object_set_new(o, "minutes", json_integer(v));
		rc = cmd_simple(&c, o, "maintenance");
	} else if (argc == 1 && (strcmp(argv[0], "logout") == 0 ||
	    strcmp(argv[0], "whoami") == 0 || strcmp(argv[0], "status") == 0 ||
	    strcmp(argv[0], "users") == 0 || strcmp(argv[0], "diag") == 0))
		rc = cmd_simple(&c, ctl_req(&c, argv[0]), argv[0]);
	else
		usage();
	close(c.fd);
	mm_wipe(c.token, sizeof(c.token));
	return rc;
}
