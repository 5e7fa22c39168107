/*
 * mm_cmd.h - signed fleet->device commands (docs/decisions/0003).
 *
 * Frame, all integers big-endian:
 *   "MMC1" | alg u8 (1 = Ed25519) | key id [8] | counter u64 | issued u64 |
 *   expires u64 | device id (u8 len + bytes) | command (u8 len + bytes) |
 *   args (u16 len + JSON object text) | signature [64]
 * The signature covers every byte before it.  A device accepts a frame only
 * if the signature verifies under the fleet's command key, the device id is
 * its own, the counter is above the last accepted one, and now lies in
 * [issued - skew, expires).
 */
#ifndef MM_CMD_H
#define MM_CMD_H

#include <stddef.h>
#include <stdint.h>

#include "common/mm_crypto.h"
#include "proto/mm_topic.h"

#define MM_CMD_MAX_FRAME 4096
#define MM_CMD_NAME_MAX 32
#define MM_CMD_ARGS_MAX 2048
#define MM_CMD_ALG_ED25519 1
#define MM_CMD_MAX_SKEW 300		/* seconds a device clock may lag */
#define MM_CMD_MAX_LIFETIME (7 * 86400)

struct mm_cmd {
	char device_id[MM_DEVID_SIZE];
	char name[MM_CMD_NAME_MAX];
	uint64_t counter;
	uint64_t issued;
	uint64_t expires;
	char args[MM_CMD_ARGS_MAX + 1];	/* JSON object text, "{}" if none */
};

/*
 * Encodes and signs cmd with the fleet command key.  *out is a new buffer of
 * *outlen bytes (mm_free it).
 */
int mm_cmd_sign(const struct mm_cmd *cmd, const uint8_t sk[MM_SIGN_SK_LEN],
    const uint8_t pk[MM_SIGN_PK_LEN], uint8_t **out, size_t *outlen);

/*
 * Checks a received frame.  On MM_OK *out holds the command.  Errors:
 * MM_ERR_FORMAT/SHORT/TRAILING/TOO_LARGE (malformed), MM_ERR_UNSUPPORTED
 * (algorithm or key id), MM_ERR_SIGNATURE (forged or tampered),
 * MM_ERR_WRONG_TARGET (misdirected), MM_ERR_REPLAY, MM_ERR_EXPIRED,
 * MM_ERR_NOT_YET_VALID.
 */
int mm_cmd_verify(const uint8_t *frame, size_t len,
    const uint8_t pk[MM_SIGN_PK_LEN], const char *my_id, uint64_t last_counter,
    uint64_t now, struct mm_cmd *out) MM_MUST_CHECK;

#endif
