/*
 * srv.h - the running fleet server's context, shared by its modules.
 * Everything in it is touched only with lock held: the MQTT client threads
 * and the timer loop all take it.
 */
#ifndef SRV_H
#define SRV_H

#include <pthread.h>
#include <signal.h>
#include <stdint.h>

#include <mosquitto.h>

#include "common/mm_crypto.h"
#include "server/srv_ca.h"
#include "server/srv_conf.h"
#include "server/srv_db.h"
#include "server/srv_registry.h"

/* Counters of what the server did and refused; persisted in server_stats. */
#define SRV_STATS(X) \
	X(messages) X(heartbeats) X(hellos) X(cmd_results) \
	X(enroll_ok) X(enroll_refused) X(csr_ok) X(csr_refused) \
	X(cmd_sent) X(refused_malformed) X(refused_unknown_kind) \
	X(refused_unknown_device) X(refused_revoked) X(refused_topic) \
	X(clone_alerts) \
	X(log_batches) X(log_records) X(log_duplicates) X(log_resends) \
	X(log_gaps) X(log_refused) X(log_acks)

struct srv_stats {
#define SRV_STAT_FIELD(n) uint64_t n;
	SRV_STATS(SRV_STAT_FIELD)
#undef SRV_STAT_FIELD
};

struct srv {
	struct srv_conf conf;
	struct srv_db *db;
	struct srv_ca *ca;
	struct srv_registry *reg;
	uint8_t cmd_pk[MM_SIGN_PK_LEN];
	uint8_t cmd_sk[MM_SIGN_SK_LEN];
	struct mosquitto *mq;		/* device listener, as mamori-server */
	struct mosquitto *mq_prov;	/* provisioning listener */
	pthread_t io_thread;		/* srv_io.c: drives mq */
	volatile int io_stop;
	int io_running;
	int io_started;
	pthread_mutex_t lock;
	struct srv_stats stats;
	int64_t log_window_start;	/* rate limit for refusal log lines */
	unsigned log_window_lines;
};

/* Logs a refusal of peer input, at most a few lines per second. */
void srv_refuse_log(struct srv *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* srv_keys.c: the command-signing key pair in <dir>/server/. */
int srv_keys_create(const struct srv_conf *c);
int srv_keys_load(const struct srv_conf *c, uint8_t pk[MM_SIGN_PK_LEN],
    uint8_t sk[MM_SIGN_SK_LEN]);

#endif
