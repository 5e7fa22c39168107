/*
 * mamori-factory - the factory step of a mamori device (KP4.a, JE4): a
 * unique random initial administrator secret, stored on the device only as
 * an Argon2id hash (auth.json) and written once to a label file for
 * printing.  Never derived from serial, MAC, model or a counter.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "common/mm_file.h"
#include "common/mm_log.h"
#include "device/mm_auth.h"
#include "device/mm_pwhash.h"
#include "device/mm_seclog.h"

static _Noreturn void
usage(void)
{
	fprintf(stderr, "usage: mamori-factory --state DIR --label FILE "
	    "[--class small|medium|large] [--admin NAME]\n"
	    "                      [--seclog-key-out FILE]\n"
	    "  --seclog-key-out: also create the sealed security log and write\n"
	    "  its id and initial key (hex) to FILE, 0600, for the fleet; the\n"
	    "  device keeps only the evolving key\n");
	exit(2);
}

/* Model and serial for the label, from agent.json when it is there. */
static void
factory_identity(const char *state, char *model, size_t msz, char *serial,
    size_t ssz)
{
	char path[600];
	json_t *o;

	snprintf(model, msz, "?");
	snprintf(serial, ssz, "?");
	snprintf(path, sizeof(path), "%s/agent.json", state);
	if ((o = json_load_file(path, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		return;
	if (json_is_string(json_object_get(o, "model")))
		snprintf(model, msz, "%s", json_string_value(json_object_get(o, "model")));
	if (json_is_string(json_object_get(o, "serial")))
		snprintf(serial, ssz, "%s",
		    json_string_value(json_object_get(o, "serial")));
	json_decref(o);
}

/* The sealed log: its initial key goes to the fleet, never stays here. */
static int
factory_seclog(const char *state, const char *out)
{
	uint8_t id[MM_SECLOG_ID_LEN];
	char idhex[2 * MM_SECLOG_ID_LEN + 1];
	int r;

	if ((r = mm_seclog_provision(state, out, id)) != 0) {
		fprintf(stderr, "mamori-factory: sealed log in %s (key file %s): "
		    "%s\n", state, out, mm_strerror(r));
		return r;
	}
	mm_hex_encode(idhex, id, sizeof(id));
	printf("sealed log %s created; its initial key is in %s: give it to "
	    "the fleet, then delete the file\n", idhex, out);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *state = NULL, *label = NULL, *admin = "admin", *cls_name = "medium";
	const char *seckey = NULL;
	char path[600], secret[MM_AUTH_SECRET_LEN + 1], text[1024];
	char model[65], serial[65];
	enum mm_pwclass cls;
	int i, n, r;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--state") == 0 && i + 1 < argc)
			state = argv[++i];
		else if (strcmp(argv[i], "--label") == 0 && i + 1 < argc)
			label = argv[++i];
		else if (strcmp(argv[i], "--class") == 0 && i + 1 < argc)
			cls_name = argv[++i];
		else if (strcmp(argv[i], "--admin") == 0 && i + 1 < argc)
			admin = argv[++i];
		else if (strcmp(argv[i], "--seclog-key-out") == 0 && i + 1 < argc)
			seckey = argv[++i];
		else
			usage();
	}
	if (state == NULL || label == NULL || mm_pwclass_parse(cls_name, &cls) != 0 ||
	    !mm_user_name_valid(admin))
		usage();
	mm_log_init("mamori-factory", MM_LOG_INFO, 0);
	if (mm_crypto_init() != 0)
		return 1;
	snprintf(path, sizeof(path), "%s/auth.json", state);
	if ((r = mm_auth_factory(path, cls, admin, (int64_t)time(NULL), secret)) != 0) {
		fprintf(stderr, "mamori-factory: %s: %s%s\n", path, mm_strerror(r),
		    r == MM_ERR_EXISTS ? " (this device has had its factory step)" : "");
		return 1;
	}
	factory_identity(state, model, sizeof(model), serial, sizeof(serial));
	n = snprintf(text, sizeof(text),
	    "mamori device\nmodel: %s\nserial: %s\nadministrator: %s\n"
	    "initial password: %s\n"
	    "This password is unique to this device. It must be changed at the\n"
	    "first login; until then the device does nothing else.\n",
	    model, serial, admin, secret);
	mm_wipe(secret, sizeof(secret));
	r = n > 0 && (size_t)n < sizeof(text) ?
	    mm_file_write_atomic(label, text, (size_t)n, 0600) : MM_ERR_INTERNAL;
	mm_wipe(text, sizeof(text));
	if (r != 0) {
		/* a secret nobody can read would lock the owner out */
		(void)unlink(path);
		fprintf(stderr, "mamori-factory: cannot write %s: %s\n", label,
		    mm_strerror(r));
		return 1;
	}
	printf("initial secret written to %s (Argon2id %s); print it, then "
	    "delete the file\n", label, mm_pwclass_name(cls));
	if (seckey != NULL && factory_seclog(state, seckey) != 0)
		return 1;
	return 0;
}
