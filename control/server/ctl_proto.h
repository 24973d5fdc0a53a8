/*
 * ctl_proto.h - the wire protocol between mgwctl and mgw-control on the
 * CLI unix socket. One request and one response per connection.
 *
 *   request : "MGWQ" | u32 len (LE) | len bytes: argv strings, each NUL terminated
 *   response: "MGWR" | u32 len (LE) | i32 status (LE) | len bytes of text
 *
 * The text is what mgwctl prints (a table, or JSON with --json); status is
 * the mgwctl exit code (enum ctl_status). Lengths are bounded and every
 * decoder checks them: a peer is untrusted input.
 */
#ifndef CTL_PROTO_H
#define CTL_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define CTL_PROTO_REQ_MAGIC 0x5157474du  /* "MGWQ" */
#define CTL_PROTO_RESP_MAGIC 0x5257474du /* "MGWR" */
#define CTL_PROTO_MAX_REQ 4096
#define CTL_PROTO_MAX_ARGS 32
#define CTL_PROTO_MAX_RESP (4u << 20)

/* mgwctl exit codes, also the response status. Documented in docs/CLI.md. */
enum ctl_status {
	CTL_OK = 0,
	CTL_ERR = 1,          /* command failed */
	CTL_USAGE = 2,        /* bad command line */
	CTL_NOT_FOUND = 3,    /* the thing asked for does not exist (symbol, counter) */
	CTL_NO_DATAPLANE = 4, /* mgw-dataplane not running or not attached */
	CTL_TIMEOUT = 5,      /* the dataplane did not answer in time */
	CTL_NO_CONTROL = 6,   /* mgwctl could not reach mgw-control */
	CTL_DENIED = 7,       /* the caller's role may not run this command */
};

/*
 * Encode argv into buf. Returns the total frame length, or -1 if it does
 * not fit CTL_PROTO_MAX_REQ / cap or an argument count is out of range.
 */
int ctl_proto_encode_req(int argc, char *const argv[], uint8_t *buf, size_t cap);

/*
 * How many bytes a frame needs given its first n bytes: 8 + len once the
 * header is in, 8 before; -1 if the header is invalid (magic or length).
 */
long ctl_proto_req_need(const uint8_t *buf, size_t n);

/*
 * Decode a complete request frame (header included) in place: argv[] point
 * into buf. Returns argc (>= 1), or -1 on a malformed frame (bad magic,
 * length mismatch, missing final NUL, no arguments, too many arguments).
 */
int ctl_proto_decode_req(uint8_t *buf, size_t len, char *argv[], int max_args);

/* Response header into hdr[12]. */
void ctl_proto_resp_hdr(uint8_t hdr[12], int32_t status, uint32_t len);

/* Parse a response header; returns 0 and sets status and len, or -1. */
int ctl_proto_parse_resp_hdr(const uint8_t hdr[12], int32_t *status, uint32_t *len);

#endif /* CTL_PROTO_H */
