/* agent_ipc.c - framing of monitor/worker messages. */
#include <errno.h>
#include <sys/socket.h>

#include "agent/agent_ipc.h"
#include "common/mm_alloc.h"
#include "common/mm_err.h"

struct mm_buf *
agent_ipc_new(enum agent_ipc_type type)
{
	struct mm_buf *b = mm_buf_new(AGENT_IPC_MAX);

	if (b != NULL && mm_buf_put_u8(b, (uint8_t)type) != 0) {
		mm_buf_free(b);
		return NULL;
	}
	return b;
}

int
agent_ipc_send(int fd, const struct mm_buf *b)
{
	ssize_t n;

	do {
		n = send(fd, mm_buf_ptr(b), mm_buf_len(b), MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	return n == (ssize_t)mm_buf_len(b) ? MM_OK : MM_ERR_IO;
}

int
agent_ipc_recv(int fd, struct mm_buf **out)
{
	uint8_t *raw;
	struct mm_buf *b;
	ssize_t n;
	int r;

	if ((raw = mm_malloc(AGENT_IPC_MAX)) == NULL)
		return MM_ERR_ALLOC;
	do {
		n = recv(fd, raw, AGENT_IPC_MAX, MSG_TRUNC);
	} while (n < 0 && errno == EINTR);
	if (n <= 0) {
		r = MM_ERR_IO;
		goto out;
	}
	if (n > AGENT_IPC_MAX) {
		r = MM_ERR_TOO_LARGE;
		goto out;
	}
	if ((b = mm_buf_new(AGENT_IPC_MAX)) == NULL) {
		r = MM_ERR_ALLOC;
		goto out;
	}
	if ((r = mm_buf_put(b, raw, (size_t)n)) != 0) {
		mm_buf_free(b);
		goto out;
	}
	*out = b;
 out:
	mm_freezero(raw, AGENT_IPC_MAX);
	return r;
}

int
agent_ipc_call(int fd, const struct mm_buf *req, struct mm_buf **reply)
{
	struct mm_buf *b = NULL;
	uint32_t status;
	int r;

	if ((r = agent_ipc_send(fd, req)) != 0 || (r = agent_ipc_recv(fd, &b)) != 0)
		return r;
	if ((r = mm_buf_get_u32(b, &status)) != 0) {
		mm_buf_free(b);
		return MM_ERR_FORMAT;
	}
	r = (int)(int32_t)status;
	if (reply != NULL && r == 0)
		*reply = b;
	else
		mm_buf_free(b);
	return r;
}
