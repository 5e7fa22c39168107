/* Unit tests for the monitor/worker channel framing (src/agent/agent_ipc.c):
 * whole messages or nothing, oversize refused, status carried back. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "agent/agent_ipc.h"
#include "common/mm_err.h"

static int sv[2];

static int
setup(void **state)
{
	(void)state;
	return socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv);
}

static int
teardown(void **state)
{
	(void)state;
	close(sv[0]);
	close(sv[1]);
	return 0;
}

static void
test_roundtrip(void **state)
{
	struct mm_buf *req = agent_ipc_new(AGENT_IPC_STATE), *got = NULL;
	uint8_t type;
	uint64_t ctr;
	uint32_t hb;

	(void)state;
	assert_non_null(req);
	assert_int_equal(mm_buf_put_u64(req, 42), MM_OK);
	assert_int_equal(mm_buf_put_u32(req, 30), MM_OK);
	assert_int_equal(agent_ipc_send(sv[0], req), MM_OK);
	assert_int_equal(agent_ipc_recv(sv[1], &got), MM_OK);
	assert_int_equal(mm_buf_get_u8(got, &type), MM_OK);
	assert_int_equal(type, AGENT_IPC_STATE);
	assert_int_equal(mm_buf_get_u64(got, &ctr), MM_OK);
	assert_int_equal(mm_buf_get_u32(got, &hb), MM_OK);
	assert_true(ctr == 42);
	assert_int_equal(hb, 30);
	assert_int_equal(mm_buf_expect_end(got), MM_OK);
	mm_buf_free(req);
	mm_buf_free(got);
}

static void
test_oversize_refused(void **state)
{
	static uint8_t big[AGENT_IPC_MAX + 100];
	struct mm_buf *got = NULL;

	(void)state;
	memset(big, 0x41, sizeof(big));
	assert_int_equal(send(sv[0], big, sizeof(big), 0), (ssize_t)sizeof(big));
	assert_int_equal(agent_ipc_recv(sv[1], &got), MM_ERR_TOO_LARGE);
	assert_null(got);
	/* the channel stays usable for the next whole message */
	assert_int_equal(send(sv[0], "\x01", 1, 0), 1);
	assert_int_equal(agent_ipc_recv(sv[1], &got), MM_OK);
	assert_int_equal(mm_buf_len(got), 1);
	mm_buf_free(got);
}

static void
test_call_status(void **state)
{
	struct mm_buf *req = agent_ipc_new(AGENT_IPC_CSR), *reply = NULL;
	const uint8_t denied[4] = { 0xff, 0xff, 0xff, 0xef };	/* -17 */
	const uint8_t ok_pem[] = { 0, 0, 0, 0, 0, 3, 'P', 'E', 'M' };
	const uint8_t *p;
	size_t n;

	(void)state;
	/* the peer answers before the call: SEQPACKET keeps the order */
	assert_int_equal(send(sv[1], denied, sizeof(denied), 0), 4);
	assert_int_equal(agent_ipc_call(sv[0], req, &reply), MM_ERR_DENIED);
	assert_null(reply);
	assert_int_equal(send(sv[1], ok_pem, sizeof(ok_pem), 0), (ssize_t)sizeof(ok_pem));
	assert_int_equal(agent_ipc_call(sv[0], req, &reply), MM_OK);
	assert_int_equal(mm_buf_get_str16_ptr(reply, &p, &n), MM_OK);
	assert_int_equal(n, 3);
	assert_memory_equal(p, "PEM", 3);
	mm_buf_free(reply);
	/* a reply too short to hold a status is malformed */
	assert_int_equal(send(sv[1], "\x00", 1, 0), 1);
	assert_int_equal(agent_ipc_call(sv[0], req, &reply), MM_ERR_FORMAT);
	/* the peer gone: an I/O error, not a hang */
	close(sv[1]);
	assert_int_not_equal(agent_ipc_call(sv[0], req, &reply), MM_OK);
	sv[1] = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	mm_buf_free(req);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversize_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_call_status, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
