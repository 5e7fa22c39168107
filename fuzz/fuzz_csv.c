/* Fuzz target: one line of a factory CSV file (srv_enroll_csv_split). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/mm_alloc.h"
#include "common/mm_err.h"
#include "server/srv_enroll.h"

#define FUZZ_CSV_MAX 2048
#define FUZZ_NFIELDS 4
#define FUZZ_FIELDSZ (SRV_FIELD_MAX + 1)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line, *fields;
	size_t i, n, total = 0;
	int r;

	if (size > FUZZ_CSV_MAX)
		size = FUZZ_CSV_MAX;
	/* exact-size heap copies, so ASan sees any read or write past them */
	if ((line = mm_malloc(size + 1)) == NULL)
		return 0;
	if ((fields = mm_malloc(FUZZ_NFIELDS * FUZZ_FIELDSZ)) == NULL) {
		mm_free(line);
		return 0;
	}
	memcpy(line, data, size);
	line[size] = '\0';
	r = srv_enroll_csv_split(line, fields, FUZZ_NFIELDS, FUZZ_FIELDSZ);
	if (r != MM_OK && r != MM_ERR_FORMAT && r != MM_ERR_TOO_LARGE)
		__builtin_trap();	/* only the documented refusals */
	if (r == MM_OK) {
		for (i = 0; i < FUZZ_NFIELDS; i++) {
			/* every field terminated inside its slot */
			n = strnlen(fields + i * FUZZ_FIELDSZ, FUZZ_FIELDSZ);
			if (n >= FUZZ_FIELDSZ)
				__builtin_trap();
			total += n;
		}
		/* unquoting only ever removes bytes; 3 separators are gone */
		if (total + FUZZ_NFIELDS - 1 > strlen(line))
			__builtin_trap();
	}
	mm_free(fields);
	mm_free(line);
	return 0;
}
