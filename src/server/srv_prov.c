/* srv_prov.c - enrolment and re-key: check, issue, record, answer. */
#include <string.h>

#include "common/mm_alloc.h"
#include "common/mm_err.h"
#include "common/mm_log.h"
#include "proto/mm_msg.h"
#include "proto/mm_topic.h"
#include "server/srv_enroll.h"
#include "server/srv_prov.h"

/*
 * Checks a CSR for devid, issues the certificate and records it; inside the
 * caller's transaction.  *pem is new (mm_free).
 */
static int
srv_prov_issue(struct srv *s, const char *devid, const char *csr, char **pem,
    size_t *pemlen)
{
	struct srv_cert_info info;
	X509_REQ *req = NULL;
	sqlite3_stmt *st;
	char *cert = NULL;
	size_t certlen;
	int r;

	if ((r = srv_ca_check_csr(csr, strlen(csr), devid, &req)) != 0 ||
	    (r = srv_ca_issue_device(s->ca, req, devid, s->conf.device_cert_days,
	    &cert, &certlen, &info)) != 0)
		goto out;
	if ((r = srv_db_prepare(s->db, "INSERT INTO certificates (serial,"
	    " device_id, fingerprint, not_before, not_after, issued_at)"
	    " VALUES (?,?,?,?,?,?)", &st)) != 0)
		goto out;
	sqlite3_bind_text(st, 1, info.serial, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, devid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, info.fingerprint, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (int64_t)info.not_before);
	sqlite3_bind_int64(st, 5, (int64_t)info.not_after);
	sqlite3_bind_int64(st, 6, srv_db_now());
	r = srv_db_step_done(s->db, st);
	sqlite3_finalize(st);
	if (r != 0)
		goto out;
	mm_log(MM_LOG_NOTICE, "issued certificate %s to %s (sha256 %s, until %lld)",
	    info.serial, devid, info.fingerprint, (long long)info.not_after);
	*pem = cert;
	*pemlen = certlen;
	cert = NULL;
 out:
	X509_REQ_free(req);
	mm_free(cert);
	return r;
}

static void
srv_prov_answer(struct srv *s, const char *provid, const char *status,
    const char *reason, const char *devid, const char *cert)
{
	char topic[MM_TOPIC_MAX], *text = NULL;
	json_t *o;
	size_t len;

	if ((o = mm_msg_new(MM_MSG_ENROLL_RESULT)) == NULL)
		return;
	json_object_set_new(o, "status", json_string(status));
	if (reason != NULL)
		json_object_set_new(o, "reason", json_string(reason));
	if (devid != NULL)
		json_object_set_new(o, "device_id", json_string(devid));
	if (cert != NULL) {
		json_object_set_new(o, "cert", json_string(cert));
		json_object_set_new(o, "ca", json_string(srv_ca_cert_pem(s->ca)));
	}
	if (mm_topic_build(topic, sizeof(topic), MM_DIR_PROV_RESP, provid, NULL) == 0 &&
	    mm_msg_encode(MM_MSG_ENROLL_RESULT, o, &text, &len) == 0)
		(void)mosquitto_publish(s->mq_prov, NULL, topic, (int)len, text, 1,
		    false);
	mm_free(text);
	json_decref(o);
}

static int
srv_prov_activate(struct srv *s, const char *devid)
{
	sqlite3_stmt *st;
	int r;

	if ((r = srv_db_prepare(s->db, "UPDATE devices SET state = 'active'"
	    " WHERE id = ? AND state = 'registered'", &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, devid, -1, SQLITE_STATIC);
	r = srv_db_step_done(s->db, st);
	if (r == 0 && sqlite3_changes(srv_db_handle(s->db)) != 1)
		r = MM_ERR_STATE;
	sqlite3_finalize(st);
	return r;
}

void
srv_prov_enroll(struct srv *s, const char *provid, const void *payload, size_t len)
{
	const char *serial = "?", *token, *csr;
	char devid[MM_DEVID_SIZE], *cert = NULL;
	size_t certlen;
	json_t *o = NULL;
	int r;

	if ((r = mm_msg_decode(MM_MSG_ENROLL, payload, len, &o)) != 0 ||
	    (r = mm_msg_get_str(o, "serial", 1, SRV_SERIAL_MAX, &serial)) != 0 ||
	    (r = mm_msg_get_str(o, "token", 1, SRV_TOKEN_LEN, &token)) != 0 ||
	    (r = mm_msg_get_pem(o, "csr", SRV_CSR_MAX, &csr)) != 0)
		goto refuse;
	if ((r = srv_db_begin(s->db)) != 0)
		goto refuse;
	if ((r = srv_enroll_redeem(s->db, token, serial, srv_db_now(), devid)) != 0 ||
	    (r = srv_prov_issue(s, devid, csr, &cert, &certlen)) != 0 ||
	    (r = srv_prov_activate(s, devid)) != 0 ||
	    (r = srv_db_commit(s->db)) != 0) {
		srv_db_rollback(s->db);
		goto refuse;
	}
	(void)srv_registry_put(s->reg, devid, SRV_DEV_ACTIVE, NULL);
	s->stats.enroll_ok++;
	mm_log(MM_LOG_NOTICE, "enrolled serial %s as %s", serial, devid);
	srv_prov_answer(s, provid, "ok", NULL, devid, cert);
	mm_free(cert);
	json_decref(o);
	return;
 refuse:
	s->stats.enroll_refused++;
	srv_refuse_log(s, "enrolment of serial %s: %s", serial, mm_strerror(r));
	srv_prov_answer(s, provid, "error", mm_strerror(r), NULL, NULL);
	json_decref(o);
}

static int
srv_prov_recent_certs(struct srv *s, const char *devid, int64_t *count)
{
	sqlite3_stmt *st;
	int r;

	if ((r = srv_db_prepare(s->db, "SELECT count(*) FROM certificates"
	    " WHERE device_id = ? AND issued_at > ?", &st)) != 0)
		return r;
	sqlite3_bind_text(st, 1, devid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, srv_db_now() - 3600);
	r = sqlite3_step(st) == SQLITE_ROW ? MM_OK : MM_ERR_DB;
	if (r == 0)
		*count = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return r;
}

int
srv_prov_rekey(struct srv *s, struct srv_dev *d, json_t *msg)
{
	char topic[MM_TOPIC_MAX], *cert = NULL, *text = NULL;
	const char *csr;
	int64_t recent;
	size_t certlen, len;
	json_t *o = NULL;
	int r;

	if ((r = mm_msg_get_pem(msg, "csr", SRV_CSR_MAX, &csr)) != 0)
		goto refuse;
	if ((r = srv_db_begin(s->db)) != 0)
		goto refuse;
	if ((r = srv_prov_recent_certs(s, d->id, &recent)) != 0 ||
	    (recent >= SRV_REKEY_PER_HOUR && (r = MM_ERR_DENIED) != 0) ||
	    (r = srv_prov_issue(s, d->id, csr, &cert, &certlen)) != 0 ||
	    (r = srv_db_commit(s->db)) != 0) {
		srv_db_rollback(s->db);
		goto refuse;
	}
	s->stats.csr_ok++;
	if ((o = mm_msg_new(MM_MSG_CERT)) == NULL ||
	    json_object_set_new(o, "cert", json_string(cert)) != 0 ||
	    (r = mm_msg_encode(MM_MSG_CERT, o, &text, &len)) != 0 ||
	    (r = mm_topic_build(topic, sizeof(topic), MM_DIR_DOWN, d->id, "cert")) != 0) {
		r = r ? r : MM_ERR_ALLOC;
		goto out;
	}
	if (mosquitto_publish(s->mq, NULL, topic, (int)len, text, 1, false) !=
	    MOSQ_ERR_SUCCESS)
		r = MM_ERR_NET;
	goto out;
 refuse:
	s->stats.csr_refused++;
	srv_refuse_log(s, "re-key of %s: %s", d->id, mm_strerror(r));
	r = MM_OK;	/* refused and counted here: not a malformed message */
 out:
	mm_free(cert);
	mm_free(text);
	json_decref(o);
	return r;
}
