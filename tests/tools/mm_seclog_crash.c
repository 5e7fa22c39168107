/*
 * mm_seclog_crash - the two halves of the sealed log's kill -9 test
 * (tests/integration/it_seclog.sh, decision 0008 "Durability").
 *
 *   mm_seclog_crash writer --dir D --count N [--sync-every K]
 *   mm_seclog_crash check --dir D --key F --acked SEQ [--tear 1]
 *
 * Both take [--epoch-records E] [--epoch-ms MS] [--segment-bytes B] (small
 * by default, so that a run crosses epochs and segments).
 *
 * writer: opens the log in D and appends up to N records (type result,
 * source "crash", payload "n=<seq>"), calling mm_seclog_tick each time and
 * mm_seclog_sync every K records; after each successful sync it prints
 * "<durable seq> ok" and flushes: that line acknowledges every record up
 * to the seq.  It is meant to be killed.
 *
 * check: with --tear 1 first plays a power loss: the last segment loses a
 * random part of what it holds after both the last acknowledged record and
 * the last SEAL (which the key's move to the next epoch made durable), which
 * usually leaves a partial record (prints "torn=<bytes>").  Then it
 * reopens D (which must cut a torn tail; prints "cut=<bytes>"),
 * closes it, verifies the directory with the initial key in F (the
 * "log_id=" / "root_key=" file of mamori-log create) and checks that every
 * seq up to SEQ is there and that every writer record carries its own seq.
 * Exit 0 if all holds, 1 if not (with the reason on stderr), 2 usage.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/mm_alloc.h"
#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "common/mm_file.h"
#include "device/mm_seclog.h"

#define CRASH_SEG_MAX (256UL * 1024 * 1024)
#define CRASH_SOURCE "crash"

struct crash_opts {
	const char *dir, *key;
	uint64_t count, acked, sync_every, tear;
	uint64_t epoch_records, epoch_ms, segment_bytes;
};

static _Noreturn void
usage(void)
{
	fprintf(stderr,
	    "usage: mm_seclog_crash writer --dir D --count N [--sync-every K]\n"
	    "       mm_seclog_crash check --dir D --key F --acked SEQ [--tear 1]\n"
	    "       [--epoch-records E] [--epoch-ms MS] [--segment-bytes B]\n");
	exit(2);
}

static uint64_t
crash_num(const char *s, uint64_t max)
{
	unsigned long long v;
	char *end;

	if (s[0] < '0' || s[0] > '9')
		usage();
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		usage();
	return (uint64_t)v;
}

static void
crash_conf(const struct crash_opts *o, struct mm_seclog_conf *c)
{
	mm_seclog_defaults(c);
	c->dir = o->dir;
	c->epoch_records = (uint32_t)o->epoch_records;
	c->epoch_ms = (uint32_t)o->epoch_ms;
	c->segment_bytes = (size_t)o->segment_bytes;
}

static int
crash_writer(const struct crash_opts *o)
{
	struct mm_seclog_conf conf;
	struct mm_seclog_event ev;
	struct mm_seclog *l;
	uint64_t i, last, durable, printed = 0, seq;
	uint32_t epoch;
	char payload[32];
	size_t cut;
	int n, r;

	crash_conf(o, &conf);
	if ((r = mm_seclog_open(&conf, &l, &cut)) != 0) {
		fprintf(stderr, "writer: open: %s\n", mm_strerror(r));
		return 1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.type = MM_SLT_RESULT;
	ev.severity = 6;
	ev.source = CRASH_SOURCE;
	ev.payload = payload;
	for (i = 0; i < o->count; i++) {
		if ((r = mm_seclog_tick(l)) != 0) {
			fprintf(stderr, "writer: tick: %s\n", mm_strerror(r));
			return 1;
		}
		/* the next seq, unless append ends the epoch by count first
		 * (then the record follows the SEAL: check allows that) */
		mm_seclog_position(l, &last, &durable, &epoch);
		n = snprintf(payload, sizeof(payload), "n=%" PRIu64, last + 1);
		ev.payload_len = (size_t)n;
		if ((r = mm_seclog_append(l, &ev, &seq)) != 0) {
			fprintf(stderr, "writer: append: %s\n", mm_strerror(r));
			return 1;
		}
		if ((i + 1) % o->sync_every != 0)
			continue;
		if ((r = mm_seclog_sync(l, &durable)) != 0) {
			fprintf(stderr, "writer: sync: %s\n", mm_strerror(r));
			return 1;
		}
		if (durable < seq) {
			fprintf(stderr, "writer: sync returned durable %" PRIu64
			    " below the last append %" PRIu64 "\n", durable, seq);
			return 1;
		}
		if (durable != printed) {
			printf("%" PRIu64 " ok\n", durable);
			fflush(stdout);
			printed = durable;
		}
	}
	if ((r = mm_seclog_close(l)) != 0) {
		fprintf(stderr, "writer: close: %s\n", mm_strerror(r));
		return 1;
	}
	return 0;
}

/* One "name=<hex>" line of a mamori-log key file. */
static int
crash_seg_filter(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return n > 8 && strncmp(d->d_name, "seg-", 4) == 0 &&
	    strcmp(d->d_name + n - 4, ".msl") == 0;
}

struct crash_scan {
	uint64_t acked, expect_seq, present, writer_records;
	int prev_seal;
};

/* Every record in seq order; the writer's records carry their own seq (or
 * that of the SEAL an append put before them). */
static int
crash_scan_segment(struct crash_scan *s, const char *path)
{
	struct mm_seclog_record rec;
	char *buf = NULL, want[32], alt[32];
	size_t len, off, used;
	int r;

	if ((r = mm_file_read(path, CRASH_SEG_MAX, &buf, &len)) != 0) {
		fprintf(stderr, "check: %s: %s\n", path, mm_strerror(r));
		return 1;
	}
	for (off = MM_SECLOG_SEG_HDR_LEN; off < len; off += used) {
		if ((r = mm_seclog_decode((uint8_t *)buf + off, len - off, &rec,
		    &used)) != 0) {
			fprintf(stderr, "check: %s: record at %zu: %s\n", path, off,
			    mm_strerror(r));
			mm_free(buf);
			return 1;
		}
		if (rec.seq != s->expect_seq) {
			fprintf(stderr, "check: seq %" PRIu64 " where %" PRIu64
			    " belongs\n", rec.seq, s->expect_seq);
			mm_free(buf);
			return 1;
		}
		s->expect_seq++;
		if (rec.seq <= s->acked)
			s->present++;
		if (rec.source_len == strlen(CRASH_SOURCE) &&
		    memcmp(rec.source, CRASH_SOURCE, rec.source_len) == 0) {
			snprintf(want, sizeof(want), "n=%" PRIu64, rec.seq);
			snprintf(alt, sizeof(alt), "n=%" PRIu64, rec.seq - 1);
			if (!((rec.payload_len == strlen(want) &&
			    memcmp(rec.payload, want, rec.payload_len) == 0) ||
			    (s->prev_seal && rec.payload_len == strlen(alt) &&
			    memcmp(rec.payload, alt, rec.payload_len) == 0))) {
				fprintf(stderr, "check: seq %" PRIu64 " has payload "
				    "%.*s\n", rec.seq, (int)rec.payload_len,
				    (const char *)rec.payload);
				mm_free(buf);
				return 1;
			}
			s->writer_records++;
		}
		s->prev_seal = rec.type == MM_SLT_SEAL;
	}
	mm_free(buf);
	return 0;
}

/* Power loss after the kill: what was never made durable may be gone, in
 * part.  Only bytes after the acknowledged records and after the last SEAL
 * of the last segment go. */
static int
crash_tear(const struct crash_opts *o, uint64_t *torn)
{
	struct mm_seclog_record rec;
	struct dirent **names = NULL;
	char path[4096], *buf = NULL;
	size_t len, off, used, keep;
	int i, n, r;

	*torn = 0;
	if (snprintf(path, sizeof(path), "%s/log", o->dir) >= (int)sizeof(path) ||
	    (n = scandir(path, &names, crash_seg_filter, alphasort)) < 0)
		return MM_ERR_IO;
	r = n > 0 && snprintf(path, sizeof(path), "%s/log/%s", o->dir,
	    names[n - 1]->d_name) < (int)sizeof(path) ? MM_OK : MM_ERR_NOT_FOUND;
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	if (r != 0 || (r = mm_file_read(path, CRASH_SEG_MAX, &buf, &len)) != 0)
		return r;
	keep = MM_SECLOG_SEG_HDR_LEN;
	for (off = MM_SECLOG_SEG_HDR_LEN; off < len; off += used) {
		if (mm_seclog_decode((uint8_t *)buf + off, len - off, &rec,
		    &used) != 0)
			break;
		if (rec.seq <= o->acked || rec.type == MM_SLT_SEAL)
			keep = off + used;
	}
	mm_free(buf);
	if (keep >= len)
		return MM_OK;
	*torn = 1 + mm_random_uniform((uint32_t)(len - keep));
	if (truncate(path, (off_t)(len - *torn)) != 0)
		return MM_ERR_IO;
	return MM_OK;
}

static int
crash_check(const struct crash_opts *o)
{
	struct mm_seclog_conf conf;
	struct mm_seclog_report rep;
	struct mm_seclog *l;
	struct crash_scan s;
	struct dirent **names = NULL;
	uint8_t id[MM_SECLOG_ID_LEN], key[MM_SECLOG_KEY_LEN];
	char path[4096];
	uint64_t torn = 0;
	size_t cut = 0;
	int i, n, r, bad = 0;

	if ((r = mm_seclog_keyfile_read(o->key, id, key)) != 0) {
		fprintf(stderr, "check: key file %s: %s\n", o->key, mm_strerror(r));
		return 2;
	}
	if (o->tear) {
		if ((r = crash_tear(o, &torn)) != 0) {
			fprintf(stderr, "check: tear: %s\n", mm_strerror(r));
			return 1;
		}
		printf("torn=%" PRIu64 "\n", torn);
	}
	crash_conf(o, &conf);
	if ((r = mm_seclog_open(&conf, &l, &cut)) != 0) {
		fprintf(stderr, "check: reopen: %s\n", mm_strerror(r));
		return 1;
	}
	printf("cut=%zu\n", cut);
	if ((r = mm_seclog_close(l)) != 0) {
		fprintf(stderr, "check: close: %s\n", mm_strerror(r));
		return 1;
	}
	memset(&rep, 0, sizeof(rep));
	r = mm_seclog_verify_dir(o->dir, key, &rep);
	mm_wipe(key, sizeof(key));
	printf("records=%" PRIu64 " last_seq=%" PRIu64 " epochs=%" PRIu32 "..%"
	    PRIu32 " seals=%" PRIu64 " complete=%d\n", rep.records, rep.last_seq,
	    rep.first_epoch, rep.last_epoch, rep.seals, rep.complete);
	if (r != 0) {
		fprintf(stderr, "check: does not verify after reopening: %s at seq %"
		    PRIu64 ": %s\n", mm_strerror(r), rep.error_seq, rep.what);
		return 1;
	}
	if (!rep.complete) {
		fprintf(stderr, "check: closed log not complete\n");
		bad = 1;
	}
	if (rep.last_seq < o->acked) {
		fprintf(stderr, "check: acknowledged seq %" PRIu64 " lost (log ends at %"
		    PRIu64 ")\n", o->acked, rep.last_seq);
		return 1;
	}
	/* the records themselves */
	if (snprintf(path, sizeof(path), "%s/log", o->dir) >= (int)sizeof(path) ||
	    (n = scandir(path, &names, crash_seg_filter, alphasort)) < 0) {
		fprintf(stderr, "check: %s/log: cannot list\n", o->dir);
		return 1;
	}
	memset(&s, 0, sizeof(s));
	s.acked = o->acked;
	s.expect_seq = 1;
	for (i = 0; i < n; i++) {
		if (!bad && (snprintf(path, sizeof(path), "%s/log/%s", o->dir,
		    names[i]->d_name) >= (int)sizeof(path) ||
		    crash_scan_segment(&s, path) != 0))
			bad = 1;
		free(names[i]);
	}
	free(names);
	if (!bad && s.present != o->acked) {
		fprintf(stderr, "check: %" PRIu64 " of %" PRIu64 " acknowledged "
		    "records present\n", s.present, o->acked);
		bad = 1;
	}
	printf("writer_records=%" PRIu64 " acked=%" PRIu64 " %s\n",
	    s.writer_records, o->acked, bad ? "FAIL" : "ok");
	return bad;
}

int
main(int argc, char **argv)
{
	struct crash_opts o;
	const char *cmd;
	int i;

	if (argc < 2)
		usage();
	cmd = argv[1];
	memset(&o, 0, sizeof(o));
	o.sync_every = 4;
	o.epoch_records = 50;
	o.epoch_ms = 40;
	o.segment_bytes = 16384;
	for (i = 2; i + 1 < argc; i += 2) {
		const char *a = argv[i], *v = argv[i + 1];

		if (strcmp(a, "--dir") == 0)
			o.dir = v;
		else if (strcmp(a, "--key") == 0)
			o.key = v;
		else if (strcmp(a, "--count") == 0)
			o.count = crash_num(v, UINT64_MAX);
		else if (strcmp(a, "--tear") == 0)
			o.tear = crash_num(v, 1);
		else if (strcmp(a, "--acked") == 0)
			o.acked = crash_num(v, UINT64_MAX);
		else if (strcmp(a, "--sync-every") == 0)
			o.sync_every = crash_num(v, 1000000);
		else if (strcmp(a, "--epoch-records") == 0)
			o.epoch_records = crash_num(v, UINT32_MAX);
		else if (strcmp(a, "--epoch-ms") == 0)
			o.epoch_ms = crash_num(v, UINT32_MAX);
		else if (strcmp(a, "--segment-bytes") == 0)
			o.segment_bytes = crash_num(v, 1UL << 30);
		else
			usage();
	}
	if (i != argc || o.dir == NULL || o.sync_every == 0 || o.epoch_records == 0)
		usage();
	if (mm_crypto_init() != 0)
		return 1;
	if (strcmp(cmd, "writer") == 0 && o.count > 0)
		return crash_writer(&o);
	if (strcmp(cmd, "check") == 0 && o.key != NULL)
		return crash_check(&o);
	usage();
}
