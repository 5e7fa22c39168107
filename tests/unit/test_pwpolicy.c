/* Unit tests for the password policy (mm_pwpolicy). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "common/mm_alloc.h"
#include "common/mm_err.h"
#include "device/mm_pwpolicy.h"

#ifndef MM_DENYLIST
#error "MM_DENYLIST must name data/auth/denylist.txt"
#endif

/* Debian's cracklib-runtime dictionary */
#define MM_CRACKLIB_DICT "/var/cache/cracklib/cracklib_dict"

static char dir[] = "/tmp/mm_test_pwpolicy.XXXXXX";
static struct mm_pwdeny *deny;	/* the real list, loaded once */

/* Explanations with nothing of the password in them; "password" itself
 * is in the first. */
static int
fixed_why(const char *why)
{
	return strcmp(why, "is a well-known default or leaked password") == 0 ||
	    strcmp(why, "is a simple sequence or repetition") == 0;
}

/* Checks pw[0..len) and asserts the rule; on refusal also asserts that the
 * explanation is one non-empty line without the password in it. */
static void
expect_len(const struct mm_pwpolicy *p, const struct mm_pwdeny *d,
    const struct mm_pwcontext *ctx, const char *pw, size_t len,
    enum mm_pwrule want)
{
	char why[256];
	enum mm_pwrule got;

	memset(why, 'X', sizeof(why));
	got = mm_pwpolicy_check(p, d, ctx, pw, len, why, sizeof(why));
	if (got != want)
		fail_msg("password #%zu bytes: got %s (%s), want %s", len,
		    mm_pwrule_name(got), why, mm_pwrule_name(want));
	assert_non_null(memchr(why, '\0', sizeof(why)));
	if (want == MM_PW_OK) {
		assert_string_equal(why, "");
		return;
	}
	assert_true(strlen(why) > 10);
	assert_null(strchr(why, '\n'));
	if (len >= 3 && !fixed_why(why))
		assert_null(memmem(why, strlen(why), pw, len));
}

static void
expect(const struct mm_pwpolicy *p, const struct mm_pwdeny *d,
    const struct mm_pwcontext *ctx, const char *pw, enum mm_pwrule want)
{
	expect_len(p, d, ctx, pw, strlen(pw), want);
}

/* Policy with only the rule under test switched on. */
static void
permissive(struct mm_pwpolicy *p)
{
	mm_pwpolicy_defaults(p);
	p->min_len = 1;
	p->min_classes = 1;
	p->estimator = 0;
}

static void
write_file(const char *path, const char *data, size_t len)
{
	FILE *f;

	assert_non_null(f = fopen(path, "wb"));
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void
test_defaults_and_names(void **state)
{
	static const char *names[MM_PW__COUNT] = { "ok", "too_short",
	    "too_long", "encoding", "classes", "denylist", "personal", "weak",
	    "same", "reused" };
	struct mm_pwpolicy p;
	int i;

	(void)state;
	memset(&p, 0xa5, sizeof(p));
	mm_pwpolicy_defaults(&p);
	assert_int_equal(p.min_len, 8);
	assert_int_equal(p.max_len, MM_PW_MAX);
	assert_int_equal(p.min_classes, 2);
	assert_int_equal(p.history, 5);
	assert_int_equal(p.estimator, 1);
	assert_int_equal(p.min_score, 0);
	for (i = 0; i < MM_PW__COUNT; i++)
		assert_string_equal(mm_pwrule_name((enum mm_pwrule)i), names[i]);
	assert_string_equal(mm_pwrule_name(MM_PW__COUNT), "unknown");
}

static void
test_strong_accepted(void **state)
{
	static const char *good[] = {
		"Tr4m-Lantern-Quiet",
		"Blue-Kettle-Morning-51",
		"correct horse battery staple 9",
		"Vq7#mZp2",			/* exactly 8 */
		"Zebra Orbit 42 Mosaic",
	};
	struct mm_pwcontext ctx = { "alice", "CamX200", "SN12345678",
	    "d-0123456789abcdef" };
	struct mm_pwpolicy p;
	size_t i;

	(void)state;
	mm_pwpolicy_defaults(&p);
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		expect(&p, deny, &ctx, good[i], MM_PW_OK);
		expect(NULL, deny, NULL, good[i], MM_PW_OK);
	}
	/* no explanation buffer at all is fine */
	assert_int_equal(mm_pwpolicy_check(&p, deny, &ctx, good[0],
	    strlen(good[0]), NULL, 0), MM_PW_OK);
}

static void
test_length(void **state)
{
	struct mm_pwpolicy p;
	char why[128], big[MM_PW_MAX + 2];
	size_t i;

	(void)state;
	mm_pwpolicy_defaults(&p);
	/* 7 and 8 characters */
	expect(&p, deny, NULL, "Vq7#mZp", MM_PW_TOO_SHORT);
	expect(&p, deny, NULL, "Vq7#mZp2", MM_PW_OK);
	assert_int_equal(mm_pwpolicy_check(&p, deny, NULL, "Vq7#mZp", 7, why,
	    sizeof(why)), MM_PW_TOO_SHORT);
	assert_string_equal(why, "must be at least 8 characters long");
	expect(&p, deny, NULL, "", MM_PW_TOO_SHORT);
	expect_len(&p, deny, NULL, NULL, 0, MM_PW_TOO_SHORT);
	p.min_len = 12;
	expect(&p, deny, NULL, "Vq7#mZp2-kL", MM_PW_TOO_SHORT);
	expect(&p, deny, NULL, "Vq7#mZp2-kLw", MM_PW_OK);

	/* MM_PW_MAX bytes pass, one more does not */
	mm_pwpolicy_defaults(&p);
	for (i = 0; i < sizeof(big); i++)
		big[i] = "Lantern-Quiet-Tr4m7+Orbit"[i % 25];
	expect_len(&p, deny, NULL, big, MM_PW_MAX, MM_PW_OK);
	expect_len(&p, deny, NULL, big, MM_PW_MAX + 1, MM_PW_TOO_LONG);
	assert_int_equal(mm_pwpolicy_check(&p, deny, NULL, big, MM_PW_MAX + 1,
	    why, sizeof(why)), MM_PW_TOO_LONG);
	assert_string_equal(why, "must be at most 128 bytes long");
	/* a configured maximum, and one above the ceiling */
	p.max_len = 20;
	expect_len(&p, deny, NULL, big, 20, MM_PW_OK);
	expect_len(&p, deny, NULL, big, 21, MM_PW_TOO_LONG);
	p.max_len = 100000;
	expect_len(&p, deny, NULL, big, MM_PW_MAX + 1, MM_PW_TOO_LONG);
	/* a short explanation buffer is truncated, still terminated */
	mm_pwpolicy_defaults(&p);
	assert_int_equal(mm_pwpolicy_check(&p, deny, NULL, "x", 1, why, 5),
	    MM_PW_TOO_SHORT);
	assert_string_equal(why, "must");
}

/* A literal and its length without the final NUL. */
#define S(lit) lit, sizeof(lit) - 1

static void
test_encoding(void **state)
{
	static const struct {
		const char *pw;
		size_t len;
	} bad[] = {
		{ S("Lantern\xC0\xAFQuiet7") },	/* overlong '/' */
		{ S("Lantern\xE0\x80\xAFQuiet7") },	/* overlong, 3 bytes */
		{ S("Lantern\xF0\x80\x80\xAFQuiet7") },	/* overlong, 4 bytes */
		{ S("Lantern\xED\xA0\x80Quiet7") },	/* surrogate */
		{ S("Lantern\xF4\x90\x80\x80Quiet7") },	/* > U+10FFFF */
		{ S("Lantern\xF8\x88\x80\x80\x80Quiet7") }, /* 5 bytes */
		{ S("Lantern\xF5\x80\x80\x80Quiet7") },	/* > U+10FFFF */
		{ S("Lantern\xC1\xBFQuiet7") },	/* overlong, 2 bytes */
		{ S("Lantern\x80Quiet7") },		/* lone continuation */
		{ S("Lantern-Quiet7\xE3\x81") },	/* truncated at end */
		{ S("Lantern\xE3\x81Quiet7") },	/* truncated inside */
		{ S("Lantern\xFFQuiet7") },
		{ S("Lantern\0Quiet7") },		/* embedded NUL */
		{ S("Lantern-Quiet7\0") },		/* trailing NUL */
		{ S("Lantern\tQuiet7") },
		{ S("Lantern\nQuiet7") },
		{ S("Lantern\x1bQuiet7") },
		{ S("Lantern\x7fQuiet7") },
		{ S("Lantern\xC2\x85Quiet7") },	/* C1 control NEL */
	};
	struct mm_pwpolicy p;
	char why[128];
	size_t i;

	(void)state;
	mm_pwpolicy_defaults(&p);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_len(&p, deny, NULL, bad[i].pw, bad[i].len,
		    MM_PW_ENCODING);
	/* a sequence cut by the length, though the buffer goes on */
	expect_len(&p, deny, NULL, "Lantern-Quiet7\xE3\x81\x81", 16,
	    MM_PW_ENCODING);
	/* encoding is checked before length */
	expect_len(&p, deny, NULL, "\xC0\xAF", 2, MM_PW_ENCODING);
	assert_int_equal(mm_pwpolicy_check(&p, deny, NULL, "ab\0", 3, why,
	    sizeof(why)), MM_PW_ENCODING);
	assert_string_equal(why,
	    "must be valid UTF-8 text without control characters");
	/* the highest code point and a non-BMP one are fine */
	expect(&p, deny, NULL, "Lantern\xF4\x8F\xBF\xBFQuiet7", MM_PW_OK);
	expect(&p, deny, NULL, "Lantern\xF0\x9F\x94\x91Quiet7", MM_PW_OK);
}

static void
test_utf8_counting(void **state)
{
	/* 7 kana and a digit: 8 characters in 22 bytes */
	static const char kana8[] = "\xE3\x81\x95\xE3\x81\x8F\xE3\x82\x89"
	    "\xE3\x82\x84\xE3\x81\xBE\xE3\x81\x8B\xE3\x82\x8F" "7";
	/* 6 kana and a digit: 7 characters in 19 bytes */
	static const char kana7[] = "\xE3\x81\x95\xE3\x81\x8F\xE3\x82\x89"
	    "\xE3\x82\x84\xE3\x81\xBE\xE3\x81\x8B" "7";
	/* kana only: letters, one class */
	static const char kanaonly[] = "\xE3\x81\x95\xE3\x81\x8F\xE3\x82\x89"
	    "\xE3\x82\x84\xE3\x81\xBE\xE3\x81\x8B\xE3\x82\x8F\xE3\x81\x9F";
	struct mm_pwpolicy p;
	char big[43 * 3];
	size_t i;

	(void)state;
	assert_int_equal(strlen(kana8), 22);
	mm_pwpolicy_defaults(&p);
	expect(&p, deny, NULL, kana8, MM_PW_OK);
	expect(&p, deny, NULL, kana7, MM_PW_TOO_SHORT);
	expect(&p, deny, NULL, kanaonly, MM_PW_CLASSES);
	/* non-ASCII letters count as letters, not symbols */
	expect(&p, deny, NULL, "\xE3\x81\x95\xE3\x81\x8F\xE3\x82\x89"
	    "\xE3\x82\x84\xE3\x81\xBE\xE3\x81\x8B\xE3\x82\x8F-", MM_PW_OK);
	expect(&p, deny, NULL, "\xC3\xA9t\xC3\xA9-\xC3\xA0-la-plage",
	    MM_PW_OK);
	/* the maximum counts bytes: 43 characters in 129 bytes */
	for (i = 0; i + 3 <= 129; i += 3)
		memcpy(big + i, (i / 3) % 2 ? "\xE3\x81\x8B" : "\xE3\x82\x8F",
		    3);
	expect_len(&p, deny, NULL, big, 129, MM_PW_TOO_LONG);
	/* 44 characters in 128 bytes */
	big[126] = '7';
	big[127] = '-';
	expect_len(&p, deny, NULL, big, 128, MM_PW_OK);
}

static void
test_classes(void **state)
{
	struct mm_pwpolicy p;
	char why[128];

	(void)state;
	mm_pwpolicy_defaults(&p);
	expect(&p, deny, NULL, "lanternquiettram", MM_PW_CLASSES);
	expect(&p, deny, NULL, "LanternQuietTram", MM_PW_CLASSES);
	expect(&p, deny, NULL, "40917362", MM_PW_CLASSES);
	expect(&p, deny, NULL, "-!*@#&%^+=", MM_PW_CLASSES);
	assert_int_equal(mm_pwpolicy_check(&p, deny, NULL, "lanternquiet",
	    12, why, sizeof(why)), MM_PW_CLASSES);
	assert_string_equal(why,
	    "must contain at least 2 of: letters, digits, symbols");
	/* a space is a symbol */
	expect(&p, deny, NULL, "lantern quiet tram", MM_PW_OK);
	expect(&p, deny, NULL, "lanternquiet7tram", MM_PW_OK);
	p.min_classes = 3;
	expect(&p, deny, NULL, "Lantern7Quiet", MM_PW_CLASSES);
	expect(&p, deny, NULL, "Lantern7-Quiet", MM_PW_OK);
	/* more than three is treated as three */
	p.min_classes = 9;
	expect(&p, deny, NULL, "Lantern7-Quiet", MM_PW_OK);
	/* checked before the deny list */
	mm_pwpolicy_defaults(&p);
	expect(&p, deny, NULL, "password", MM_PW_CLASSES);
}

static void
test_denylist_real(void **state)
{
	static const char *known[] = {
		"admin", "12345678", "password", "Password1!", "xc3511",
		"vizxv", "xmhdipc", "juantech", "7ujMko0admin", "Zte521",
		"hi3518", "zlxx.", "888888", "ubnt", "raspberry", "toor",
		"alpine", "calvin", "changeme", "P@ssw0rd", "Passw0rd!",
		"admin@123", "Admin123", "Welcome1", "qwerty123", "1q2w3e4r",
		"iloveyou", "letmein", "123456789", "dietpi",
	};
	static const char *variants[] = {
		"PASSWORD", "Password1!", "!admin123", "admin2024!!",
		"2024Summer!", "raspberry1", "#1Dragon#", "Changeme99!",
		"ChangeMe", "1!password!1", "admin  1",
	};
	static const char *unlisted[] = {
		"Tr4m-Lantern-Quiet", "passwordx", "xadmin", "admin-lantern",
		"ad-min", "pass word", "1!qwertyx",
	};
	struct mm_pwpolicy p, def;
	size_t i;

	(void)state;
	permissive(&p);
	mm_pwpolicy_defaults(&def);
	for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		assert_int_equal(mm_pwdeny_match(deny, known[i],
		    strlen(known[i])), 1);
		expect(&p, deny, NULL, known[i], MM_PW_DENYLIST);
		/* the defaults refuse them too, whichever rule comes first */
		assert_int_not_equal(mm_pwpolicy_check(&def, deny, NULL,
		    known[i], strlen(known[i]), NULL, 0), MM_PW_OK);
	}
	for (i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
		assert_int_equal(mm_pwdeny_match(deny, variants[i],
		    strlen(variants[i])), 1);
		expect(&p, deny, NULL, variants[i], MM_PW_DENYLIST);
	}
	for (i = 0; i < sizeof(unlisted) / sizeof(unlisted[0]); i++)
		assert_int_equal(mm_pwdeny_match(deny, unlisted[i],
		    strlen(unlisted[i])), 0);
	/* no list: only the built-in sequence rule applies */
	expect(&p, NULL, NULL, "Password1!", MM_PW_OK);
	assert_int_equal(mm_pwdeny_match(NULL, "admin", 5), 0);
	/* bad arguments never match */
	assert_int_equal(mm_pwdeny_match(deny, "admin\0x", 7), 0);
	assert_int_equal(mm_pwdeny_match(deny, "", 0), 0);
	assert_int_equal(mm_pwdeny_match(deny, NULL, 5), 0);
}

/* Every entry of the shipped list is refused by the default policy. */
static void
test_denylist_every_entry(void **state)
{
	struct mm_pwpolicy def;
	char line[MM_PW_MAX + 3];
	size_t n, count = 0;
	FILE *f;

	(void)state;
	mm_pwpolicy_defaults(&def);
	assert_non_null(f = fopen(MM_DENYLIST, "r"));
	while (fgets(line, sizeof(line), f) != NULL) {
		n = strcspn(line, "\r\n");
		line[n] = '\0';
		if (n == 0 || line[0] == '#')
			continue;
		if (mm_pwdeny_match(deny, line, n) != 1)
			fail_msg("entry %zu not matched", count);
		assert_int_not_equal(mm_pwpolicy_check(&def, deny, NULL, line,
		    n, NULL, 0), MM_PW_OK);
		count++;
	}
	assert_int_equal(fclose(f), 0);
	assert_true(count >= 300 && count <= 600);
}

static void
test_core_minimum(void **state)
{
	struct mm_pwdeny *d = NULL;
	struct mm_pwpolicy p;
	char path[sizeof(dir) + 16];

	(void)state;
	permissive(&p);
	snprintf(path, sizeof(path), "%s/short", dir);
	write_file(path, "ab\nxyz\n", 7);
	assert_int_equal(mm_pwdeny_load(path, &d), MM_OK);
	/* exact matches of any length; stripped cores only from 3 bytes */
	assert_int_equal(mm_pwdeny_match(d, "AB", 2), 1);
	assert_int_equal(mm_pwdeny_match(d, "ab12", 4), 0);
	assert_int_equal(mm_pwdeny_match(d, "xyz12", 5), 1);
	assert_int_equal(mm_pwdeny_match(d, "!XyZ", 4), 1);
	assert_int_equal(mm_pwdeny_match(d, "xyzw1", 5), 0);
	mm_pwdeny_free(d);
	assert_int_equal(unlink(path), 0);
}

static void
test_sequences(void **state)
{
	/* eight times HIRAGANA LETTER A */
#define A8 "\xE3\x81\x82\xE3\x81\x82\xE3\x81\x82\xE3\x81\x82" \
	"\xE3\x81\x82\xE3\x81\x82\xE3\x81\x82\xE3\x81\x82"
	static const char *trivial[] = {
		"abcdefgh", "12345678", "87654321", "hgfedcba", "ABCDEFGH",
		"zzzzzzzz", "77777777", "abcdefgh1!", "!!aaaaaaaa22",
		"2024abcdefg", A8,
	};
	struct mm_pwpolicy p;
	char why[128];
	size_t i;

	(void)state;
	permissive(&p);
	for (i = 0; i < sizeof(trivial) / sizeof(trivial[0]); i++)
		expect(&p, NULL, NULL, trivial[i], MM_PW_DENYLIST);
	assert_int_equal(mm_pwpolicy_check(&p, NULL, NULL, "abcdefgh", 8, why,
	    sizeof(why)), MM_PW_DENYLIST);
	assert_string_equal(why, "is a simple sequence or repetition");
	expect(&p, NULL, NULL, "abcdefgi", MM_PW_OK);
	expect(&p, NULL, NULL, "aaaaaaab", MM_PW_OK);
	expect(&p, NULL, NULL, "abcabcab", MM_PW_OK);
	expect(&p, NULL, NULL, "13572468", MM_PW_OK);
}

static void
test_personal(void **state)
{
	static const struct {
		const char *pw, *what;
	} bad[] = {
		{ "Alice-Tram-42!", "user name" },
		{ "tram-ALICE-42", "user name" },
		{ "camx200-Lantern!", "model name" },
		{ "Lantern-CAMX200", "model name" },
		{ "xx-sn12345678-Q", "serial number" },
		{ "Lantern-12345678", "serial number" },
		{ "D-0123456789ABCDEF!", "device id" },
		{ "Q!0123456789abcdef", "device id" },
		{ "lantern-0123456789", "device id" },
	};
	struct mm_pwcontext ctx = { "alice", "CamX200", "SN12345678",
	    "d-0123456789abcdef" };
	struct mm_pwcontext shortctx = { "al", "X2", "", NULL };
	struct mm_pwcontext wordctx = { NULL, "Kamera-Vision 200", NULL, NULL };
	struct mm_pwpolicy p;
	char why[128];
	size_t i;

	(void)state;
	mm_pwpolicy_defaults(&p);
	p.estimator = 0;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		expect(&p, deny, &ctx, bad[i].pw, MM_PW_PERSONAL);
		assert_int_equal(mm_pwpolicy_check(&p, deny, &ctx, bad[i].pw,
		    strlen(bad[i].pw), why, sizeof(why)), MM_PW_PERSONAL);
		assert_non_null(strstr(why, bad[i].what));
	}
	assert_int_equal(mm_pwpolicy_check(&p, deny, &ctx, "xx-sn12345678-Q",
	    15, why, sizeof(why)), MM_PW_PERSONAL);
	assert_string_equal(why, "contains the device's serial number");
	/* a word of a part on its own */
	expect(&p, deny, &wordctx, "Vision-Lantern-7", MM_PW_PERSONAL);
	expect(&p, deny, &wordctx, "Kamera!Lantern-7", MM_PW_PERSONAL);
	expect(&p, deny, &wordctx, "Visio-Lantern-7", MM_PW_OK);
	/* parts under 3 characters are ignored; NULL context is fine */
	expect(&p, deny, &shortctx, "Albatross-X2-Quiet", MM_PW_OK);
	expect(&p, deny, NULL, "Alice-Tram-42!", MM_PW_OK);
	/* the estimator is on by default: still the personal rule */
	mm_pwpolicy_defaults(&p);
	expect(&p, deny, &ctx, "Alice-Tram-42!", MM_PW_PERSONAL);
}

static void
test_estimator(void **state)
{
	struct mm_pwpolicy p;
	char why[256];

	(void)state;
	mm_pwpolicy_defaults(&p);
	/* passes our own rules, but a palindrome */
	expect(&p, deny, NULL, "Ab1!xyyx!1bA", MM_PW_WEAK);
	assert_int_equal(mm_pwpolicy_check(&p, deny, NULL, "Ab1!xyyx!1bA", 12,
	    why, sizeof(why)), MM_PW_WEAK);
	assert_non_null(strstr(why, "palindrome"));
	/* a dictionary word with a digit and a symbol (cracklib).  Without
	 * its dictionary the module would accept it and log a warning, so the
	 * dictionary (Debian's cracklib-runtime, in scripts/deps.list) must be
	 * there: its absence fails this test rather than skipping the check. */
	assert_int_equal(access(MM_CRACKLIB_DICT ".pwd", R_OK), 0);
	expect(&p, deny, NULL, "Elephant7!", MM_PW_WEAK);
	p.estimator = 0;
	expect(&p, deny, NULL, "Ab1!xyyx!1bA", MM_PW_OK);
	expect(&p, deny, NULL, "Elephant7!", MM_PW_OK);
	/* a score floor: short passwords cannot score high */
	mm_pwpolicy_defaults(&p);
	p.min_score = 60;
	expect(&p, deny, NULL, "Vq7#mZp2", MM_PW_WEAK);
	assert_int_equal(mm_pwpolicy_check(&p, deny, NULL, "Vq7#mZp2", 8, why,
	    sizeof(why)), MM_PW_WEAK);
	assert_non_null(strstr(why, "at least 60 required"));
	expect(&p, deny, NULL, "Tr4m-Lantern-Quiet-Orbit-Mosaic", MM_PW_OK);
}

static void
test_load_format(void **state)
{
	static const char text[] = "# comment\n\n  Foo \r\n\tbar\t\n"
	    "#notanentry\nCaf\xC3\xA9\r\nlast";
	struct mm_pwdeny *d = NULL;
	char path[sizeof(dir) + 16];

	(void)state;
	snprintf(path, sizeof(path), "%s/fmt", dir);
	write_file(path, text, sizeof(text) - 1);
	assert_int_equal(mm_pwdeny_load(path, &d), MM_OK);
	assert_int_equal(mm_pwdeny_match(d, "foo", 3), 1);
	assert_int_equal(mm_pwdeny_match(d, "FOO", 3), 1);
	assert_int_equal(mm_pwdeny_match(d, "BAR!", 4), 1);
	assert_int_equal(mm_pwdeny_match(d, "caf\xC3\xA9", 5), 1);
	assert_int_equal(mm_pwdeny_match(d, "LAST", 4), 1);
	assert_int_equal(mm_pwdeny_match(d, "comment", 7), 0);
	assert_int_equal(mm_pwdeny_match(d, "#notanentry", 11), 0);
	assert_int_equal(mm_pwdeny_match(d, " foo ", 5), 1);	/* spaces */
	mm_pwdeny_free(d);
	mm_pwdeny_free(NULL);

	/* an empty list loads and matches nothing */
	write_file(path, "# nothing\n", 10);
	d = NULL;
	assert_int_equal(mm_pwdeny_load(path, &d), MM_OK);
	assert_int_equal(mm_pwdeny_match(d, "admin", 5), 0);
	mm_pwdeny_free(d);
	assert_int_equal(unlink(path), 0);
}

static void
test_load_errors(void **state)
{
	struct mm_pwdeny *d, *const sentinel = (struct mm_pwdeny *)&d;
	char path[sizeof(dir) + 16], *buf;
	size_t n, i;

	(void)state;
	snprintf(path, sizeof(path), "%s/bad", dir);
	d = sentinel;
	assert_int_equal(mm_pwdeny_load("/nonexistent/denylist.txt", &d),
	    MM_ERR_NOT_FOUND);
	assert_ptr_equal(d, sentinel);
	assert_int_equal(mm_pwdeny_load(NULL, &d), MM_ERR_INVALID_ARG);

	/* an entry of MM_PW_MAX bytes loads, one byte more does not */
	n = MM_PW_MAX + 2;
	assert_non_null(buf = malloc(2 * 1024 * 1024));
	memset(buf, 'a', n);
	buf[0] = 'x';
	buf[MM_PW_MAX] = '\n';
	write_file(path, buf, MM_PW_MAX + 1);
	assert_int_equal(mm_pwdeny_load(path, &d), MM_OK);
	assert_int_equal(mm_pwdeny_match(d, buf, MM_PW_MAX), 1);
	mm_pwdeny_free(d);
	d = sentinel;
	buf[MM_PW_MAX] = 'a';
	buf[MM_PW_MAX + 1] = '\n';
	write_file(path, buf, MM_PW_MAX + 2);
	assert_int_equal(mm_pwdeny_load(path, &d), MM_ERR_FORMAT);
	assert_ptr_equal(d, sentinel);

	/* invalid UTF-8, control characters and NUL in an entry */
	write_file(path, "ok\nbad\xC0\xAF\n", 9);
	assert_int_equal(mm_pwdeny_load(path, &d), MM_ERR_FORMAT);
	write_file(path, "ok\nb\x01d\n", 7);
	assert_int_equal(mm_pwdeny_load(path, &d), MM_ERR_FORMAT);
	write_file(path, "ok\nb\0d\n", 7);
	assert_int_equal(mm_pwdeny_load(path, &d), MM_ERR_FORMAT);
	assert_ptr_equal(d, sentinel);

	/* more than 1 MiB, even if only comments */
	buf[0] = '#';
	memset(buf + 1, 'c', 1024 * 1024);
	buf[1024 * 1024] = '\n';
	write_file(path, buf, 1024 * 1024 + 1);
	assert_int_equal(mm_pwdeny_load(path, &d), MM_ERR_TOO_LARGE);
	/* exactly 1 MiB is fine */
	buf[1024 * 1024 - 1] = '\n';
	write_file(path, buf, 1024 * 1024);
	assert_int_equal(mm_pwdeny_load(path, &d), MM_OK);
	mm_pwdeny_free(d);
	d = sentinel;

	/* more than 100000 entries */
	for (i = 0; i < 100001; i++)
		memcpy(buf + 2 * i, "a\n", 2);
	write_file(path, buf, 2 * 100000);
	assert_int_equal(mm_pwdeny_load(path, &d), MM_OK);
	mm_pwdeny_free(d);
	d = sentinel;
	write_file(path, buf, 2 * 100001);
	assert_int_equal(mm_pwdeny_load(path, &d), MM_ERR_TOO_LARGE);
	assert_ptr_equal(d, sentinel);

	/* a directory is not a list */
	assert_int_not_equal(mm_pwdeny_load(dir, &d), MM_OK);
	assert_ptr_equal(d, sentinel);
	free(buf);
	assert_int_equal(unlink(path), 0);
}

static void
test_load_alloc_failure(void **state)
{
	struct mm_pwdeny *d, *const sentinel = (struct mm_pwdeny *)&d;
	long n;
	int r;

	(void)state;
	for (n = 0; n < 10; n++) {
		d = sentinel;
		mm_alloc_fail_after(n);
		r = mm_pwdeny_load(MM_DENYLIST, &d);
		mm_alloc_fail_after(-1);
		if (r == MM_OK) {
			assert_ptr_not_equal(d, sentinel);
			assert_int_equal(mm_pwdeny_match(d, "xc3511", 6), 1);
			mm_pwdeny_free(d);
			break;
		}
		assert_int_equal(r, MM_ERR_ALLOC);
		assert_ptr_equal(d, sentinel);
	}
	assert_true(n > 0 && n < 10);
}

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	return mm_pwdeny_load(MM_DENYLIST, &deny) == MM_OK ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	mm_pwdeny_free(deny);
	return rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_and_names),
		cmocka_unit_test(test_strong_accepted),
		cmocka_unit_test(test_length),
		cmocka_unit_test(test_encoding),
		cmocka_unit_test(test_utf8_counting),
		cmocka_unit_test(test_classes),
		cmocka_unit_test(test_denylist_real),
		cmocka_unit_test(test_denylist_every_entry),
		cmocka_unit_test(test_core_minimum),
		cmocka_unit_test(test_sequences),
		cmocka_unit_test(test_personal),
		cmocka_unit_test(test_estimator),
		cmocka_unit_test(test_load_format),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_load_alloc_failure),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
