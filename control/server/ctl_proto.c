/*
 * ctl_proto.c - CLI socket framing (see ctl_proto.h).
 */
#include "ctl_proto.h"

#include <string.h>

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int ctl_proto_encode_req(int argc, char *const argv[], uint8_t *buf, size_t cap)
{
	if (argc < 1 || argc > CTL_PROTO_MAX_ARGS)
		return -1;
	size_t len = 0;
	for (int i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	if (len > CTL_PROTO_MAX_REQ || len + 8 > cap)
		return -1;
	put32(buf, CTL_PROTO_REQ_MAGIC);
	put32(buf + 4, (uint32_t)len);
	uint8_t *p = buf + 8;
	for (int i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]) + 1;
		memcpy(p, argv[i], n);
		p += n;
	}
	return (int)(len + 8);
}

long ctl_proto_req_need(const uint8_t *buf, size_t n)
{
	if (n < 8)
		return 8;
	if (get32(buf) != CTL_PROTO_REQ_MAGIC)
		return -1;
	uint32_t len = get32(buf + 4);
	if (len == 0 || len > CTL_PROTO_MAX_REQ)
		return -1;
	return (long)len + 8;
}

int ctl_proto_decode_req(uint8_t *buf, size_t len, char *argv[], int max_args)
{
	long need = ctl_proto_req_need(buf, len);
	if (need < 0 || len < 8 || (size_t)need != len)
		return -1;
	uint8_t *p = buf + 8, *end = buf + len;
	if (end[-1] != '\0')
		return -1;
	int argc = 0;
	while (p < end) {
		if (argc == max_args)
			return -1;
		argv[argc++] = (char *)p;
		p += strlen((char *)p) + 1; /* stops at the final NUL checked above */
	}
	return argc >= 1 ? argc : -1;
}

void ctl_proto_resp_hdr(uint8_t hdr[12], int32_t status, uint32_t len)
{
	put32(hdr, CTL_PROTO_RESP_MAGIC);
	put32(hdr + 4, len);
	put32(hdr + 8, (uint32_t)status);
}

int ctl_proto_parse_resp_hdr(const uint8_t hdr[12], int32_t *status, uint32_t *len)
{
	if (get32(hdr) != CTL_PROTO_RESP_MAGIC)
		return -1;
	*len = get32(hdr + 4);
	*status = (int32_t)get32(hdr + 8);
	if (*len > CTL_PROTO_MAX_RESP)
		return -1;
	return 0;
}
