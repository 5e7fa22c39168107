/* Unit tests for the agent's configuration, persistent state and renewal
 * rule (src/agent/agent_conf.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "agent/agent.h"
#include "common/mm_crypto.h"
#include "common/mm_err.h"
#include "common/mm_file.h"

static char dir[64];

static void
put(const char *name, const char *text)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(mm_file_write_atomic(path, text, strlen(text), 0600), MM_OK);
}

static void
test_conf(void **state)
{
	struct agent_conf c;

	(void)state;
	put("agent.json", "{\"server_host\":\"fleet.example.net\",\"port\":8883,"
	    "\"prov_port\":8884,\"model\":\"cam\",\"serial\":\"S1\","
	    "\"fw_version\":\"1.2\",\"heartbeat_interval\":30}");
	assert_int_equal(agent_conf_load(&c, dir), MM_OK);
	assert_string_equal(c.server_host, "fleet.example.net");
	assert_int_equal(c.heartbeat_interval, 30);
	assert_string_equal(c.user, "mamori-agent");
	/* each bad field is refused, never defaulted */
	put("agent.json", "{\"server_host\":\"h\",\"model\":\"cam\",\"serial\":\"S1\","
	    "\"fw_version\":\"1\",\"port\":70000}");
	assert_int_equal(agent_conf_load(&c, dir), MM_ERR_RANGE);
	put("agent.json", "{\"model\":\"cam\",\"serial\":\"S1\",\"fw_version\":\"1\"}");
	assert_int_equal(agent_conf_load(&c, dir), MM_ERR_FORMAT);
	put("agent.json", "{\"server_host\":\"h\",\"model\":\"c\\u0007\",\"serial\":\"S1\","
	    "\"fw_version\":\"1\"}");
	assert_int_equal(agent_conf_load(&c, dir), MM_ERR_FORMAT);
	put("agent.json", "[]");
	assert_int_equal(agent_conf_load(&c, dir), MM_ERR_FORMAT);
}

static void
test_state(void **state)
{
	struct agent_conf c;
	struct agent_state st, back;

	(void)state;
	memset(&c, 0, sizeof(c));
	snprintf(c.state_dir, sizeof(c.state_dir), "%s", dir);
	c.heartbeat_interval = 60;
	unlink("agent.state");
	st.cmd_counter = 123456789012ULL;
	st.heartbeat_interval = 7;
	assert_int_equal(agent_state_save(&c, &st), MM_OK);
	assert_int_equal(agent_state_load(&c, &back), MM_OK);
	assert_true(back.cmd_counter == st.cmd_counter);
	assert_int_equal(agent_heartbeat(&c, &back), 7);
	back.heartbeat_interval = 0;
	assert_int_equal(agent_heartbeat(&c, &back), 60);
	/* a corrupt state file is an error, not a silent reset of the counter */
	put("agent.state", "{\"cmd_counter\":-5,\"heartbeat_interval\":0}");
	assert_int_not_equal(agent_state_load(&c, &back), MM_OK);
	put("agent.state", "{\"cmd_counter\":\"5\"}");
	assert_int_not_equal(agent_state_load(&c, &back), MM_OK);
}

static void
test_renew(void **state)
{
	const time_t nb = 1000000, na = nb + 90 * 86400;

	(void)state;
	assert_false(agent_renew_due(nb, na, nb));
	assert_false(agent_renew_due(nb, na, nb + 60 * 86400 - 1));
	assert_true(agent_renew_due(nb, na, nb + 60 * 86400));
	assert_true(agent_renew_due(nb, na, na + 1));
	assert_true(agent_renew_due(na, nb, nb));	/* nonsense validity */
}

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/mm-agentconf.XXXXXX");
	if (mkdtemp(dir) == NULL || chdir(dir) != 0)
		return -1;
	return mm_crypto_init();
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conf),
		cmocka_unit_test(test_state),
		cmocka_unit_test(test_renew),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
