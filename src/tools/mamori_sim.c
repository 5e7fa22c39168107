/*
 * mamori_sim.c - fleet simulator: many virtual devices in one process, each
 * with its own key pair, certificate and TLS connection, speaking the real
 * protocol.  For load tests, benchmarks and the demo.
 *
 *   mamori-sim enroll --tokens CSV --ca CA --host H --prov-port P --dir D
 *   mamori-sim run --dir D --host H --port P --seconds S --interval-ms M
 *
 * One epoll loop drives every connection.  Each device has its own small
 * TLS context holding its identity; all of them share one certificate
 * store with the trust anchor.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sys/epoll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "common/mm_alloc.h"
#include "common/mm_err.h"
#include "common/mm_file.h"
#include "common/mm_log.h"
#include "common/mm_str.h"
#include "common/mm_time.h"
#include "device/mm_keystore.h"
#include "proto/mm_msg.h"
#include "proto/mm_topic.h"

enum sim_phase { SIM_IDLE, SIM_CONNECTING, SIM_UP, SIM_DONE, SIM_FAILED };

struct sim_dev {
	char id[MM_DEVID_SIZE];
	char serial[65];
	char token[80];
	char provid[MM_PROVID_SIZE];
	char inst[17];
	char dir[600];
	struct mosquitto *mq;
	struct mm_keystore *ks;		/* enrolment only */
	EVP_PKEY *key;			/* run only */
	X509 *cert;
	enum sim_phase phase;
	int64_t next_hb;
	int64_t started;
	uint64_t seq;
	unsigned attempts;
	int fd;				/* registered with epoll, or -1 */
	int out_armed;			/* EPOLLOUT requested */
};

struct sim {
	struct sim_dev *devs;
	size_t n;
	SSL_CTX *ctx;
	int epfd;
	const char *host;
	int port;
	int enrol;
	int interval_ms;
	uint64_t heartbeats;
	uint64_t connect_fail;
	int64_t connect_ms_total;
	size_t up;
};

static struct sim *sim_global;		/* for the libmosquitto callbacks */

static void sim_watch(struct sim *s, struct sim_dev *d);

/* A device's own TLS context: shared trust store, its key and certificate. */
static int
sim_device_ctx(struct sim *s, struct sim_dev *d, SSL_CTX **out)
{
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return MM_ERR_ALLOC;
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    !SSL_CTX_set1_param(ctx, SSL_CTX_get0_param(s->ctx)) ||
	    (SSL_CTX_set1_cert_store(ctx, SSL_CTX_get_cert_store(s->ctx)), 0) ||
	    SSL_CTX_use_certificate(ctx, d->cert) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, d->key) != 1) {
		SSL_CTX_free(ctx);
		return MM_ERR_CRYPTO;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	*out = ctx;
	return MM_OK;
}

static void
sim_on_connect(struct mosquitto *mq, void *arg, int rc)
{
	struct sim_dev *d = arg;
	char topic[MM_TOPIC_MAX], text[512];
	int len;

	if (rc != 0) {
		d->phase = SIM_FAILED;
		sim_global->connect_fail++;
		return;
	}
	if (sim_global->enrol) {
		if (mm_topic_build(topic, sizeof(topic), MM_DIR_PROV_RESP, d->provid,
		    NULL) == 0)
			(void)mosquitto_subscribe(mq, NULL, topic, 1);
		return;
	}
	d->phase = SIM_UP;
	sim_global->up++;
	sim_global->connect_ms_total += mm_now_ms() - d->started;
	len = snprintf(text, sizeof(text), "{\"v\":1,\"type\":\"hello\",\"inst\":"
	    "\"%s\",\"model\":\"sim-1\",\"serial\":\"%s\",\"fw\":\"1.0.0\","
	    "\"boot_id\":\"sim\",\"hb\":%d,\"ctr\":0}", d->inst, d->serial[0] ? d->serial : d->id,
	    sim_global->interval_ms / 1000 > 0 ? sim_global->interval_ms / 1000 : 1);
	if (mm_topic_build(topic, sizeof(topic), MM_DIR_UP, d->id, "hello") == 0)
		(void)mosquitto_publish(mq, NULL, topic, len, text, 1, false);
	/* heartbeats start once the whole fleet is up (see sim_run), so the
	 * measured window holds nothing but steady-state load */
	d->next_hb = INT64_MAX;
}

static void
sim_on_subscribe(struct mosquitto *mq, void *arg, int mid, int n, const int *q)
{
	struct sim_dev *d = arg;
	char topic[MM_TOPIC_MAX], *csr = NULL, *text = NULL;
	size_t csrlen, len;
	json_t *o;

	(void)mid;
	if (n < 1 || q[0] > 2 ||
	    mm_keystore_generate(d->ks, MM_SLOT_CURRENT) != 0 ||
	    mm_keystore_csr(d->ks, MM_SLOT_CURRENT, d->id, &csr, &csrlen) != 0) {
		d->phase = SIM_FAILED;
		return;
	}
	if ((o = mm_msg_new(MM_MSG_ENROLL)) != NULL) {
		json_object_set_new(o, "serial", json_string(d->serial));
		json_object_set_new(o, "token", json_string(d->token));
		json_object_set_new(o, "csr", json_string(csr));
		if (mm_msg_encode(MM_MSG_ENROLL, o, &text, &len) == 0 &&
		    mm_topic_build(topic, sizeof(topic), MM_DIR_PROV_REQ, d->provid,
		    NULL) == 0)
			(void)mosquitto_publish(mq, NULL, topic, (int)len, text, 1, false);
	}
	json_decref(o);
	mm_free(text);
	mm_free(csr);
}

static void
sim_on_message(struct mosquitto *mq, void *arg, const struct mosquitto_message *m)
{
	struct sim_dev *d = arg;
	const char *status, *cert;
	json_t *o = NULL;

	(void)mq;
	if (!sim_global->enrol)
		return;
	if (mm_msg_decode(MM_MSG_ENROLL_RESULT, m->payload, (size_t)m->payloadlen,
	    &o) != 0 || mm_msg_get_str(o, "status", 1, 16, &status) != 0 ||
	    strcmp(status, "ok") != 0 ||
	    mm_msg_get_pem(o, "cert", mm_msg_max(MM_MSG_CERT), &cert) != 0 ||
	    mm_keystore_install_cert(d->ks, MM_SLOT_CURRENT, cert, strlen(cert),
	    d->id) != 0) {
		const char *reason = NULL;
		if (o != NULL)
			(void)mm_msg_get_opt_str(o, "reason", 200, &reason);
		mm_log(MM_LOG_WARN, "enrolment of %s failed: %s", d->serial,
		    reason ? reason : "bad answer");
		d->phase = SIM_FAILED;
	} else
		d->phase = SIM_DONE;
	json_decref(o);
}

static int
sim_start(struct sim *s, struct sim_dev *d)
{
	const char *cid = s->enrol ? d->provid : d->id;

	if (s->enrol)
		mm_provid_new(d->provid);
	SSL_CTX *ctx = s->ctx;
	int r;

	if (!s->enrol && (r = sim_device_ctx(s, d, &ctx)) != 0)
		return r;
	if ((d->mq = mosquitto_new(cid, true, d)) == NULL) {
		if (ctx != s->ctx)
			SSL_CTX_free(ctx);
		return MM_ERR_ALLOC;
	}
	mosquitto_int_option(d->mq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
	/* libmosquitto holds its own reference to the context */
	mosquitto_void_option(d->mq, MOSQ_OPT_SSL_CTX, ctx);
	if (ctx != s->ctx)
		SSL_CTX_free(ctx);
	mosquitto_int_option(d->mq, MOSQ_OPT_SSL_CTX_WITH_DEFAULTS, 0);
	mosquitto_connect_callback_set(d->mq, sim_on_connect);
	mosquitto_subscribe_callback_set(d->mq, sim_on_subscribe);
	mosquitto_message_callback_set(d->mq, sim_on_message);
	d->started = mm_now_ms();
	d->phase = SIM_CONNECTING;
	d->attempts++;
	d->fd = -1;
	d->out_armed = 0;
	if (mosquitto_connect_async(d->mq, s->host, s->port, 120) != MOSQ_ERR_SUCCESS) {
		s->connect_fail++;
		d->phase = SIM_FAILED;
		return MM_ERR_NET;
	}
	sim_watch(s, d);
	return MM_OK;
}

static void
sim_stop(struct sim *s, struct sim_dev *d)
{
	if (d->mq == NULL)
		return;
	if (d->fd >= 0)
		(void)epoll_ctl(s->epfd, EPOLL_CTL_DEL, d->fd, NULL);
	d->fd = -1;
	(void)mosquitto_disconnect(d->mq);
	mosquitto_destroy(d->mq);
	d->mq = NULL;
}

static void
sim_heartbeat(struct sim *s, struct sim_dev *d, int64_t now)
{
	char topic[MM_TOPIC_MAX], text[160];
	int len;

	len = snprintf(text, sizeof(text), "{\"v\":1,\"type\":\"heartbeat\","
	    "\"seq\":%llu,\"inst\":\"%s\",\"up\":%lld}",
	    (unsigned long long)++d->seq, d->inst, (long long)(now - d->started) / 1000);
	if (mm_topic_build(topic, sizeof(topic), MM_DIR_UP, d->id, "heartbeat") == 0 &&
	    mosquitto_publish(d->mq, NULL, topic, len, text, 0, false) ==
	    MOSQ_ERR_SUCCESS)
		s->heartbeats++;
	d->next_hb += s->interval_ms;
	if (d->next_hb < now - s->interval_ms)
		d->next_hb = now;	/* far behind: do not burst */
	sim_watch(s, d);
}

/* Keeps the device's socket registered with epoll, asking for
 * writability only while libmosquitto has bytes waiting to go out. */
static void
sim_watch(struct sim *s, struct sim_dev *d)
{
	struct epoll_event ev;
	int fd, want;

	if (d->mq == NULL || (fd = mosquitto_socket(d->mq)) < 0) {
		d->fd = -1;
		return;
	}
	want = mosquitto_want_write(d->mq) ? 1 : 0;
	if (fd == d->fd && want == d->out_armed)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | (want ? EPOLLOUT : 0);
	ev.data.ptr = d;
	if (fd != d->fd) {
		/* a new socket (libmosquitto closed the old one, which removed
		 * it from the epoll set) */
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) != 0 && errno == EEXIST)
			(void)epoll_ctl(s->epfd, EPOLL_CTL_MOD, fd, &ev);
	} else
		(void)epoll_ctl(s->epfd, EPOLL_CTL_MOD, fd, &ev);
	d->fd = fd;
	d->out_armed = want;
}

static void
sim_fail(struct sim *s, struct sim_dev *d)
{
	if (d->phase == SIM_DONE)
		return;
	if (d->phase == SIM_UP)
		s->up--;
	else
		s->connect_fail++;
	d->phase = SIM_FAILED;
	sim_stop(s, d);
}

/* Services the connections that are ready; waits at most wait_ms. */
static void
sim_poll(struct sim *s, int wait_ms)
{
	struct epoll_event ev[512];
	int i, n;

	n = epoll_wait(s->epfd, ev, (int)(sizeof(ev) / sizeof(ev[0])), wait_ms);
	for (i = 0; i < n; i++) {
		struct sim_dev *d = ev[i].data.ptr;
		int rc = MOSQ_ERR_SUCCESS;
		SSL *ssl;

		if (d->mq == NULL)
			continue;
		if (ev[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP))
			rc = mosquitto_loop_read(d->mq, 1);
		if (rc == MOSQ_ERR_SUCCESS && (ev[i].events & EPOLLOUT))
			rc = mosquitto_loop_write(d->mq, 1);
		/* TLS may hold whole records already decrypted, which epoll
		 * cannot see: drain them */
		while (rc == MOSQ_ERR_SUCCESS && d->mq != NULL &&
		    (ssl = mosquitto_ssl_get(d->mq)) != NULL && SSL_pending(ssl) > 0)
			rc = mosquitto_loop_read(d->mq, 1);
		if (rc != MOSQ_ERR_SUCCESS)
			sim_fail(s, d);
		else
			sim_watch(s, d);
	}
}

/* Every device costs three descriptors: its socket and the socket pair
 * libmosquitto keeps per client.  Raise the limits (root may raise the
 * hard one too). */
static int
sim_raise_nofile(size_t clients)
{
	rlim_t want = (rlim_t)clients * 3 + 256;
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return MM_ERR_IO;
	if (rl.rlim_max < want)
		rl.rlim_max = want;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0 && getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < want) {
		mm_log(MM_LOG_ERR, "%zu connections need %llu descriptors; the limit is "
		    "%llu", clients, (unsigned long long)want,
		    (unsigned long long)rl.rlim_cur);
		return MM_ERR_RANGE;
	}
	return MM_OK;
}

static int
sim_read_tokens(struct sim *s, const char *path)
{
	char line[512], f[3][100];
	size_t cap = 0;
	FILE *in;
	int r = MM_OK, lineno = 0;

	if ((in = fopen(path, "re")) == NULL)
		return MM_ERR_IO;
	while (fgets(line, sizeof(line), in) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (++lineno == 1 || line[0] == '\0')
			continue;	/* header */
		if (sscanf(line, "%99[^,],%99[^,],%99s", f[0], f[1], f[2]) != 3 ||
		    !mm_devid_valid(f[1])) {
			mm_log(MM_LOG_ERR, "%s:%d: expected serial,device_id,token", path,
			    lineno);
			r = MM_ERR_FORMAT;
			break;
		}
		if (s->n == cap) {
			struct sim_dev *nd;
			cap = cap ? cap * 2 : 64;
			if ((nd = mm_reallocarray(s->devs, cap, sizeof(*nd))) == NULL) {
				r = MM_ERR_ALLOC;
				break;
			}
			s->devs = nd;
		}
		memset(&s->devs[s->n], 0, sizeof(s->devs[0]));
		if (mm_strlcpy(s->devs[s->n].serial, f[0], sizeof(s->devs[0].serial)) != 0 ||
		    mm_strlcpy(s->devs[s->n].id, f[1], sizeof(s->devs[0].id)) != 0 ||
		    mm_strlcpy(s->devs[s->n].token, f[2], sizeof(s->devs[0].token)) != 0) {
			r = MM_ERR_FORMAT;
			break;
		}
		s->n++;
	}
	fclose(in);
	return r;
}

static int
sim_shared_ctx(struct sim *s, const char *dir)
{
	struct mm_keystore *ks;
	int r;

	if ((r = mm_keystore_open(dir, &ks)) != 0)
		return r;
	r = mm_keystore_tls_ctx(ks, s->host, 0, &s->ctx);
	mm_keystore_free(ks);
	return r;
}

/* Drives connections until every device is done or failed (or timeout). */
static void
sim_drive(struct sim *s, size_t parallel, int64_t deadline_ms)
{
	size_t next = 0, active = 0, i;

	while (mm_now_ms() < deadline_ms) {
		while (active < parallel && next < s->n) {
			if (sim_start(s, &s->devs[next++]) == 0)
				active++;
		}
		sim_poll(s, 50);
		for (i = 0, active = 0; i < s->n; i++) {
			struct sim_dev *d = &s->devs[i];
			if (d->mq != NULL && (d->phase == SIM_DONE || d->phase == SIM_FAILED))
				sim_stop(s, d);
			if (d->mq != NULL)
				active++;
		}
		if (active == 0 && next == s->n)
			break;
	}
}

static int
sim_enrol(struct sim *s, const char *dir, const char *ca_path, size_t parallel)
{
	char path[700], *ca = NULL, *list = NULL;
	struct mm_keystore *root = NULL;
	size_t calen, i, ok = 0, off = 0;
	int64_t t0 = mm_now_ms();
	FILE *out;
	int r;

	if ((r = mm_file_mkdir(dir, 0700)) != 0 ||
	    (r = mm_file_read(ca_path, 65536, &ca, &calen)) != 0 ||
	    (r = mm_keystore_open(dir, &root)) != 0 ||
	    (r = mm_keystore_set_ca(root, ca, calen)) != 0 ||
	    (r = sim_shared_ctx(s, dir)) != 0)
		goto out;
	for (i = 0; i < s->n; i++) {
		struct sim_dev *d = &s->devs[i];
		if ((r = mm_path_join(d->dir, sizeof(d->dir), dir, d->id)) != 0 ||
		    (r = mm_file_mkdir(d->dir, 0700)) != 0 ||
		    (r = mm_keystore_open(d->dir, &d->ks)) != 0 ||
		    (r = mm_keystore_set_ca(d->ks, ca, calen)) != 0)
			goto out;
	}
	sim_drive(s, parallel, mm_now_ms() + 60000 + (int64_t)s->n * 50);
	if ((r = mm_path_join(path, sizeof(path), dir, "devices.txt")) != 0 ||
	    (out = open_memstream(&list, &off)) == NULL) {
		r = r ? r : MM_ERR_ALLOC;
		goto out;
	}
	for (i = 0; i < s->n; i++) {
		if (s->devs[i].phase != SIM_DONE)
			continue;
		fprintf(out, "%s %s\n", s->devs[i].id, s->devs[i].serial);
		ok++;
	}
	fclose(out);
	r = mm_file_write_atomic(path, list, off, 0644);
	printf("SIM enrolled=%zu failed=%zu seconds=%.2f\n", ok, s->n - ok,
	    (double)(mm_now_ms() - t0) / 1000.0);
	if (r == 0 && ok != s->n)
		r = MM_ERR_DENIED;
 out:
	for (i = 0; i < s->n; i++)
		mm_keystore_free(s->devs[i].ks);
	mm_keystore_free(root);
	free(list);
	mm_free(ca);
	return r;
}

static int
sim_load_identity(struct sim_dev *d)
{
	char path[700];
	FILE *f;

	if (mm_path_join(path, sizeof(path), d->dir, "device.key") != 0 ||
	    (f = fopen(path, "re")) == NULL)
		return MM_ERR_NOT_FOUND;
	d->key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (mm_path_join(path, sizeof(path), d->dir, "device.crt") != 0 ||
	    (f = fopen(path, "re")) == NULL)
		return MM_ERR_NOT_FOUND;
	d->cert = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	return d->key != NULL && d->cert != NULL ? MM_OK : MM_ERR_FORMAT;
}

static int
sim_read_devices(struct sim *s, const char *dir, size_t skip, size_t limit)
{
	char path[700], id[40], serial[70];
	FILE *in;
	int r = MM_OK;

	if ((r = mm_path_join(path, sizeof(path), dir, "devices.txt")) != 0 ||
	    (in = fopen(path, "re")) == NULL)
		return MM_ERR_NOT_FOUND;
	if ((s->devs = mm_calloc(limit, sizeof(*s->devs))) == NULL) {
		fclose(in);
		return MM_ERR_ALLOC;
	}
	while (s->n < limit && fscanf(in, "%39s %69s", id, serial) == 2) {
		struct sim_dev *d = &s->devs[s->n];
		uint8_t inst[8];

		if (skip > 0) {
			skip--;
			continue;
		}		if (!mm_devid_valid(id) || mm_strlcpy(d->id, id, sizeof(d->id)) != 0 ||
		    mm_strlcpy(d->serial, serial, sizeof(d->serial)) != 0 ||
		    mm_path_join(d->dir, sizeof(d->dir), dir, id) != 0 ||
		    (r = sim_load_identity(d)) != 0) {
			r = r ? r : MM_ERR_FORMAT;
			break;
		}
		mm_random(inst, sizeof(inst));
		mm_hex_encode(d->inst, inst, sizeof(inst));
		s->n++;
	}
	fclose(in);
	return r;
}

/* Starts connections up to `parallel` in flight, retries failed ones a few
 * times and times out stalled handshakes.  Returns how many are connecting. */
static size_t
sim_connect_step(struct sim *s, size_t *next, size_t parallel, int64_t now)
{
	size_t i, connecting = 0;

	for (i = 0; i < *next; i++) {
		struct sim_dev *d = &s->devs[i];
		if (d->phase == SIM_CONNECTING && now - d->started > 15000)
			sim_fail(s, d);		/* handshake or CONNACK stalled */
		if (d->phase == SIM_FAILED && d->attempts < 3 && connecting < parallel) {
			sim_stop(s, d);
			(void)sim_start(s, d);
		}
		connecting += d->phase == SIM_CONNECTING;
	}
	while (connecting < parallel && *next < s->n) {
		(void)sim_start(s, &s->devs[(*next)++]);
		connecting++;
	}
	return connecting;
}

/* Sends every heartbeat that is due.  Devices beat in a fixed round-robin
 * order spread evenly over the interval, so this touches only due ones. */
static void
sim_beat(struct sim *s, size_t *cursor, int64_t now)
{
	size_t k;

	for (k = 0; k < s->n; k++) {
		struct sim_dev *d = &s->devs[*cursor];
		if (d->next_hb > now)
			break;
		if (d->phase == SIM_UP)
			sim_heartbeat(s, d, now);
		else
			d->next_hb += s->interval_ms;
		*cursor = (*cursor + 1) % s->n;
	}
}

/*
 * Connects devices [skip, skip+limit) of dir and, once all are up (and not
 * before hold_ms after start, so several simulator processes can start
 * their load together), sends heartbeats for `seconds`.
 */
static int
sim_run(struct sim *s, const char *dir, size_t skip, size_t limit, int seconds,
    size_t parallel, int64_t hold_ms)
{
	int64_t t0, t_up = 0, t_conn = 0, t_end, now, last_misc = 0;
	size_t next = 0, cursor = 0, i;
	uint64_t hb0 = 0;
	int r;

	if ((r = sim_read_devices(s, dir, skip, limit)) != 0 ||
	    (r = sim_raise_nofile(s->n)) != 0 || (r = sim_shared_ctx(s, dir)) != 0)
		return r;
	t0 = mm_now_ms();
	t_end = t0 + (int64_t)seconds * 1000 + 120000 + hold_ms;	/* connect budget */
	while ((now = mm_now_ms()) < t_end) {
		if (t_up == 0 && sim_connect_step(s, &next, parallel, now) == 0 &&
		    next == s->n && t_conn == 0)
			t_conn = now;		/* connect phase over (before any hold) */
		if (t_up == 0 && t_conn != 0 && now >= t0 + hold_ms) {
			t_up = now;		/* everyone is up or gave up */
			hb0 = s->heartbeats;
			t_end = now + (int64_t)seconds * 1000;
			for (i = 0; i < s->n; i++)	/* spread the beats evenly */
				s->devs[i].next_hb = now +
				    (int64_t)(i * (size_t)s->interval_ms / s->n);
		}
		sim_poll(s, t_up == 0 ? 5 : 1);
		now = mm_now_ms();
		if (t_up != 0)
			sim_beat(s, &cursor, now);
		if (now - last_misc >= 1000) {	/* keepalive pings */
			for (i = 0; i < s->n; i++)
				if (s->devs[i].mq != NULL)
					(void)mosquitto_loop_misc(s->devs[i].mq);
			last_misc = now;
		}
	}
	if (t_up == 0)
		t_up = now;
	if (t_conn == 0)
		t_conn = now;
	printf("SIM devices=%zu connected=%zu failed=%llu connect_s=%.2f "
	    "connect_per_s=%.0f heartbeats=%llu hb_per_s=%.0f\n",
	    s->n, s->up, (unsigned long long)s->connect_fail,
	    (double)(t_conn - t0) / 1000.0,
	    t_conn > t0 ? (double)s->up * 1000.0 / (double)(t_conn - t0) : 0.0,
	    (unsigned long long)(s->heartbeats - hb0),
	    now > t_up ? (double)(s->heartbeats - hb0) * 1000.0 / (double)(now - t_up) : 0.0);
	fflush(stdout);
	r = s->up == s->n ? MM_OK : MM_ERR_NET;
	for (i = 0; i < s->n; i++) {
		sim_stop(s, &s->devs[i]);
		EVP_PKEY_free(s->devs[i].key);
		X509_free(s->devs[i].cert);
	}
	return r;
}

static _Noreturn void
usage(void)
{
	fprintf(stderr,
	    "usage: mamori-sim enroll --tokens CSV --ca CA --dir D [--host H]\n"
	    "                         [--prov-port P] [--parallel N]\n"
	    "       mamori-sim run --dir D [--host H] [--port P] [--seconds S]\n"
	    "                      [--interval-ms M] [--count N] [--skip K]\n"
	    "                      [--parallel N] [--hold-ms M]\n");
	exit(2);
}

static long
sim_num(const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || v < min || v > max)
		usage();
	return v;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "tokens", required_argument, NULL, 't' },
		{ "ca", required_argument, NULL, 'c' },
		{ "dir", required_argument, NULL, 'd' },
		{ "host", required_argument, NULL, 'h' },
		{ "port", required_argument, NULL, 'p' },
		{ "prov-port", required_argument, NULL, 'P' },
		{ "seconds", required_argument, NULL, 's' },
		{ "interval-ms", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'n' },
		{ "parallel", required_argument, NULL, 'j' },
		{ "skip", required_argument, NULL, 'k' },
		{ "hold-ms", required_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	const char *tokens = NULL, *ca = NULL, *dir = NULL;
	struct sim s;
	long seconds = 10, count = 1000000, parallel = 64, skip = 0, hold = 0;
	int ch, r, port = 8883, prov_port = 8884;

	if (argc < 2)
		usage();
	memset(&s, 0, sizeof(s));
	s.host = "localhost";
	s.interval_ms = 1000;
	optind = 2;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 't': tokens = optarg; break;
		case 'c': ca = optarg; break;
		case 'd': dir = optarg; break;
		case 'h': s.host = optarg; break;
		case 'p': port = (int)sim_num(optarg, 1, 65535); break;
		case 'P': prov_port = (int)sim_num(optarg, 1, 65535); break;
		case 's': seconds = sim_num(optarg, 1, 86400); break;
		case 'i': s.interval_ms = (int)sim_num(optarg, 1, 3600000); break;
		case 'n': count = sim_num(optarg, 1, 1000000); break;
		case 'j': parallel = sim_num(optarg, 1, 100000); break;
		case 'k': skip = sim_num(optarg, 0, 1000000); break;
		case 'H': hold = sim_num(optarg, 0, 3600000); break;
		default: usage();
		}
	}
	mm_log_init("mamori-sim", MM_LOG_NOTICE, 0);
	if (dir == NULL || mm_crypto_init() != 0)
		usage();
	mosquitto_lib_init();
	sim_global = &s;
	if ((s.epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return 1;
	if (strcmp(argv[1], "enroll") == 0 && tokens != NULL && ca != NULL) {
		s.enrol = 1;
		s.port = prov_port;
		if ((r = sim_read_tokens(&s, tokens)) == 0 &&
		    (r = sim_raise_nofile((size_t)parallel)) == 0)
			r = sim_enrol(&s, dir, ca, (size_t)parallel);
	} else if (strcmp(argv[1], "run") == 0) {
		s.port = port;
		r = sim_run(&s, dir, (size_t)skip, (size_t)count, (int)seconds,
		    (size_t)parallel, hold);
	} else
		usage();
	SSL_CTX_free(s.ctx);
	mm_free(s.devs);
	mosquitto_lib_cleanup();
	if (r != 0) {
		mm_log(MM_LOG_ERR, "%s", mm_strerror(r));
		return 1;
	}
	return 0;
}
