/*
 * mm_msg.h - JSON messages of protocol v1: registry of types and limits,
 * strict decoding and bounded field access (docs/protocol.md).
 *
 * Every message is one JSON object with "v": 1 and "type": <name>; its size
 * limit is fixed per type and checked before parsing.  Unknown types,
 * duplicate keys, wrong field types and out-of-range values are refused.
 */
#ifndef MM_MSG_H
#define MM_MSG_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define MM_PROTO_VERSION 1

enum mm_msg_type {
	MM_MSG_HELLO,		/* up/hello */
	MM_MSG_HEARTBEAT,	/* up/heartbeat */
	MM_MSG_CMD_RESULT,	/* up/cmd_result */
	MM_MSG_CSR,		/* up/csr: re-key request */
	MM_MSG_ENROLL,		/* prov req */
	MM_MSG_ENROLL_RESULT,	/* prov resp */
	MM_MSG_CERT,		/* down/cert: answer to up/csr */
	MM_MSG_LOG,		/* up/log: a batch of sealed-log records */
	MM_MSG_LOG_ACK,		/* down/log_ack: what the fleet holds */
	MM_MSG__COUNT
};

/* Topic kind / "type" name of t, e.g. "heartbeat". */
const char *mm_msg_name(enum mm_msg_type t);
size_t mm_msg_max(enum mm_msg_type t);
/* Looks a kind up by name; MM_ERR_UNSUPPORTED if unknown. */
int mm_msg_lookup(const char *name, enum mm_msg_type *out);

/*
 * Decodes payload[0..len) as message type t.  On success *out is a new JSON
 * object (json_decref it).  Refuses: oversize (MM_ERR_TOO_LARGE), invalid
 * JSON or non-object (MM_ERR_FORMAT), wrong version (MM_ERR_UNSUPPORTED),
 * wrong type name (MM_ERR_FORMAT).
 */
int mm_msg_decode(enum mm_msg_type t, const void *payload, size_t len,
    json_t **out);
/*
 * Creates a new object with "v" and "type" set; NULL on allocation failure.
 */
json_t *mm_msg_new(enum mm_msg_type t);
/* Serialises compactly into a new string (*out, *outlen); checks the limit. */
int mm_msg_encode(enum mm_msg_type t, const json_t *msg, char **out,
    size_t *outlen);

/*
 * Field access.  A string must exist, be a JSON string of [minlen, maxlen]
 * bytes with no control characters; *out points into obj.  An integer must
 * be a JSON integer in [min, max].  Both return MM_ERR_FORMAT or
 * MM_ERR_RANGE, never a default.
 */
int mm_msg_get_str(const json_t *obj, const char *key, size_t minlen,
    size_t maxlen, const char **out);
int mm_msg_get_int(const json_t *obj, const char *key, int64_t min,
    int64_t max, int64_t *out);
/* A PEM text: like mm_msg_get_str but line breaks are allowed and it must
 * start with "-----BEGIN ". */
int mm_msg_get_pem(const json_t *obj, const char *key, size_t maxlen,
    const char **out);
/* Like mm_msg_get_str but a missing key yields *out = NULL and MM_OK. */
int mm_msg_get_opt_str(const json_t *obj, const char *key, size_t maxlen,
    const char **out);

#endif
