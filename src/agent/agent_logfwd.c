/*
 * agent_logfwd.c - forwarding the sealed log, the monitor's part
 * (decision 0009).  The network worker cannot read the log; it asks for
 * batches here and reports the fleet's acknowledgements here.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "agent/agent_logfwd.h"
#include "common/mm_alloc.h"
#include "common/mm_err.h"
#include "common/mm_file.h"
#include "common/mm_log.h"
#include "common/mm_str.h"
#include "common/mm_time.h"
#include "proto/mm_logmsg.h"

#define LF_ACKED_FILE "seclog.acked"
#define LF_ACKED_MAX 64
#define LF_RETAIN_MS 10000
#define LF_SAVE_MS 5000
/* a clock offset is recorded when it moves by more than this */
#define LF_TIME_STEP_MS 1000

struct agent_logfwd {
	struct mm_seclog *log;
	char path[AGENT_PATH_MAX + 32];		/* seclog.acked */
	uint8_t log_id[MM_SECLOG_ID_LEN];
	struct mm_seclog_reader *rd;
	uint64_t max_bytes;
	uint64_t acked, saved;
	uint64_t handed;		/* highest seq given to the worker */
	int64_t next_retain_ms, next_save_ms;
	int have_offset;
	int64_t offset_ms;		/* last recorded: fleet minus ours */
	uint8_t buf[MM_LOGMSG_RAW_MAX];
};

static int
lf_read_acked(struct agent_logfwd *f)
{
	char *text = NULL;
	uint64_t v;
	size_t len;
	int r;

	if ((r = mm_file_read(f->path, LF_ACKED_MAX, &text, &len)) != 0)
		return r == MM_ERR_NOT_FOUND ? MM_OK : r;
	/* one decimal number and a newline */
	r = MM_ERR_CORRUPT;
	if (len > 1 && text[len - 1] == '\n') {
		text[len - 1] = '\0';
		if (mm_str_to_u64(text, MM_LOGMSG_SEQ_MAX, &v) == MM_OK) {
			f->acked = f->saved = v;
			r = MM_OK;
		}
	}
	mm_freezero(text, len + 1);
	return r;
}

static void
lf_save(struct agent_logfwd *f)
{
	char text[32];
	int n, r;

	if (f->acked == f->saved)
		return;
	n = snprintf(text, sizeof(text), "%" PRIu64 "\n", f->acked);
	if (n < 0 || (size_t)n >= sizeof(text))
		return;
	if ((r = mm_file_write_atomic(f->path, text, (size_t)n, 0600)) != 0) {
		mm_log(MM_LOG_ERR, "%s: %s", f->path, mm_strerror(r));
		return;
	}
	f->saved = f->acked;
}

int
agent_logfwd_open(const struct agent_conf *c, struct mm_seclog *l,
    struct agent_logfwd **out)
{
	struct agent_logfwd *f;
	int r;

	if ((f = mm_calloc(1, sizeof(*f))) == NULL)
		return MM_ERR_ALLOC;
	f->log = l;
	mm_seclog_id(l, f->log_id);
	f->max_bytes = (uint64_t)c->seclog_max_kib * 1024;
	if ((r = mm_path_join(f->path, sizeof(f->path), c->state_dir,
	    LF_ACKED_FILE)) != 0 ||
	    (r = mm_seclog_reader_new(c->state_dir, &f->rd)) != 0) {
		agent_logfwd_close(f);
		return r;
	}
	if ((r = lf_read_acked(f)) != 0) {
		mm_log(MM_LOG_ERR, "%s: %s: sending the whole log again",
		    f->path, mm_strerror(r));
		f->acked = f->saved = 0;
	}
	*out = f;
	return r;
}

void
agent_logfwd_close(struct agent_logfwd *f)
{
	if (f == NULL)
		return;
	if (f->rd != NULL)
		lf_save(f);
	mm_seclog_reader_free(f->rd);
	mm_freezero(f, sizeof(*f));
}

void
agent_logfwd_abandon(struct agent_logfwd *f)
{
	if (f == NULL)
		return;
	mm_seclog_reader_free(f->rd);
	mm_freezero(f, sizeof(*f));
}

uint64_t
agent_logfwd_acked(const struct agent_logfwd *f)
{
	return f == NULL ? 0 : f->acked;
}

int
agent_logfwd_batch(struct agent_logfwd *f, struct mm_buf *req,
    struct mm_buf *reply)
{
	struct mm_seclog_batch b;
	uint64_t from, last, durable;
	uint32_t epoch;
	int r;

	if (mm_buf_get_u64(req, &from) != 0 || mm_buf_expect_end(req) != 0)
		return AGENT_IPC_BAD;
	if (from == 0)
		from = f->acked + 1;
	mm_seclog_position(f->log, &last, &durable, &epoch);
	if ((r = mm_seclog_reader_batch(f->rd, from, durable, f->buf,
	    sizeof(f->buf), &b)) != 0) {
		if (r != MM_ERR_NOT_FOUND)
			mm_log(MM_LOG_ERR, "sealed log: batch from %" PRIu64
			    ": %s", from, mm_strerror(r));
		return r;
	}
	if (b.first + b.n - 1 > f->handed)
		f->handed = b.first + b.n - 1;
	if (mm_buf_put(reply, f->log_id, sizeof(f->log_id)) != 0 ||
	    mm_buf_put_u64(reply, b.first) != 0 ||
	    mm_buf_put_u32(reply, b.n) != 0 ||
	    mm_buf_put_u64(reply, b.first > from ? from : 0) != 0 ||
	    mm_buf_put(reply, b.prev, sizeof(b.prev)) != 0 ||
	    mm_buf_put_str16(reply, f->buf, b.len) != 0)
		return MM_ERR_NO_SPACE;
	return MM_OK;
}

/* The fleet's clock against ours, recorded when it first shows or moves
 * (KP13: time synchronised across devices).  Precision: one round trip. */
static void
lf_clock(struct agent_logfwd *f, uint64_t fleet_ms)
{
	struct mm_seclog_event ev;
	struct timespec ts;
	char payload[160];
	int64_t ours, off, d;
	int n, r;

	clock_gettime(CLOCK_REALTIME, &ts);
	ours = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	off = (int64_t)fleet_ms - ours;
	d = off - f->offset_ms;
	if (f->have_offset && d <= LF_TIME_STEP_MS && d >= -LF_TIME_STEP_MS)
		return;
	n = snprintf(payload, sizeof(payload), "{\"offset_ms\":%" PRId64 ","
	    "\"fleet_ms\":%" PRIu64 ",\"device_ms\":%" PRId64 "}", off,
	    fleet_ms, ours);
	if (n < 0 || (size_t)n >= sizeof(payload))
		return;
	memset(&ev, 0, sizeof(ev));
	ev.type = MM_SLT_TIME;
	ev.severity = d > 60000 || d < -60000 ? 4 : 6;
	ev.source = "agent";
	ev.payload = payload;
	ev.payload_len = (size_t)n;
	if ((r = mm_seclog_append(f->log, &ev, NULL)) != 0) {
		mm_log(MM_LOG_ERR, "sealed log: cannot record the clock: %s",
		    mm_strerror(r));
		return;
	}
	f->have_offset = 1;
	f->offset_ms = off;
}

int
agent_logfwd_ack(struct agent_logfwd *f, struct mm_buf *req)
{
	uint8_t id[MM_SECLOG_ID_LEN];
	uint64_t seq, fleet_ms, last, durable;
	uint32_t epoch;

	if (mm_buf_get(req, id, sizeof(id)) != 0 ||
	    mm_buf_get_u64(req, &seq) != 0 ||
	    mm_buf_get_u64(req, &fleet_ms) != 0 || mm_buf_expect_end(req) != 0)
		return AGENT_IPC_BAD;
	if (memcmp(id, f->log_id, sizeof(id)) != 0) {
		mm_log(MM_LOG_WARN, "log acknowledgement for another log refused");
		return MM_ERR_WRONG_TARGET;
	}
	mm_seclog_position(f->log, &last, &durable, &epoch);
	/* nothing can be acknowledged that was never sent: a worker taken
	 * over cannot make retention drop records the fleet never saw
	 * (records acknowledged before this start are in seclog.acked) */
	if (seq > durable || (seq > f->acked && seq > f->handed)) {
		mm_log(MM_LOG_WARN, "acknowledgement of seq %" PRIu64 " refused: "
		    "sent up to %" PRIu64 ", log holds %" PRIu64, seq, f->handed,
		    durable);
		return MM_ERR_RANGE;
	}
	lf_clock(f, fleet_ms);
	/* the fleet may ask for records again (seq below acked): it then
	 * holds less than it said, and retention must keep them */
	f->acked = seq;
	return MM_OK;
}

void
agent_logfwd_tick(struct agent_logfwd *f)
{
	struct mm_seclog_retain_report rep;
	int64_t now = mm_now_ms();
	int r;

	if (now >= f->next_save_ms) {
		lf_save(f);
		f->next_save_ms = now + LF_SAVE_MS;
	}
	if (now < f->next_retain_ms)
		return;
	f->next_retain_ms = now + LF_RETAIN_MS;
	if ((r = mm_seclog_retain(f->log, f->max_bytes, f->acked, &rep)) != 0) {
		mm_log(MM_LOG_ERR, "sealed log: retention: %s", mm_strerror(r));
		return;
	}
	if (rep.segments > 0)
		mm_log(rep.lost_from != 0 ? MM_LOG_WARN : MM_LOG_INFO,
		    "sealed log: retention removed %" PRIu32 " segments (%" PRIu64
		    " bytes)%s", rep.segments, rep.bytes, rep.lost_from != 0 ?
		    ", some not yet held by the fleet (LOSS recorded)" : "");
}
