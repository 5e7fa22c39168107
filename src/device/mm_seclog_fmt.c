/*
 * mm_seclog_fmt.c - how the sealed log's records are shown: the line of
 * text and the JSON object that mamori-log show and mamori-server log show
 * both print (mm_seclog.h, "formatting"), and the escaping they use.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/mm_alloc.h"
#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "device/mm_seclog.h"

/* "type-0x" and four hex digits, with the NUL */
#define FMT_TYPE_LEN 16

/* The type's name, or "type-0xNNNN" in buf for one this build does not
 * know. */
static const char *
fmt_type(uint16_t type, char buf[FMT_TYPE_LEN])
{
	const char *n = mm_seclog_type_name(type);

	if (n != NULL)
		return n;
	snprintf(buf, FMT_TYPE_LEN, "type-0x%04x", (unsigned)type);
	return buf;
}

size_t
mm_seclog_escape(char *out, size_t outsz, const uint8_t *p, size_t len)
{
	size_t i, o = 0;
	char t[5];
	int n;

	if (outsz == 0)
		return 0;
	for (i = 0; i < len; i++) {
		if (p[i] == '\\')
			n = snprintf(t, sizeof(t), "\\\\");
		else if (p[i] >= 0x20 && p[i] < 0x7f)
			n = snprintf(t, sizeof(t), "%c", p[i]);
		else
			n = snprintf(t, sizeof(t), "\\x%02x", (unsigned)p[i]);
		/* an escape is never cut in half */
		if (n < 0 || o + (size_t)n >= outsz)
			break;
		memcpy(out + o, t, (size_t)n);
		o += (size_t)n;
	}
	out[o] = '\0';
	return o;
}

void
mm_seclog_time_iso(uint64_t ms, char *out, size_t outsz)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char base[32];

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		snprintf(out, outsz, "?");
	else
		snprintf(out, outsz, "%s.%03uZ", base, (unsigned)(ms % 1000));
}

int
mm_seclog_record_print(FILE *out, const struct mm_seclog_record *rec,
    const char *extra)
{
	char when[MM_SECLOG_TIME_MAX], tbuf[FMT_TYPE_LEN];
	char *src, *pay;
	size_t srcsz = 4 * rec->source_len + 1, paysz = 4 * rec->payload_len + 1;
	int n;

	/* every byte escaped takes at most 4 */
	if ((src = mm_malloc(srcsz + paysz)) == NULL)
		return MM_ERR_ALLOC;
	pay = src + srcsz;
	mm_seclog_escape(src, srcsz, (const uint8_t *)rec->source,
	    rec->source_len);
	mm_seclog_escape(pay, paysz, rec->payload, rec->payload_len);
	mm_seclog_time_iso(rec->wall_ms, when, sizeof(when));
	n = fprintf(out, "seq=%" PRIu64 " epoch=%" PRIu32 " time=%s type=%s "
	    "severity=%u source=%s%s%s payload=%s\n", rec->seq, rec->epoch,
	    when, fmt_type(rec->type, tbuf), (unsigned)rec->severity, src,
	    extra != NULL ? " " : "", extra != NULL ? extra : "", pay);
	mm_free(src);
	return n < 0 ? MM_ERR_IO : MM_OK;
}

/* name: the bytes as a string if they are UTF-8, else hexname: hex.
 * 0, or -1 if it could not be set. */
static int
fmt_json_bytes(json_t *o, const char *name, const char *hexname,
    const void *p, size_t len)
{
	json_t *s;
	char *hex;
	int r;

	if ((s = json_stringn(p, len)) != NULL)
		return json_object_set_new(o, name, s);
	if ((hex = mm_malloc(2 * len + 1)) == NULL)
		return -1;
	mm_hex_encode(hex, p, len);
	r = json_object_set_new(o, hexname, json_string(hex));
	mm_free(hex);
	return r;
}

json_t *
mm_seclog_record_json(const struct mm_seclog_record *rec)
{
	char when[MM_SECLOG_TIME_MAX], tbuf[FMT_TYPE_LEN];
	char boot[2 * sizeof(rec->boot_id) + 1];
	json_t *o;
	int r;

	if ((o = json_object()) == NULL)
		return NULL;
	mm_seclog_time_iso(rec->wall_ms, when, sizeof(when));
	mm_hex_encode(boot, rec->boot_id, sizeof(rec->boot_id));
	/* a NULL value (allocation) makes json_object_set_new fail */
	r = json_object_set_new(o, "seq", json_integer((json_int_t)rec->seq));
	r |= json_object_set_new(o, "epoch", json_integer(rec->epoch));
	r |= json_object_set_new(o, "wall_ms",
	    json_integer((json_int_t)rec->wall_ms));
	r |= json_object_set_new(o, "time", json_string(when));
	r |= json_object_set_new(o, "mono_ms",
	    json_integer((json_int_t)rec->mono_ms));
	r |= json_object_set_new(o, "boot_id", json_string(boot));
	r |= json_object_set_new(o, "type",
	    json_string(fmt_type(rec->type, tbuf)));
	r |= json_object_set_new(o, "severity", json_integer(rec->severity));
	r |= fmt_json_bytes(o, "source", "source_hex", rec->source,
	    rec->source_len);
	r |= fmt_json_bytes(o, "payload", "payload_hex", rec->payload,
	    rec->payload_len);
	if (r != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}
