/*
 * mm_pwpolicy.h - password strength policy (JE4, KP4.b, KP15).
 *
 * Checks a candidate password against configurable rules and says which
 * rule failed.  No I/O except loading the deny list once; no secrets kept:
 * the caller wipes the candidate.  History (last N passwords) is checked by
 * the caller (mm_auth), which holds the old hashes.
 */
#ifndef MM_PWPOLICY_H
#define MM_PWPOLICY_H

#include <stddef.h>

#define MM_PW_MAX 128		/* bytes; longer passwords are refused */

enum mm_pwrule {
	MM_PW_OK = 0,
	MM_PW_TOO_SHORT,	/* fewer than min_len characters */
	MM_PW_TOO_LONG,		/* more than max_len bytes */
	MM_PW_ENCODING,		/* invalid UTF-8, NUL or control characters */
	MM_PW_CLASSES,		/* fewer than min_classes of letters, digits, symbols */
	MM_PW_DENYLIST,		/* a well-known default or leaked password */
	MM_PW_PERSONAL,		/* contains user name, model, serial or device id */
	MM_PW_WEAK,		/* strength estimator (libpwquality) refused it */
	MM_PW_SAME,		/* equal to the current password */
	MM_PW_REUSED,		/* one of the last N passwords */
	MM_PW__COUNT
};

struct mm_pwpolicy {
	unsigned min_len;	/* characters (UTF-8 code points), default 8 */
	unsigned max_len;	/* bytes, default and ceiling MM_PW_MAX */
	unsigned min_classes;	/* of letters, digits, symbols; default 2 */
	unsigned history;	/* last N refused by mm_auth; default 5 */
	int estimator;		/* 1: also ask libpwquality; default 1 */
	int min_score;		/* libpwquality score floor 0-100, default 0 */
};

/* What the password must not contain (case-insensitive); any may be NULL
 * or "".  Parts shorter than 3 characters are ignored. */
struct mm_pwcontext {
	const char *user;
	const char *model;
	const char *serial;
	const char *device_id;
};

struct mm_pwdeny;	/* loaded deny list */

/* Fills the defaults above. */
void mm_pwpolicy_defaults(struct mm_pwpolicy *p);

/*
 * Loads a deny list: one password per line, '#' comments, blank lines
 * ignored, blanks and a CR around an entry trimmed, at most 1 MiB and
 * 100000 entries; compared case-insensitively (ASCII letters only).
 * Sets *out (free with mm_pwdeny_free) only on MM_OK.  MM_ERR_NOT_FOUND,
 * MM_ERR_IO (unreadable or not a regular file), MM_ERR_TOO_LARGE (size or
 * entries), MM_ERR_FORMAT (an entry over MM_PW_MAX bytes, not valid UTF-8
 * or with control characters; a NUL anywhere), MM_ERR_ALLOC.
 */
int mm_pwdeny_load(const char *path, struct mm_pwdeny **out);
void mm_pwdeny_free(struct mm_pwdeny *d);	/* NULL is fine */
/* 1 if pw (case-insensitively) is on the list, or is a listed word of at
 * least 3 bytes with only digits and symbols added before or after it
 * ("Password1!", "!admin123"); 0 otherwise, and for a NULL list, an empty
 * pw, a NUL in pw or len over MM_PW_MAX. */
int mm_pwdeny_match(const struct mm_pwdeny *d, const char *pw, size_t len);

/*
 * Checks pw[0..len) (not NUL-terminated necessarily; may contain NUL, which
 * is refused).  Rules in order: encoding, too long, too short, classes,
 * deny list (also a single repeated character or a simple ascending or
 * descending run, with or without digits and symbols around it), personal,
 * estimator.  p NULL means the defaults; max_len 0 means MM_PW_MAX;
 * min_classes above 3 means 3.  deny and ctx may be NULL.  On refusal
 * writes a one-line English explanation naming the rule into why (if
 * why != NULL and whysz > 0; "" on MM_PW_OK) and returns the rule;
 * MM_PW_OK otherwise.  Never writes the password into why.  Never returns
 * MM_PW_SAME or MM_PW_REUSED (mm_auth does).  Without the cracklib
 * dictionary the estimator skips its dictionary check (logged once).
 */
enum mm_pwrule mm_pwpolicy_check(const struct mm_pwpolicy *p,
    const struct mm_pwdeny *deny, const struct mm_pwcontext *ctx,
    const char *pw, size_t len, char *why, size_t whysz);

/* Short stable name of a rule for machines, e.g. "too_short". */
const char *mm_pwrule_name(enum mm_pwrule r);

#endif
