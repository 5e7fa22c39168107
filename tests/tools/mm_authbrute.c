/*
 * mm_authbrute - a bounded password-guessing client against a device's
 * HTTPS admin page, for the attack tests and bench/auth.  Loopback only:
 * it refuses any address outside 127.0.0.0/8 and ::1.
 *
 *   mm_authbrute --port P [--bind 127.0.0.2] [--count N] [--seconds S]
 *                [--user U] [--password PW]
 *
 * Sends up to N login attempts (POST /login over keep-alive TLS, reconnecting
 * when the server closes), stops after S seconds at the latest, and prints
 *   attempts=.. wrong=.. refused=.. locked=.. ok=.. first_locked=..
 *   first_locked_ms=.. elapsed_ms=.. per_s=..
 * wrong = 401 (the password was checked), refused = 429 (the throttle
 * answered without checking), locked = those 429s that name the lockout,
 * ok = a 303 that set a session cookie.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

struct brute {
	const char *bind_addr;
	int port;
	SSL_CTX *ctx;
	SSL *ssl;
	int fd;
};

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
disconnect(struct brute *b)
{
	if (b->ssl != NULL) {
		SSL_free(b->ssl);
		b->ssl = NULL;
	}
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
}

static int
reconnect(struct brute *b)
{
	struct sockaddr_in to, from;
	struct timeval tv = { 10, 0 };

	disconnect(b);
	memset(&to, 0, sizeof(to));
	to.sin_family = AF_INET;
	to.sin_port = htons((uint16_t)b->port);
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	memset(&from, 0, sizeof(from));
	from.sin_family = AF_INET;
	if (inet_pton(AF_INET, b->bind_addr, &from.sin_addr) != 1 ||
	    (ntohl(from.sin_addr.s_addr) >> 24) != 127) {
		fprintf(stderr, "mm_authbrute: --bind must be a 127.x.y.z address\n");
		exit(2);
	}
	if ((b->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(b->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    bind(b->fd, (struct sockaddr *)&from, sizeof(from)) != 0 ||
	    connect(b->fd, (struct sockaddr *)&to, sizeof(to)) != 0)
		return -1;
	if ((b->ssl = SSL_new(b->ctx)) == NULL || SSL_set_fd(b->ssl, b->fd) != 1 ||
	    SSL_connect(b->ssl) != 1) {
		ERR_clear_error();
		return -1;
	}
	return 0;
}

/* One attempt; returns the HTTP status (0: connection trouble) and sets
 * *locked when the answer names the lockout, *cookie when it set one. */
static int
attempt(struct brute *b, const char *user, const char *pw, int *locked,
    int *cookie)
{
	char body[512], req[1024], resp[16384];
	int n, blen, status = 0, got = 0, r;
	char *hdr_end, *cl;
	long clen = -1;

	*locked = *cookie = 0;
	if (b->ssl == NULL && reconnect(b) != 0)
		return 0;
	blen = snprintf(body, sizeof(body), "user=%s&password=%s", user, pw);
	n = snprintf(req, sizeof(req), "POST /login HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
	    "Content-Type: application/x-www-form-urlencoded\r\n"
	    "Content-Length: %d\r\n\r\n%s", b->port, blen, body);
	if (SSL_write(b->ssl, req, n) != n) {
		disconnect(b);
		return 0;
	}
	/* read the head, then the body by Content-Length */
	for (;;) {
		if ((size_t)got >= sizeof(resp) - 1)
			break;
		r = SSL_read(b->ssl, resp + got, (int)(sizeof(resp) - 1 - (size_t)got));
		if (r <= 0) {
			disconnect(b);
			break;
		}
		got += r;
		resp[got] = '\0';
		if ((hdr_end = strstr(resp, "\r\n\r\n")) == NULL)
			continue;
		if (clen < 0) {
			cl = strcasestr(resp, "\r\nContent-Length:");
			clen = cl != NULL && cl < hdr_end ? strtol(cl + 17, NULL, 10) : 0;
		}
		if (got >= (hdr_end + 4 - resp) + clen)
			break;
	}
	resp[got] = '\0';
	if (sscanf(resp, "HTTP/1.%*d %d", &status) != 1)
		status = 0;
	*locked = strstr(resp, "Too many failed attempts from your address") != NULL;
	*cookie = strcasestr(resp, "\r\nSet-Cookie: __Host-mamori=") != NULL;
	if (strcasestr(resp, "\r\nConnection: close") != NULL)
		disconnect(b);
	return status;
}

int
main(int argc, char **argv)
{
	struct brute b = { "127.0.0.1", 0, NULL, NULL, -1 };
	const char *user = "admin", *pw = "Wrong-Guess-123";
	long count = 10000, seconds = 60, i;
	long wrong = 0, refused = 0, locked = 0, ok = 0, other = 0, first_locked = 0;
	uint64_t t0, first_locked_ms = 0, el;
	int a, status, lk, ck;

	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--port") == 0 && a + 1 < argc)
			b.port = (int)strtol(argv[++a], NULL, 10);
		else if (strcmp(argv[a], "--bind") == 0 && a + 1 < argc)
			b.bind_addr = argv[++a];
		else if (strcmp(argv[a], "--count") == 0 && a + 1 < argc)
			count = strtol(argv[++a], NULL, 10);
		else if (strcmp(argv[a], "--seconds") == 0 && a + 1 < argc)
			seconds = strtol(argv[++a], NULL, 10);
		else if (strcmp(argv[a], "--user") == 0 && a + 1 < argc)
			user = argv[++a];
		else if (strcmp(argv[a], "--password") == 0 && a + 1 < argc)
			pw = argv[++a];
		else {
			fprintf(stderr, "usage: mm_authbrute --port P [--bind A] "
			    "[--count N] [--seconds S] [--user U] [--password PW]\n");
			return 2;
		}
	}
	if (b.port <= 0 || b.port > 65535 || count <= 0 || count > 1000000 ||
	    seconds <= 0 || seconds > 3600)
		return 2;
	if ((b.ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		return 1;
	/* the device's own self-signed certificate: a guesser does not care */
	SSL_CTX_set_verify(b.ctx, SSL_VERIFY_NONE, NULL);
	t0 = now_ms();
	for (i = 0; i < count && now_ms() - t0 < (uint64_t)seconds * 1000; i++) {
		status = attempt(&b, user, pw, &lk, &ck);
		if (status == 401)
			wrong++;
		else if (status == 429) {
			refused++;
			if (lk) {
				locked++;
				if (first_locked == 0) {
					first_locked = i + 1;
					first_locked_ms = now_ms() - t0;
				}
			}
		} else if (status == 303 && ck)
			ok++;
		else
			other++;
	}
	el = now_ms() - t0;
	printf("attempts=%ld wrong=%ld refused=%ld locked=%ld ok=%ld other=%ld "
	    "first_locked=%ld first_locked_ms=%llu elapsed_ms=%llu per_s=%.0f\n",
	    i, wrong, refused, locked, ok, other, first_locked,
	    (unsigned long long)first_locked_ms, (unsigned long long)el,
	    el > 0 ? (double)i * 1000.0 / (double)el : 0.0);
	disconnect(&b);
	SSL_CTX_free(b.ctx);
	return 0;
}
