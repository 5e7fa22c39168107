/* srv_run.c - the server's MQTT connections, timer loop and shutdown. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#include "common/mm_err.h"
#include "common/mm_log.h"
#include "common/mm_time.h"
#include "proto/mm_topic.h"
#include "server/srv.h"
#include "server/srv_broker.h"
#include "server/srv_cmd.h"
#include "server/srv_ingest.h"
#include "server/srv_io.h"
#include "server/srv_prov.h"
#include "server/srv_run.h"

#define SRV_TICK_MS 100
#define SRV_FLUSH_MS 250
#define SRV_STATS_S 5
#define SRV_RETRY_S 5		/* pending commands are retried this often */

static volatile sig_atomic_t srv_stop;

static void
srv_on_signal(int sig)
{
	(void)sig;
	srv_stop = 1;
}

static void
srv_on_connect(struct mosquitto *mq, void *arg, int rc)
{
	struct srv *s = arg;
	const char *sub = mq == s->mq ? "mamori/v1/+/up/#" : "mamori/v1/prov/+/req";

	if (rc != 0) {
		mm_log(MM_LOG_WARN, "broker refused connection: %s",
		    mosquitto_connack_string(rc));
		return;
	}
	mm_log(MM_LOG_INFO, "connected to broker (%s), subscribing %s",
	    mq == s->mq ? "devices" : "provisioning", sub);
	(void)mosquitto_subscribe(mq, NULL, sub, 1);
}

static void
srv_on_disconnect(struct mosquitto *mq, void *arg, int rc)
{
	struct srv *s = arg;

	if (rc != 0)
		mm_log(MM_LOG_WARN, "lost broker connection (%s); reconnecting",
		    mq == s->mq ? "devices" : "provisioning");
}

static void
srv_on_message(struct mosquitto *mq, void *arg, const struct mosquitto_message *m)
{
	struct srv *s = arg;
	struct mm_topic t;

	pthread_mutex_lock(&s->lock);
	if (mq == s->mq)
		srv_ingest_message(s, m->topic, m->payload, (size_t)m->payloadlen);
	else if (mm_topic_parse(m->topic, &t) == 0 && t.dir == MM_DIR_PROV_REQ)
		srv_prov_enroll(s, t.id, m->payload, (size_t)m->payloadlen);
	else {
		s->stats.refused_topic++;
		srv_refuse_log(s, "provisioning message on unexpected topic");
	}
	pthread_mutex_unlock(&s->lock);
}

static int
srv_mq_new(struct srv *s, const char *id, int persistent, struct mosquitto **out)
{
	struct mosquitto *mq;

	if ((mq = mosquitto_new(id, !persistent, s)) == NULL)
		return MM_ERR_ALLOC;
	mosquitto_int_option(mq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
	mosquitto_connect_callback_set(mq, srv_on_connect);
	mosquitto_disconnect_callback_set(mq, srv_on_disconnect);
	mosquitto_message_callback_set(mq, srv_on_message);
	mosquitto_reconnect_delay_set(mq, 1, 10, true);
	mosquitto_max_inflight_messages_set(mq, 1000);
	*out = mq;
	return MM_OK;
}

static int
srv_connect(struct srv *s)
{
	char ca[SRV_PATH_MAX + 32], crt[SRV_PATH_MAX + 32], key[SRV_PATH_MAX + 32];
	char pw[128], provid[MM_PROVID_SIZE];
	int r;

	/* On the anonymous listener our client id must be unguessable, or a
	 * stranger could take over the session; the request is retried by the
	 * device, so no persistence is needed there.  On the device listener
	 * the session persists: while the server restarts the broker keeps
	 * what devices send at QoS 1 (hellos, results, CSRs). */
	mm_provid_new(provid);
	if ((r = srv_conf_path(&s->conf, "ca/ca.crt", ca, sizeof(ca))) != 0 ||
	    (r = srv_conf_path(&s->conf, "server/client.crt", crt, sizeof(crt))) != 0 ||
	    (r = srv_conf_path(&s->conf, "server/client.key", key, sizeof(key))) != 0 ||
	    (r = srv_broker_prov_password(&s->conf, pw, sizeof(pw))) != 0 ||
	    (r = srv_mq_new(s, MM_SERVER_ID, 1, &s->mq)) != 0 ||
	    (r = srv_mq_new(s, provid, 0, &s->mq_prov)) != 0)
		return r;
	if (mosquitto_tls_set(s->mq_prov, ca, NULL, NULL, NULL, NULL) != 0 ||
	    mosquitto_tls_opts_set(s->mq_prov, 1, "tlsv1.2", NULL) != 0 ||
	    mosquitto_username_pw_set(s->mq_prov, "mamori-server", pw) != 0) {
		mm_wipe(pw, sizeof(pw));
		return MM_ERR_NET;
	}
	mm_wipe(pw, sizeof(pw));
	/* both retry by themselves until the broker is there: the device
	 * connection in our own I/O thread (the hot path), the provisioning
	 * one in libmosquitto's */
	(void)mosquitto_connect_async(s->mq_prov, s->conf.host, s->conf.prov_port, 30);
	if (mosquitto_loop_start(s->mq_prov) != 0)
		return MM_ERR_NET;
	return srv_io_start(s, ca, crt, key);
}

static void
srv_stats_save(struct srv *s)
{
	sqlite3_stmt *st;

	if (srv_db_begin(s->db) != 0)
		return;
	if (srv_db_prepare(s->db, "INSERT INTO server_stats (name, value)"
	    " VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
	    &st) != 0) {
		srv_db_rollback(s->db);
		return;
	}
#define SRV_STAT_SAVE(n) \
	sqlite3_bind_text(st, 1, #n, -1, SQLITE_STATIC); \
	sqlite3_bind_int64(st, 2, (int64_t)s->stats.n); \
	(void)srv_db_step_done(s->db, st); \
	sqlite3_reset(st);
	SRV_STATS(SRV_STAT_SAVE)
#undef SRV_STAT_SAVE
	sqlite3_finalize(st);
	if (srv_db_commit(s->db) != 0)
		srv_db_rollback(s->db);
}

/* Counters continue from what the last run saved. */
static void
srv_stats_load(struct srv *s)
{
	sqlite3_stmt *st;

	if (srv_db_prepare(s->db, "SELECT name, value FROM server_stats", &st) != 0)
		return;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		uint64_t v = (uint64_t)sqlite3_column_int64(st, 1);
#define SRV_STAT_LOAD(n) if (strcmp(name, #n) == 0) s->stats.n = v;
		SRV_STATS(SRV_STAT_LOAD)
#undef SRV_STAT_LOAD
	}
	sqlite3_finalize(st);
}

/* Periodic work: batched last_seen, operator changes, stats. */
static void
srv_loop(struct srv *s)
{
	int64_t last_flush = 0, last_stats = 0, last_retry = 0, now;

	while (!srv_stop) {
		mm_sleep_ms(SRV_TICK_MS);
		now = mm_now_ms();
		pthread_mutex_lock(&s->lock);
		if (now - last_flush >= SRV_FLUSH_MS) {
			if (srv_registry_flush(s->reg, s->db) != 0)
				mm_log(MM_LOG_ERR, "could not record last seen times");
			last_flush = now;
		}
		if (srv_db_changed(s->db)) {
			/* an operator command changed the database */
			(void)srv_registry_load(s->reg, s->db);
			(void)srv_cmd_dispatch(s);
			last_retry = now;
		} else if (now - last_retry >= SRV_RETRY_S * 1000) {
			(void)srv_cmd_dispatch(s);	/* after a broker outage */
			last_retry = now;
		}
		if (now - last_stats >= SRV_STATS_S * 1000) {
			srv_stats_save(s);
			last_stats = now;
		}
		pthread_mutex_unlock(&s->lock);
	}
}

static int
srv_lock_dir(const struct srv_conf *c)
{
	char path[SRV_PATH_MAX + 32];
	int fd;

	if (srv_conf_path(c, "server/run.lock", path, sizeof(path)) != 0)
		return -1;
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int
srv_run(const struct srv_conf *c)
{
	char path[SRV_PATH_MAX + 32];
	struct sigaction sa;
	struct srv s;
	int r, lockfd;

	memset(&s, 0, sizeof(s));
	s.conf = *c;
	if ((lockfd = srv_lock_dir(c)) < 0) {
		mm_log(MM_LOG_ERR, "another mamori-server is running on %s", c->dir);
		return MM_ERR_STATE;
	}
	pthread_mutex_init(&s.lock, NULL);
	if ((r = srv_conf_path(c, "mamori.db", path, sizeof(path))) != 0 ||
	    (r = srv_db_open(path, 0, &s.db)) != 0 ||
	    (r = srv_conf_path(c, "ca", path, sizeof(path))) != 0 ||
	    (r = srv_ca_load(path, &s.ca)) != 0 ||
	    (r = srv_keys_load(c, s.cmd_pk, s.cmd_sk)) != 0 ||
	    (r = srv_registry_new(&s.reg)) != 0 ||
	    (r = srv_registry_load(s.reg, s.db)) != 0)
		goto out;
	srv_stats_load(&s);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = srv_on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	mosquitto_lib_init();
	if ((r = srv_connect(&s)) != 0)
		goto out;
	mm_log(MM_LOG_NOTICE, "mamori-server running: fleet %s, %zu devices",
	    c->dir, srv_registry_count(s.reg));
	pthread_mutex_lock(&s.lock);
	(void)srv_cmd_dispatch(&s);
	pthread_mutex_unlock(&s.lock);
	srv_loop(&s);
	mm_log(MM_LOG_NOTICE, "mamori-server stopping");
 out:
	if (s.mq != NULL) {
		srv_io_stop(&s);
		mosquitto_destroy(s.mq);
	}
	if (s.mq_prov != NULL) {
		mosquitto_disconnect(s.mq_prov);
		mosquitto_loop_stop(s.mq_prov, true);
		mosquitto_destroy(s.mq_prov);
	}
	if (s.reg != NULL && s.db != NULL) {
		(void)srv_registry_flush(s.reg, s.db);
		srv_stats_save(&s);
	}
	mosquitto_lib_cleanup();
	srv_registry_free(s.reg);
	srv_ca_free(s.ca);
	srv_db_close(s.db);
	mm_wipe(s.cmd_sk, sizeof(s.cmd_sk));
	pthread_mutex_destroy(&s.lock);
	close(lockfd);
	return r;
}
