/*
 * fuzz_itch.c - libFuzzer harness for the ITCH 5.0 codec.
 *
 * Feeds the input to dp_itch_decode as one message and, separately, walks it
 * as a BinaryFILE stream. Whatever decodes must re-encode to the same bytes
 * and format to a bounded line; any inconsistency aborts so the fuzzer keeps
 * the input. Also built without libFuzzer, with fuzz_main.c, to replay the
 * seed corpus under ctest.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dp_itch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_one(const uint8_t *msg, size_t len)
{
	struct dp_itch_msg m;
	int r = dp_itch_decode(msg, len, &m);
	if (r > 0 || r <= -DP_ITCH_ERR__COUNT)
		abort();
	if (r != 0)
		return;
	uint8_t re[DP_ITCH_MAX_LEN];
	if (dp_itch_encode(&m, re, sizeof re) != (int)len || memcmp(re, msg, len) != 0)
		abort();
	char line[512];
	int n = dp_itch_format(&m, line, sizeof line);
	if (n <= 0 || n >= (int)sizeof line || strlen(line) != (size_t)n)
		abort();
	/* A truncated format must stay inside its buffer and report the same length. */
	char small[16];
	size_t want = (size_t)n < sizeof small - 1 ? (size_t)n : sizeof small - 1;
	if (dp_itch_format(&m, small, sizeof small) != n || strlen(small) != want)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_one(data, size);

	size_t off = 0;
	const uint8_t *msg;
	size_t len;
	int r;
	while ((r = dp_itch_file_next(data, size, &off, &msg, &len)) == 1) {
		if (msg < data || msg + len > data + size || off > size)
			abort();
		check_one(msg, len);
	}
	if (r != 0 && r != -DP_ITCH_ERR_TRUNCATED)
		abort();
	return 0;
}
