/*
 * mm_topic.h - MQTT topic names of protocol v1 (docs/protocol.md).
 *
 *   mamori/v1/<device-id>/up/<kind>      device -> fleet
 *   mamori/v1/<device-id>/down/<kind>    fleet -> device
 *   mamori/v1/prov/<client-id>/req|resp  first-contact provisioning
 *
 * A device id is "d-" and 16 lower-case hex digits; a provisioning client id
 * is "p-" and 32.  Neither can contain an MQTT wildcard or separator.
 */
#ifndef MM_TOPIC_H
#define MM_TOPIC_H

#include <stddef.h>

#define MM_DEVID_LEN 18			/* "d-" + 16 hex */
#define MM_DEVID_SIZE (MM_DEVID_LEN + 1)
#define MM_PROVID_LEN 34		/* "p-" + 32 hex */
#define MM_PROVID_SIZE (MM_PROVID_LEN + 1)
#define MM_TOPIC_MAX 128
#define MM_TOPIC_KIND_MAX 24
#define MM_SERVER_ID "mamori-server"

enum mm_topic_dir { MM_DIR_UP, MM_DIR_DOWN, MM_DIR_PROV_REQ, MM_DIR_PROV_RESP };

struct mm_topic {
	enum mm_topic_dir dir;
	char id[MM_PROVID_SIZE];	/* device id, or provisioning client id */
	char kind[MM_TOPIC_KIND_MAX];	/* empty for provisioning topics */
};

int mm_devid_valid(const char *id);	/* 1 if valid */
int mm_provid_valid(const char *id);
/* Fresh random ids. */
void mm_devid_new(char out[MM_DEVID_SIZE]);
void mm_provid_new(char out[MM_PROVID_SIZE]);

/* Builds a topic into out[MM_TOPIC_MAX].  MM_ERR_INVALID_ARG on a bad id/kind. */
int mm_topic_build(char *out, size_t outsz, enum mm_topic_dir dir,
    const char *id, const char *kind);
/* Parses any v1 topic; MM_ERR_FORMAT if it is not one. */
int mm_topic_parse(const char *topic, struct mm_topic *out);

#endif
