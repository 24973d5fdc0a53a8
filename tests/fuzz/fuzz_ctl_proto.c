/*
 * fuzz_ctl_proto.c - libFuzzer harness for the CLI socket framing that
 * mgw-control reads from any local peer: ctl_proto_req_need and
 * ctl_proto_decode_req on arbitrary bytes, and the decoded argv must
 * re-encode to the same frame.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = malloc(size ? size : 1);
	if (!buf)
		abort();
	memcpy(buf, data, size);
	long need = ctl_proto_req_need(buf, size);
	char *argv[CTL_PROTO_MAX_ARGS];
	int argc = ctl_proto_decode_req(buf, size, argv, CTL_PROTO_MAX_ARGS);
	if (argc > 0) {
		if (need != (long)size)
			abort();
		uint8_t again[8 + CTL_PROTO_MAX_REQ];
		int n = ctl_proto_encode_req(argc, argv, again, sizeof(again));
		if (n != (int)size || memcmp(again, data, size) != 0)
			abort();
	}
	free(buf);
	return 0;
}
