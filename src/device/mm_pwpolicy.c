/* mm_pwpolicy.c - password strength policy (JE4, KP4.b, KP15). */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pwquality.h>

#include "common/mm_alloc.h"
#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "common/mm_file.h"
#include "common/mm_log.h"
#include "device/mm_pwpolicy.h"

#define MM_PWDENY_FILE_MAX	(1024 * 1024)
#define MM_PWDENY_ENTRIES_MAX	100000
#define MM_PW_CORE_MIN		3	/* shortest word left after stripping */
#define MM_PW_PART_MIN		3	/* shortest personal part checked */
#define MM_PW_TOKEN_MIN		4	/* shortest token of a personal part */
#define MM_PW_DIGITS_MIN	6	/* shortest digit run of a personal part */

/* cracklib's text when its dictionary cannot be opened (C locale). */
#define MM_PW_CRACKLIB_NODICT	"error loading dictionary"

struct mm_pwdeny {
	char *text;		/* the file; entries lower-cased, NUL-ended */
	size_t textlen;
	const char **ent;	/* sorted by strcmp */
	size_t n;
	size_t maxlen;		/* longest entry in bytes */
};

static const char *const mm_pwrule_names[MM_PW__COUNT] = {
	[MM_PW_OK] = "ok",
	[MM_PW_TOO_SHORT] = "too_short",
	[MM_PW_TOO_LONG] = "too_long",
	[MM_PW_ENCODING] = "encoding",
	[MM_PW_CLASSES] = "classes",
	[MM_PW_DENYLIST] = "denylist",
	[MM_PW_PERSONAL] = "personal",
	[MM_PW_WEAK] = "weak",
	[MM_PW_SAME] = "same",
	[MM_PW_REUSED] = "reused",
};

const char *
mm_pwrule_name(enum mm_pwrule r)
{
	if ((unsigned)r >= MM_PW__COUNT)
		return "unknown";
	return mm_pwrule_names[r];
}

void
mm_pwpolicy_defaults(struct mm_pwpolicy *p)
{
	memset(p, 0, sizeof(*p));
	p->min_len = 8;
	p->max_len = MM_PW_MAX;
	p->min_classes = 2;
	p->history = 5;
	p->estimator = 1;
	p->min_score = 0;
}

/*
 * Decodes the code point at s[*i] (strict UTF-8: no overlongs, surrogates
 * or values above U+10FFFF) and advances *i.  -1 on an invalid sequence.
 */
static int
mm_utf8_next(const unsigned char *s, size_t len, size_t *i, uint32_t *cp)
{
	size_t k = *i, need, j;
	unsigned char c = s[k], lo = 0x80, hi = 0xbf;
	uint32_t v;

	if (c < 0x80) {
		*cp = c;
		*i = k + 1;
		return 0;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		need = 1;
		v = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 2;
		v = c & 0x0f;
		if (c == 0xe0)
			lo = 0xa0;	/* overlong */
		else if (c == 0xed)
			hi = 0x9f;	/* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 3;
		v = c & 0x07;
		if (c == 0xf0)
			lo = 0x90;	/* overlong */
		else if (c == 0xf4)
			hi = 0x8f;	/* above U+10FFFF */
	} else
		return -1;
	if (len - k - 1 < need)
		return -1;
	for (j = 1; j <= need; j++) {
		c = s[k + j];
		if (c < lo || c > hi)
			return -1;
		lo = 0x80;
		hi = 0xbf;
		v = (v << 6) | (c & 0x3f);
	}
	*cp = v;
	*i = k + need + 1;
	return 0;
}

static int
mm_pw_is_control(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

/* Number of code points in s[0..len), or -1 if not valid, control-free
 * UTF-8 (NUL counts as a control character). */
static long
mm_pw_utf8_count(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	uint32_t cp;
	long n = 0;

	while (i < len) {
		if (mm_utf8_next(u, len, &i, &cp) != 0 || mm_pw_is_control(cp))
			return -1;
		n++;
	}
	return n;
}

static int
mm_pw_ascii_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int
mm_pw_ascii_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

/* ASCII punctuation or space: the "symbols" class. */
static int
mm_pw_ascii_symbol(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && !mm_pw_ascii_alpha(c) &&
	    !mm_pw_ascii_digit(c);
}

/* What may be added around a listed word: digits and symbols. */
static int
mm_pw_is_affix(unsigned char c)
{
	return mm_pw_ascii_digit(c) || mm_pw_ascii_symbol(c);
}

/* Lower-cases ASCII letters only; other bytes are copied unchanged. */
static void
mm_pw_lower(char *dst, const char *src, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)src[i];
		dst[i] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
	}
}

/* Number of classes (letters, digits, symbols) in valid UTF-8 s. */
static unsigned
mm_pw_classes(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	int letter = 0, digit = 0, symbol = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		if (u[i] >= 0x80 || mm_pw_ascii_alpha(u[i]))
			letter = 1;	/* any non-ASCII code point is a letter */
		else if (mm_pw_ascii_digit(u[i]))
			digit = 1;
		else
			symbol = 1;
	}
	return (unsigned)(letter + digit + symbol);
}

/*
 * 1 if valid UTF-8 s is one code point repeated, or a run of code points
 * each one above (or each one below) the previous: "aaaa", "abcd", "4321".
 */
static int
mm_pw_trivial(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, n = 0;
	uint32_t cp, prev = 0;
	int same = 1, up = 1, down = 1;

	while (i < len) {
		if (mm_utf8_next(u, len, &i, &cp) != 0)
			return 0;
		if (n > 0) {
			same &= cp == prev;
			up &= cp == prev + 1;
			down &= cp + 1 == prev;
		}
		prev = cp;
		n++;
	}
	return n >= MM_PW_CORE_MIN && (same || up || down);
}

static void
mm_pw_why(char *why, size_t whysz, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
mm_pw_why(char *why, size_t whysz, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whysz == 0)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(why, whysz, fmt, ap);
	va_end(ap);
}

/* Deny list. */

/*
 * Finds the next entry at or after *pos in text[0..len): surrounding blanks
 * and a CR are trimmed; blank lines and '#' comments are skipped.  Returns 1
 * with the entry at text[*start..*start+*n), 0 at the end of the text.
 */
static int
mm_pwdeny_next(const char *text, size_t len, size_t *pos, size_t *start,
    size_t *n)
{
	const char *nl;
	size_t s, e;

	while (*pos < len) {
		s = *pos;
		nl = memchr(text + s, '\n', len - s);
		e = nl != NULL ? (size_t)(nl - text) : len;
		*pos = nl != NULL ? e + 1 : len;
		while (s < e && (text[s] == ' ' || text[s] == '\t'))
			s++;
		while (e > s && (text[e - 1] == ' ' || text[e - 1] == '\t' ||
		    text[e - 1] == '\r'))
			e--;
		if (s == e || text[s] == '#')
			continue;
		*start = s;
		*n = e - s;
		return 1;
	}
	return 0;
}

static int
mm_pwdeny_cmp_sort(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

struct mm_pwdeny_key {
	const char *s;		/* not NUL-terminated */
	size_t n;
};

static int
mm_pwdeny_cmp_key(const void *k, const void *e)
{
	const struct mm_pwdeny_key *key = k;
	const char *ent = *(const char *const *)e;
	int c;

	/* key holds no NUL, so strncmp stops only where ent ends */
	if ((c = strncmp(key->s, ent, key->n)) != 0)
		return c;
	return ent[key->n] == '\0' ? 0 : -1;
}

static int
mm_pwdeny_find(const struct mm_pwdeny *d, const char *s, size_t n)
{
	struct mm_pwdeny_key key = { s, n };

	if (n > d->maxlen || d->n == 0)
		return 0;
	return bsearch(&key, d->ent, d->n, sizeof(d->ent[0]),
	    mm_pwdeny_cmp_key) != NULL;
}

int
mm_pwdeny_load(const char *path, struct mm_pwdeny **out)
{
	struct mm_pwdeny *d = NULL;
	char *text = NULL;
	size_t textlen = 0, pos, s, n, count = 0, i = 0;
	int r;

	if (path == NULL || out == NULL)
		return MM_ERR_INVALID_ARG;
	if ((r = mm_file_read(path, MM_PWDENY_FILE_MAX, &text,
	    &textlen)) != 0)
		goto out;
	if (memchr(text, '\0', textlen) != NULL) {
		r = MM_ERR_FORMAT;
		goto out;
	}
	/* First pass: validate and count, so the array is sized exactly. */
	for (pos = 0; mm_pwdeny_next(text, textlen, &pos, &s, &n); count++) {
		if (n > MM_PW_MAX || mm_pw_utf8_count(text + s, n) < 0) {
			r = MM_ERR_FORMAT;
			goto out;
		}
		if (count >= MM_PWDENY_ENTRIES_MAX) {
			r = MM_ERR_TOO_LARGE;
			goto out;
		}
	}
	if ((d = mm_calloc(1, sizeof(*d))) == NULL ||
	    (d->ent = mm_calloc(count > 0 ? count : 1,
	    sizeof(d->ent[0]))) == NULL) {
		r = MM_ERR_ALLOC;
		goto out;
	}
	/* Second pass: lower-case and terminate each entry in place. */
	for (pos = 0; i < count &&
	    mm_pwdeny_next(text, textlen, &pos, &s, &n); i++) {
		mm_pw_lower(text + s, text + s, n);
		text[s + n] = '\0';	/* a blank, CR, LF or the final NUL */
		d->ent[i] = text + s;
		if (n > d->maxlen)
			d->maxlen = n;
	}
	if (i != count)
		mm_fatal("deny list changed between passes");
	qsort(d->ent, count, sizeof(d->ent[0]), mm_pwdeny_cmp_sort);
	d->n = count;
	d->text = text;
	d->textlen = textlen;
	text = NULL;
	*out = d;
	d = NULL;
	r = MM_OK;
 out:
	if (text != NULL)
		mm_freezero(text, textlen + 1);
	mm_pwdeny_free(d);
	return r;
}

void
mm_pwdeny_free(struct mm_pwdeny *d)
{
	if (d == NULL)
		return;
	mm_free(d->ent);
	if (d->text != NULL)
		mm_freezero(d->text, d->textlen + 1);
	mm_free(d);
}

/*
 * low[0..len) is lower-cased and NUL-free.  Tries the whole of it, then
 * every core of at least MM_PW_CORE_MIN bytes left after removing some of
 * the digits and symbols at its start and end.
 */
static int
mm_pwdeny_match_low(const struct mm_pwdeny *d, const char *low, size_t len)
{
	const unsigned char *u = (const unsigned char *)low;
	size_t lead = 0, trail = 0, i, j, j0;

	if (mm_pwdeny_find(d, low, len))
		return 1;
	while (lead < len && mm_pw_is_affix(u[lead]))
		lead++;
	while (trail < len && mm_pw_is_affix(u[len - 1 - trail]))
		trail++;
	for (i = 0; i <= lead && i + MM_PW_CORE_MIN <= len; i++) {
		/* skip cores longer than any entry */
		j0 = len - i > d->maxlen ? len - i - d->maxlen : 0;
		for (j = j0; j <= trail && i + j + MM_PW_CORE_MIN <= len; j++) {
			if (i == 0 && j == 0)
				continue;
			if (mm_pwdeny_find(d, low + i, len - i - j))
				return 1;
		}
	}
	return 0;
}

int
mm_pwdeny_match(const struct mm_pwdeny *d, const char *pw, size_t len)
{
	char low[MM_PW_MAX];
	int m;

	if (d == NULL || pw == NULL || len == 0 || len > MM_PW_MAX ||
	    memchr(pw, '\0', len) != NULL)
		return 0;
	mm_pw_lower(low, pw, len);
	m = mm_pwdeny_match_low(d, low, len);
	mm_wipe(low, sizeof(low));
	return m;
}

/* The core of low[0..len) without leading and trailing digits and
 * symbols; *n is 0 if nothing else is left. */
static const char *
mm_pw_core(const char *low, size_t len, size_t *n)
{
	const unsigned char *u = (const unsigned char *)low;
	size_t s = 0, e = len;

	while (s < e && mm_pw_is_affix(u[s]))
		s++;
	while (e > s && mm_pw_is_affix(u[e - 1]))
		e--;
	*n = e - s;
	return low + s;
}

/* Personal data. */

static int
mm_pw_contains(const char *low, size_t len, const char *part, size_t n)
{
	return n > 0 && n <= len && memmem(low, len, part, n) != NULL;
}

/*
 * 1 if low[0..len) contains part (case-insensitively), one of its
 * alphanumeric tokens ("0123456789abcdef" of "d-0123456789abcdef") or one
 * of its longer digit runs ("12345678" of "SN12345678").
 */
static int
mm_pw_personal_one(const char *low, size_t len, const char *part)
{
	char p[MM_PW_MAX];
	size_t n, i, s;
	long cps;
	int hit = 0;

	if (part == NULL || (n = strnlen(part, MM_PW_MAX + 1)) > MM_PW_MAX)
		return 0;
	if ((cps = mm_pw_utf8_count(part, n)) < MM_PW_PART_MIN)
		return 0;
	mm_pw_lower(p, part, n);
	if (mm_pw_contains(low, len, p, n))
		return 1;
	for (i = 0; i < n && !hit; ) {
		unsigned char c = (unsigned char)p[i];
		if (!mm_pw_ascii_alpha(c) && !mm_pw_ascii_digit(c)) {
			i++;
			continue;
		}
		for (s = i; i < n && (mm_pw_ascii_alpha((unsigned char)p[i]) ||
		    mm_pw_ascii_digit((unsigned char)p[i])); i++)
			;
		if (i - s >= MM_PW_TOKEN_MIN)
			hit = mm_pw_contains(low, len, p + s, i - s);
	}
	for (i = 0; i < n && !hit; ) {
		if (!mm_pw_ascii_digit((unsigned char)p[i])) {
			i++;
			continue;
		}
		for (s = i; i < n && mm_pw_ascii_digit((unsigned char)p[i]); i++)
			;
		if (i - s >= MM_PW_DIGITS_MIN)
			hit = mm_pw_contains(low, len, p + s, i - s);
	}
	return hit;
}

/* Names the personal part low[0..len) contains, or NULL. */
static const char *
mm_pw_personal(const struct mm_pwcontext *ctx, const char *low, size_t len)
{
	if (ctx == NULL)
		return NULL;
	if (mm_pw_personal_one(low, len, ctx->user))
		return "the user name";
	if (mm_pw_personal_one(low, len, ctx->model))
		return "the device's model name";
	/* the id before the serial: an id's digits may contain the serial's */
	if (mm_pw_personal_one(low, len, ctx->device_id))
		return "the device id";
	if (mm_pw_personal_one(low, len, ctx->serial))
		return "the device's serial number";
	return NULL;
}

/* Estimator. */

static pwquality_settings_t *
mm_pw_estimator_new(unsigned min_len)
{
	static const struct {
		int setting, value;
	} opts[] = {
		/* our own rules already cover classes and composition */
		{ PWQ_SETTING_MIN_CLASS, 0 },
		{ PWQ_SETTING_DIG_CREDIT, 0 },
		{ PWQ_SETTING_UP_CREDIT, 0 },
		{ PWQ_SETTING_LOW_CREDIT, 0 },
		{ PWQ_SETTING_OTH_CREDIT, 0 },
		{ PWQ_SETTING_MAX_REPEAT, 0 },
		{ PWQ_SETTING_MAX_CLASS_REPEAT, 0 },
		{ PWQ_SETTING_MAX_SEQUENCE, 0 },
		/* device users are not system accounts: no passwd lookup */
		{ PWQ_SETTING_GECOS_CHECK, 0 },
		{ PWQ_SETTING_USER_CHECK, 1 },
		{ PWQ_SETTING_DICT_CHECK, 1 },
	};
	pwquality_settings_t *pwq;
	size_t i;

	/* Deliberately not pwquality_read_config(): the device's policy is
	 * ours, not whatever /etc/security/pwquality.conf says. */
	if ((pwq = pwquality_default_settings()) == NULL)
		return NULL;
	for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
		if (pwquality_set_int_value(pwq, opts[i].setting,
		    opts[i].value) != 0)
			goto fail;
	}
	/* pwquality counts bytes, we count code points: bytes >= code
	 * points, so this never refuses what our length rule accepted
	 * (pwquality raises anything below 6 to 6). */
	if (pwquality_set_int_value(pwq, PWQ_SETTING_MIN_LENGTH,
	    min_len > 1000 ? 1000 : (int)min_len) != 0)
		goto fail;
	return pwq;
 fail:
	pwquality_free_settings(pwq);
	return NULL;
}

/*
 * Runs libpwquality on NUL-terminated pw.  A missing cracklib dictionary
 * is not a refusal: it is logged once and the check is repeated without
 * the dictionary.  Anything else going wrong refuses (fails closed).
 */
static enum mm_pwrule
mm_pw_estimate(const struct mm_pwpolicy *p, const struct mm_pwcontext *ctx,
    const char *pw, char *why, size_t whysz)
{
	static int nodict_logged;
	pwquality_settings_t *pwq;
	char msg[PWQ_MAX_ERROR_MESSAGE_LEN];
	const char *user = ctx != NULL ? ctx->user : NULL;
	void *aux = NULL;
	int score;
	enum mm_pwrule rule = MM_PW_WEAK;

	if ((pwq = mm_pw_estimator_new(p->min_len)) == NULL) {
		mm_log(MM_LOG_WARN, "password estimator: setup failed");
		mm_pw_why(why, whysz, "could not be checked for strength");
		return MM_PW_WEAK;
	}
	score = pwquality_check(pwq, pw, NULL, user, &aux);
	if (score == PWQ_ERROR_CRACKLIB_CHECK && aux != NULL &&
	    strcmp((const char *)aux, MM_PW_CRACKLIB_NODICT) == 0) {
		if (!nodict_logged) {
			mm_log(MM_LOG_WARN, "password estimator: cracklib "
			    "dictionary missing, dictionary check skipped");
			nodict_logged = 1;
		}
		aux = NULL;
		if (pwquality_set_int_value(pwq, PWQ_SETTING_DICT_CHECK,
		    0) != 0)
			score = PWQ_ERROR_FATAL_FAILURE;
		else
			score = pwquality_check(pwq, pw, NULL, user, &aux);
	}
	if (score < 0) {
		/* texts such as "The password is a palindrome": never the
		 * password itself */
		mm_pw_why(why, whysz, "is too easy to guess: %s",
		    pwquality_strerror(msg, sizeof(msg), score, aux));
		if (score == PWQ_ERROR_MEM_ALLOC ||
		    score == PWQ_ERROR_FATAL_FAILURE)
			mm_log(MM_LOG_WARN, "password estimator failed (%d)",
			    score);
	} else if (score < p->min_score)
		mm_pw_why(why, whysz, "is too easy to guess (strength %d, "
		    "at least %d required)", score, p->min_score);
	else
		rule = MM_PW_OK;
	pwquality_free_settings(pwq);
	return rule;
}

/* The policy. */

enum mm_pwrule
mm_pwpolicy_check(const struct mm_pwpolicy *p, const struct mm_pwdeny *deny,
    const struct mm_pwcontext *ctx, const char *pw, size_t len, char *why,
    size_t whysz)
{
	struct mm_pwpolicy defaults;
	char low[MM_PW_MAX], nul[MM_PW_MAX + 1];
	const char *core, *which;
	unsigned max_len, min_classes;
	size_t corelen;
	long cps;
	enum mm_pwrule rule;

	if (why != NULL && whysz > 0)
		why[0] = '\0';
	if (p == NULL) {
		mm_pwpolicy_defaults(&defaults);
		p = &defaults;
	}
	if (pw == NULL)
		len = 0;
	max_len = p->max_len == 0 || p->max_len > MM_PW_MAX ?
	    MM_PW_MAX : p->max_len;
	min_classes = p->min_classes > 3 ? 3 : p->min_classes;

	if ((cps = mm_pw_utf8_count(pw, len)) < 0) {
		mm_pw_why(why, whysz, "must be valid UTF-8 text without "
		    "control characters");
		return MM_PW_ENCODING;
	}
	if (len > max_len) {
		mm_pw_why(why, whysz, "must be at most %u bytes long",
		    max_len);
		return MM_PW_TOO_LONG;
	}
	if ((unsigned long)cps < p->min_len) {
		mm_pw_why(why, whysz, "must be at least %u characters long",
		    p->min_len);
		return MM_PW_TOO_SHORT;
	}
	if (mm_pw_classes(pw, len) < min_classes) {
		mm_pw_why(why, whysz, "must contain at least %u of: letters, "
		    "digits, symbols", min_classes);
		return MM_PW_CLASSES;
	}

	/* Folded copy for the comparisons only; the password keeps its case. */
	mm_pw_lower(low, pw, len);
	rule = MM_PW_OK;
	core = mm_pw_core(low, len, &corelen);
	if (deny != NULL && mm_pwdeny_match_low(deny, low, len)) {
		mm_pw_why(why, whysz, "is a well-known default or leaked "
		    "password");
		rule = MM_PW_DENYLIST;
	} else if (mm_pw_trivial(low, len) ||
	    (corelen >= MM_PW_CORE_MIN && mm_pw_trivial(core, corelen))) {
		mm_pw_why(why, whysz, "is a simple sequence or repetition");
		rule = MM_PW_DENYLIST;
	} else if ((which = mm_pw_personal(ctx, low, len)) != NULL) {
		mm_pw_why(why, whysz, "contains %s", which);
		rule = MM_PW_PERSONAL;
	}
	mm_wipe(low, sizeof(low));
	if (rule != MM_PW_OK || !p->estimator)
		return rule;

	if (len > 0)
		memcpy(nul, pw, len);
	nul[len] = '\0';
	rule = mm_pw_estimate(p, ctx, nul, why, whysz);
	mm_wipe(nul, sizeof(nul));
	return rule;
}
