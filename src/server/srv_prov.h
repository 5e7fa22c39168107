/*
 * srv_prov.h - issuing device identities: first enrolment (token + CSR on
 * the provisioning listener) and re-keying (CSR over the device's own
 * authenticated channel).  Called with s->lock held.
 */
#ifndef SRV_PROV_H
#define SRV_PROV_H

#include <stddef.h>

#include <jansson.h>

#include "server/srv.h"

#define SRV_REKEY_PER_HOUR 3

/*
 * Handles an enrolment request from provisioning client provid and
 * publishes the answer to its resp topic.  Bad requests get an error answer
 * with the reason and change nothing.
 */
void srv_prov_enroll(struct srv *s, const char *provid, const void *payload,
    size_t len);

/* Handles an up/csr message: issues a new certificate for d and sends it on
 * d's down/cert topic.  Rate-limited per device. */
int srv_prov_rekey(struct srv *s, struct srv_dev *d, json_t *msg);

#endif
