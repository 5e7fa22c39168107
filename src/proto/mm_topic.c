/* mm_topic.c - building and strictly parsing protocol topics. */
#include <stdio.h>
#include <string.h>

#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "proto/mm_topic.h"

#define MM_TOPIC_PREFIX "mamori/v1/"

static int
mm_id_valid(const char *id, char lead, size_t hexlen)
{
	size_t i;

	if (id == NULL || strnlen(id, hexlen + 3) != hexlen + 2 ||
	    id[0] != lead || id[1] != '-')
		return 0;
	for (i = 2; i < hexlen + 2; i++) {
		char c = id[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return 0;
	}
	return 1;
}

int
mm_devid_valid(const char *id)
{
	return mm_id_valid(id, 'd', 16);
}

int
mm_provid_valid(const char *id)
{
	return mm_id_valid(id, 'p', 32);
}

static void
mm_id_new(char *out, char lead, size_t rawlen)
{
	uint8_t raw[16];

	mm_random(raw, rawlen);
	out[0] = lead;
	out[1] = '-';
	mm_hex_encode(out + 2, raw, rawlen);
}

void
mm_devid_new(char out[MM_DEVID_SIZE])
{
	mm_id_new(out, 'd', 8);
}

void
mm_provid_new(char out[MM_PROVID_SIZE])
{
	mm_id_new(out, 'p', 16);
}

static int
mm_kind_valid(const char *kind)
{
	size_t i, n = strnlen(kind, MM_TOPIC_KIND_MAX);

	if (n == 0 || n >= MM_TOPIC_KIND_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		char c = kind[i];
		if (!((c >= 'a' && c <= 'z') || c == '_' || (c >= '0' && c <= '9')))
			return 0;
	}
	return 1;
}

int
mm_topic_build(char *out, size_t outsz, enum mm_topic_dir dir, const char *id,
    const char *kind)
{
	int n;

	switch (dir) {
	case MM_DIR_UP:
	case MM_DIR_DOWN:
		if (!mm_devid_valid(id) || kind == NULL || !mm_kind_valid(kind))
			return MM_ERR_INVALID_ARG;
		n = snprintf(out, outsz, MM_TOPIC_PREFIX "%s/%s/%s", id,
		    dir == MM_DIR_UP ? "up" : "down", kind);
		break;
	case MM_DIR_PROV_REQ:
	case MM_DIR_PROV_RESP:
		if (!mm_provid_valid(id))
			return MM_ERR_INVALID_ARG;
		n = snprintf(out, outsz, MM_TOPIC_PREFIX "prov/%s/%s", id,
		    dir == MM_DIR_PROV_REQ ? "req" : "resp");
		break;
	default:
		return MM_ERR_INVALID_ARG;
	}
	if (n < 0 || (size_t)n >= outsz)
		return MM_ERR_TOO_LARGE;
	return MM_OK;
}

/* Copies the next '/'-separated segment of *p into seg[segsz]. */
static int
mm_topic_segment(const char **p, char *seg, size_t segsz)
{
	const char *s = *p, *e = strchr(s, '/');
	size_t n = e != NULL ? (size_t)(e - s) : strlen(s);

	if (n == 0 || n >= segsz)
		return MM_ERR_FORMAT;
	memcpy(seg, s, n);
	seg[n] = '\0';
	*p = e != NULL ? e + 1 : s + n;
	return e != NULL ? 1 : 0;	/* 1: more segments follow */
}

int
mm_topic_parse(const char *topic, struct mm_topic *out)
{
	struct mm_topic t;
	char seg[MM_PROVID_SIZE + 1], dir[8];
	const char *p;
	int more;

	memset(&t, 0, sizeof(t));
	if (topic == NULL || strnlen(topic, MM_TOPIC_MAX) >= MM_TOPIC_MAX ||
	    strncmp(topic, MM_TOPIC_PREFIX, strlen(MM_TOPIC_PREFIX)) != 0)
		return MM_ERR_FORMAT;
	p = topic + strlen(MM_TOPIC_PREFIX);
	if ((more = mm_topic_segment(&p, seg, sizeof(seg))) != 1)
		return MM_ERR_FORMAT;
	if (strcmp(seg, "prov") == 0) {
		if (mm_topic_segment(&p, t.id, sizeof(t.id)) != 1 ||
		    !mm_provid_valid(t.id) ||
		    mm_topic_segment(&p, dir, sizeof(dir)) != 0)
			return MM_ERR_FORMAT;
		if (strcmp(dir, "req") == 0)
			t.dir = MM_DIR_PROV_REQ;
		else if (strcmp(dir, "resp") == 0)
			t.dir = MM_DIR_PROV_RESP;
		else
			return MM_ERR_FORMAT;
		*out = t;
		return MM_OK;
	}
	if (!mm_devid_valid(seg))
		return MM_ERR_FORMAT;
	memcpy(t.id, seg, MM_DEVID_SIZE);
	if (mm_topic_segment(&p, dir, sizeof(dir)) != 1 ||
	    mm_topic_segment(&p, t.kind, sizeof(t.kind)) != 0 ||
	    !mm_kind_valid(t.kind))
		return MM_ERR_FORMAT;
	if (strcmp(dir, "up") == 0)
		t.dir = MM_DIR_UP;
	else if (strcmp(dir, "down") == 0)
		t.dir = MM_DIR_DOWN;
	else
		return MM_ERR_FORMAT;
	*out = t;
	return MM_OK;
}
