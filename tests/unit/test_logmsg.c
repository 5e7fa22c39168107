/* Unit tests for the sealed log's wire messages (mm_logmsg, decision
 * 0009): up/log batches and down/log_ack, round trips and every refusal
 * of the strict decoders. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "common/mm_alloc.h"
#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "proto/mm_logmsg.h"

#define ID_HEX "00112233445566778899aabbccddeeff"
#define PREV_HEX "0101010101010101010101010101010101010101010101010101010101010101"

static uint8_t rawbuf[MM_LOGMSG_RAW_MAX];
static char msg[40000];
static char b64[20000];

static void fmt_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
fmt_msg(const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	assert_true(n > 0 && (size_t)n < sizeof(msg));
}

static int
dec(void)
{
	struct mm_logmsg_batch b;

	return mm_logmsg_decode(msg, strlen(msg), &b, rawbuf, sizeof(rawbuf));
}

/* Base64 of len bytes of value v into b64. */
static void
mk_b64(size_t len, uint8_t v)
{
	static uint8_t bin[MM_LOGMSG_RAW_MAX + 16];

	assert_true(len <= sizeof(bin));
	memset(bin, v, len);
	sodium_bin2base64(b64, sizeof(b64), bin, len,
	    sodium_base64_VARIANT_ORIGINAL);
}

/* A valid batch message with one field replaced: fields are written in
 * order, each given as the JSON text after its key (NULL: the default,
 * "-": left out). */
static void
mk(const char *log, const char *seq, const char *n, const char *prev,
    const char *lost, const char *rec)
{
	static char parts[6][20100];
	const char *keys[6] = { "log", "seq", "n", "prev", "lost_from", "rec" };
	const char *vals[6];
	size_t i, off;
	int w;

	mk_b64(100, 0x5a);
	vals[0] = log ? log : "\"" ID_HEX "\"";
	vals[1] = seq ? seq : "10";
	vals[2] = n ? n : "1";
	vals[3] = prev ? prev : "\"" PREV_HEX "\"";
	vals[4] = lost ? lost : "-";
	vals[5] = rec;
	for (i = 0; i < 6; i++) {
		if (vals[i] == NULL) {
			snprintf(parts[i], sizeof(parts[i]), ",\"rec\":\"%s\"",
			    b64);
			continue;
		}
		if (strcmp(vals[i], "-") == 0)
			parts[i][0] = '\0';
		else
			snprintf(parts[i], sizeof(parts[i]), ",\"%s\":%s",
			    keys[i], vals[i]);
	}
	w = snprintf(msg, sizeof(msg), "{\"v\":1,\"type\":\"log\"");
	assert_true(w > 0);
	off = (size_t)w;
	for (i = 0; i < 6; i++) {
		w = snprintf(msg + off, sizeof(msg) - off, "%s", parts[i]);
		assert_true(w >= 0 && (size_t)w < sizeof(msg) - off);
		off += (size_t)w;
	}
	assert_true(off + 2 < sizeof(msg));
	msg[off++] = '}';
	msg[off] = '\0';
}

static void
test_roundtrip(void **state)
{
	uint8_t raw[300];
	struct mm_logmsg_batch b, d;
	char *text = NULL;
	size_t len, i;

	(void)state;
	for (i = 0; i < sizeof(raw); i++)
		raw[i] = (uint8_t)(i * 7 + 3);
	memset(&b, 0, sizeof(b));
	memset(b.log_id, 0xab, sizeof(b.log_id));
	memset(b.prev, 0xcd, sizeof(b.prev));
	b.seq = 1234;
	b.n = 4;
	b.raw = raw;
	b.raw_len = sizeof(raw);
	assert_int_equal(mm_logmsg_encode(&b, &text, &len), MM_OK);
	assert_int_equal(strlen(text), len);
	assert_null(strstr(text, "lost_from"));
	assert_int_equal(mm_logmsg_decode(text, len, &d, rawbuf,
	    sizeof(rawbuf)), MM_OK);
	assert_memory_equal(d.log_id, b.log_id, sizeof(b.log_id));
	assert_memory_equal(d.prev, b.prev, sizeof(b.prev));
	assert_int_equal(d.seq, 1234);
	assert_int_equal(d.n, 4);
	assert_int_equal(d.lost_from, 0);
	assert_int_equal(d.raw_len, sizeof(raw));
	assert_ptr_equal(d.raw, rawbuf);
	assert_memory_equal(d.raw, raw, sizeof(raw));
	mm_free(text);

	/* with lost_from, and the largest batch */
	b.lost_from = 1000;
	b.raw_len = MM_LOGMSG_RAW_MAX;
	{
		static uint8_t big[MM_LOGMSG_RAW_MAX];

		memset(big, 0x42, sizeof(big));
		b.raw = big;
		b.n = MM_LOGMSG_N_MAX;
		b.seq = MM_LOGMSG_SEQ_MAX - MM_LOGMSG_N_MAX + 1;
		assert_int_equal(mm_logmsg_encode(&b, &text, &len), MM_OK);
		assert_true(len <= 16384);
		assert_int_equal(mm_logmsg_decode(text, len, &d, rawbuf,
		    sizeof(rawbuf)), MM_OK);
		assert_int_equal(d.lost_from, 1000);
		assert_int_equal(d.n, MM_LOGMSG_N_MAX);
		assert_int_equal(d.seq, b.seq);
		assert_memory_equal(d.raw, big, sizeof(big));
		mm_free(text);
	}

	/* the hand-made template decodes */
	mk(NULL, NULL, NULL, NULL, NULL, NULL);
	assert_int_equal(dec(), MM_OK);
	mk(NULL, NULL, NULL, NULL, "3", NULL);
	assert_int_equal(dec(), MM_OK);
}

static void
test_encode_refused(void **state)
{
	uint8_t raw[128];
	struct mm_logmsg_batch b;
	char *text = NULL;
	size_t len = 0;

	(void)state;
	memset(&b, 0, sizeof(b));
	memset(raw, 1, sizeof(raw));
	b.seq = 5;
	b.n = 2;
	b.raw = raw;
	b.raw_len = sizeof(raw);
	assert_int_equal(mm_logmsg_encode(&b, &text, &len), MM_OK);
	mm_free(text);
	text = NULL;
	b.n = 0;
	assert_int_equal(mm_logmsg_encode(&b, &text, &len), MM_ERR_RANGE);
	b.n = 3;	/* 128 bytes cannot hold 3 records */
	assert_int_equal(mm_logmsg_encode(&b, &text, &len), MM_ERR_RANGE);
	b.n = 2;
	b.seq = 0;
	assert_int_equal(mm_logmsg_encode(&b, &text, &len), MM_ERR_RANGE);
	b.seq = 5;
	b.lost_from = 5;
	assert_int_equal(mm_logmsg_encode(&b, &text, &len), MM_ERR_RANGE);
	b.lost_from = 0;
	b.raw_len = MM_LOGMSG_RAW_MAX + 1;
	assert_int_equal(mm_logmsg_encode(&b, &text, &len), MM_ERR_RANGE);
	b.raw_len = 0;
	assert_int_equal(mm_logmsg_encode(&b, &text, &len), MM_ERR_RANGE);
	assert_null(text);
}

static void
test_decode_refused(void **state)
{
	struct mm_logmsg_batch b;
	size_t i;

	(void)state;
	/* keys */
	mk(NULL, NULL, NULL, NULL, NULL, NULL);
	{
		size_t n = strlen(msg) - 1;	/* over the closing brace */

		snprintf(msg + n, sizeof(msg) - n, ",\"x\":1}");
	}
	assert_int_equal(dec(), MM_ERR_FORMAT);
	mk(NULL, "10,\"seq\":10", NULL, NULL, NULL, NULL);
	assert_int_equal(dec(), MM_ERR_FORMAT);
	mk("-", NULL, NULL, NULL, NULL, NULL);
	assert_int_equal(dec(), MM_ERR_FORMAT);
	mk(NULL, NULL, NULL, "-", NULL, NULL);
	assert_int_equal(dec(), MM_ERR_FORMAT);
	mk(NULL, NULL, NULL, NULL, NULL, "-");
	assert_int_equal(dec(), MM_ERR_FORMAT);
	/* hex: upper case, short, long, not hex, not a string */
	mk("\"00112233445566778899AABBCCDDEEFF\"", NULL, NULL, NULL, NULL, NULL);
	assert_int_equal(dec(), MM_ERR_FORMAT);
	mk("\"00112233445566778899aabbccddeef\"", NULL, NULL, NULL, NULL, NULL);
	assert_int_equal(dec(), MM_ERR_RANGE);
	mk("\"00112233445566778899aabbccddeeff00\"", NULL, NULL, NULL, NULL,
	    NULL);
	assert_int_equal(dec(), MM_ERR_RANGE);
	mk("\"0011223344556677889gaabbccddeeff\"", NULL, NULL, NULL, NULL, NULL);
	assert_int_equal(dec(), MM_ERR_FORMAT);
	mk("17", NULL, NULL, NULL, NULL, NULL);
	assert_int_equal(dec(), MM_ERR_FORMAT);
	mk(NULL, NULL, NULL, "\"0101\"", NULL, NULL);
	assert_int_equal(dec(), MM_ERR_RANGE);
	mk(NULL, NULL, NULL, "\"" "0101010101010101010101010101010101010101010101"
	    "01010101010101010X" "\"", NULL, NULL);
	assert_int_equal(dec(), MM_ERR_FORMAT);
	/* numbers */
	mk(NULL, "0", NULL, NULL, NULL, NULL);
	assert_int_equal(dec(), MM_ERR_RANGE);
	mk(NULL, "-3", NULL, NULL, NULL, NULL);
	assert_int_equal(dec(), MM_ERR_RANGE);
	mk(NULL, "9007199254740992", NULL, NULL, NULL, NULL);
	assert_int_equal(dec(), MM_ERR_RANGE);
	mk(NULL, "9007199254740991", NULL, NULL, NULL, NULL);
	assert_int_equal(dec(), MM_OK);
	mk(NULL, "9007199254740991", "2", NULL, NULL, NULL);
	assert_int_equal(dec(), MM_ERR_RANGE);	/* and 100 bytes hold 1 */
	mk(NULL, "10.5", NULL, NULL, NULL, NULL);
	assert_int_equal(dec(), MM_ERR_FORMAT);
	mk(NULL, "\"10\"", NULL, NULL, NULL, NULL);
	assert_int_equal(dec(), MM_ERR_FORMAT);
	mk(NULL, NULL, "0", NULL, NULL, NULL);
	assert_int_equal(dec(), MM_ERR_RANGE);
	{
		char n[32];

		snprintf(n, sizeof(n), "%u", (unsigned)MM_LOGMSG_N_MAX + 1);
		mk(NULL, NULL, n, NULL, NULL, NULL);
		assert_int_equal(dec(), MM_ERR_RANGE);
	}
	mk(NULL, NULL, "2", NULL, NULL, NULL);	/* 100 bytes, 2 records */
	assert_int_equal(dec(), MM_ERR_RANGE);
	mk(NULL, NULL, NULL, NULL, "10", NULL);
	assert_int_equal(dec(), MM_ERR_RANGE);
	mk(NULL, NULL, NULL, NULL, "11", NULL);
	assert_int_equal(dec(), MM_ERR_RANGE);
	mk(NULL, NULL, NULL, NULL, "0", NULL);
	assert_int_equal(dec(), MM_ERR_RANGE);
	mk(NULL, NULL, NULL, NULL, "null", NULL);
	assert_int_equal(dec(), MM_ERR_FORMAT);
	/* base64 */
	mk(NULL, NULL, NULL, NULL, NULL, "\"!!!!\"");
	assert_int_equal(dec(), MM_ERR_FORMAT);
	mk(NULL, NULL, NULL, NULL, NULL, "\"QUJD\"");	/* 3 bytes < 64 */
	assert_int_equal(dec(), MM_ERR_RANGE);
	mk_b64(64, 1);
	b64[strlen(b64) - 1] = '\0';		/* padding cut */
	{
		static char rec[20100];

		snprintf(rec, sizeof(rec), "\"%s\"", b64);
		mk(NULL, NULL, NULL, NULL, NULL, rec);
		assert_int_equal(dec(), MM_ERR_FORMAT);
		mk_b64(66, 1);
		snprintf(rec, sizeof(rec), "\"%s \"", b64);
		mk(NULL, NULL, NULL, NULL, NULL, rec);
		assert_int_equal(dec(), MM_ERR_FORMAT);
		mk_b64(66, 1);
		for (i = 0; b64[i] != '\0'; i++)
			if (b64[i] == 'A')
				b64[i] = '-';	/* the URL alphabet */
		snprintf(rec, sizeof(rec), "\"%s\"", b64);
		mk(NULL, NULL, NULL, NULL, NULL, rec);
		assert_int_equal(dec(), MM_ERR_FORMAT);
	}
	/* raw over the limit: the buffer refuses, or the range check */
	{
		static char rec[20100];

		mk_b64(MM_LOGMSG_RAW_MAX + 1, 2);
		snprintf(rec, sizeof(rec), "\"%s\"", b64);
		mk(NULL, NULL, NULL, NULL, NULL, rec);
		assert_int_equal(dec(), MM_ERR_FORMAT);
		{
			static uint8_t big[MM_LOGMSG_RAW_MAX + 64];

			assert_int_equal(mm_logmsg_decode(msg, strlen(msg), &b,
			    big, sizeof(big)), MM_ERR_RANGE);
		}
		mk_b64(MM_LOGMSG_RAW_MAX + 3, 2);
		snprintf(rec, sizeof(rec), "\"%s\"", b64);
		mk(NULL, NULL, NULL, NULL, NULL, rec);
		assert_int_equal(dec(), MM_ERR_RANGE);	/* string too long */
	}
	/* envelope */
	fmt_msg("{\"v\":1,\"type\":\"log_ack\",\"log\":\"" ID_HEX "\",\"seq\":1,"
	    "\"time\":1}");
	assert_int_equal(dec(), MM_ERR_FORMAT);
	mk(NULL, NULL, NULL, NULL, NULL, NULL);
	msg[5] = '2';
	assert_int_equal(dec(), MM_ERR_UNSUPPORTED);
	fmt_msg("[1]");
	assert_int_equal(dec(), MM_ERR_FORMAT);
	memset(msg, ' ', 16385);
	msg[0] = '{';
	msg[16384] = '}';
	msg[16385] = '\0';
	assert_int_equal(dec(), MM_ERR_TOO_LARGE);
	mk(NULL, NULL, NULL, NULL, NULL, NULL);
	assert_int_equal(mm_logmsg_decode(msg, strlen(msg), &b, rawbuf,
	    sizeof(rawbuf) - 1), MM_ERR_INVALID_ARG);
	assert_int_equal(mm_logmsg_decode(msg, strlen(msg), &b, NULL, 0),
	    MM_ERR_INVALID_ARG);
}

static int
ack_dec(const char *s, struct mm_logmsg_ack *a)
{
	return mm_logmsg_ack_decode(s, strlen(s), a);
}

static void
test_ack(void **state)
{
	struct mm_logmsg_ack a, d;
	char *text = NULL, big[300];
	size_t len;

	(void)state;
	memset(&a, 0, sizeof(a));
	memset(a.log_id, 0x3c, sizeof(a.log_id));
	a.seq = 77;
	a.time_ms = 1790000000123ULL;
	assert_int_equal(mm_logmsg_ack_encode(&a, &text, &len), MM_OK);
	assert_int_equal(mm_logmsg_ack_decode(text, len, &d), MM_OK);
	assert_memory_equal(&a, &d, sizeof(a));
	mm_free(text);
	a.seq = 0;
	assert_int_equal(mm_logmsg_ack_encode(&a, &text, &len), MM_OK);
	assert_int_equal(mm_logmsg_ack_decode(text, len, &d), MM_OK);
	assert_int_equal(d.seq, 0);
	mm_free(text);
	text = NULL;
	a.seq = MM_LOGMSG_SEQ_MAX + 1;
	assert_int_equal(mm_logmsg_ack_encode(&a, &text, &len), MM_ERR_RANGE);
	a.seq = 1;
	a.time_ms = MM_LOGMSG_SEQ_MAX + 1;
	assert_int_equal(mm_logmsg_ack_encode(&a, &text, &len), MM_ERR_RANGE);
	assert_null(text);

	assert_int_equal(ack_dec("{\"v\":1,\"type\":\"log_ack\",\"log\":\""
	    ID_HEX "\",\"seq\":5,\"time\":9}", &d), MM_OK);
	assert_int_equal(d.seq, 5);
	assert_int_equal(d.time_ms, 9);
	assert_int_equal(ack_dec("{\"v\":1,\"type\":\"log_ack\",\"log\":\""
	    ID_HEX "\",\"seq\":5,\"time\":9,\"x\":0}", &d), MM_ERR_FORMAT);
	assert_int_equal(ack_dec("{\"v\":1,\"type\":\"log_ack\",\"log\":\""
	    ID_HEX "\",\"seq\":5,\"seq\":5,\"time\":9}", &d), MM_ERR_FORMAT);
	assert_int_equal(ack_dec("{\"v\":1,\"type\":\"log_ack\",\"log\":\""
	    ID_HEX "\",\"seq\":5}", &d), MM_ERR_FORMAT);
	assert_int_equal(ack_dec("{\"v\":1,\"type\":\"log_ack\",\"seq\":5,"
	    "\"time\":9}", &d), MM_ERR_FORMAT);
	assert_int_equal(ack_dec("{\"v\":1,\"type\":\"log_ack\",\"log\":\""
	    ID_HEX "\",\"seq\":-1,\"time\":9}", &d), MM_ERR_RANGE);
	assert_int_equal(ack_dec("{\"v\":1,\"type\":\"log_ack\",\"log\":\""
	    ID_HEX "\",\"seq\":9007199254740992,\"time\":9}", &d),
	    MM_ERR_RANGE);
	assert_int_equal(ack_dec("{\"v\":1,\"type\":\"log_ack\",\"log\":\""
	    "00112233445566778899AABBCCDDEEFF\",\"seq\":5,\"time\":9}", &d),
	    MM_ERR_FORMAT);
	assert_int_equal(ack_dec("{\"v\":1,\"type\":\"log_ack\",\"log\":\""
	    "0011\",\"seq\":5,\"time\":9}", &d), MM_ERR_RANGE);
	assert_int_equal(ack_dec("{\"v\":1,\"type\":\"log\",\"log\":\""
	    ID_HEX "\",\"seq\":5,\"time\":9}", &d), MM_ERR_FORMAT);
	memset(big, ' ', sizeof(big) - 1);
	big[0] = '{';
	big[sizeof(big) - 2] = '}';
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(ack_dec(big, &d), MM_ERR_TOO_LARGE);
	/* nothing is written on refusal */
	memset(&d, 0x77, sizeof(d));
	assert_int_equal(ack_dec("{\"v\":1,\"type\":\"log_ack\",\"log\":\""
	    ID_HEX "\",\"seq\":5,\"time\":-9}", &d), MM_ERR_RANGE);
	assert_int_equal(d.seq, 0x7777777777777777ULL);
}

static int
group_setup(void **state)
{
	(void)state;
	return mm_crypto_init() == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_encode_refused),
		cmocka_unit_test(test_decode_refused),
		cmocka_unit_test(test_ack),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
