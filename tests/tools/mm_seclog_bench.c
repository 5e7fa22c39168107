/*
 * mm_seclog_bench - the sealed log's speed, for bench/seclog.
 *
 *   mm_seclog_bench --dir DIR [--records N] [--seconds S] [--epoch-records E]
 *
 * DIR must be empty or missing and should be on the device's kind of file
 * system (fdatasync on tmpfs costs nothing).  One typical record (type
 * auth, source "auth", about 80 bytes of JSON) is measured six ways, each
 * run bounded by N records (default 500000) or S seconds (default 5):
 *   hmac      raw HMAC-SHA256 (OpenSSL EVP_MAC keyed once, re-initialised
 *             per record) over the very bytes the log tags: the ceiling;
 *   unsealed  the same record bytes copied into a buffer and written with
 *             write() in 1 MiB chunks, no MAC, no sync;
 *   append    mm_seclog_append, no sync until the end (the end's sync is
 *             timed apart);
 *   durable   mm_seclog_append with mm_seclog_sync every 512 records;
 *   verify    mm_seclog_verify_dir over the append run's log;
 *   bytes     bytes on disk per record of that log.
 * E (default: the library's) shows what the durable SEAL and key change at
 * the end of each epoch cost.
 * Prints one "name: ..." line per measurement and then
 *   BENCH seclog: append_per_s=X baseline=Y ratio=X/Y durable_per_s=D
 *     verify_per_s=V bytes_per_record=B unsealed_per_s=U
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "common/mm_alloc.h"
#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "common/mm_file.h"
#include "device/mm_seclog.h"

#define BENCH_CHUNK (1024 * 1024)
#define BENCH_GROUP 512

struct bench {
	const char *dir;
	uint64_t max_records;
	double max_s;
	uint32_t epoch_records;		/* 0: the default */
	struct mm_seclog_event ev;
	uint8_t rec[MM_SECLOG_RECORD_MAX + 4];	/* one record as the log wrote it */
	size_t rec_len;
	uint8_t log_id[MM_SECLOG_ID_LEN];
};

static _Noreturn void
usage(void)
{
	fprintf(stderr, "usage: mm_seclog_bench --dir DIR [--records N] "
	    "[--seconds S] [--epoch-records E]\n");
	exit(2);
}

static _Noreturn void
die(const char *what, int r)
{
	fprintf(stderr, "mm_seclog_bench: %s: %s\n", what, mm_strerror(r));
	exit(1);
}

/* dir/a[/b] into out; a path that does not fit stops the run. */
static void
bench_path(char *out, size_t outsz, const char *dir, const char *a, const char *b)
{
	int n;

	if (b == NULL)
		n = snprintf(out, outsz, "%s/%s", dir, a);
	else
		n = snprintf(out, outsz, "%s/%s/%s", dir, a, b);
	if (n < 0 || (size_t)n >= outsz)
		die(dir, MM_ERR_TOO_LARGE);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU seconds of this process (user and system): what the run cost the
 * processor, without the time spent waiting for the disk. */
static double
cpu_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Keep going?  Checks the clock every 1024 records. */
static int
bench_more(const struct bench *b, uint64_t i, double t0)
{
	if (i >= b->max_records)
		return 0;
	return (i & 1023) != 0 || now_s() - t0 < b->max_s;
}

static int
bench_seg_filter(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return n > 8 && strncmp(d->d_name, "seg-", 4) == 0 &&
	    strcmp(d->d_name + n - 4, ".msl") == 0;
}

/* Bytes in dir/log; the first record of the given type into rec. */
static uint64_t
bench_scan(const char *dir, uint16_t type, uint8_t *rec, size_t recsz,
    size_t *rec_len)
{
	struct mm_seclog_record r;
	struct dirent **names;
	struct stat st;
	char path[4096], *buf;
	size_t len, off, used;
	uint64_t total = 0;
	int i, n;

	bench_path(path, sizeof(path), dir, "log", NULL);
	if ((n = scandir(path, &names, bench_seg_filter, alphasort)) < 0)
		die(path, MM_ERR_IO);
	for (i = 0; i < n; i++) {
		bench_path(path, sizeof(path), dir, "log", names[i]->d_name);
		if (stat(path, &st) == 0)
			total += (uint64_t)st.st_size;
		if (rec != NULL && *rec_len == 0 &&
		    mm_file_read(path, 64UL << 20, &buf, &len) == 0) {
			for (off = MM_SECLOG_SEG_HDR_LEN; off < len; off += used) {
				if (mm_seclog_decode((uint8_t *)buf + off, len - off,
				    &r, &used) != 0)
					break;
				if (r.type == type && used <= recsz) {
					memcpy(rec, buf + off, used);
					*rec_len = used;
					break;
				}
			}
			mm_free(buf);
		}
		free(names[i]);
	}
	free(names);
	return total;
}

static struct mm_seclog *
bench_open(const struct bench *b, const char *dir, uint32_t group_records)
{
	struct mm_seclog_conf conf;
	struct mm_seclog *l;
	int r;

	mm_seclog_defaults(&conf);
	conf.dir = dir;
	conf.group_records = group_records;
	if (b->epoch_records > 0)
		conf.epoch_records = b->epoch_records;
	if ((r = mm_seclog_open(&conf, &l, NULL)) != 0)
		die("open", r);
	return l;
}

static void
bench_new_log(const char *dir, uint8_t id[MM_SECLOG_ID_LEN],
    uint8_t key[MM_SECLOG_KEY_LEN])
{
	int r;

	if (mkdir(dir, 0700) != 0)
		die(dir, MM_ERR_IO);
	if ((r = mm_seclog_create(dir, id, key)) != 0)
		die("create", r);
}

/* The record bytes: what the library writes for the typical event. */
static void
bench_sample(struct bench *b)
{
	uint8_t key[MM_SECLOG_KEY_LEN];
	struct mm_seclog *l;
	char dir[4096];
	uint64_t seq;
	int r;

	bench_path(dir, sizeof(dir), b->dir, "sample", NULL);
	bench_new_log(dir, b->log_id, key);
	mm_wipe(key, sizeof(key));
	l = bench_open(b, dir, 512);
	if ((r = mm_seclog_append(l, &b->ev, &seq)) != 0 ||
	    (r = mm_seclog_close(l)) != 0)
		die("sample", r);
	b->rec_len = 0;
	(void)bench_scan(dir, MM_SLT_AUTH, b->rec, sizeof(b->rec), &b->rec_len);
	if (b->rec_len <= 4 + MM_SECLOG_TAG_LEN)
		die("sample record not found", MM_ERR_NOT_FOUND);
}

/* (a) the ceiling: HMAC-SHA256 over "MMSL1" || log id || previous tag ||
 * the record from version to payload, keyed once, re-initialised per record. */
static double
bench_hmac(struct bench *b)
{
	OSSL_PARAM params[2];
	EVP_MAC *mac;
	EVP_MAC_CTX *ctx;
	uint8_t key[32], tag[MM_SECLOG_TAG_LEN], body[MM_SECLOG_RECORD_MAX];
	size_t body_len = b->rec_len - 4 - MM_SECLOG_TAG_LEN, tl;
	uint64_t i = 0;
	double t0, el, c0;

	memcpy(body, b->rec + 4, body_len);
	mm_random(key, sizeof(key));
	memset(tag, 0, sizeof(tag));
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((mac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL ||
	    (ctx = EVP_MAC_CTX_new(mac)) == NULL ||
	    EVP_MAC_init(ctx, key, sizeof(key), params) != 1)
		die("EVP_MAC", MM_ERR_CRYPTO);
	c0 = cpu_s();
	t0 = now_s();
	while (bench_more(b, i, t0)) {
		body[1 + 7] = (uint8_t)i;	/* the seq's low byte changes */
		if (EVP_MAC_init(ctx, NULL, 0, NULL) != 1 ||
		    EVP_MAC_update(ctx, (const uint8_t *)"MMSL1", 5) != 1 ||
		    EVP_MAC_update(ctx, b->log_id, sizeof(b->log_id)) != 1 ||
		    EVP_MAC_update(ctx, tag, sizeof(tag)) != 1 ||
		    EVP_MAC_update(ctx, body, body_len) != 1 ||
		    EVP_MAC_final(ctx, tag, &tl, sizeof(tag)) != 1)
			die("EVP_MAC", MM_ERR_CRYPTO);
		i++;
	}
	el = now_s() - t0;
	c0 = cpu_s() - c0;
	EVP_MAC_CTX_free(ctx);
	EVP_MAC_free(mac);
	mm_wipe(key, sizeof(key));
	printf("hmac: records=%" PRIu64 " seconds=%.3f per_s=%.0f cpu_per_s=%.0f "
	    "record_bytes=%zu mac_bytes=%zu\n", i, el, (double)i / el,
	    (double)i / c0, b->rec_len,
	    5 + sizeof(b->log_id) + sizeof(tag) + body_len);
	return (double)i / el;
}

/* (b) the same bytes, buffered and written, nothing sealed. */
static double
bench_unsealed(struct bench *b)
{
	char path[4096];
	uint8_t *buf;
	size_t off = 0;
	uint64_t i = 0;
	double t0, el;
	int fd;

	bench_path(path, sizeof(path), b->dir, "unsealed.bin", NULL);
	if ((buf = mm_malloc(BENCH_CHUNK)) == NULL)
		die("unsealed", MM_ERR_ALLOC);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		die(path, MM_ERR_IO);
	t0 = now_s();
	while (bench_more(b, i, t0)) {
		if (off + b->rec_len > BENCH_CHUNK) {
			if (write(fd, buf, off) != (ssize_t)off)
				die(path, MM_ERR_IO);
			off = 0;
		}
		memcpy(buf + off, b->rec, b->rec_len);
		buf[off + 4 + 1 + 7] = (uint8_t)i;
		off += b->rec_len;
		i++;
	}
	if (off > 0 && write(fd, buf, off) != (ssize_t)off)
		die(path, MM_ERR_IO);
	el = now_s() - t0;
	close(fd);
	unlink(path);
	mm_free(buf);
	printf("unsealed: records=%" PRIu64 " seconds=%.3f per_s=%.0f\n", i, el,
	    (double)i / el);
	return (double)i / el;
}

/* (c) sealed, unsynced; (d) sealed, group commit every 512. */
static double
bench_append(struct bench *b, const char *name, uint32_t group,
    uint8_t key[MM_SECLOG_KEY_LEN], uint64_t *records)
{
	uint8_t id[MM_SECLOG_ID_LEN];
	struct mm_seclog *l;
	char dir[4096];
	uint64_t i = 0, seq, durable;
	double t0, el, t1, sync_s, c0, cpu;
	int r;

	bench_path(dir, sizeof(dir), b->dir, name, NULL);
	bench_new_log(dir, id, key);
	/* group > 0: sync every group records; 0: only at the end (group
	 * commit by count off) */
	l = bench_open(b, dir, group);
	c0 = cpu_s();
	t0 = now_s();
	while (bench_more(b, i, t0)) {
		if ((r = mm_seclog_append(l, &b->ev, &seq)) != 0)
			die("append", r);
		i++;
		if (group > 0 && i % group == 0 &&
		    (r = mm_seclog_sync(l, &durable)) != 0)
			die("sync", r);
	}
	t1 = now_s();
	cpu = cpu_s() - c0;
	if ((r = mm_seclog_sync(l, &durable)) != 0)
		die("sync", r);
	sync_s = now_s() - t1;
	el = (group > 0 ? now_s() : t1) - t0;
	if ((r = mm_seclog_close(l)) != 0)
		die("close", r);
	printf("%s: records=%" PRIu64 " seconds=%.3f per_s=%.0f cpu_per_s=%.0f "
	    "final_sync_ms=%.1f%s\n", name, i, el, (double)i / el, (double)i / cpu,
	    sync_s * 1000, group > 0 ? " (syncs included)" :
	    " (final sync not included; each epoch's SEAL is synced)");
	*records = i;
	return (double)i / el;
}

int
main(int argc, char **argv)
{
	struct bench b;
	struct mm_seclog_report rep;
	uint8_t key[MM_SECLOG_KEY_LEN], dkey[MM_SECLOG_KEY_LEN];
	char dir[4096];
	char payload[128];	/* about 80 bytes of JSON: a refused login */
	uint64_t n, nd, bytes;
	double hmac, unsealed, app, dur, ver, t0, el;
	int i, r;

	memset(&b, 0, sizeof(b));
	b.max_records = 500000;
	b.max_s = 5.0;
	for (i = 1; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--dir") == 0)
			b.dir = argv[i + 1];
		else if (strcmp(argv[i], "--records") == 0)
			b.max_records = strtoull(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--seconds") == 0)
			b.max_s = strtod(argv[i + 1], NULL);
		else if (strcmp(argv[i], "--epoch-records") == 0)
			b.epoch_records = (uint32_t)strtoul(argv[i + 1], NULL, 10);
		else
			usage();
	}
	if (i != argc || b.dir == NULL || b.max_records == 0 || !(b.max_s > 0))
		usage();
	if (mm_crypto_init() != 0)
		return 1;
	if (mkdir(b.dir, 0700) != 0 && errno != EEXIST)
		die(b.dir, MM_ERR_IO);
	b.ev.type = MM_SLT_AUTH;
	b.ev.severity = 5;
	b.ev.source = "auth";
	b.ev.payload = payload;
	b.ev.payload_len = (size_t)snprintf(payload, sizeof(payload),
	    "{\"user\":\"%s\",\"result\":\"%s\",\"from\":\"%s\",\"via\":\"web\","
	    "\"try\":3,\"lock\":0}", "admin", "fail", "192.0.2.17");

	bench_sample(&b);
	hmac = bench_hmac(&b);
	unsealed = bench_unsealed(&b);
	app = bench_append(&b, "append", 0, key, &n);
	dur = bench_append(&b, "durable", BENCH_GROUP, dkey, &nd);
	mm_wipe(dkey, sizeof(dkey));

	bench_path(dir, sizeof(dir), b.dir, "append", NULL);
	memset(&rep, 0, sizeof(rep));
	t0 = now_s();
	r = mm_seclog_verify_dir(dir, key, &rep);
	el = now_s() - t0;
	mm_wipe(key, sizeof(key));
	if (r != 0)
		fprintf(stderr, "mm_seclog_bench: verify: %s at seq %" PRIu64 ": %s\n",
		    mm_strerror(r), rep.error_seq, rep.what);
	ver = r == 0 ? (double)rep.records / el : 0;
	printf("verify: records=%" PRIu64 " seconds=%.3f per_s=%.0f epochs=%" PRIu32
	    " ok=%d\n", rep.records, el, ver, rep.last_epoch - rep.first_epoch + 1,
	    r == 0);
	bytes = bench_scan(dir, 0, NULL, 0, NULL);
	printf("bytes: total=%" PRIu64 " records=%" PRIu64 " per_record=%.1f "
	    "payload=%zu\n", bytes, rep.records,
	    rep.records ? (double)bytes / (double)rep.records : 0.0,
	    b.ev.payload_len);
	printf("BENCH seclog: append_per_s=%.0f baseline=%.0f ratio=%.2f "
	    "durable_per_s=%.0f verify_per_s=%.0f bytes_per_record=%.1f "
	    "unsealed_per_s=%.0f\n", app, hmac, hmac > 0 ? app / hmac : 0.0, dur,
	    ver, rep.records ? (double)bytes / (double)rep.records : 0.0, unsealed);
	return r == 0 ? 0 : 1;
}
