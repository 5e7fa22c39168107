/*
 * mm_err.h - the one error vocabulary of mamori.
 *
 * Every fallible function returns 0 on success or one of these negative
 * codes.  Out-parameters are written only on success.  Use mm_strerror()
 * for a human-readable text; never print raw numbers.
 */
#ifndef MM_ERR_H
#define MM_ERR_H

enum mm_err {
	MM_OK = 0,
	MM_ERR_INTERNAL = -1,        /* broken invariant inside mamori */
	MM_ERR_ALLOC = -2,           /* memory allocation failed */
	MM_ERR_INVALID_ARG = -3,     /* caller passed something unusable */
	MM_ERR_NO_SPACE = -4,        /* buffer would exceed its fixed maximum */
	MM_ERR_SHORT = -5,           /* input ended before the field did */
	MM_ERR_TRAILING = -6,        /* bytes left after a complete message */
	MM_ERR_FORMAT = -7,          /* malformed input */
	MM_ERR_TOO_LARGE = -8,       /* input over its size limit */
	MM_ERR_UNSUPPORTED = -9,     /* version, type or algorithm not supported */
	MM_ERR_SIGNATURE = -10,      /* signature or MAC did not verify */
	MM_ERR_REPLAY = -11,         /* counter not newer than the last accepted */
	MM_ERR_EXPIRED = -12,        /* validity period over */
	MM_ERR_NOT_YET_VALID = -13,  /* validity period not started */
	MM_ERR_WRONG_TARGET = -14,   /* addressed to another device */
	MM_ERR_NOT_FOUND = -15,      /* no such record */
	MM_ERR_EXISTS = -16,         /* record already exists */
	MM_ERR_DENIED = -17,         /* not permitted */
	MM_ERR_USED = -18,           /* one-time item already consumed */
	MM_ERR_IO = -19,             /* file or socket I/O failed (see errno) */
	MM_ERR_CRYPTO = -20,         /* crypto library failure */
	MM_ERR_DB = -21,             /* database failure */
	MM_ERR_NET = -22,            /* network / broker failure */
	MM_ERR_KEY_MISMATCH = -23,   /* key does not match certificate or CSR */
	MM_ERR_BAD_KEY = -24,        /* key type or size not allowed */
	MM_ERR_STATE = -25,          /* operation not allowed in this state */
	MM_ERR_TIMEOUT = -26,        /* gave up waiting */
	MM_ERR_CORRUPT = -27,        /* stored data failed its checksum */
	MM_ERR_RANGE = -28,          /* value outside its permitted range */
	MM_ERR__LAST = -29
};

/* Returns a static string describing code; never NULL. */
const char *mm_strerror(int code);

#endif
