/*
 * srv_enroll.h - expected devices and one-time enrolment tokens
 * (docs/decisions/0004-provisioning.md).
 *
 * A token is "<device-id>.<32 hex>": it names the device id the CSR must
 * carry; only its SHA-256 is stored.  It is bound to the serial, expires and
 * works once.
 */
#ifndef SRV_ENROLL_H
#define SRV_ENROLL_H

#include <stdint.h>
#include <stdio.h>

#include "proto/mm_topic.h"
#include "server/srv_db.h"

#define SRV_TOKEN_LEN (MM_DEVID_LEN + 1 + 32)
#define SRV_TOKEN_SIZE (SRV_TOKEN_LEN + 1)
#define SRV_SERIAL_MAX 64
#define SRV_FIELD_MAX 128

struct srv_device_spec {
	char serial[SRV_SERIAL_MAX + 1];
	char model[SRV_FIELD_MAX + 1];
	char location[SRV_FIELD_MAX + 1];
	char admin[SRV_FIELD_MAX + 1];
};

/* Checks the fields of a spec: MM_ERR_FORMAT with a logged reason. */
int srv_enroll_spec_valid(const struct srv_device_spec *spec);

/* Registers a device and creates its token (one transaction). */
int srv_enroll_add(struct srv_db *db, const struct srv_device_spec *spec,
    int64_t ttl, char devid[MM_DEVID_SIZE], char token[SRV_TOKEN_SIZE]);

/* Issues a fresh token for a registered (not yet active) device, e.g. when
 * the first one expired. */
int srv_enroll_new_token(struct srv_db *db, const char *devid, int64_t ttl,
    char token[SRV_TOKEN_SIZE]);

/*
 * Factory run: reads CSV "serial,model,location,admin_contact" (header line
 * required, RFC 4180 quoting) from in, registers every row in one
 * transaction (all or nothing) and writes "serial,device_id,token" to out.
 * *count gets the number registered.
 */
int srv_enroll_import_csv(struct srv_db *db, FILE *in, FILE *out, int64_t ttl,
    int *count);

/* Splits one CSV line into exactly nfields fields of fieldsz bytes each
 * (exposed for the fuzz target). */
int srv_enroll_csv_split(const char *line, char *fields, size_t nfields,
    size_t fieldsz);

/*
 * Within the caller's transaction: checks token for serial and marks it
 * used.  Errors: MM_ERR_FORMAT (malformed), MM_ERR_NOT_FOUND (unknown),
 * MM_ERR_DENIED (serial mismatch), MM_ERR_USED, MM_ERR_EXPIRED,
 * MM_ERR_STATE (device revoked).  *devid on success.
 */
int srv_enroll_redeem(struct srv_db *db, const char *token, const char *serial,
    int64_t now, char devid[MM_DEVID_SIZE]);

#endif
