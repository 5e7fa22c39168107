/*
 * mm_session.h - login sessions held by the agent's monitor.
 *
 * A session is named by a 256-bit random token (64 hex characters) that
 * only the client holds; the table keeps SHA-256 of it.  Each session has
 * a user, a role, a CSRF token (64 hex), a creation and a last-use time,
 * and the user's password generation at login.  It ends on logout, after
 * idle_s without use, after absolute_s in all, or when its user's sessions
 * are dropped (password change, role change, user deleted).  The table is
 * bounded: when full, the least recently used session is ended.
 * Times are caller-supplied milliseconds of a monotonic clock.
 */
#ifndef MM_SESSION_H
#define MM_SESSION_H

#include <stddef.h>
#include <stdint.h>

#define MM_SESSION_TOKEN_HEX 64
#define MM_SESSION_USER_MAX 32

struct mm_session_conf {
	unsigned idle_s;	/* default 900 */
	unsigned absolute_s;	/* default 28800 */
	size_t max_sessions;	/* default 64 */
};

struct mm_session_info {
	char user[MM_SESSION_USER_MAX + 1];
	int role;
	char csrf[MM_SESSION_TOKEN_HEX + 1];
	uint64_t created_ms;
	uint64_t last_ms;
	uint64_t idle_left_ms;		/* until the idle time-out */
	uint64_t absolute_left_ms;	/* until the absolute time-out */
};

struct mm_sessions;

void mm_session_defaults(struct mm_session_conf *c);
/* MM_ERR_INVALID_ARG for zero values. */
int mm_sessions_new(const struct mm_session_conf *c, struct mm_sessions **out);
/* Wipes every token hash and CSRF token. */
void mm_sessions_free(struct mm_sessions *s);

/*
 * Starts a session; writes the new token (NUL-terminated, 64 hex) into
 * token and its CSRF token into info->csrf if info is not NULL.
 * MM_ERR_INVALID_ARG for an empty or overlong user.
 */
int mm_session_create(struct mm_sessions *s, const char *user, int role,
    uint64_t now_ms, char token[MM_SESSION_TOKEN_HEX + 1],
    struct mm_session_info *info);
/*
 * Looks a token up; on success refreshes its last use (unless touch == 0)
 * and fills info.  MM_ERR_NOT_FOUND for unknown tokens, malformed ones
 * and sessions that timed out (which are removed).
 */
int mm_session_lookup(struct mm_sessions *s, const char *token,
    uint64_t now_ms, int touch, struct mm_session_info *info);
/* Constant-time comparison of a presented CSRF token with the session's;
 * 1 if equal. */
int mm_session_csrf_ok(const struct mm_session_info *info, const char *csrf);
/* Ends one session; MM_ERR_NOT_FOUND if unknown. */
int mm_session_end(struct mm_sessions *s, const char *token);
/* Ends every session of user; returns how many. */
size_t mm_session_end_user(struct mm_sessions *s, const char *user);
/* Ends every session but the one named by keep (may be NULL). */
size_t mm_session_end_all(struct mm_sessions *s, const char *keep);
/* Removes timed-out sessions; returns the number still live. */
size_t mm_session_expire(struct mm_sessions *s, uint64_t now_ms);

#endif
