/* mm_err.c - texts for the error vocabulary. */
#include "common/mm_err.h"

static const char *const mm_err_text[] = {
	[0] = "success",
	[1] = "internal error",
	[2] = "out of memory",
	[3] = "invalid argument",
	[4] = "buffer full",
	[5] = "input too short",
	[6] = "trailing bytes after message",
	[7] = "malformed input",
	[8] = "input too large",
	[9] = "unsupported version, type or algorithm",
	[10] = "signature verification failed",
	[11] = "replayed (counter not newer than last accepted)",
	[12] = "expired",
	[13] = "not yet valid",
	[14] = "addressed to another device",
	[15] = "not found",
	[16] = "already exists",
	[17] = "permission denied",
	[18] = "already used",
	[19] = "I/O error",
	[20] = "cryptographic library failure",
	[21] = "database error",
	[22] = "network error",
	[23] = "key does not match",
	[24] = "key type or size not allowed",
	[25] = "not allowed in current state",
	[26] = "timed out",
	[27] = "stored data corrupt",
	[28] = "value out of range",
};

const char *
mm_strerror(int code)
{
	int idx = -code;

	if (code > 0 || idx >= (int)(sizeof(mm_err_text) / sizeof(mm_err_text[0])))
		return "unknown error";
	return mm_err_text[idx];
}
