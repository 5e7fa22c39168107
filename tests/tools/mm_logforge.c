/*
 * mm_logforge - test tool: writes an up/log message (decision 0009) made
 * from a real sealed log's records, honest or tampered, for the attack
 * tests of forwarding (tests/integration/it_logfwd.sh).  It holds no key:
 * it can only do what a thief with the files could do.
 *
 *   mm_logforge --dir DIR --from SEQ [--count N] [--mode M] [--log-id HEX]
 *               [--lost-from SEQ] --out FILE
 *
 * Modes: plain (the records as they are), flip (one bit in the middle of
 * the last record), drop (the second record left out), swap (the first
 * two exchanged), short (n says one record more than there is),
 * payload (the last record's payload changed, length kept).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mm_alloc.h"
#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "device/mm_seclog.h"
#include "proto/mm_logmsg.h"

static _Noreturn void
usage(void)
{
	fprintf(stderr, "usage: mm_logforge --dir DIR --from SEQ [--count N] "
	    "[--mode plain|flip|drop|swap|short|payload]\n"
	    "                   [--log-id HEX] [--lost-from SEQ] --out FILE\n");
	exit(2);
}

static uint64_t
num(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	if (*s == '\0' || *end != '\0')
		usage();
	return v;
}

/* Offsets of the records in raw[0..len). */
static size_t
split(const uint8_t *raw, size_t len, size_t *off, size_t *rlen, size_t max)
{
	struct mm_seclog_record rec;
	size_t n = 0, o = 0, used;

	while (o < len && n < max) {
		if (mm_seclog_decode(raw + o, len - o, &rec, &used) != 0)
			break;
		off[n] = o;
		rlen[n++] = used;
		o += used;
	}
	return n;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "from", required_argument, NULL, 'f' },
		{ "count", required_argument, NULL, 'n' },
		{ "mode", required_argument, NULL, 'm' },
		{ "log-id", required_argument, NULL, 'i' },
		{ "lost-from", required_argument, NULL, 'l' },
		{ "out", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dir = NULL, *mode = "plain", *idhex = NULL, *out = NULL;
	static uint8_t buf[MM_LOGMSG_RAW_MAX], tmp[MM_LOGMSG_RAW_MAX];
	size_t off[MM_LOGMSG_N_MAX], rlen[MM_LOGMSG_N_MAX], nrec, count = 0;
	struct mm_seclog_reader *rd;
	struct mm_seclog_batch b;
	struct mm_logmsg_batch m;
	uint64_t from = 0, lost = 0;
	uint8_t id[16];
	char *text = NULL;
	size_t len, used;
	FILE *f;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'f': from = num(optarg); break;
		case 'n': count = (size_t)num(optarg); break;
		case 'm': mode = optarg; break;
		case 'i': idhex = optarg; break;
		case 'l': lost = num(optarg); break;
		case 'o': out = optarg; break;
		default: usage();
		}
	}
	if (dir == NULL || from == 0 || out == NULL)
		usage();
	if ((r = mm_seclog_reader_new(dir, &rd)) != 0 ||
	    (r = mm_seclog_reader_batch(rd, from, UINT64_MAX >> 12, buf,
	    sizeof(buf), &b)) != 0) {
		fprintf(stderr, "mm_logforge: %s\n", mm_strerror(r));
		return 1;
	}
	mm_seclog_reader_free(rd);
	nrec = split(buf, b.len, off, rlen, MM_LOGMSG_N_MAX);
	if (count > 0 && count < nrec) {
		nrec = count;
		b.len = off[nrec - 1] + rlen[nrec - 1];
	}
	memset(&m, 0, sizeof(m));
	{
		/* the log id from the directory's first segment header */
		uint64_t *seqs = NULL;
		size_t ns = 0;
		char path[512];
		uint8_t hdr[MM_SECLOG_SEG_HDR_LEN];
		struct mm_seclog_seghdr h;

		if (mm_seclog_segment_list(dir, &seqs, &ns) != 0 || ns == 0 ||
		    mm_seclog_segment_path(path, sizeof(path), dir, seqs[0]) != 0 ||
		    (f = fopen(path, "rb")) == NULL)
			return 1;
		used = fread(hdr, 1, sizeof(hdr), f);
		fclose(f);
		mm_free(seqs);
		if (mm_seclog_seghdr_decode(hdr, used, &h) != 0)
			return 1;
		memcpy(id, h.log_id, sizeof(id));
	}
	if (idhex != NULL && mm_hex_decode(id, sizeof(id), idhex) != 0)
		usage();
	memcpy(m.log_id, id, sizeof(id));
	memcpy(m.prev, b.prev, sizeof(m.prev));
	m.seq = b.first;
	m.n = (uint32_t)nrec;
	m.lost_from = lost;
	len = b.len;
	if (strcmp(mode, "flip") == 0) {
		buf[off[nrec - 1] + rlen[nrec - 1] / 2] ^= 0x10;
	} else if (strcmp(mode, "payload") == 0) {
		/* the byte before the tag: the payload's last one */
		buf[off[nrec - 1] + rlen[nrec - 1] - MM_SECLOG_TAG_LEN - 1] ^= 0x01;
	} else if (strcmp(mode, "drop") == 0 && nrec >= 2) {
		memcpy(tmp, buf, off[1]);
		memcpy(tmp + off[1], buf + off[1] + rlen[1], len - off[1] - rlen[1]);
		len -= rlen[1];
		memcpy(buf, tmp, len);
		m.n--;
	} else if (strcmp(mode, "swap") == 0 && nrec >= 2) {
		memcpy(tmp, buf + off[1], rlen[1]);
		memcpy(tmp + rlen[1], buf, rlen[0]);
		memcpy(buf, tmp, rlen[0] + rlen[1]);
	} else if (strcmp(mode, "short") == 0) {
		m.n++;
	} else if (strcmp(mode, "plain") != 0) {
		usage();
	}
	m.raw = buf;
	m.raw_len = len;
	if ((r = mm_logmsg_encode(&m, &text, &len)) != 0) {
		fprintf(stderr, "mm_logforge: encode: %s\n", mm_strerror(r));
		return 1;
	}
	if ((f = fopen(out, "wb")) == NULL || fwrite(text, 1, len, f) != len ||
	    fclose(f) != 0)
		return 1;
	printf("seq=%llu n=%u bytes=%zu\n", (unsigned long long)m.seq,
	    (unsigned)m.n, m.raw_len);
	mm_free(text);
	return 0;
}
