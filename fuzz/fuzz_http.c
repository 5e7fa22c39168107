/* Fuzz target: the admin page's HTTP parser (mm_http) and its cookie, form
 * and escaping helpers: every byte comes from the network.  Each input is
 * parsed whole and again fed in two pieces; both must agree. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/mm_buf.h"
#include "common/mm_err.h"
#include "device/mm_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct mm_http_req whole, split;

static void
mm_fuzz_helpers(const struct mm_http_req *req)
{
	static const char *const fields[] = { "user", "password", "csrf",
	    "old", "new" };
	char out[256];
	struct mm_buf *b;
	size_t i;

	(void)mm_http_cookie(req, "__Host-mamori", out, sizeof(out));
	(void)mm_http_cookie(req, "a", out, 4);
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (mm_http_form(req->body, req->body_len, fields[i], out,
		    sizeof(out)) == MM_OK && strlen(out) >= sizeof(out))
			__builtin_trap();
	(void)mm_http_header(req, "origin");
	(void)mm_http_conn_has(req, "close");
	if ((b = mm_buf_new(4 * MM_HTTP_PATH_MAX)) != NULL) {
		(void)mm_html_escape(b, req->path, strlen(req->path));
		mm_buf_free(b);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t c1 = 0, c2 = 0, cut;
	int r1, r2;

	mm_http_req_init(&whole, 512);
	r1 = mm_http_parse(&whole, data, size, &c1);
	if (r1 == MM_OK) {
		if (c1 > size || whole.body + whole.body_len > data + c1 ||
		    whole.path[0] != '/' || whole.method == MM_HTTP_NONE)
			__builtin_trap();
		mm_fuzz_helpers(&whole);
	} else if (r1 != MM_ERR_SHORT && (whole.status < 400 ||
	    whole.status > 505))
		__builtin_trap();

	/* the same bytes in two pieces give the same answer */
	cut = size > 0 ? data[0] % (size + 1) : 0;
	mm_http_req_init(&split, 512);
	r2 = mm_http_parse(&split, data, cut, &c2);
	if (r2 == MM_ERR_SHORT)
		r2 = mm_http_parse(&split, data, size, &c2);
	if (r2 != r1 || (r1 == MM_OK && c1 != c2) || split.status != whole.status)
		__builtin_trap();
	return 0;
}
