/*
 * mm_logfwd_bench - measurements for bench/logfwd (decision 0009): a
 * device's sealed log forwarded to the fleet, without the broker.
 *
 *   1. a real log of N records is written with the library (as the agent
 *      writes it: group commit, epochs, segments);
 *   2. read:   the device's side, mm_seclog_reader_batch batch after batch
 *      (11 KiB batches, what the monitor hands the network worker);
 *   3. encode: the same batches as up/log JSON (mm_logmsg_encode);
 *   4. ingest: the fleet's side, each message decoded and judged by
 *      srv_seclog_ingest (verify from the stored state, store records and
 *      state in one transaction) into a fresh fleet database;
 *   5. baseline, same run: the same records inserted into an identical
 *      table in the same database, one transaction per batch, with neither
 *      decoding nor verification: the cost of storage alone.
 *
 *   mm_logfwd_bench --dir DIR [--records N]
 *
 * Prints one line: records=N batches=B read_per_s=R encode_per_s=E
 *   ingest_per_s=I baseline=S ratio=I/S
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sqlite3.h>

#include "common/mm_alloc.h"
#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "common/mm_log.h"
#include "device/mm_seclog.h"
#include "proto/mm_logmsg.h"
#include "server/srv_db.h"
#include "server/srv_seclog.h"

#define DEV "d-00000000000000b1"

struct msg {
	char *text;
	size_t len;
	uint32_t n;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static _Noreturn void
die(const char *what, int r)
{
	fprintf(stderr, "mm_logfwd_bench: %s: %s\n", what, mm_strerror(r));
	exit(1);
}

static uint64_t
write_log(const char *dir, const char *keyfile, uint64_t n)
{
	struct mm_seclog_conf c;
	struct mm_seclog *l;
	struct mm_seclog_event ev;
	char payload[96];
	uint64_t i, last, dur;
	uint32_t epoch;
	size_t cut;
	int r;

	if (mkdir(dir, 0700) != 0)
		die("mkdir", MM_ERR_IO);
	if ((r = mm_seclog_provision(dir, keyfile, NULL)) != 0)
		die("create", r);
	mm_seclog_defaults(&c);
	c.dir = dir;
	if ((r = mm_seclog_open(&c, &l, &cut)) != 0)
		die("open", r);
	memset(&ev, 0, sizeof(ev));
	ev.type = MM_SLT_AUTH;
	ev.severity = 5;
	ev.source = "auth";
	ev.payload = payload;
	for (i = 0; i < n; i++) {
		ev.payload_len = (size_t)snprintf(payload, sizeof(payload),
		    "{\"event\":\"login\",\"user\":\"admin\",\"from\":"
		    "\"192.0.2.%u\",\"n\":%llu}", (unsigned)(i % 250),
		    (unsigned long long)i);
		if ((r = mm_seclog_append(l, &ev, NULL)) != 0)
			die("append", r);
	}
	if ((r = mm_seclog_sync(l, &dur)) != 0)
		die("sync", r);
	mm_seclog_position(l, &last, &dur, &epoch);
	if ((r = mm_seclog_close(l)) != 0)
		die("close", r);
	return dur;
}

/* The same rows without verification: storage alone. */
static double
baseline(struct srv_db *db, const struct msg *msgs, size_t nmsg)
{
	static uint8_t raw[MM_LOGMSG_RAW_MAX];
	struct mm_logmsg_batch m;
	struct mm_seclog_record rec;
	sqlite3_stmt *st;
	size_t i, off, used;
	double t0;
	int r;

	if ((r = srv_db_exec(db, "CREATE TABLE bench_records AS SELECT * FROM"
	    " seclog_records WHERE 0")) != 0 ||
	    (r = srv_db_prepare(db, "INSERT INTO bench_records (device_id,"
	    " log_id, seq, epoch, wall_ms, mono_ms, boot_id, type, severity,"
	    " source, payload, raw, received_at) VALUES"
	    " (?,?,?,?,?,?,?,?,?,?,?,?,?)", &st)) != 0)
		die("baseline table", r);
	t0 = now_s();
	for (i = 0; i < nmsg; i++) {
		/* the envelope is decoded (base64 included) as the server must;
		 * the records are split, not verified */
		if ((r = mm_logmsg_decode(msgs[i].text, msgs[i].len, &m, raw,
		    sizeof(raw))) != 0 || (r = srv_db_begin(db)) != 0)
			die("baseline decode", r);
		for (off = 0; off < m.raw_len; off += used) {
			if ((r = mm_seclog_decode(m.raw + off, m.raw_len - off,
			    &rec, &used)) != 0)
				die("baseline split", r);
			sqlite3_reset(st);
			sqlite3_bind_text(st, 1, DEV, -1, SQLITE_STATIC);
			sqlite3_bind_blob(st, 2, m.log_id, 16, SQLITE_STATIC);
			sqlite3_bind_int64(st, 3, (int64_t)rec.seq);
			sqlite3_bind_int64(st, 4, rec.epoch);
			sqlite3_bind_int64(st, 5, (int64_t)rec.wall_ms);
			sqlite3_bind_int64(st, 6, (int64_t)rec.mono_ms);
			sqlite3_bind_blob(st, 7, rec.boot_id, 16, SQLITE_STATIC);
			sqlite3_bind_int(st, 8, rec.type);
			sqlite3_bind_int(st, 9, rec.severity);
			sqlite3_bind_text(st, 10, rec.source, (int)rec.source_len,
			    SQLITE_STATIC);
			sqlite3_bind_blob(st, 11, rec.payload, (int)rec.payload_len,
			    SQLITE_STATIC);
			sqlite3_bind_blob(st, 12, m.raw + off, (int)used,
			    SQLITE_STATIC);
			sqlite3_bind_int64(st, 13, 1);
			if (sqlite3_step(st) != SQLITE_DONE)
				die("baseline insert", MM_ERR_DB);
		}
		if ((r = srv_db_commit(db)) != 0)
			die("baseline commit", r);
	}
	t0 = now_s() - t0;
	sqlite3_finalize(st);
	return t0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "records", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	static uint8_t buf[MM_LOGMSG_RAW_MAX], raw[MM_LOGMSG_RAW_MAX];
	const char *base = NULL;
	char logdir[512], keyfile[512], dbpath[512], sql[256];
	uint8_t id[MM_SECLOG_ID_LEN], key[MM_SECLOG_KEY_LEN];
	uint64_t want = 200000, upto, from, total = 0;
	struct mm_seclog_reader *rd;
	struct mm_seclog_batch b;
	struct mm_logmsg_batch m;
	struct srv_seclog_result res;
	struct srv_db *db;
	struct msg *msgs = NULL;
	size_t nmsg = 0, cap = 0, i;
	double t0, t_read, t_enc, t_ing, t_base;
	struct stat sb;
	int c, r, what;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'd')
			base = optarg;
		else if (c == 'n')
			want = strtoull(optarg, NULL, 10);
		else
			return 2;
	}
	if (base == NULL || want == 0 || want > 10000000)
		return 2;
	mm_log_init("mm_logfwd_bench", MM_LOG_ERR, 0);
	if (mm_crypto_init() != 0)
		return 1;
	snprintf(logdir, sizeof(logdir), "%s/device", base);
	snprintf(keyfile, sizeof(keyfile), "%s/seclog.key.out", base);
	snprintf(dbpath, sizeof(dbpath), "%s/fleet.db", base);
	upto = write_log(logdir, keyfile, want);
	if ((r = mm_seclog_keyfile_read(keyfile, id, key)) != 0)
		die("key file", r);
	mm_wipe(key, sizeof(key));

	/* the device: batches out of the segment files */
	if ((r = mm_seclog_reader_new(logdir, &rd)) != 0)
		die("reader", r);
	t0 = now_s();
	for (from = 1; from <= upto; from += b.n) {
		if ((r = mm_seclog_reader_batch(rd, from, upto, buf, sizeof(buf),
		    &b)) != 0)
			die("batch", r);
		total += b.n;
	}
	t_read = now_s() - t0;
	if (total != upto)
		die("read back", MM_ERR_INTERNAL);

	/* the same batches as up/log messages */
	t0 = now_s();
	for (from = 1; from <= upto; from += b.n) {
		if ((r = mm_seclog_reader_batch(rd, from, upto, buf, sizeof(buf),
		    &b)) != 0)
			die("batch", r);
		if (nmsg == cap) {
			cap = cap ? cap * 2 : 1024;
			if ((msgs = realloc(msgs, cap * sizeof(*msgs))) == NULL)
				die("alloc", MM_ERR_ALLOC);
		}
		memset(&m, 0, sizeof(m));
		memcpy(m.log_id, id, sizeof(id));
		memcpy(m.prev, b.prev, sizeof(m.prev));
		m.seq = b.first;
		m.n = b.n;
		m.raw = buf;
		m.raw_len = b.len;
		msgs[nmsg].n = b.n;
		if ((r = mm_logmsg_encode(&m, &msgs[nmsg].text,
		    &msgs[nmsg].len)) != 0)
			die("encode", r);
		nmsg++;
	}
	t_enc = now_s() - t0;
	mm_seclog_reader_free(rd);

	/* the fleet: decode, verify, store, batch by batch */
	if ((r = srv_db_open(dbpath, 1, &db)) != 0)
		die("fleet db", r);
	snprintf(sql, sizeof(sql), "INSERT INTO devices (id, serial, state,"
	    " created_at) VALUES ('%s', 'BENCH-1', 'active', 1)", DEV);
	if ((r = srv_db_exec(db, sql)) != 0 ||
	    (r = srv_seclog_key_import(db, DEV, keyfile, 0, &what)) != 0)
		die("device", r);
	t0 = now_s();
	for (i = 0; i < nmsg; i++) {
		if ((r = mm_logmsg_decode(msgs[i].text, msgs[i].len, &m, raw,
		    sizeof(raw))) != 0 ||
		    (r = srv_seclog_ingest(db, DEV, &m, &res)) != 0)
			die("ingest", r);
		if (res.outcome != SRV_SECLOG_STORED || res.stored != m.n)
			die(res.what, MM_ERR_INTERNAL);
	}
	t_ing = now_s() - t0;
	t_base = baseline(db, msgs, nmsg);
	srv_db_close(db);
	if (stat(dbpath, &sb) != 0)
		sb.st_size = 0;
	printf("records=%llu batches=%zu read_per_s=%.0f encode_per_s=%.0f "
	    "ingest_per_s=%.0f baseline=%.0f ratio=%.2f\n",
	    (unsigned long long)upto, nmsg, (double)upto / t_read,
	    (double)upto / t_enc, (double)upto / t_ing, (double)upto / t_base,
	    t_base / t_ing);
	for (i = 0; i < nmsg; i++)
		mm_free(msgs[i].text);
	free(msgs);
	return 0;
}
