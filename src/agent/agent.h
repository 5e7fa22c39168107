/*
 * agent.h - mamori-agent's configuration and persistent state, shared by
 * the privileged monitor (agent_priv.c) and the unprivileged network worker
 * (agent_net.c).  See docs/privsep.md.
 */
#ifndef AGENT_H
#define AGENT_H

#include <stdint.h>
#include <time.h>

#include "common/mm_crypto.h"
#include "device/mm_auth.h"
#include "proto/mm_topic.h"

#define AGENT_PATH_MAX 512
#define AGENT_TOKEN_MAX 64
#define AGENT_HB_MIN 1
#define AGENT_HB_MAX 86400

struct agent_conf {
	char state_dir[AGENT_PATH_MAX];
	char server_host[128];
	int port;
	int prov_port;
	char model[65];
	char serial[65];
	char fw_version[65];
	int heartbeat_interval;
	char user[33];			/* worker's user when started as root */
	/* local administration (decision 0007) */
	char web_addr[64];		/* IP literal of the HTTPS admin page */
	int web_port;			/* 0: no admin page */
	char ctl_socket[AGENT_PATH_MAX];	/* mamorictl socket; "" = none */
	char ctl_group[33];		/* group (besides root) allowed on it */
	struct mm_auth_conf auth;	/* policy, throttle, sessions */
	/* sealed log (decisions 0008, 0009) */
	unsigned seclog_max_kib;	/* retention bound on log/ */
	unsigned seclog_segment_kib;	/* segment size */
	unsigned seclog_epoch_s;	/* an epoch ends (and is sealed) after */
};

/* Persistent state, written only by the monitor (agent.state). */
struct agent_state {
	uint64_t cmd_counter;		/* last accepted command counter */
	int heartbeat_interval;		/* 0: use the configured one */
};

/* What the worker gets from the monitor at fork: no secrets but the
 * TLS context's key and the one-time enrolment token. */
struct agent_boot {
	char device_id[MM_DEVID_SIZE];	/* "" until enrolled */
	char token[AGENT_TOKEN_MAX + 1];	/* set only when enrolling */
	char boot_id[40];
	char instance[17];
	uint8_t cmd_pk[MM_SIGN_PK_LEN];
	time_t cert_not_before;
	time_t cert_not_after;
	struct agent_state state;
};

int agent_conf_load(struct agent_conf *c, const char *state_dir);
/* 1 once two thirds of the certificate's lifetime have passed
 * (docs/decisions/0001): time enough to re-key before it expires. */
int agent_renew_due(time_t not_before, time_t not_after, time_t now);
int agent_state_load(const struct agent_conf *c, struct agent_state *st);
int agent_state_save(const struct agent_conf *c, const struct agent_state *st);
/* Effective heartbeat interval. */
int agent_heartbeat(const struct agent_conf *c, const struct agent_state *st);

#endif
