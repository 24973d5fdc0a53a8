/*
 * test_match.c - unit tests of the client matching engine (dataplane/match):
 * each order type and TIF, post-only, reference protection, cancel and the
 * replace rules, mass cancel scopes, each STP mode, invalid messages, pool
 * exhaustion, pausing/resuming, and the allocator hook. dp_match_check()
 * runs after every message so a broken invariant shows where it happens.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dp_match.h"

static struct dp_match *me;
static struct dp_exec_report rep[4096];
static uint32_t nrep;
static const struct dp_ref_px WIDE = { 1, 2000000000u, 1 };
static const struct dp_ref_px NOREF = { 0, 0, 0 };

static void mk(uint32_t orders, uint32_t levels, uint8_t stp)
{
	struct dp_match_cfg cfg = { .max_orders = orders, .max_levels = levels, .max_symbols = 16,
				    .max_sessions = 8, .max_accounts = 16, .stp_default = stp };
	ck_assert_int_eq(dp_match_create(&me, &cfg, NULL), 0);
	ck_assert_int_eq(dp_match_check(me), 0);
}

static void setup(void)
{
	mk(1000, 1000, DP_STP_CANCEL_NEWEST);
}

static void teardown(void)
{
	dp_match_destroy(me);
	me = NULL;
}

static uint32_t send(const struct dp_order_msg *msg, const struct dp_ref_px *ref)
{
	dp_match_prefetch(me, msg); /* a pure hint before every message */
	nrep = dp_match_process(me, msg, ref, rep, 4096);
	ck_assert(!dp_match_pending(me));
	ck_assert_int_eq(dp_match_check(me), 0);
	return nrep;
}

static uint32_t new_ord(uint32_t sess, uint64_t cl, uint32_t acct, char side, uint8_t type,
			uint8_t tif, uint32_t px, uint32_t qty, uint8_t flags,
			const struct dp_ref_px *ref)
{
	struct dp_order_msg m = { .kind = DP_ORD_NEW, .type = type, .tif = tif, .flags = flags,
				  .side = side, .symbol = 1, .account = acct, .session = sess,
				  .cl_ord_id = cl, .price = px, .qty = qty };
	return send(&m, ref);
}

/* DAY limit, session 1, account = cl / 100 unless given. */
static uint32_t lim(uint64_t cl, uint32_t acct, char side, uint32_t px, uint32_t qty)
{
	return new_ord(1, cl, acct, side, DP_ORD_LIMIT, DP_TIF_DAY, px, qty, 0, &WIDE);
}

static uint32_t cancel(uint32_t sess, uint64_t cl, uint64_t orig)
{
	struct dp_order_msg m = { .kind = DP_ORD_CANCEL, .symbol = 1, .session = sess,
				  .cl_ord_id = cl, .orig_cl_ord_id = orig };
	return send(&m, &WIDE);
}

static uint32_t replace(uint32_t sess, uint64_t cl, uint64_t orig, uint32_t px, uint32_t qty,
			const struct dp_ref_px *ref)
{
	struct dp_order_msg m = { .kind = DP_ORD_REPLACE, .type = DP_ORD_LIMIT, .symbol = 1,
				  .session = sess, .cl_ord_id = cl, .orig_cl_ord_id = orig,
				  .price = px, .qty = qty };
	return send(&m, ref);
}

static void expect(uint32_t i, uint8_t kind, uint8_t reason, uint64_t cl, uint32_t leaves,
		   uint32_t cum)
{
	ck_assert_uint_lt(i, nrep);
	ck_assert_uint_eq(rep[i].kind, kind);
	ck_assert_uint_eq(rep[i].reason, reason);
	ck_assert_uint_eq(rep[i].cl_ord_id, cl);
	ck_assert_uint_eq(rep[i].leaves_qty, leaves);
	ck_assert_uint_eq(rep[i].cum_qty, cum);
}

static void expect_fill(uint32_t i, uint64_t aggr, uint64_t rest, uint32_t px, uint32_t q)
{
	ck_assert_uint_lt(i + 1, nrep);
	ck_assert_uint_eq(rep[i].kind, DP_EXEC_FILL);
	ck_assert_uint_eq(rep[i + 1].kind, DP_EXEC_FILL);
	ck_assert_uint_eq(rep[i].cl_ord_id, aggr);
	ck_assert_uint_eq(rep[i + 1].cl_ord_id, rest);
	ck_assert_uint_eq(rep[i].flags, DP_MATCH_RF_AGGRESSOR);
	ck_assert_uint_eq(rep[i + 1].flags, 0);
	ck_assert_uint_eq(rep[i].last_px, px);
	ck_assert_uint_eq(rep[i + 1].last_px, px);
	ck_assert_uint_eq(rep[i].last_qty, q);
	ck_assert_uint_eq(rep[i + 1].last_qty, q);
	ck_assert_uint_eq(rep[i].exec_id >> 1, rep[i + 1].exec_id >> 1);
	ck_assert_uint_ne(rep[i].exec_id, rep[i + 1].exec_id);
	ck_assert_int_ne(rep[i].side, rep[i + 1].side);
	ck_assert_uint_eq(rep[i].contra, rep[i + 1].account);
	ck_assert_uint_eq(rep[i + 1].contra, rep[i].account);
}

static int live(uint32_t sess, uint64_t cl, struct dp_match_order_info *oi)
{
	struct dp_match_order_info tmp;
	return dp_match_order(me, sess, cl, oi ? oi : &tmp) == 0;
}

START_TEST(limit_rests_and_depth)
{
	ck_assert_uint_eq(lim(1, 1, 'B', 100, 10), 1);
	expect(0, DP_EXEC_ACCEPTED, 0, 1, 10, 0);
	ck_assert_uint_ne(rep[0].order_id, 0);
	lim(2, 1, 'B', 101, 5);
	lim(3, 1, 'B', 100, 7);
	lim(4, 1, 'S', 105, 3);
	struct dp_match_level lv[4];
	ck_assert_int_eq(dp_match_depth(me, 1, DP_MATCH_BID, lv, 4), 2);
	ck_assert_uint_eq(lv[0].price, 101);
	ck_assert_uint_eq(lv[1].price, 100);
	ck_assert_uint_eq(lv[1].qty, 17);
	ck_assert_uint_eq(lv[1].orders, 2);
	ck_assert_int_eq(dp_match_depth(me, 1, DP_MATCH_ASK, lv, 4), 1);
	ck_assert_uint_eq(dp_match_live_orders(me), 4);
	ck_assert_uint_eq(dp_match_symbol_orders(me, 1), 4);
	struct dp_match_order_info oi;
	ck_assert(live(1, 3, &oi));
	ck_assert_uint_eq(oi.queue_pos, 1);
}
END_TEST

START_TEST(cross_partial_fill_price_time)
{
	lim(1, 1, 'S', 101, 5);
	lim(2, 2, 'S', 100, 5);
	lim(3, 3, 'S', 100, 5); /* behind 2 at the same price */
	ck_assert_uint_eq(lim(4, 4, 'B', 101, 12), 1 + 6);
	expect(0, DP_EXEC_ACCEPTED, 0, 4, 12, 0);
	expect_fill(1, 4, 2, 100, 5);
	expect_fill(3, 4, 3, 100, 5);
	expect_fill(5, 4, 1, 101, 2);
	ck_assert_uint_eq(rep[5].leaves_qty, 0);
	ck_assert_uint_eq(rep[5].cum_qty, 12);
	/* (5*100 + 5*100 + 2*101) / 12 = 100.1666 -> 100 */
	ck_assert_uint_eq(rep[5].avg_px, 100);
	ck_assert_uint_eq(rep[6].leaves_qty, 3);
	ck_assert_uint_eq(rep[6].cum_qty, 2);
	ck_assert(!live(1, 4, NULL));
	ck_assert(live(1, 1, NULL));
	/* A DAY buy that outsizes the book rests its remainder. */
	ck_assert_uint_eq(lim(5, 5, 'B', 101, 10), 1 + 2);
	struct dp_match_order_info oi;
	ck_assert(live(1, 5, &oi));
	ck_assert_uint_eq(oi.leaves, 7);
	ck_assert_uint_eq(oi.cum, 3);
	ck_assert_uint_eq(oi.avg_px, 101);
}
END_TEST

START_TEST(avg_px_rounds_half_up)
{
	lim(1, 1, 'S', 100, 1);
	lim(2, 1, 'S', 101, 1);
	lim(3, 2, 'B', 101, 2);
	ck_assert_uint_eq(rep[3].avg_px, 101); /* aggressor: 100.5 -> 101 */
	lim(4, 1, 'S', 100, 2);
	lim(5, 1, 'S', 103, 1);
	lim(6, 2, 'B', 103, 3);
	ck_assert_uint_eq(rep[3].avg_px, 101); /* 303 / 3 */
	ck_assert_uint_eq(rep[4].avg_px, 103); /* the resting side's own average */
	/* large numbers: no overflow of the notional */
	lim(7, 1, 'S', 4000000000u, 4000000000u);
	new_ord(1, 8, 2, 'B', DP_ORD_LIMIT, DP_TIF_IOC, 4000000000u, 4000000000u, 0,
		&(struct dp_ref_px){ 1, 4000000000u, 1 });
	ck_assert_uint_eq(rep[1].avg_px, 4000000000u);
	ck_assert_uint_eq(rep[1].cum_qty, 4000000000u);
}
END_TEST

START_TEST(ioc)
{
	lim(1, 1, 'S', 100, 5);
	ck_assert_uint_eq(new_ord(1, 2, 2, 'B', DP_ORD_LIMIT, DP_TIF_IOC, 100, 8, 0, &WIDE), 4);
	expect(0, DP_EXEC_ACCEPTED, 0, 2, 8, 0);
	expect_fill(1, 2, 1, 100, 5);
	expect(3, DP_EXEC_CANCELLED, DP_RJ_IOC_REMAINDER, 2, 0, 5);
	ck_assert(!live(1, 2, NULL));
	/* Not marketable: accepted and cancelled, nothing rests. */
	ck_assert_uint_eq(new_ord(1, 3, 2, 'B', DP_ORD_LIMIT, DP_TIF_IOC, 99, 8, 0, &WIDE), 2);
	expect(1, DP_EXEC_CANCELLED, DP_RJ_IOC_REMAINDER, 3, 0, 0);
	/* Not marketable and no reference: still fine (never executes). */
	ck_assert_uint_eq(new_ord(1, 4, 2, 'B', DP_ORD_LIMIT, DP_TIF_IOC, 99, 8, 0, &NOREF), 2);
	ck_assert_uint_eq(dp_match_live_orders(me), 0);
}
END_TEST

START_TEST(fok)
{
	lim(1, 1, 'S', 100, 5);
	lim(2, 1, 'S', 101, 5);
	ck_assert_uint_eq(new_ord(1, 3, 2, 'B', DP_ORD_LIMIT, DP_TIF_FOK, 101, 11, 0, &WIDE), 1);
	expect(0, DP_EXEC_REJECTED, DP_RJ_FOK_NOT_FILLABLE, 3, 0, 0);
	ck_assert_uint_eq(dp_match_live_orders(me), 2);
	/* limit keeps the second level out */
	ck_assert_uint_eq(new_ord(1, 4, 2, 'B', DP_ORD_LIMIT, DP_TIF_FOK, 100, 6, 0, &WIDE), 1);
	expect(0, DP_EXEC_REJECTED, DP_RJ_FOK_NOT_FILLABLE, 4, 0, 0);
	/* reference keeps the second level out */
	ck_assert_uint_eq(new_ord(1, 5, 2, 'B', DP_ORD_LIMIT, DP_TIF_FOK, 101, 6, 0,
				  &(struct dp_ref_px){ 99, 100, 1 }),
			  1);
	expect(0, DP_EXEC_REJECTED, DP_RJ_FOK_NOT_FILLABLE, 5, 0, 0);
	ck_assert_uint_eq(new_ord(1, 6, 2, 'B', DP_ORD_LIMIT, DP_TIF_FOK, 101, 10, 0, &WIDE), 5);
	expect_fill(1, 6, 1, 100, 5);
	expect_fill(3, 6, 2, 101, 5);
	ck_assert_uint_eq(rep[3].leaves_qty, 0);
	ck_assert_uint_eq(dp_match_live_orders(me), 0);
	/* FOK market */
	lim(7, 1, 'S', 100, 5);
	ck_assert_uint_eq(new_ord(1, 8, 2, 'B', DP_ORD_MARKET, DP_TIF_FOK, 0, 5, 0, &WIDE), 3);
	/* FOK marketable without reference */
	lim(9, 1, 'S', 100, 5);
	ck_assert_uint_eq(new_ord(1, 10, 2, 'B', DP_ORD_LIMIT, DP_TIF_FOK, 100, 5, 0, &NOREF), 1);
	expect(0, DP_EXEC_REJECTED, DP_RJ_NO_REFERENCE, 10, 0, 0);
}
END_TEST

START_TEST(market)
{
	lim(1, 1, 'S', 100, 5);
	lim(2, 1, 'S', 110, 5);
	/* Market buy: takes 100, stops at the reference ask 105. */
	ck_assert_uint_eq(new_ord(1, 3, 2, 'B', DP_ORD_MARKET, DP_TIF_DAY, 0, 8, 0,
				  &(struct dp_ref_px){ 95, 105, 1 }),
			  4);
	expect_fill(1, 3, 1, 100, 5);
	expect(3, DP_EXEC_CANCELLED, DP_RJ_TRADE_THROUGH, 3, 0, 5);
	/* Within the reference it sweeps, then the remainder is cancelled. */
	ck_assert_uint_eq(new_ord(1, 4, 2, 'B', DP_ORD_MARKET, DP_TIF_IOC, 0, 8, 0, &WIDE), 4);
	expect(3, DP_EXEC_CANCELLED, DP_RJ_IOC_REMAINDER, 4, 0, 5);
	/* Empty book: accepted, cancelled. */
	ck_assert_uint_eq(new_ord(1, 5, 2, 'B', DP_ORD_MARKET, DP_TIF_IOC, 0, 8, 0, &WIDE), 2);
	expect(1, DP_EXEC_CANCELLED, DP_RJ_IOC_REMAINDER, 5, 0, 0);
	/* No reference: rejected, even on an empty book. */
	ck_assert_uint_eq(new_ord(1, 6, 2, 'S', DP_ORD_MARKET, DP_TIF_IOC, 0, 8, 0, &NOREF), 1);
	expect(0, DP_EXEC_REJECTED, DP_RJ_NO_REFERENCE, 6, 0, 0);
	ck_assert_uint_eq(new_ord(1, 7, 2, 'S', DP_ORD_MARKET, DP_TIF_IOC, 0, 8, 0, NULL), 1);
	expect(0, DP_EXEC_REJECTED, DP_RJ_NO_REFERENCE, 7, 0, 0);
}
END_TEST

START_TEST(post_only)
{
	lim(1, 1, 'S', 100, 5);
	ck_assert_uint_eq(new_ord(1, 2, 2, 'B', DP_ORD_LIMIT, DP_TIF_DAY, 100, 5,
				  DP_ORD_F_POST_ONLY, &WIDE),
			  1);
	expect(0, DP_EXEC_REJECTED, DP_RJ_POST_ONLY_WOULD_TAKE, 2, 0, 0);
	ck_assert_uint_eq(new_ord(1, 3, 2, 'B', DP_ORD_LIMIT, DP_TIF_DAY, 99, 5,
				  DP_ORD_F_POST_ONLY, &NOREF),
			  1);
	expect(0, DP_EXEC_ACCEPTED, 0, 3, 5, 0);
	struct dp_match_order_info oi;
	ck_assert(live(1, 3, &oi));
	ck_assert_uint_eq(oi.flags, DP_ORD_F_POST_ONLY);
	new_ord(1, 4, 2, 'B', DP_ORD_LIMIT, DP_TIF_IOC, 99, 5, DP_ORD_F_POST_ONLY, &WIDE);
	expect(0, DP_EXEC_REJECTED, DP_RJ_BAD_TIF, 4, 0, 0);
	new_ord(1, 5, 2, 'B', DP_ORD_MARKET, DP_TIF_DAY, 0, 5, DP_ORD_F_POST_ONLY, &WIDE);
	expect(0, DP_EXEC_REJECTED, DP_RJ_BAD_TYPE, 5, 0, 0);
	/* A post-only order replaced to a marketable price: replace refused. */
	ck_assert_uint_eq(replace(1, 6, 3, 100, 5, &WIDE), 1);
	expect(0, DP_EXEC_CANCEL_REJECTED, DP_RJ_POST_ONLY_WOULD_TAKE, 6, 5, 0);
	ck_assert(live(1, 3, NULL));
}
END_TEST

START_TEST(reference_protection)
{
	const struct dp_ref_px r = { 99, 102, 1 };
	lim(1, 1, 'S', 101, 5);
	lim(2, 1, 'S', 103, 5);
	/* DAY buy at 105: takes 101, 103 is through the reference: the
	 * remainder would cross the client book, so it is cancelled. */
	ck_assert_uint_eq(new_ord(1, 3, 2, 'B', DP_ORD_LIMIT, DP_TIF_DAY, 105, 8, 0, &r), 4);
	expect_fill(1, 3, 1, 101, 5);
	expect(3, DP_EXEC_CANCELLED, DP_RJ_TRADE_THROUGH, 3, 0, 5);
	/* IOC the same */
	ck_assert_uint_eq(new_ord(1, 4, 2, 'B', DP_ORD_LIMIT, DP_TIF_IOC, 105, 8, 0, &r), 2);
	expect(1, DP_EXEC_CANCELLED, DP_RJ_TRADE_THROUGH, 4, 0, 0);
	/* A DAY buy above the reference ask but below the client ask rests. */
	ck_assert_uint_eq(new_ord(1, 5, 2, 'B', DP_ORD_LIMIT, DP_TIF_DAY, 102, 8, 0, &r), 1);
	ck_assert(live(1, 5, NULL));
	/* A sell hitting that bid at 102 with reference {103, 104}: 102 is
	 * below the reference bid: no execution, remainder cancelled. */
	ck_assert_uint_eq(new_ord(1, 6, 3, 'S', DP_ORD_LIMIT, DP_TIF_DAY, 100, 8, 0,
				  &(struct dp_ref_px){ 103, 104, 1 }),
			  2);
	expect(1, DP_EXEC_CANCELLED, DP_RJ_TRADE_THROUGH, 6, 0, 0);
	/* The resting buyer is protected too: ref {99, 101} puts 102 above
	 * the ask, so a sell cannot execute against it at 102. */
	ck_assert_uint_eq(new_ord(1, 7, 3, 'S', DP_ORD_LIMIT, DP_TIF_IOC, 100, 8, 0,
				  &(struct dp_ref_px){ 99, 101, 1 }),
			  2);
	expect(1, DP_EXEC_CANCELLED, DP_RJ_TRADE_THROUGH, 7, 0, 0);
	/* Inside the band it trades. */
	ck_assert_uint_eq(new_ord(1, 8, 3, 'S', DP_ORD_LIMIT, DP_TIF_IOC, 100, 8, 0, &r), 3);
	expect_fill(1, 8, 5, 102, 8);
	/* Invalid references: marketable refused, passive rests. */
	lim(9, 1, 'B', 98, 1);
	const struct dp_ref_px bad[] = { { 99, 102, 0 }, { 0, 102, 1 }, { 99, 0, 1 }, { 103, 102, 1 } };
	for (unsigned i = 0; i < 4; i++) {
		ck_assert_uint_eq(new_ord(1, 10 + i, 3, 'S', DP_ORD_LIMIT, DP_TIF_DAY, 98, 1, 0, &bad[i]),
				  1);
		expect(0, DP_EXEC_REJECTED, DP_RJ_NO_REFERENCE, 10 + i, 0, 0);
		ck_assert_uint_eq(new_ord(1, 20 + i, 3, 'S', DP_ORD_LIMIT, DP_TIF_DAY, 110, 1, 0, &bad[i]),
				  1);
		expect(0, DP_EXEC_ACCEPTED, 0, 20 + i, 1, 0);
	}
	/* Locked reference is fine: band of one price. */
	ck_assert_uint_eq(new_ord(1, 30, 3, 'S', DP_ORD_LIMIT, DP_TIF_IOC, 98, 1, 0,
				  &(struct dp_ref_px){ 98, 98, 1 }),
			  3);
}
END_TEST

START_TEST(cancel_rules)
{
	lim(1, 1, 'B', 100, 5);
	ck_assert_uint_eq(cancel(1, 50, 1), 1);
	expect(0, DP_EXEC_CANCELLED, DP_RJ_NONE, 1, 0, 0);
	ck_assert_uint_eq(dp_match_live_orders(me), 0);
	ck_assert_uint_eq(dp_match_live_levels(me), 0);
	ck_assert_uint_eq(cancel(1, 51, 1), 1);
	expect(0, DP_EXEC_CANCEL_REJECTED, DP_RJ_UNKNOWN_ORDER, 51, 0, 0);
	ck_assert_uint_eq(rep[0].order_id, 0);
	lim(2, 1, 'B', 100, 5);
	ck_assert_uint_eq(cancel(2, 52, 2), 1); /* other session */
	expect(0, DP_EXEC_CANCEL_REJECTED, DP_RJ_UNKNOWN_ORDER, 52, 0, 0);
	struct dp_order_msg m = { .kind = DP_ORD_CANCEL, .symbol = 2, .session = 1,
				  .cl_ord_id = 53, .orig_cl_ord_id = 2 };
	send(&m, &WIDE); /* other symbol */
	expect(0, DP_EXEC_CANCEL_REJECTED, DP_RJ_UNKNOWN_ORDER, 53, 0, 0);
	/* filled orders are gone */
	lim(3, 2, 'S', 100, 5);
	ck_assert_uint_eq(cancel(1, 54, 2), 1);
	expect(0, DP_EXEC_CANCEL_REJECTED, DP_RJ_UNKNOWN_ORDER, 54, 0, 0);
	/* partially filled then cancelled: cum reported */
	lim(4, 1, 'B', 100, 5);
	lim(5, 2, 'S', 100, 2);
	cancel(1, 55, 4);
	expect(0, DP_EXEC_CANCELLED, DP_RJ_NONE, 4, 0, 2);
	ck_assert_uint_eq(rep[0].avg_px, 100);
}
END_TEST

START_TEST(replace_rules)
{
	struct dp_match_order_info oi;
	lim(1, 1, 'B', 100, 10);
	lim(2, 1, 'B', 100, 10);
	/* qty down keeps priority */
	ck_assert_uint_eq(replace(1, 11, 1, 100, 6, &WIDE), 1);
	expect(0, DP_EXEC_REPLACED, 0, 11, 6, 0);
	ck_assert_uint_eq(rep[0].last_px, 100);
	ck_assert(live(1, 11, &oi));
	ck_assert_uint_eq(oi.queue_pos, 0);
	ck_assert(!live(1, 1, NULL)); /* the old id is gone */
	ck_assert_uint_eq(replace(1, 12, 1, 100, 5, &WIDE), 1);
	expect(0, DP_EXEC_CANCEL_REJECTED, DP_RJ_UNKNOWN_ORDER, 12, 0, 0);
	/* replace of a replaced order uses the new id; qty up loses priority */
	ck_assert_uint_eq(replace(1, 13, 11, 100, 7, &WIDE), 1);
	ck_assert(live(1, 13, &oi));
	ck_assert_uint_eq(oi.queue_pos, 1);
	ck_assert_uint_eq(oi.leaves, 7);
	/* price change loses priority (even back to the same level later) */
	ck_assert_uint_eq(replace(1, 14, 2, 99, 10, &WIDE), 1);
	ck_assert_uint_eq(replace(1, 15, 14, 100, 10, &WIDE), 1);
	ck_assert(live(1, 15, &oi));
	ck_assert_uint_eq(oi.queue_pos, 1);
	ck_assert(live(1, 13, &oi));
	ck_assert_uint_eq(oi.queue_pos, 0);
	/* same id allowed; duplicate of another live id refused */
	ck_assert_uint_eq(replace(1, 15, 15, 100, 9, &WIDE), 1);
	expect(0, DP_EXEC_REPLACED, 0, 15, 9, 0);
	ck_assert_uint_eq(replace(1, 13, 15, 100, 8, &WIDE), 1);
	expect(0, DP_EXEC_CANCEL_REJECTED, DP_RJ_DUPLICATE_ID, 13, 9, 0);
	/* invalid replaces leave the order alone */
	ck_assert_uint_eq(replace(1, 16, 15, 0, 8, &WIDE), 1);
	expect(0, DP_EXEC_CANCEL_REJECTED, DP_RJ_BAD_PRICE, 16, 9, 0);
	ck_assert_uint_eq(replace(1, 16, 15, 100, 0, &WIDE), 1);
	expect(0, DP_EXEC_CANCEL_REJECTED, DP_RJ_BAD_QTY, 16, 9, 0);
	struct dp_order_msg mm = { .kind = DP_ORD_REPLACE, .type = DP_ORD_MARKET, .symbol = 1,
				   .session = 1, .cl_ord_id = 16, .orig_cl_ord_id = 15, .qty = 5 };
	send(&mm, &WIDE);
	expect(0, DP_EXEC_CANCEL_REJECTED, DP_RJ_BAD_TYPE, 16, 9, 0);
	/* partial fill, then qty down to <= cum: the rest is cancelled */
	lim(20, 2, 'S', 100, 4); /* hits 13 (7) */
	ck_assert(live(1, 13, &oi));
	ck_assert_uint_eq(oi.cum, 4);
	ck_assert_uint_eq(replace(1, 21, 13, 100, 4, &WIDE), 1);
	expect(0, DP_EXEC_CANCELLED, DP_RJ_NONE, 21, 0, 4);
	ck_assert(!live(1, 13, NULL));
	ck_assert(!live(1, 21, NULL));
	/* qty down above cum keeps leaves = qty - cum */
	lim(22, 2, 'S', 100, 3); /* hits 15 (9) */
	ck_assert_uint_eq(replace(1, 23, 15, 100, 5, &WIDE), 1);
	expect(0, DP_EXEC_REPLACED, 0, 23, 2, 3);
	/* replace to a marketable price trades on arrival */
	lim(24, 2, 'S', 101, 5);
	ck_assert_uint_eq(replace(1, 25, 23, 101, 6, &WIDE), 1 + 2);
	expect(0, DP_EXEC_REPLACED, 0, 25, 3, 3);
	ck_assert_uint_eq(rep[0].last_px, 101);
	expect_fill(1, 25, 24, 101, 3);
	ck_assert_uint_eq(rep[1].avg_px, 101); /* (3*100 + 3*101) / 6 = 100.5 -> 101 */
	ck_assert_uint_eq(rep[1].leaves_qty, 0);
	/* marketable replace with no reference: refused, order unchanged */
	lim(26, 1, 'B', 100, 5);
	ck_assert_uint_eq(replace(1, 27, 26, 101, 5, &NOREF), 1);
	expect(0, DP_EXEC_CANCEL_REJECTED, DP_RJ_NO_REFERENCE, 27, 5, 0);
	ck_assert(live(1, 26, NULL));
	/* non-marketable replace needs no reference */
	ck_assert_uint_eq(replace(1, 28, 26, 99, 5, &NOREF), 1);
	expect(0, DP_EXEC_REPLACED, 0, 28, 5, 0);
}
END_TEST

static uint32_t mass(uint8_t scope, uint32_t acct, uint32_t sess, uint16_t sym)
{
	struct dp_order_msg m = { .kind = DP_ORD_MASS_CANCEL, .mass = scope, .account = acct,
				  .session = sess, .symbol = sym, .cl_ord_id = 999 };
	return send(&m, &WIDE);
}

static void add_sym(uint16_t sym, uint32_t sess, uint64_t cl, uint32_t acct, char side,
		    uint32_t px)
{
	struct dp_order_msg m = { .kind = DP_ORD_NEW, .type = DP_ORD_LIMIT, .tif = DP_TIF_DAY,
				  .side = side, .symbol = sym, .account = acct, .session = sess,
				  .cl_ord_id = cl, .price = px, .qty = 1 };
	send(&m, &WIDE);
	ck_assert_uint_eq(rep[0].kind, DP_EXEC_ACCEPTED);
}

START_TEST(mass_cancel_scopes)
{
	uint64_t cl = 1;
	for (uint16_t sym = 1; sym <= 3; sym++)
		for (uint32_t sess = 0; sess < 3; sess++)
			for (uint32_t acct = 1; acct <= 2; acct++) {
				add_sym(sym, sess, cl++, acct, 'B', 100 + sess);
				add_sym(sym, sess, cl++, acct, 'S', 200 + acct);
			}
	ck_assert_uint_eq(dp_match_live_orders(me), 36);
	ck_assert_uint_eq(mass(DP_MASS_ACCOUNT, 1, 0, 0), 18);
	for (uint32_t i = 0; i < nrep; i++) {
		ck_assert_uint_eq(rep[i].kind, DP_EXEC_CANCELLED);
		ck_assert_uint_eq(rep[i].reason, DP_RJ_NONE); /* a client's mass cancel */
		ck_assert_uint_eq(rep[i].account, 1);
	}
	ck_assert_uint_eq(mass(DP_MASS_SESSION, 0, 2, 0), 6);
	for (uint32_t i = 0; i < nrep; i++)
		ck_assert_uint_eq(rep[i].session, 2);
	ck_assert_uint_eq(mass(DP_MASS_SYMBOL, 0, 0, 2), 4);
	for (uint32_t i = 0; i < nrep; i++)
		ck_assert_uint_eq(rep[i].symbol, 2);
	ck_assert_uint_eq(dp_match_symbol_orders(me, 2), 0);
	ck_assert_uint_eq(mass(DP_MASS_SYMBOL, 0, 0, 2), 0);
	ck_assert_uint_eq(mass(DP_MASS_ALL, 0, 0, 0), 8);
	ck_assert_uint_eq(dp_match_live_orders(me), 0);
	ck_assert_uint_eq(dp_match_live_levels(me), 0);
	ck_assert_uint_eq(mass(9, 0, 0, 0), 1);
	expect(0, DP_EXEC_CANCEL_REJECTED, DP_RJ_BAD_TYPE, 999, 0, 0);
	ck_assert_uint_eq(mass(DP_MASS_SYMBOL, 0, 0, 16), 1);
	expect(0, DP_EXEC_CANCEL_REJECTED, DP_RJ_UNKNOWN_SYMBOL, 999, 0, 0);
}
END_TEST

/*
 * The mass cancel a kill switch makes (dp_risk_kill sets DP_ORD_F_KILL)
 * gives CANCELLED reports with reason DP_RJ_KILL_SWITCH, also when it
 * pauses and resumes; the same scope without the flag gives NONE.
 */
START_TEST(kill_switch_cancels)
{
	for (uint64_t i = 0; i < 12; i++)
		lim(1 + i, i < 8 ? 1 : 2, 'S', 100 + (uint32_t)(i % 3), 1);
	struct dp_order_msg m = { .kind = DP_ORD_MASS_CANCEL, .flags = DP_ORD_F_KILL,
				  .mass = DP_MASS_ACCOUNT, .account = 1 };
	struct dp_exec_report all[64];
	uint32_t n = dp_match_process(me, &m, NULL, all, DP_MATCH_MIN_CAP);
	ck_assert(dp_match_pending(me)); /* 8 cancels do not fit in 4 slots */
	while (dp_match_pending(me))
		n += dp_match_resume(me, all + n, DP_MATCH_MIN_CAP);
	ck_assert_uint_eq(n, 8);
	for (uint32_t i = 0; i < n; i++) {
		ck_assert_uint_eq(all[i].kind, DP_EXEC_CANCELLED);
		ck_assert_uint_eq(all[i].reason, DP_RJ_KILL_SWITCH);
		ck_assert_uint_eq(all[i].account, 1);
		ck_assert_uint_eq(all[i].leaves_qty, 0);
	}
	ck_assert_str_eq(dp_match_reason_text(DP_RJ_KILL_SWITCH), "kill switch");
	ck_assert_int_eq(dp_match_check(me), 0);
	/* a later mass cancel without the flag is a client's: reason NONE */
	lim(100, 1, 'S', 100, 1);
	ck_assert_uint_eq(mass(DP_MASS_ALL, 0, 0, 0), 5);
	for (uint32_t i = 0; i < nrep; i++)
		ck_assert_uint_eq(rep[i].reason, DP_RJ_NONE);
	/* and a kill of everything after it still says why */
	lim(101, 3, 'B', 90, 1);
	m = (struct dp_order_msg){ .kind = DP_ORD_MASS_CANCEL, .flags = DP_ORD_F_KILL,
				   .mass = DP_MASS_ALL };
	ck_assert_uint_eq(send(&m, NULL), 1);
	expect(0, DP_EXEC_CANCELLED, DP_RJ_KILL_SWITCH, 101, 0, 0);
	ck_assert_uint_eq(dp_match_live_orders(me), 0);
}
END_TEST

START_TEST(stp_modes)
{
	/* default: cancel newest */
	lim(1, 7, 'S', 100, 5);
	lim(2, 8, 'S', 100, 5);
	ck_assert_uint_eq(lim(3, 7, 'B', 100, 5), 2);
	expect(1, DP_EXEC_CANCELLED, DP_RJ_STP, 3, 0, 0);
	ck_assert(live(1, 1, NULL));
	/* cancel oldest: resting self order cancelled, matching goes on */
	ck_assert_int_eq(dp_match_set_stp(me, 7, DP_STP_CANCEL_OLDEST), 0);
	ck_assert_uint_eq(dp_match_get_stp(me, 7), DP_STP_CANCEL_OLDEST);
	ck_assert_uint_eq(lim(4, 7, 'B', 100, 5), 1 + 1 + 2);
	expect(1, DP_EXEC_CANCELLED, DP_RJ_STP, 1, 0, 0);
	expect_fill(2, 4, 2, 100, 5);
	/* cancel both */
	ck_assert_int_eq(dp_match_set_stp(me, 7, DP_STP_CANCEL_BOTH), 0);
	lim(5, 8, 'S', 100, 2);
	lim(6, 7, 'S', 100, 5);
	lim(7, 8, 'S', 100, 5);
	ck_assert_uint_eq(lim(8, 7, 'B', 100, 10), 1 + 2 + 2);
	expect_fill(1, 8, 5, 100, 2);
	expect(3, DP_EXEC_CANCELLED, DP_RJ_STP, 6, 0, 0);
	expect(4, DP_EXEC_CANCELLED, DP_RJ_STP, 8, 0, 2);
	ck_assert(live(1, 7, NULL));
	/* none: self trades allowed */
	ck_assert_int_eq(dp_match_set_stp(me, 8, DP_STP_NONE), 0);
	ck_assert_uint_eq(lim(9, 8, 'B', 100, 5), 3);
	expect_fill(1, 9, 7, 100, 5);
	ck_assert_int_eq(dp_match_set_stp(me, 8, 9), -EINVAL);
	/* FOK and STP: cancel-newest blocks, cancel-oldest skips */
	ck_assert_int_eq(dp_match_set_stp(me, 7, DP_STP_CANCEL_NEWEST), 0);
	lim(10, 7, 'S', 100, 5);
	lim(11, 9, 'S', 100, 5);
	ck_assert_uint_eq(new_ord(1, 12, 7, 'B', DP_ORD_LIMIT, DP_TIF_FOK, 100, 5, 0, &WIDE), 1);
	expect(0, DP_EXEC_REJECTED, DP_RJ_FOK_NOT_FILLABLE, 12, 0, 0);
	ck_assert(live(1, 10, NULL));
	ck_assert_int_eq(dp_match_set_stp(me, 7, DP_STP_CANCEL_OLDEST), 0);
	ck_assert_uint_eq(new_ord(1, 13, 7, 'B', DP_ORD_LIMIT, DP_TIF_FOK, 100, 5, 0, &WIDE), 4);
	expect(1, DP_EXEC_CANCELLED, DP_RJ_STP, 10, 0, 0);
	expect_fill(2, 13, 11, 100, 5);
	/* the STP table has a size */
	for (uint32_t a = 100; a < 200; a++) {
		int rc = dp_match_set_stp(me, a, DP_STP_NONE);
		if (rc) {
			ck_assert_int_eq(rc, -ENOSPC);
			break;
		}
	}
	ck_assert_int_eq(dp_match_set_stp(me, 7, DP_STP_CANCEL_BOTH), 0); /* existing: fine */
}
END_TEST

START_TEST(invalid_messages)
{
	struct {
		struct dp_order_msg m;
		uint8_t kind, reason;
	} cases[] = {
		{ { .kind = DP_ORD_NEW, .type = 1, .tif = 1, .side = 'X', .symbol = 1, .qty = 1, .price = 1 },
		  DP_EXEC_REJECTED, DP_RJ_BAD_SIDE },
		{ { .kind = DP_ORD_NEW, .type = 1, .tif = 1, .side = 'B', .symbol = 1, .qty = 0, .price = 1 },
		  DP_EXEC_REJECTED, DP_RJ_BAD_QTY },
		{ { .kind = DP_ORD_NEW, .type = 1, .tif = 1, .side = 'B', .symbol = 1, .qty = 1, .price = 0 },
		  DP_EXEC_REJECTED, DP_RJ_BAD_PRICE },
		{ { .kind = DP_ORD_NEW, .type = 3, .tif = 1, .side = 'B', .symbol = 1, .qty = 1, .price = 1 },
		  DP_EXEC_REJECTED, DP_RJ_BAD_TYPE },
		{ { .kind = DP_ORD_NEW, .type = 1, .tif = 0, .side = 'B', .symbol = 1, .qty = 1, .price = 1 },
		  DP_EXEC_REJECTED, DP_RJ_BAD_TIF },
		{ { .kind = DP_ORD_NEW, .type = 1, .tif = 4, .side = 'B', .symbol = 1, .qty = 1, .price = 1 },
		  DP_EXEC_REJECTED, DP_RJ_BAD_TIF },
		{ { .kind = DP_ORD_NEW, .type = 1, .tif = 1, .side = 'B', .symbol = 16, .qty = 1, .price = 1 },
		  DP_EXEC_REJECTED, DP_RJ_UNKNOWN_SYMBOL },
		{ { .kind = DP_ORD_NEW, .type = 1, .tif = 1, .side = 'B', .symbol = 1, .session = 8, .qty = 1,
		    .price = 1 },
		  DP_EXEC_REJECTED, DP_RJ_RISK_UNKNOWN_ACCOUNT },
		{ { .kind = 9 }, DP_EXEC_REJECTED, DP_RJ_BAD_TYPE },
		{ { .kind = 0 }, DP_EXEC_REJECTED, DP_RJ_BAD_TYPE },
	};
	for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		ck_assert_uint_eq(send(&cases[i].m, &WIDE), 1);
		ck_assert_uint_eq(rep[0].kind, cases[i].kind);
		ck_assert_uint_eq(rep[0].reason, cases[i].reason);
		ck_assert_uint_eq(rep[0].order_id, 0);
	}
	ck_assert_uint_eq(dp_match_live_orders(me), 0);
	/* duplicate live id in the same session; other session is fine */
	lim(1, 1, 'B', 100, 1);
	ck_assert_uint_eq(lim(1, 1, 'B', 100, 1), 1);
	expect(0, DP_EXEC_REJECTED, DP_RJ_DUPLICATE_ID, 1, 0, 0);
	ck_assert_uint_eq(new_ord(2, 1, 1, 'B', DP_ORD_LIMIT, DP_TIF_DAY, 100, 1, 0, &WIDE), 1);
	expect(0, DP_EXEC_ACCEPTED, 0, 1, 1, 0);
	ck_assert_uint_eq(dp_match_stats(me)->rejected[DP_RJ_DUPLICATE_ID], 1);
	ck_assert_str_eq(dp_match_reason_text(DP_RJ_STP), "self-trade prevention");
	ck_assert_str_eq(dp_match_reason_text(200), "unknown");
	/* too small a cap: refused, not consumed */
	struct dp_order_msg m = cases[0].m;
	ck_assert_uint_eq(dp_match_process(me, &m, &WIDE, rep, DP_MATCH_MIN_CAP - 1), 0);
	ck_assert_uint_eq(dp_match_stats(me)->misuse, 1);
}
END_TEST

/*
 * A fully filled resting order leaves the order table a few fills later
 * (tab_defer): until then its id must be unknown to cancels, free for a
 * new order or a replace to take, and dp_match_check() counts the entries
 * still waiting. Six fills in one call go past the ring of four.
 */
START_TEST(filled_ids_leave_the_table)
{
	for (uint64_t cl = 1; cl <= 6; cl++)
		ck_assert_uint_eq(lim(cl, 1, 'S', 100, 10), 1);
	ck_assert_uint_eq(lim(100, 2, 'B', 100, 60), 1 + 2 * 6);
	for (uint64_t cl = 1; cl <= 6; cl++) {
		ck_assert(!live(1, cl, NULL));
		ck_assert_uint_eq(cancel(1, 200 + cl, cl), 1);
		expect(0, DP_EXEC_CANCEL_REJECTED, DP_RJ_UNKNOWN_ORDER, 200 + cl, 0, 0);
	}
	/* the id of a filled order again: a new order, then a replace's new id */
	ck_assert_uint_eq(lim(6, 1, 'S', 101, 5), 1);
	expect(0, DP_EXEC_ACCEPTED, DP_RJ_NONE, 6, 5, 0);
	struct dp_match_order_info oi;
	ck_assert(live(1, 6, &oi));
	ck_assert_uint_eq(oi.price, 101);
	ck_assert_uint_eq(lim(7, 1, 'S', 100, 10), 1);
	ck_assert_uint_eq(lim(101, 2, 'B', 100, 10), 3); /* fills 7 */
	ck_assert(!live(1, 7, NULL));
	ck_assert_uint_eq(lim(8, 1, 'S', 102, 10), 1);
	ck_assert_uint_eq(replace(1, 7, 8, 103, 10, &WIDE), 1);
	expect(0, DP_EXEC_REPLACED, DP_RJ_NONE, 7, 10, 0);
	ck_assert(live(1, 7, &oi));
	ck_assert_uint_eq(oi.price, 103);
	ck_assert(!live(1, 8, NULL));
	ck_assert_uint_eq(cancel(1, 300, 7), 1);
	expect(0, DP_EXEC_CANCELLED, DP_RJ_NONE, 7, 0, 0);
	ck_assert_uint_eq(cancel(1, 301, 6), 1);
	expect(0, DP_EXEC_CANCELLED, DP_RJ_NONE, 6, 0, 0);
	ck_assert(!live(1, 6, NULL) && !live(1, 7, NULL));
}
END_TEST

/*
 * The same key again while its filled order's entry still waits, with the
 * filled order's very record (the LIFO hands it back): the new order
 * crosses, so its remainder is indexed after the fills (tab_insert), and
 * it must get an entry of its own, not the waiting one, which four more
 * fills then erase. The order must stay live, found and cancellable.
 */
START_TEST(same_key_reindexed_while_waiting)
{
	ck_assert_uint_eq(lim(1, 1, 'S', 100, 10), 1);  /* A = (1, 1) */
	ck_assert_uint_eq(lim(2, 3, 'S', 101, 5), 1);   /* B */
	ck_assert_uint_eq(lim(50, 2, 'B', 100, 10), 3); /* fills A: its entry waits */
	ck_assert_uint_eq(lim(3, 4, 'S', 105, 1), 1);   /* takes the aggressor's record */
	/* (1, 1) again, on A's record: takes B, rests 15 at 101 */
	ck_assert_uint_eq(lim(1, 2, 'B', 101, 20), 3);
	struct dp_match_order_info oi;
	ck_assert(live(1, 1, &oi));
	ck_assert_uint_eq(oi.price, 101);
	/* four fills on another symbol: the ring wraps, A's and B's entries go */
	for (uint64_t cl = 60; cl < 64; cl++) {
		struct dp_order_msg m = { .kind = DP_ORD_NEW, .type = DP_ORD_LIMIT,
					  .tif = DP_TIF_DAY, .side = 'S', .symbol = 2,
					  .account = 5, .session = 2, .cl_ord_id = cl,
					  .price = 200, .qty = 1 };
		ck_assert_uint_eq(send(&m, &WIDE), 1);
	}
	struct dp_order_msg sweep = { .kind = DP_ORD_NEW, .type = DP_ORD_LIMIT, .tif = DP_TIF_IOC,
				      .side = 'B', .symbol = 2, .account = 6, .session = 2,
				      .cl_ord_id = 70, .price = 200, .qty = 4 };
	ck_assert_uint_eq(send(&sweep, &WIDE), 1 + 2 * 4);
	ck_assert(live(1, 1, &oi));
	ck_assert_uint_eq(oi.price, 101);
	ck_assert_uint_eq(cancel(1, 99, 1), 1);
	expect(0, DP_EXEC_CANCELLED, DP_RJ_NONE, 1, 0, 5);
	ck_assert(!live(1, 1, NULL));
}
END_TEST

START_TEST(pools_full)
{
	teardown();
	mk(4, 2, DP_STP_NONE);
	lim(1, 1, 'B', 100, 1);
	lim(2, 1, 'B', 101, 1);
	/* no third level */
	ck_assert_uint_eq(lim(3, 1, 'B', 102, 1), 2);
	expect(1, DP_EXEC_CANCELLED, DP_RJ_BOOK_FULL, 3, 0, 0);
	lim(4, 1, 'B', 100, 1);
	lim(5, 1, 'B', 100, 1);
	/* four orders: pool full, rejected before anything */
	ck_assert_uint_eq(lim(6, 1, 'S', 100, 1), 1);
	expect(0, DP_EXEC_REJECTED, DP_RJ_BOOK_FULL, 6, 0, 0);
	cancel(1, 7, 1);
	ck_assert_uint_eq(lim(8, 2, 'S', 101, 1), 3);
}
END_TEST

START_TEST(replace_book_full)
{
	/* two levels: a priority-losing replace to a third price finds no level */
	teardown();
	mk(8, 2, DP_STP_NONE);
	lim(1, 1, 'B', 100, 5);
	lim(2, 1, 'B', 100, 5);
	lim(3, 1, 'B', 101, 5);
	ck_assert_uint_eq(replace(1, 4, 1, 102, 5, &WIDE), 2); /* a new id */
	expect(0, DP_EXEC_REPLACED, 0, 4, 5, 0);
	expect(1, DP_EXEC_CANCELLED, DP_RJ_BOOK_FULL, 4, 0, 0);
	ck_assert(!live(1, 1, NULL));
	ck_assert(!live(1, 4, NULL));
	lim(6, 1, 'B', 100, 5); /* level 100 stays when 2 leaves it */
	ck_assert_uint_eq(replace(1, 2, 2, 99, 5, &WIDE), 2); /* the same id */
	expect(1, DP_EXEC_CANCELLED, DP_RJ_BOOK_FULL, 2, 0, 0);
	ck_assert(!live(1, 2, NULL));
	ck_assert_uint_eq(dp_match_live_orders(me), 2);
	/* the ids are free again */
	ck_assert_uint_eq(lim(4, 1, 'B', 101, 1), 1);
	ck_assert_uint_eq(lim(2, 1, 'B', 101, 1), 1);
	/* in place (same price, qty down), new id then same id: the table follows */
	ck_assert_uint_eq(replace(1, 5, 4, 101, 1, &WIDE), 1);
	expect(0, DP_EXEC_REPLACED, 0, 5, 1, 0);
	ck_assert(live(1, 5, NULL));
	ck_assert(!live(1, 4, NULL));
	ck_assert_uint_eq(replace(1, 5, 5, 101, 1, &WIDE), 1);
	ck_assert(live(1, 5, NULL));
	ck_assert_uint_eq(dp_match_live_orders(me), 4);
}
END_TEST

START_TEST(pause_and_resume)
{
	teardown();
	mk(1000, 1000, DP_STP_NONE);
	for (uint64_t i = 0; i < 100; i++)
		lim(1 + i, 1, 'S', 100 + (uint32_t)(i % 7), 1);
	struct dp_order_msg m = { .kind = DP_ORD_NEW, .type = DP_ORD_LIMIT, .tif = DP_TIF_IOC,
				  .side = 'B', .symbol = 1, .account = 2, .session = 1,
				  .cl_ord_id = 1000, .price = 200, .qty = 150 };
	struct dp_exec_report all[512];
	uint32_t n = dp_match_process(me, &m, &WIDE, all, DP_MATCH_MIN_CAP);
	ck_assert_uint_le(n, DP_MATCH_MIN_CAP);
	ck_assert(dp_match_pending(me));
	/* a message while paused is refused */
	ck_assert_uint_eq(dp_match_process(me, &m, &WIDE, rep, 64), 0);
	while (dp_match_pending(me)) {
		uint32_t k = dp_match_resume(me, all + n, 5);
		ck_assert_uint_le(k, 5);
		n += k;
	}
	ck_assert_int_eq(dp_match_check(me), 0);
	ck_assert_uint_eq(n, 1 + 200 + 1);
	ck_assert_uint_eq(all[n - 1].kind, DP_EXEC_CANCELLED);
	ck_assert_uint_eq(all[n - 1].cum_qty, 100);
	ck_assert_uint_eq(all[n - 2].cl_ord_id, 98); /* last fill: tail of the 106 level */
	for (uint32_t i = 1; i < n; i++)
		ck_assert_uint_gt(all[i].exec_id, all[i - 1].exec_id);
	ck_assert_uint_gt(dp_match_stats(me)->pauses, 0);
	/* mass cancel pauses too */
	for (uint64_t i = 0; i < 50; i++)
		lim(2000 + i, 1, 'S', 300, 1);
	m = (struct dp_order_msg){ .kind = DP_ORD_MASS_CANCEL, .mass = DP_MASS_ALL };
	n = dp_match_process(me, &m, NULL, all, 4);
	while (dp_match_pending(me))
		n += dp_match_resume(me, all + n, 4);
	ck_assert_uint_eq(n, 50);
	ck_assert_uint_eq(dp_match_live_orders(me), 0);
	ck_assert_uint_eq(dp_match_resume(me, all, 4), 0);
}
END_TEST

/*
 * Price ladders (levels near the touch found by index, the rest in the
 * sorted array): the window moving up and down, keys above and below it,
 * prices at the ends of the range, the cent grid with sub-penny prices in
 * between, and sides past the ladder pool. A small model of one symbol's
 * levels (price -> qty) is compared with dp_match_depth after every
 * message; send() runs dp_match_check, which checks ladder and array.
 */
#define MLV 4096
static uint32_t mpx[2][MLV];
static uint64_t mqty[2][MLV];
static int mn[2];

static void model_add(int side, uint32_t px, int64_t q)
{
	for (int i = 0; i < mn[side]; i++)
		if (mpx[side][i] == px) {
			mqty[side][i] = (uint64_t)((int64_t)mqty[side][i] + q);
			if (mqty[side][i] == 0) {
				mpx[side][i] = mpx[side][mn[side] - 1];
				mqty[side][i] = mqty[side][mn[side] - 1];
				mn[side]--;
			}
			return;
		}
	ck_assert_int_gt(q, 0);
	mpx[side][mn[side]] = px;
	mqty[side][mn[side]++] = (uint64_t)q;
}

static void model_check(uint16_t sym)
{
	static struct dp_match_level lv[MLV];
	for (int side = 0; side < 2; side++) {
		int n = dp_match_depth(me, sym, side, lv, MLV);
		ck_assert_int_eq(n, mn[side]);
		for (int i = 0; i < n; i++) {
			if (i)
				ck_assert(side == DP_MATCH_BID ? lv[i - 1].price > lv[i].price
							       : lv[i - 1].price < lv[i].price);
			int j = 0;
			while (j < mn[side] && mpx[side][j] != lv[i].price)
				j++;
			ck_assert_int_lt(j, mn[side]);
			ck_assert_uint_eq(lv[i].qty, mqty[side][j]);
			/* each level is found again by price */
			struct dp_match_order_info oi[1];
			ck_assert_int_eq(dp_match_level_orders(me, sym, side, lv[i].price, oi, 1), 1);
			ck_assert_uint_eq(oi[0].price, lv[i].price);
		}
	}
}

static const struct dp_ref_px FULL = { 1, 0xffffffffu, 1 };

/* A passive DAY order on symbol 1 (it must not cross). */
static void rest1(uint64_t cl, char side, uint32_t px, uint32_t qty)
{
	ck_assert_uint_eq(new_ord(1, cl, (uint32_t)cl, side, DP_ORD_LIMIT, DP_TIF_DAY, px, qty, 0,
				  &FULL), 1);
	expect(0, DP_EXEC_ACCEPTED, 0, cl, qty, 0);
	model_add(side == 'B' ? DP_MATCH_BID : DP_MATCH_ASK, px, qty);
	model_check(1);
}

/*
 * An IOC taking qty from side `side` up to limit: the fills must come best
 * price first; the model loses what they took. Returns the shares taken.
 */
static uint64_t take(uint64_t cl, int side, uint32_t limit, uint32_t qty) /* account 0: no STP */
{
	new_ord(1, cl, 0, side == DP_MATCH_BID ? 'S' : 'B', DP_ORD_LIMIT, DP_TIF_IOC, limit, qty,
		0, &FULL);
	uint32_t prev = 0;
	uint64_t got = 0;
	for (uint32_t i = 1; i + 1 < nrep && rep[i].kind == DP_EXEC_FILL; i += 2) {
		if (i > 1)
			ck_assert(side == DP_MATCH_BID ? rep[i].last_px <= prev : rep[i].last_px >= prev);
		prev = rep[i].last_px;
		got += rep[i].last_qty;
		model_add(side, rep[i].last_px, -(int64_t)rep[i].last_qty);
	}
	model_check(1);
	return got;
}

/* Take all of side `side`. */
static void sweep(uint64_t cl, int side, uint32_t limit)
{
	uint64_t total = 0;
	for (int i = 0; i < mn[side]; i++)
		total += mqty[side][i];
	ck_assert_uint_gt(total, 0);
	ck_assert_uint_eq(take(cl, side, limit, (uint32_t)total), total);
	ck_assert_int_eq(mn[side], 0);
}

START_TEST(ladder_window_moves)
{
	mn[0] = mn[1] = 0;
	uint64_t cl = 1;
	for (uint32_t p = 1000; p < 1010; p++)
		rest1(cl++, 'B', p, 10); /* the ladder centres on 1000 */
	for (uint32_t p = 1040; p < 1050; p++)
		rest1(cl++, 'B', p, 10); /* above the window: array, then a rebase */
	rest1(cl++, 'B', 500, 10);       /* deep: the array */
	rest1(cl++, 'B', 880, 10);
	rest1(cl++, 'B', 1049, 5);       /* joins a level */
	for (uint32_t p = 1200; p < 1400; p += 7)
		rest1(cl++, 'B', p, 3); /* the touch runs away upwards */
	for (uint32_t p = 1100; p > 1000; p -= 3)
		rest1(cl++, 'B', p, 2);
	/* cancel the best levels one by one: the best moves down through ladder and array */
	for (uint64_t c = cl - 1; c > 20; c--) {
		struct dp_match_order_info oi;
		if (!live(1, c, &oi))
			continue;
		cancel(1, 100000 + c, c);
		expect(0, DP_EXEC_CANCELLED, 0, c, 0, 0);
		model_add(DP_MATCH_BID, oi.price, -(int64_t)oi.leaves);
		model_check(1);
	}
	sweep(cl++, DP_MATCH_BID, 1);
	ck_assert_uint_eq(dp_match_live_levels(me), 0);
	/* the touch falling: bids taken and placed lower, 3 ticks a step, 400 steps */
	uint32_t px = 100000;
	for (int k = 0; k < 400; k++, px -= 3) {
		rest1(cl++, 'B', px, 1);
		rest1(cl++, 'B', px - 2, 1);
		if (k % 2)
			ck_assert_uint_eq(take(cl++, DP_MATCH_BID, px - 2, 3), 3);
	}
	sweep(cl++, DP_MATCH_BID, 1);
	/* asks: the same both ways */
	for (uint32_t p = 2000; p < 2300; p += 5)
		rest1(cl++, 'S', p, 4);
	for (uint32_t p = 1999; p > 1500; p -= 11)
		rest1(cl++, 'S', p, 4);
	rest1(cl++, 'B', 1400, 1);
	sweep(cl++, DP_MATCH_ASK, 3000);
	ck_assert_uint_eq(dp_match_live_orders(me), 1);
}
END_TEST

START_TEST(ladder_far_prices)
{
	mn[0] = mn[1] = 0;
	uint64_t cl = 1;
	/* both ends of the key space, on both sides */
	rest1(cl++, 'B', 1, 1);
	rest1(cl++, 'B', 2, 1);
	rest1(cl++, 'B', 200, 1);
	rest1(cl++, 'S', 0xffffffffu, 1);
	rest1(cl++, 'S', 0xfffffffeu, 1);
	rest1(cl++, 'S', 0xffffff00u, 1);
	rest1(cl++, 'S', 3000, 1);
	rest1(cl++, 'B', 2999, 1);
	ck_assert_uint_eq(take(cl++, DP_MATCH_ASK, 3000, 1), 1);
	for (int k = 0; k < 50; k++) { /* far apart, alternating */
		rest1(cl++, 'S', 4000 + (uint32_t)k * 100000, 1);
		rest1(cl++, 'S', 0xfffff000u - (uint32_t)k * 300, 1);
		rest1(cl++, 'B', 2998 - (uint32_t)k * 50, 1);
	}
	sweep(cl++, DP_MATCH_ASK, 0xffffffffu);
	rest1(cl++, 'B', 0xffffffffu, 1);
	rest1(cl++, 'B', 0xfffffffeu, 1);
	rest1(cl++, 'B', 0xfffffe00u, 1);
	sweep(cl++, DP_MATCH_BID, 1);
}
END_TEST

START_TEST(ladder_cent_grid)
{
	mn[0] = mn[1] = 0;
	uint64_t cl = 1;
	/* whole cents (Price(4) multiples of 100): a ladder of one-cent ticks */
	for (uint32_t c = 0; c < 60; c++)
		rest1(cl++, 'B', 541500 - 100 * c, 2);
	for (uint32_t c = 1; c < 60; c++)
		rest1(cl++, 'S', 541500 + 100 * c, 2);
	/* sub-penny prices between and above: off the grid, in the array */
	rest1(cl++, 'B', 541450, 1);
	rest1(cl++, 'B', 541550, 1); /* better than the ladder's best */
	rest1(cl++, 'S', 541599, 1); /* better than the ask ladder's best */
	rest1(cl++, 'S', 548001, 1);
	/* cents far from the window, then the touch moving a dollar up */
	rest1(cl++, 'B', 500000, 1);
	rest1(cl++, 'B', 541500, 3); /* joins the ladder's best */
	sweep(cl++, DP_MATCH_ASK, 600000);
	for (uint32_t c = 1; c <= 100; c++)
		rest1(cl++, 'B', 541500 + 1000 * c, 1);
	sweep(cl++, DP_MATCH_BID, 1);
	ck_assert_uint_eq(dp_match_live_orders(me), 0);
	ck_assert_uint_eq(dp_match_live_levels(me), 0);
}
END_TEST

START_TEST(ladder_pool_runs_out)
{
	/* 2 * 2100 sides, more than the engine's ladders: the last sides use the array alone */
	teardown();
	struct dp_match_cfg cfg = { .max_orders = 20000, .max_levels = 20000, .max_symbols = 2100,
				    .max_sessions = 8, .max_accounts = 16,
				    .stp_default = DP_STP_NONE };
	ck_assert_int_eq(dp_match_create(&me, &cfg, NULL), 0);
	uint64_t cl = 1;
	for (uint16_t sym = 0; sym < 2100; sym++) /* (dp_match_check once, it is slow) */
		for (int side = 0; side < 2; side++) {
			struct dp_order_msg m = { .kind = DP_ORD_NEW, .type = DP_ORD_LIMIT,
						  .tif = DP_TIF_DAY, .side = side ? 'S' : 'B',
						  .symbol = sym, .account = 1, .session = 1,
						  .cl_ord_id = cl++, .price = (side ? 5000u : 1000u) + sym,
						  .qty = 1 };
			ck_assert_uint_eq(dp_match_process(me, &m, &WIDE, rep, 16), 1);
			ck_assert_uint_eq(rep[0].kind, DP_EXEC_ACCEPTED);
		}
	ck_assert_int_eq(dp_match_check(me), 0);
	for (uint16_t sym = 2090; sym < 2100; sym++) {
		for (uint32_t k = 1; k <= 20; k++) {
			add_sym(sym, 1, cl++, 1, 'B', 1000 + sym - 7 * k);
			add_sym(sym, 1, cl++, 1, 'S', 5000 + sym + 300 * k);
		}
		struct dp_match_level lv[32];
		ck_assert_int_eq(dp_match_depth(me, sym, DP_MATCH_BID, lv, 32), 21);
		ck_assert_uint_eq(lv[0].price, 1000u + sym);
		ck_assert_uint_eq(lv[20].price, 1000u + sym - 140);
		ck_assert_int_eq(dp_match_depth(me, sym, DP_MATCH_ASK, lv, 32), 21);
		ck_assert_uint_eq(lv[20].price, 5000u + sym + 6000);
		struct dp_order_msg m = { .kind = DP_ORD_NEW, .type = DP_ORD_LIMIT, .tif = DP_TIF_IOC,
					  .side = 'S', .symbol = sym, .account = 2, .session = 2,
					  .cl_ord_id = cl++, .price = 1, .qty = 100 };
		send(&m, &WIDE);
		ck_assert_uint_eq(nrep, 1 + 2 * 21 + 1);
		ck_assert_uint_eq(rep[1].last_px, 1000u + sym);
		ck_assert_uint_eq(rep[41].last_px, 1000u + sym - 140);
	}
	struct dp_order_msg all = { .kind = DP_ORD_MASS_CANCEL, .mass = DP_MASS_ALL, .cl_ord_id = 9 };
	uint32_t n = dp_match_process(me, &all, &WIDE, rep, 4096);
	while (dp_match_pending(me))
		n += dp_match_resume(me, rep, 4096);
	ck_assert_uint_eq(n, 2 * 2090 + 10 * 21);
	ck_assert_uint_eq(dp_match_live_levels(me), 0);
	ck_assert_int_eq(dp_match_check(me), 0);
}
END_TEST

static int nalloc, nfree, fail_at;
static void *t_zalloc(size_t size, void *arg)
{
	(void)arg;
	if (++nalloc == fail_at)
		return NULL;
	void *p = NULL;
	if (posix_memalign(&p, 64, size ? size : 64))
		return NULL;
	memset(p, 0, size);
	return p;
}
static void t_free(void *p, void *arg)
{
	(void)arg;
	if (p)
		nfree++;
	free(p);
}

START_TEST(create_and_allocator)
{
	struct dp_match *x;
	struct dp_match_cfg cfg = { 100, 100, 8, 4, 4, DP_STP_NONE };
	struct dp_mem mem = { t_zalloc, t_free, NULL };
	ck_assert_uint_gt(dp_match_mem_size(&cfg), 100 * 64);
	struct dp_match_cfg bad = cfg;
	bad.max_symbols = 65537;
	ck_assert_int_eq(dp_match_create(&x, &bad, NULL), -EINVAL);
	ck_assert_uint_eq(dp_match_mem_size(&bad), 0);
	bad = cfg;
	bad.stp_default = 4;
	ck_assert_int_eq(dp_match_create(&x, &bad, NULL), -EINVAL);
	bad = cfg;
	bad.max_orders = 0;
	ck_assert_int_eq(dp_match_create(&x, &bad, NULL), -EINVAL);
	for (int f = 1; f <= 8; f++) {
		nalloc = nfree = 0;
		fail_at = f;
		ck_assert_int_eq(dp_match_create(&x, &cfg, &mem), -ENOMEM);
		ck_assert_int_eq(nfree, nalloc - 1);
	}
	nalloc = nfree = 0;
	fail_at = -1;
	ck_assert_int_eq(dp_match_create(&x, &cfg, &mem), 0);
	int after_create = nalloc;
	struct dp_exec_report r[16];
	for (uint64_t i = 1; i < 300; i++) {
		struct dp_order_msg m = { .kind = DP_ORD_NEW, .type = DP_ORD_LIMIT, .tif = DP_TIF_DAY,
					  .side = (i & 1) ? 'B' : 'S', .symbol = 1, .account = (uint32_t)i,
					  .cl_ord_id = i, .price = 100 + (uint32_t)(i % 5), .qty = 3 };
		dp_match_process(x, &m, &WIDE, r, 16);
		while (dp_match_pending(x))
			dp_match_resume(x, r, 16);
	}
	ck_assert_int_eq(nalloc, after_create); /* nothing allocated after create */
	dp_match_destroy(x);
	ck_assert_int_eq(nfree, nalloc);
	dp_match_destroy(NULL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("match");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, limit_rests_and_depth);
	tcase_add_test(tc, filled_ids_leave_the_table);
	tcase_add_test(tc, same_key_reindexed_while_waiting);
	tcase_add_test(tc, cross_partial_fill_price_time);
	tcase_add_test(tc, avg_px_rounds_half_up);
	tcase_add_test(tc, ioc);
	tcase_add_test(tc, fok);
	tcase_add_test(tc, market);
	tcase_add_test(tc, post_only);
	tcase_add_test(tc, reference_protection);
	tcase_add_test(tc, cancel_rules);
	tcase_add_test(tc, replace_rules);
	tcase_add_test(tc, mass_cancel_scopes);
	tcase_add_test(tc, stp_modes);
	tcase_add_test(tc, invalid_messages);
	tcase_add_test(tc, pools_full);
	tcase_add_test(tc, replace_book_full);
	tcase_add_test(tc, pause_and_resume);
	tcase_add_test(tc, kill_switch_cancels);
	tcase_add_test(tc, create_and_allocator);
	tcase_add_test(tc, ladder_window_moves);
	tcase_add_test(tc, ladder_far_prices);
	tcase_add_test(tc, ladder_cent_grid);
	tcase_add_test(tc, ladder_pool_runs_out);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
