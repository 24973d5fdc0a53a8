/*
 * fuzz_match.c - libFuzzer harness for the match stage's core: pre-trade
 * risk driving the client matching engine (dp_risk_match), with the two
 * hint stages the match lcore gives (dp_risk_match_prefetch_early two
 * messages ahead, _late one ahead) over every message, hostile or not.
 * The messages come from order entry, which will take them from clients:
 * any byte of a dp_order_msg may be anything. Small pools run full, ids
 * are drawn from a small space (duplicates, cancels of filled or unknown
 * orders, replaces onto a filled order's id), report capacity is cut down
 * to the minimum now and then (the engine pauses), and limits, kill
 * switches and a new day change between messages. After every message
 * dp_match_check and dp_risk_verify must hold; any failure aborts.
 *
 * Input: byte 0 picks the STP mode, the pool sizes and the limits; then
 * records of 24 bytes:
 *   0 kind (mod 8: NEW x3, CANCEL x2, REPLACE x2, a raw kind byte from 23)
 *   1 type (mod 4)   2 tif (mod 5)   3 flags   4 side (B, S or 4 itself)
 *   5 symbol (mod 20: 16.. unknown)  6 account (mod 12: 10.. unknown)
 *   7 session (mod 6: 4.. unknown to the engine)
 *   8 cl_ord_id (1..64)   9 orig_cl_ord_id (1..64)
 *   10..11 price offset around 10000 (or raw when bit 15 is set)
 *   12..13 quantity (0..65535)   14 reference (mod 8: valid, stale, one
 *   side, crossed, ...)   15 report capacity (mod 4: 4, 5, 64, 1024)
 *   16 control (mod 32: 0 kill toggles, 1 limits, 2 restricted, 3 new
 *   day, 4 throttle; else nothing)   17..22 control arguments
 *   23 raw kind for kind 7
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dp_match.h"
#include "dp_risk.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REC 24
#define MAX_MSGS 4096

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void msg_of(const uint8_t *p, struct dp_order_msg *m)
{
	static const uint8_t kinds[8] = { DP_ORD_NEW,	 DP_ORD_NEW,	 DP_ORD_NEW,
					  DP_ORD_CANCEL, DP_ORD_CANCEL, DP_ORD_REPLACE,
					  DP_ORD_REPLACE, 0 };
	memset(m, 0, sizeof *m);
	m->kind = (p[0] & 7) == 7 ? p[23] : kinds[p[0] & 7];
	if (m->kind == DP_ORD_MASS_CANCEL)
		m->mass = p[3] & 7;
	m->type = p[1] & 3;
	m->tif = p[2] % 5;
	m->flags = p[3];
	m->side = (p[4] & 3) == 0 ? 'B' : (p[4] & 3) == 1 ? 'S' : (char)p[4];
	m->symbol = p[5] % 20;
	m->account = p[6] % 12;
	m->session = p[7] % 6;
	m->cl_ord_id = 1 + p[8] % 64;
	m->orig_cl_ord_id = 1 + p[9] % 64;
	uint16_t pv = rd16(p + 10);
	m->price = pv & 0x8000 ? (uint32_t)pv << 16 | pv : 10000u + (pv & 63u) - 32u;
	m->qty = rd16(p + 12);
}

static struct dp_ref_px ref_of(uint8_t b)
{
	switch (b & 7) {
	case 0: case 1: case 2: return (struct dp_ref_px){ 9990, 10010, 1 };
	case 3: return (struct dp_ref_px){ 9990, 10010, 0 };  /* stale */
	case 4: return (struct dp_ref_px){ 0, 10010, 1 };     /* one side */
	case 5: return (struct dp_ref_px){ 10010, 9990, 1 };  /* crossed */
	case 6: return (struct dp_ref_px){ 1, 0xffffffffu, 1 };
	default: return (struct dp_ref_px){ 10000, 10000, 1 }; /* locked */
	}
}

static void limits(struct dp_risk *r, uint32_t account, uint8_t a, uint8_t b)
{
	struct dp_risk_limits l = {
		.enabled = a & DP_RISK_CHK_ALL,
		.max_order_qty = b & 1 ? 1000 : 1000000,
		.max_order_notional = b & 2 ? 5000000 : UINT64_MAX / 4,
		.collar_bps = b & 4 ? 10 : 2000,
		.credit_limit = b & 8 ? 20000000 : UINT64_MAX / 4,
		.max_position = b & 16 ? 3000 : UINT64_MAX / 4,
	};
	(void)dp_risk_set_limits(r, account, &l);
}

/* Returns 1 when a kill switch went on and *cancel is its mass cancel,
 * which the match stage feeds to the engine next (as the lcore glue does). */
static int control(struct dp_risk *r, const uint8_t *p, struct dp_order_msg *cancel)
{
	switch (p[16] & 31) {
	case 0:
		return dp_risk_kill(r, (enum dp_risk_level)(p[17] % 3), p[18] % 12, p[19] & 1,
				    cancel) == 1;
	case 1:
		limits(r, p[18] % 12, p[19], p[20]);
		break;
	case 2:
		(void)dp_risk_set_restricted(r, p[18] & 1 ? DP_RISK_ALL_ACCOUNTS : p[18] % 12,
					     p[19] % 20, p[20] & 1);
		break;
	case 3:
		dp_risk_new_day(r);
		break;
	case 4:
		(void)dp_risk_set_throttle(r, p[18] % 6, p[19] & 3);
		break;
	default:
		break;
	}
	return 0;
}

/* One message through risk and the engine, pauses resumed; aborts on a
 * broken invariant. */
static void run(struct dp_risk *r, struct dp_match *m, const struct dp_order_msg *msg,
		const struct dp_ref_px *ref, uint64_t now, uint32_t cap)
{
	static struct dp_exec_report out[1024];
	uint8_t refused;
	uint32_t k = dp_risk_match(r, m, msg, ref, now, out, cap, &refused);
	if (k > cap)
		abort();
	for (int guard = 0; dp_match_pending(m); guard++) {
		if (guard > 100000)
			abort(); /* a pause that never ends */
		k = dp_risk_match_resume(r, m, out, cap);
		if (k > cap)
			abort();
	}
	if (dp_match_check(m) != 0 || dp_risk_verify(r) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const uint8_t c = data[0];
	size_t n = (size - 1) / REC;
	if (n > MAX_MSGS)
		n = MAX_MSGS;
	const uint8_t *recs = data + 1;

	struct dp_match_cfg mc = { .max_orders = 8u << (c & 3), .max_levels = 4u << ((c >> 2) & 3),
				   .max_symbols = 16, .max_sessions = 4, .max_accounts = 16,
				   .stp_default = (uint8_t)((c >> 4) % 4) };
	struct dp_risk_cfg rc = { .max_accounts = 16, .max_sessions = 8, .max_symbols = 16,
				  .max_positions = 8u << ((c >> 6) & 3), .max_orders = 64,
				  .max_ids = 128, .default_orders_per_sec = 0 };
	struct dp_match *m = NULL;
	struct dp_risk *r = NULL;
	if (dp_match_create(&m, &mc, NULL) != 0)
		return 0;
	if (dp_risk_create(&r, &rc, NULL) != 0) {
		dp_match_destroy(m);
		return 0;
	}
	for (uint32_t a = 0; a < 10; a++)
		limits(r, a, DP_RISK_CHK_ALL, c >> 3);

	static const uint32_t caps[4] = { DP_MATCH_MIN_CAP, DP_MATCH_MIN_CAP + 1, 64, 1024 };
	struct dp_order_msg msgs[3], cancel;
	for (size_t i = 0; i < n; i++) {
		const uint8_t *p = recs + i * REC;
		/* hints as the lcore gives them: the early stage two ahead, the late one ahead */
		if (i + 2 < n) {
			msg_of(recs + (i + 2) * REC, &msgs[2]);
			dp_risk_match_prefetch_early(r, m, &msgs[2]);
		}
		if (i + 1 < n) {
			msg_of(recs + (i + 1) * REC, &msgs[1]);
			dp_risk_match_prefetch_late(r, m, &msgs[1]);
		}
		const struct dp_ref_px ref = ref_of(p[14]);
		if (control(r, p, &cancel))
			run(r, m, &cancel, &ref, 1000000ull * i, 1024);
		msg_of(p, &msgs[0]);
		run(r, m, &msgs[0], &ref, 1000000ull * i, caps[p[15] & 3]);
	}
	dp_risk_destroy(r);
	dp_match_destroy(m);
	return 0;
}
