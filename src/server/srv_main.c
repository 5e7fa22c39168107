/* srv_main.c - mamori-server command line. */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "common/mm_log.h"
#include "common/mm_str.h"
#include "server/srv_admin.h"
#include "server/srv_broker.h"
#include "server/srv_cmd.h"
#include "server/srv_conf.h"
#include "server/srv_db.h"
#include "server/srv_enroll.h"
#include "server/srv_init.h"
#include "server/srv_run.h"
#include "server/srv_seclog.h"

static _Noreturn void
usage(void)
{
	fprintf(stderr,
	    "usage: mamori-server init <dir> [--host H] [--bind A] [--port P] [--prov-port P]\n"
	    "       mamori-server run <dir>\n"
	    "       mamori-server broker start|stop|restart <dir>\n"
	    "       mamori-server device add <dir> --serial S --model M [--location L]\n"
	    "                                [--admin A] [--bundle OUTDIR]\n"
	    "       mamori-server device import <dir> <file.csv>\n"
	    "       mamori-server device token <dir> <device-id> [--bundle OUTDIR]\n"
	    "       mamori-server device revoke <dir> <device-id> [--reason R]\n"
	    "       mamori-server device cmd <dir> <device-id> <command> [json-args]\n"
	    "       mamori-server device cred-reset <dir> <device-id> [--user NAME]\n"
	    "       mamori-server device cred-secret <dir> <device-id>\n"
	    "       mamori-server device list <dir>\n"
	    "       mamori-server device seclog-key <dir> <device-id> <keyfile> [--replace]\n"
	    "       mamori-server log show <dir> <device-id> [--from SEQ] [--to SEQ]\n"
	    "                              [--type NAME] [--min-severity N] [--limit N] [--json]\n"
	    "       mamori-server log verify <dir> <device-id>\n"
	    "       mamori-server log status <dir> [<device-id>]\n"
	    "       mamori-server alerts|commands|stats <dir>\n");
	exit(2);
}

static int
parse_port(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < 1 || v > 65535) {
		fprintf(stderr, "invalid port: %s\n", s);
		exit(2);
	}
	return (int)v;
}

/* A decimal number in [min, max], or usage. */
static uint64_t
parse_u64(const char *s, uint64_t min, uint64_t max)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 || v < min ||
	    v > max) {
		fprintf(stderr, "invalid number: %s (%llu..%llu)\n", s,
		    (unsigned long long)min, (unsigned long long)max);
		exit(2);
	}
	return v;
}

static int
cmd_init(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "host", required_argument, NULL, 'h' },
		{ "bind", required_argument, NULL, 'b' },
		{ "port", required_argument, NULL, 'p' },
		{ "prov-port", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	struct srv_conf c;
	int ch;

	if (argc < 2)
		usage();
	srv_conf_defaults(&c, argv[1]);
	optind = 2;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'h': if (mm_strlcpy(c.host, optarg, sizeof(c.host)) != 0) usage(); break;
		case 'b': if (mm_strlcpy(c.bind, optarg, sizeof(c.bind)) != 0) usage(); break;
		case 'p': c.port = parse_port(optarg); break;
		case 'P': c.prov_port = parse_port(optarg); break;
		default: usage();
		}
	}
	return srv_init_fleet(&c);
}

/* Loads <dir>'s configuration and opens its database. */
static int
open_fleet(const char *dir, struct srv_conf *c, struct srv_db **db)
{
	char path[SRV_PATH_MAX + 32];
	int r;

	if ((r = srv_conf_load(c, dir)) != 0)
		return r;
	if (db == NULL)
		return MM_OK;
	if ((r = srv_conf_path(c, "mamori.db", path, sizeof(path))) != 0)
		return r;
	return srv_db_open(path, 0, db);
}

static int
cmd_broker(int argc, char **argv)
{
	struct srv_conf c;
	int r;

	if (argc != 3)
		usage();
	if ((r = open_fleet(argv[2], &c, NULL)) != 0)
		return r;
	if (strcmp(argv[1], "start") == 0)
		return srv_broker_start(&c);
	if (strcmp(argv[1], "stop") == 0)
		return srv_broker_stop(&c);
	if (strcmp(argv[1], "restart") == 0)
		return srv_broker_restart(&c);
	usage();
}

static int
device_add(struct srv_conf *c, struct srv_db *db, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "serial", required_argument, NULL, 's' },
		{ "model", required_argument, NULL, 'm' },
		{ "location", required_argument, NULL, 'l' },
		{ "admin", required_argument, NULL, 'a' },
		{ "bundle", required_argument, NULL, 'B' },
		{ NULL, 0, NULL, 0 },
	};
	char devid[MM_DEVID_SIZE], token[SRV_TOKEN_SIZE];
	struct srv_device_spec spec;
	const char *bundle = NULL;
	int ch, r;

	memset(&spec, 0, sizeof(spec));
	optind = 3;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 's': if (mm_strlcpy(spec.serial, optarg, sizeof(spec.serial)) != 0) usage(); break;
		case 'm': if (mm_strlcpy(spec.model, optarg, sizeof(spec.model)) != 0) usage(); break;
		case 'l': if (mm_strlcpy(spec.location, optarg, sizeof(spec.location)) != 0) usage(); break;
		case 'a': if (mm_strlcpy(spec.admin, optarg, sizeof(spec.admin)) != 0) usage(); break;
		case 'B': bundle = optarg; break;
		default: usage();
		}
	}
	if ((r = srv_enroll_add(db, &spec, c->token_ttl, devid, token)) != 0)
		return r;
	if (bundle != NULL &&
	    (r = srv_admin_bundle(c, bundle, spec.serial, spec.model, token)) != 0)
		return r;
	printf("device_id=%s\ntoken=%s\n", devid, token);
	mm_wipe(token, sizeof(token));
	return MM_OK;
}

static int
device_token(struct srv_conf *c, struct srv_db *db, int argc, char **argv)
{
	char token[SRV_TOKEN_SIZE];
	sqlite3_stmt *st;
	int r;

	if (argc != 4 && !(argc == 6 && strcmp(argv[4], "--bundle") == 0))
		usage();
	if ((r = srv_enroll_new_token(db, argv[3], c->token_ttl, token)) != 0)
		return r;
	if (argc == 6) {
		if ((r = srv_db_prepare(db, "SELECT serial, model FROM devices"
		    " WHERE id = ?", &st)) != 0)
			return r;
		sqlite3_bind_text(st, 1, argv[3], -1, SQLITE_STATIC);
		r = sqlite3_step(st) == SQLITE_ROW ? srv_admin_bundle(c, argv[5],
		    (const char *)sqlite3_column_text(st, 0),
		    (const char *)sqlite3_column_text(st, 1), token) : MM_ERR_NOT_FOUND;
		sqlite3_finalize(st);
		if (r != 0)
			return r;
	}
	printf("token=%s\n", token);
	mm_wipe(token, sizeof(token));
	return MM_OK;
}

static int
device_import(struct srv_conf *c, struct srv_db *db, int argc, char **argv)
{
	FILE *in;
	int r, n = 0;

	if (argc != 4)
		usage();
	if ((in = fopen(argv[3], "r")) == NULL) {
		mm_log(MM_LOG_ERR, "cannot open %s", argv[3]);
		return MM_ERR_IO;
	}
	r = srv_enroll_import_csv(db, in, stdout, c->token_ttl, &n);
	fclose(in);
	if (r == 0)
		mm_log(MM_LOG_NOTICE, "registered %d devices", n);
	return r;
}

static int
device_cred_reset(struct srv_conf *c, struct srv_db *db, int argc, char **argv)
{
	const char *user = "admin";
	int64_t id;
	int r;

	if (argc == 6 && strcmp(argv[4], "--user") == 0)
		user = argv[5];
	else if (argc != 4)
		usage();
	if (!srv_cmd_user_valid(user)) {
		fprintf(stderr, "invalid user name: 1-%d of a-z 0-9 . _ -, "
		    "starting with a letter\n", SRV_CMD_USER_MAX);
		exit(2);
	}
	if ((r = srv_admin_cred_reset(c, db, argv[3], user, &id)) != 0)
		return r;
	printf("command=%lld queued\n"
	    "next: once `mamori-server commands %s` shows command %lld ok, run\n"
	    "  mamori-server device cred-secret %s %s\n"
	    "to see the new one-time secret of %s (shown once only); it must be\n"
	    "changed at the first login on the device.\n", (long long)id,
	    c->dir, (long long)id, c->dir, argv[3], user);
	return MM_OK;
}

static int
device_cred_secret(struct srv_conf *c, struct srv_db *db, int argc, char **argv)
{
	char secret[SRV_CRED_SECRET_MAX + 1], user[SRV_CMD_USER_MAX + 1];
	int r, bad;

	if (argc != 4)
		usage();
	if ((r = srv_admin_cred_open(c, db, argv[3], secret, user)) != 0)
		return r;
	printf("user=%s\nsecret=%s\n", user, secret);
	bad = fflush(stdout) != 0 || ferror(stdout);
	mm_wipe(secret, sizeof(secret));
	if (bad)
		return MM_ERR_IO;	/* not shown: keep the key for a retry */
	if ((r = srv_admin_cred_forget(c, argv[3])) != 0)
		return r;
	mm_log(MM_LOG_NOTICE, "one-time secret of %s on %s shown; its key is "
	    "deleted, so it cannot be shown again", user, argv[3]);
	return MM_OK;
}

/* The initial key of a device's sealed log (decision 0009). */
static int
device_seclog_key(struct srv_db *db, int argc, char **argv)
{
	int r, what = SRV_SECLOG_KEY_NEW;
	const char *said;

	if (argc != 5 && !(argc == 6 && strcmp(argv[5], "--replace") == 0))
		usage();
	if ((r = srv_seclog_key_import(db, argv[3], argv[4], argc == 6,
	    &what)) != 0)
		return r;
	if (what == SRV_SECLOG_KEY_SAME)
		said = "already imported";
	else if (what == SRV_SECLOG_KEY_REPLACED)
		said = "imported, replacing the key of the previous log (its "
		    "records are kept)";
	else
		said = "imported";
	printf("sealed-log key of %s %s\n", argv[3], said);
	if (what != SRV_SECLOG_KEY_SAME)
		printf("delete %s now: whoever holds it can forge the "
		    "device's log\n", argv[4]);
	return MM_OK;
}

static int
cmd_device(int argc, char **argv)
{
	struct srv_db *db = NULL;
	struct srv_conf c;
	int64_t id;
	int r;

	if (argc < 3)
		usage();
	if ((r = open_fleet(argv[2], &c, &db)) != 0)
		return r;
	if (strcmp(argv[1], "add") == 0)
		r = device_add(&c, db, argc, argv);
	else if (strcmp(argv[1], "import") == 0)
		r = device_import(&c, db, argc, argv);
	else if (strcmp(argv[1], "token") == 0)
		r = device_token(&c, db, argc, argv);
	else if (strcmp(argv[1], "cred-reset") == 0)
		r = device_cred_reset(&c, db, argc, argv);
	else if (strcmp(argv[1], "cred-secret") == 0)
		r = device_cred_secret(&c, db, argc, argv);
	else if (strcmp(argv[1], "seclog-key") == 0)
		r = device_seclog_key(db, argc, argv);
	else if (strcmp(argv[1], "list") == 0)
		srv_admin_list_devices(db, stdout);
	else if (strcmp(argv[1], "revoke") == 0 && (argc == 4 ||
	    (argc == 6 && strcmp(argv[4], "--reason") == 0)))
		r = srv_admin_revoke(&c, db, argv[3], argc == 6 ? argv[5] : "operator");
	else if (strcmp(argv[1], "cmd") == 0 && (argc == 5 || argc == 6)) {
		if ((r = srv_cmd_queue(db, argv[3], argv[4], argc == 6 ? argv[5] : NULL,
		    &id)) == 0)
			printf("command=%lld queued\n", (long long)id);
	} else
		usage();
	srv_db_close(db);
	return r;
}

static int
log_show(struct srv_db *db, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "type", required_argument, NULL, 'T' },
		{ "min-severity", required_argument, NULL, 's' },
		{ "limit", required_argument, NULL, 'l' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct srv_seclog_filter f;
	int ch;

	if (argc < 4)
		usage();
	srv_seclog_filter_init(&f);
	optind = 4;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'f': f.from = parse_u64(optarg, 1, INT64_MAX); break;
		case 't': f.to = parse_u64(optarg, 1, INT64_MAX); break;
		case 'T':
			if (srv_seclog_filter_type(&f, optarg) != 0) {
				fprintf(stderr, "unknown record type: %s\n",
				    optarg);
				exit(2);
			}
			break;
		case 's': f.max_severity = (int)parse_u64(optarg, 0, 7); break;
		case 'l': f.limit = parse_u64(optarg, 1, INT64_MAX); break;
		case 'j': f.json = 1; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	return srv_seclog_show(db, argv[3], &f, stdout, NULL);
}

/* The device's sealed log as the fleet holds it. */
static int
cmd_log(int argc, char **argv)
{
	struct srv_seclog_check chk;
	struct srv_db *db = NULL;
	struct srv_conf c;
	int r;

	if (argc < 3)
		usage();
	if (strcmp(argv[1], "show") != 0 && strcmp(argv[1], "verify") != 0 &&
	    strcmp(argv[1], "status") != 0)
		usage();
	if ((strcmp(argv[1], "verify") == 0 && argc != 4) ||
	    (strcmp(argv[1], "status") == 0 && argc > 4))
		usage();
	if ((r = open_fleet(argv[2], &c, &db)) != 0)
		return r;
	if (strcmp(argv[1], "show") == 0)
		r = log_show(db, argc, argv);
	else if (strcmp(argv[1], "status") == 0)
		r = srv_seclog_status(db, argc == 4 ? argv[3] : NULL, stdout);
	else if ((r = srv_seclog_verify(db, argv[3], &chk)) == 0) {
		srv_seclog_check_print(argv[3], &chk, stdout);
		if (!chk.ok) {
			srv_db_close(db);
			exit(1);
		}
	}
	srv_db_close(db);
	return r;
}

static int
cmd_list(int argc, char **argv)
{
	struct srv_db *db = NULL;
	struct srv_conf c;
	int r;

	if (argc != 2)
		usage();
	if ((r = open_fleet(argv[1], &c, &db)) != 0)
		return r;
	if (strcmp(argv[0], "alerts") == 0)
		srv_admin_list_alerts(db, stdout);
	else if (strcmp(argv[0], "commands") == 0)
		srv_admin_list_commands(db, stdout);
	else
		srv_admin_list_stats(db, stdout);
	srv_db_close(db);
	return MM_OK;
}

int
main(int argc, char **argv)
{
	struct srv_conf c;
	int r;

	mm_log_init("mamori-server", MM_LOG_INFO, 0);
	if (getenv("MAMORI_DEBUG") != NULL)
		mm_log_set_level(MM_LOG_DEBUG);
	if (argc < 2)
		usage();
	if (mm_crypto_init() != 0) {
		mm_log(MM_LOG_ERR, "crypto library initialisation failed");
		return 1;
	}
	if (strcmp(argv[1], "init") == 0)
		r = cmd_init(argc - 1, argv + 1);
	else if (strcmp(argv[1], "run") == 0 && argc == 3)
		r = (r = srv_conf_load(&c, argv[2])) != 0 ? r : srv_run(&c);
	else if (strcmp(argv[1], "broker") == 0)
		r = cmd_broker(argc - 1, argv + 1);
	else if (strcmp(argv[1], "device") == 0)
		r = cmd_device(argc - 1, argv + 1);
	else if (strcmp(argv[1], "log") == 0)
		r = cmd_log(argc - 1, argv + 1);
	else if (strcmp(argv[1], "alerts") == 0 || strcmp(argv[1], "stats") == 0 ||
	    strcmp(argv[1], "commands") == 0)
		r = cmd_list(argc - 1, argv + 1);
	else
		usage();
	if (r != 0) {
		mm_log(MM_LOG_ERR, "%s: %s", argv[1], mm_strerror(r));
		return 1;
	}
	return 0;
}
