/*
 * mamori-log - the sealed security log on the command line (decision
 * 0008): provisioning a log, appending records, verifying a log directory
 * with its initial key and listing records.
 *
 *   mamori-log create --dir DIR --key-out FILE
 *   mamori-log append --dir DIR --type T --severity N --source S
 *                     [--payload TEXT] [--count N]
 *   mamori-log verify --dir DIR --key FILE
 *   mamori-log show --dir DIR [--key FILE] [--type T] [--min-severity N]
 *                   [--since UNIXMS] [--until UNIXMS] [--source S] [--json]
 *
 * Exit status: 0 done (verify: the log verifies), 1 failed (verify: it
 * does not), 2 usage.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "common/mm_alloc.h"
#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "common/mm_file.h"
#include "common/mm_log.h"
#include "common/mm_str.h"
#include "device/mm_seclog.h"

#define LOG_SEG_MAX (256UL * 1024 * 1024)


static _Noreturn void
usage(void)
{
	fprintf(stderr,
	    "usage: mamori-log create --dir DIR --key-out FILE\n"
	    "       mamori-log append --dir DIR --type T --severity 0-7 --source S\n"
	    "                         [--payload TEXT] [--count N]\n"
	    "       mamori-log verify --dir DIR --key FILE [--retained]\n"
	    "       mamori-log show --dir DIR [--key FILE] [--type T]\n"
	    "                       [--min-severity N] [--since UNIXMS]\n"
	    "                       [--until UNIXMS] [--source S] [--json]\n"
	    "create writes the log id and the initial key to FILE (0600).  In the\n"
	    "product that key goes to the fleet at provisioning and is then deleted\n"
	    "on the device: whoever holds it can verify, and forge, the whole log.\n"
	    "verify --retained accepts a log whose oldest segments retention removed\n"
	    "(checked from the first one left; the fleet holds the rest).\n"
	    "types: attack auth data_access config exec comm tamper checksum movement\n"
	    "       hw_failure sw_failure result state environment resource update\n");
	exit(2);
}

/* ---- create, append, verify ---- */

static int
log_create(const char *dir, const char *keyout)
{
	uint8_t id[MM_SECLOG_ID_LEN];
	char idhex[2 * MM_SECLOG_ID_LEN + 1];
	int r;

	if ((r = mm_file_mkdir(dir, 0700)) != 0) {
		fprintf(stderr, "mamori-log: %s: %s\n", dir, mm_strerror(r));
		return 1;
	}
	if ((r = mm_seclog_provision(dir, keyout, id)) != 0) {
		fprintf(stderr, "mamori-log: create %s (key file %s): %s%s\n", dir,
		    keyout, mm_strerror(r), r == MM_ERR_EXISTS ?
		    " (there is a log already)" : "");
		return 1;
	}
	mm_hex_encode(idhex, id, sizeof(id));
	printf("log_id=%s\ninitial key written to %s; hand it to the fleet, "
	    "then delete the file\n", idhex, keyout);
	return 0;
}

static int
log_append(const char *dir, const struct mm_seclog_event *ev, uint64_t count)
{
	struct mm_seclog_conf conf;
	struct mm_seclog *l;
	uint64_t i, seq = 0, first = 0, durable = 0;
	size_t cut = 0;
	int r, rc;

	mm_seclog_defaults(&conf);
	conf.dir = dir;
	if ((r = mm_seclog_open(&conf, &l, &cut)) != 0) {
		fprintf(stderr, "mamori-log: open %s: %s\n", dir, mm_strerror(r));
		return 1;
	}
	if (cut > 0)
		fprintf(stderr, "mamori-log: cut a torn tail of %zu bytes\n", cut);
	for (i = 0; i < count; i++) {
		if ((r = mm_seclog_append(l, ev, &seq)) != 0)
			break;
		if (i == 0)
			first = seq;
	}
	if (r == 0)
		r = mm_seclog_sync(l, &durable);
	rc = mm_seclog_close(l);
	if (r == 0)
		r = rc;
	if (r != 0) {
		fprintf(stderr, "mamori-log: append to %s: %s\n", dir, mm_strerror(r));
		return 1;
	}
	printf("appended=%" PRIu64 " first_seq=%" PRIu64 " last_seq=%" PRIu64 "\n",
	    count, first, seq);
	return 0;
}

static void
log_report_print(const struct mm_seclog_report *rep)
{
	printf("records=%" PRIu64 "\n", rep->records);
	if (rep->records > 0) {
		printf("seq=%" PRIu64 "..%" PRIu64 "\n", rep->first_seq, rep->last_seq);
		printf("epochs=%" PRIu32 "..%" PRIu32 "\n", rep->first_epoch,
		    rep->last_epoch);
	}
	printf("seals=%" PRIu64 "\n", rep->seals);
	if (rep->removed > 0)
		printf("removed=%" PRIu64 " (records 1..%" PRIu64 " are gone from "
		    "the device: retention; the fleet holds what it was sent)\n",
		    rep->removed, rep->removed);
	printf("complete=%s\n", rep->complete ? "yes" :
	    "no (last epoch not sealed: a live log, or its tail was cut)");
	if (rep->error != 0)
		printf("problem at seq %" PRIu64 ": %s (%s)\n", rep->error_seq,
		    rep->what[0] != '\0' ? rep->what : "-", mm_strerror(rep->error));
}

/* The log id the directory names (seclog.id: 32 hex digits, newline). */
static int
log_dir_id(const char *dir, uint8_t id[MM_SECLOG_ID_LEN])
{
	char path[4096], *text = NULL;
	size_t len;
	int r;

	if ((r = mm_path_join(path, sizeof(path), dir, "seclog.id")) != 0 ||
	    (r = mm_file_read(path, 256, &text, &len)) != 0)
		return r;
	if (len > 0 && text[len - 1] == '\n')
		text[--len] = '\0';
	r = mm_hex_decode(id, MM_SECLOG_ID_LEN, text);
	mm_free(text);
	return r;
}

static int
log_verify(const char *dir, const char *keyfile, int retained)
{
	struct mm_seclog_report rep;
	uint8_t id[MM_SECLOG_ID_LEN], dirid[MM_SECLOG_ID_LEN];
	uint8_t key[MM_SECLOG_KEY_LEN];
	int r;

	if ((r = mm_seclog_keyfile_read(keyfile, id, key)) != 0) {
		fprintf(stderr, "mamori-log: key file %s: %s\n", keyfile, mm_strerror(r));
		return 2;
	}
	/* a key for another log fails anyway; this says why */
	if (log_dir_id(dir, dirid) == 0 && memcmp(id, dirid, sizeof(id)) != 0)
		printf("note: the key file is for another log than %s/seclog.id\n",
		    dir);
	memset(&rep, 0, sizeof(rep));
	r = retained ? mm_seclog_verify_dir_retained(dir, key, &rep) :
	    mm_seclog_verify_dir(dir, key, &rep);
	mm_wipe(key, sizeof(key));
	log_report_print(&rep);
	if (r != 0 && rep.error == 0)
		printf("problem: %s\n", mm_strerror(r));
	printf("%s\n", r == 0 ? "verifies" : "DOES NOT VERIFY");
	return r == 0 ? 0 : 1;
}

/* ---- show ---- */

struct log_filter {
	int has_type;
	uint16_t type;
	uint8_t min_severity;	/* numerically at most (0 most severe) */
	int has_severity;
	uint64_t since, until;
	const char *source;
	int json;
};

struct log_show {
	const struct log_filter *f;
	int keyed;			/* --key: verify while listing */
	uint8_t id[MM_SECLOG_ID_LEN];
	uint8_t key[MM_SECLOG_KEY_LEN];	/* until the verifier has it */
	struct mm_seclog_verifier *v;	/* from the first segment's header */
	int failed;			/* a problem has been reported */
	uint64_t shown;
	struct mm_seclog_report rep;
};

static int
log_match(const struct log_filter *f, const struct mm_seclog_record *rec)
{
	if (f->has_type && rec->type != f->type)
		return 0;
	if (f->has_severity && rec->severity > f->min_severity)
		return 0;
	if (rec->wall_ms < f->since || rec->wall_ms > f->until)
		return 0;
	if (f->source != NULL && (strlen(f->source) != rec->source_len ||
	    memcmp(f->source, rec->source, rec->source_len) != 0))
		return 0;
	return 1;
}

/* verified: 1 yes, 0 this is the first bad record, -1 not checked. */
static int
log_print_text(const struct mm_seclog_record *rec, int keyed, int verified)
{
	return mm_seclog_record_print(stdout, rec, !keyed ? NULL :
	    verified == 1 ? "verified=yes" : verified == 0 ? "verified=NO" :
	    "verified=-");
}

static int
log_print_json(const struct mm_seclog_record *rec, int keyed, int verified,
    const char *what)
{
	json_t *o;
	int r = 0;

	if ((o = mm_seclog_record_json(rec)) == NULL)
		return MM_ERR_ALLOC;
	if (keyed)
		r |= json_object_set_new(o, "verified", verified == 1 ? json_true() :
		    verified == 0 ? json_false() : json_null());
	if (verified == 0 && what != NULL)
		r |= json_object_set_new(o, "problem", json_string(what));
	if (r != 0 || json_dumpf(o, stdout, JSON_COMPACT) != 0) {
		json_decref(o);
		return MM_ERR_IO;
	}
	putchar('\n');
	json_decref(o);
	return MM_OK;
}

/* One record: verify (with a key), filter, print. */
static int
log_show_record(struct log_show *s, const uint8_t *raw, size_t len,
    const struct mm_seclog_record *rec)
{
	int verified = -1, first_bad = 0, r;

	if (s->keyed && !s->failed) {
		if (s->v != NULL && mm_seclog_verify_record(s->v, raw, len) == 0)
			verified = 1;
		else {
			verified = 0;
			first_bad = 1;
			s->failed = 1;
			if (s->v != NULL)
				mm_seclog_verifier_report(s->v, &s->rep);
			else {
				s->rep.error_seq = rec->seq;
				snprintf(s->rep.what, sizeof(s->rep.what),
				    "no segment header to start from");
			}
		}
	}
	/* the first bad record is shown whatever the filter says */
	if (!first_bad && !log_match(s->f, rec))
		return MM_OK;
	s->shown++;
	if (s->f->json)
		return log_print_json(rec, s->keyed, verified,
		    first_bad ? s->rep.what : NULL);
	if ((r = log_print_text(rec, s->keyed, verified)) != 0)
		return r;
	if (first_bad)
		printf("^ first problem at seq %" PRIu64 ": %s\n", s->rep.error_seq,
		    s->rep.what);
	return MM_OK;
}

/* The first segment's header starts the verifier: where the log begins. */
static void
log_show_header(struct log_show *s, const uint8_t *buf, size_t len,
    const char *path)
{
	struct mm_seclog_seghdr h;
	int r;

	if ((r = mm_seclog_seghdr_decode(buf, len, &h)) != 0) {
		fprintf(stderr, "mamori-log: %s: segment header: %s\n", path,
		    mm_strerror(r));
		return;
	}
	if (!s->keyed || s->failed)
		return;
	if (mm_memeq_ct(h.log_id, s->id, sizeof(s->id)) != 0) {
		s->failed = 1;
		s->rep.error_seq = h.first_seq;
		snprintf(s->rep.what, sizeof(s->rep.what), "segment of seq %" PRIu64
		    " belongs to another log than the key", h.first_seq);
		printf("^ first problem at seq %" PRIu64 ": %s\n", h.first_seq,
		    s->rep.what);
		return;
	}
	if (s->v != NULL)
		return;
	r = mm_seclog_verifier_new(s->id, s->key, h.first_seq, h.first_epoch,
	    h.prev_tag, &s->v);
	mm_wipe(s->key, sizeof(s->key));
	if (r != 0) {
		s->failed = 1;
		s->rep.error_seq = h.first_seq;
		snprintf(s->rep.what, sizeof(s->rep.what), "verifier: %s",
		    mm_strerror(r));
	}
}

static int
log_show_segment(struct log_show *s, const char *path)
{
	struct mm_seclog_record rec;
	char *buf = NULL;
	size_t len, off, used;
	int r;

	if ((r = mm_file_read(path, LOG_SEG_MAX, &buf, &len)) != 0) {
		fprintf(stderr, "mamori-log: %s: %s\n", path, mm_strerror(r));
		return r;
	}
	if (len < MM_SECLOG_SEG_HDR_LEN) {
		fprintf(stderr, "mamori-log: %s: short segment header\n", path);
		mm_free(buf);
		return MM_ERR_SHORT;
	}
	log_show_header(s, (const uint8_t *)buf, len, path);
	for (off = MM_SECLOG_SEG_HDR_LEN; off < len; off += used) {
		if ((r = mm_seclog_decode((const uint8_t *)buf + off, len - off,
		    &rec, &used)) != 0) {
			fprintf(stderr, "mamori-log: %s: malformed record at offset "
			    "%zu: %s\n", path, off, mm_strerror(r));
			break;
		}
		if ((r = log_show_record(s, (const uint8_t *)buf + off, used,
		    &rec)) != 0)
			break;
	}
	mm_free(buf);
	return r;
}

static int
log_show(const char *dir, const char *keyfile, const struct log_filter *f)
{
	struct log_show s;
	uint64_t *seqs = NULL;
	size_t i, n = 0;
	char path[4096];
	int r, bad = 0;

	memset(&s, 0, sizeof(s));
	s.f = f;
	if (keyfile != NULL) {
		if ((r = mm_seclog_keyfile_read(keyfile, s.id, s.key)) != 0) {
			fprintf(stderr, "mamori-log: key file %s: %s\n", keyfile,
			    mm_strerror(r));
			return 2;
		}
		s.keyed = 1;
	}
	if ((r = mm_seclog_segment_list(dir, &seqs, &n)) != 0) {
		fprintf(stderr, "mamori-log: %s/log: %s\n", dir, mm_strerror(r));
		mm_wipe(s.key, sizeof(s.key));
		return 1;
	}
	for (i = 0; i < n; i++) {
		if (mm_seclog_segment_path(path, sizeof(path), dir, seqs[i]) != 0) {
			bad = 1;
			break;
		}
		if (log_show_segment(&s, path) != 0)
			bad = 1;
	}
	mm_free(seqs);
	mm_wipe(s.key, sizeof(s.key));
	if (s.keyed) {
		if (!s.failed && s.v != NULL)
			mm_seclog_verifier_report(s.v, &s.rep);
		if (s.failed)
			fprintf(stderr, "mamori-log: %" PRIu64 " records verify; first "
			    "problem at seq %" PRIu64 ": %s\n", s.rep.records,
			    s.rep.error_seq, s.rep.what);
		else
			fprintf(stderr, "mamori-log: all %" PRIu64 " records verify%s%s\n",
			    s.rep.records, s.rep.complete ? "" :
			    " (last epoch not sealed)",
			    bad ? " (but a segment was unreadable)" : "");
		mm_seclog_verifier_free(s.v);
	}
	return bad || s.failed ? 1 : 0;
}

/* ---- main ---- */

int
main(int argc, char **argv)
{
	const char *cmd, *dir = NULL, *key = NULL, *keyout = NULL, *source = NULL;
	const char *payload = "", *type_name = NULL;
	struct mm_seclog_event ev;
	struct log_filter f;
	uint64_t v, count = 1;
	int i, have_sev = 0, retained = 0, r;

	if (argc < 2)
		usage();
	cmd = argv[1];
	memset(&f, 0, sizeof(f));
	memset(&ev, 0, sizeof(ev));
	f.until = UINT64_MAX;
	for (i = 2; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--json") == 0) {
			f.json = 1;
			continue;
		}
		if (strcmp(a, "--retained") == 0) {
			retained = 1;
			continue;
		}
		if (val == NULL)
			usage();
		i++;
		if (strcmp(a, "--dir") == 0)
			dir = val;
		else if (strcmp(a, "--key") == 0)
			key = val;
		else if (strcmp(a, "--key-out") == 0)
			keyout = val;
		else if (strcmp(a, "--type") == 0)
			type_name = val;
		else if (strcmp(a, "--source") == 0)
			source = val;
		else if (strcmp(a, "--payload") == 0)
			payload = val;
		else if (strcmp(a, "--severity") == 0 ||
		    strcmp(a, "--min-severity") == 0) {
			if (mm_str_to_u64(val, 7, &v) != 0)
				usage();
			ev.severity = f.min_severity = (uint8_t)v;
			have_sev = f.has_severity = 1;
		} else if (strcmp(a, "--count") == 0) {
			if (mm_str_to_u64(val, 100000000, &count) != 0 || count == 0)
				usage();
		} else if (strcmp(a, "--since") == 0) {
			if (mm_str_to_u64(val, UINT64_MAX, &f.since) != 0)
				usage();
		} else if (strcmp(a, "--until") == 0) {
			if (mm_str_to_u64(val, UINT64_MAX, &f.until) != 0)
				usage();
		} else
			usage();
	}
	if (dir == NULL)
		usage();
	mm_log_init("mamori-log", MM_LOG_WARN, 0);
	if (mm_crypto_init() != 0)
		return 1;

	if (strcmp(cmd, "create") == 0) {
		if (keyout == NULL)
			usage();
		return log_create(dir, keyout);
	}
	if (strcmp(cmd, "append") == 0) {
		if (type_name == NULL || !have_sev || source == NULL ||
		    strlen(source) == 0 || strlen(source) > MM_SECLOG_SOURCE_MAX ||
		    strlen(payload) > MM_SECLOG_PAYLOAD_MAX)
			usage();
		if (mm_seclog_type_parse(type_name, 1, &f.type) != 0) {
			fprintf(stderr, "mamori-log: unknown type %s\n", type_name);
			usage();
		}
		ev.type = (enum mm_seclog_type)f.type;
		ev.source = source;
		ev.payload = payload;
		ev.payload_len = strlen(payload);
		return log_append(dir, &ev, count);
	}
	if (strcmp(cmd, "verify") == 0) {
		if (key == NULL)
			usage();
		return log_verify(dir, key, retained);
	}
	if (strcmp(cmd, "show") == 0) {
		if (type_name != NULL) {
			if ((r = mm_seclog_type_parse(type_name, 0, &f.type)) != 0) {
				fprintf(stderr, "mamori-log: unknown type %s\n", type_name);
				usage();
			}
			f.has_type = 1;
		}
		f.source = source;
		return log_show(dir, key, &f);
	}
	usage();
}
