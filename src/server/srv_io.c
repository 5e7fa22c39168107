/* srv_io.c - the device-listener connection's I/O thread. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <time.h>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "common/mm_log.h"
#include "common/mm_time.h"
#include "server/srv_io.h"

#define SRV_IO_POLL_MS 10	/* also the latency of a publish from the timer */
#define SRV_IO_BURST 4096	/* packets handled before looking up again */
#define SRV_IO_KEEPALIVE 30

static SSL_CTX *
srv_io_ctx(const char *host, const char *ca, const char *crt, const char *key)
{
	unsigned char ip[16];
	X509_VERIFY_PARAM *param;
	SSL_CTX *ctx;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return NULL;
	param = SSL_CTX_get0_param(ctx);
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_load_verify_file(ctx, ca) != 1 ||
	    SSL_CTX_use_certificate_chain_file(ctx, crt) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1 ||
	    ((inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1) ?
	    X509_VERIFY_PARAM_set1_ip_asc(param, host) :
	    X509_VERIFY_PARAM_set1_host(param, host, 0)) != 1) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	/* fill the buffer with every record that has arrived, in one read */
	SSL_CTX_set_read_ahead(ctx, 1);
	return ctx;
}

/* 1 if OpenSSL holds bytes of ours that poll() cannot see. */
static int
srv_io_buffered(struct srv *s)
{
	SSL *ssl = mosquitto_ssl_get(s->mq);

	return ssl != NULL && (SSL_pending(ssl) > 0 || SSL_has_pending(ssl));
}

/* Handles every packet that can be had without waiting. */
static int
srv_io_drain(struct srv *s)
{
	unsigned k;
	int rc;

	for (k = 0; k < SRV_IO_BURST; k++) {
		errno = 0;
		if ((rc = mosquitto_loop_read(s->mq, 1)) != MOSQ_ERR_SUCCESS)
			return rc;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;		/* waiting for bytes (the caller looks again) */
		if (!srv_io_buffered(s))
			break;
	}
	return MOSQ_ERR_SUCCESS;
}

static void *
srv_io_main(void *arg)
{
	struct srv *s = arg;
	unsigned failures = 0;
	struct pollfd p;
	int rc, fd, down = 1, buffered;

	while (!s->io_stop) {
		if (down) {
			if (failures > 0)
				mm_sleep_ms(mm_backoff_ms(failures, 200, 250, 8000));
			if (s->io_stop)
				break;
			rc = failures++ == 0 && !s->io_started ?
			    mosquitto_connect(s->mq, s->conf.host, s->conf.port,
			    SRV_IO_KEEPALIVE) : mosquitto_reconnect(s->mq);
			if (rc != MOSQ_ERR_SUCCESS)
				continue;
			s->io_started = 1;
			down = 0;
		}
		if ((fd = mosquitto_socket(s->mq)) < 0) {
			down = 1;
			continue;
		}
		p.fd = fd;
		p.events = POLLIN | (mosquitto_want_write(s->mq) ? POLLOUT : 0);
		p.revents = 0;
		rc = MOSQ_ERR_SUCCESS;
		/* records OpenSSL already holds do not wake poll(): look at them
		 * every millisecond until they are handled (a partial record
		 * waits for the rest of its bytes) */
		buffered = srv_io_buffered(s);
		if ((poll(&p, 1, buffered ? 1 : SRV_IO_POLL_MS) > 0 &&
		    (p.revents & (POLLIN | POLLERR | POLLHUP))) || buffered)
			rc = srv_io_drain(s);
		if (rc == MOSQ_ERR_SUCCESS && mosquitto_want_write(s->mq))
			rc = mosquitto_loop_write(s->mq, 1);
		if (rc == MOSQ_ERR_SUCCESS)
			rc = mosquitto_loop_misc(s->mq);
		if (rc != MOSQ_ERR_SUCCESS) {
			mm_log(MM_LOG_WARN, "lost broker connection (devices): %s; "
			    "reconnecting", mosquitto_strerror(rc));
			down = 1;
		} else
			failures = 0;
	}
	return NULL;
}

int
srv_io_start(struct srv *s, const char *ca, const char *crt, const char *key)
{
	SSL_CTX *ctx;

	if ((ctx = srv_io_ctx(s->conf.host, ca, crt, key)) == NULL) {
		mm_log(MM_LOG_ERR, "cannot set up TLS for the broker connection");
		return MM_ERR_CRYPTO;
	}
	/* libmosquitto keeps its own reference to the context */
	mosquitto_void_option(s->mq, MOSQ_OPT_SSL_CTX, ctx);
	mosquitto_int_option(s->mq, MOSQ_OPT_SSL_CTX_WITH_DEFAULTS, 0);
	SSL_CTX_free(ctx);
	/* other threads' publishes are queued; this loop writes them */
	mosquitto_threaded_set(s->mq, true);
	s->io_stop = 0;
	if (pthread_create(&s->io_thread, NULL, srv_io_main, s) != 0)
		return MM_ERR_INTERNAL;
	s->io_running = 1;
	return MM_OK;
}

void
srv_io_stop(struct srv *s)
{
	if (!s->io_running)
		return;
	s->io_stop = 1;
	pthread_join(s->io_thread, NULL);
	s->io_running = 0;
	(void)mosquitto_disconnect(s->mq);
}
