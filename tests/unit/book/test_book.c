/*
 * test_book.c - unit tests of the L3 book (dataplane/book): the semantics
 * of every event kind, refusals and their counters, queries, and the ITCH
 * to book-event mapping. dp_book_check() runs after every step so that a
 * broken internal invariant is caught where it happens.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dp_book.h"
#include "dp_itch.h"

static struct dp_book *bk;

static void mk(uint32_t orders, uint32_t levels, uint32_t symbols)
{
	struct dp_book_cfg cfg = { orders, levels, symbols };
	ck_assert_int_eq(dp_book_create(&bk, &cfg, NULL), 0);
	ck_assert_int_eq(dp_book_check(bk), 0);
}

static void setup(void)
{
	mk(1000, 1000, 16);
}

static void teardown(void)
{
	dp_book_destroy(bk);
	bk = NULL;
}

static void apply(const struct dp_book_ev *ev)
{
	dp_book_apply(bk, ev);
	ck_assert_int_eq(dp_book_check(bk), 0);
}

static void add(uint16_t loc, uint64_t ref, char side, uint32_t qty, uint32_t px)
{
	struct dp_book_ev ev = { .kind = DP_BEV_ADD, .locate = loc, .ref = ref, .side = side,
				 .qty = qty, .price = px };
	memcpy(ev.stock, "TEST    ", 8);
	apply(&ev);
}

static void ev_ref(uint8_t kind, uint64_t ref, uint32_t qty)
{
	struct dp_book_ev ev = { .kind = kind, .locate = 1, .ref = ref, .qty = qty };
	apply(&ev);
}

static void replace(uint64_t oref, uint64_t nref, uint32_t qty, uint32_t px)
{
	struct dp_book_ev ev = { .kind = DP_BEV_REPLACE, .locate = 1, .ref = oref, .ref2 = nref,
				 .qty = qty, .price = px };
	apply(&ev);
}

static const struct dp_book_stats *st(void)
{
	return dp_book_stats(bk);
}

static struct dp_book_order_info order(uint64_t ref)
{
	struct dp_book_order_info oi;
	ck_assert_int_eq(dp_book_order(bk, ref, &oi), 0);
	return oi;
}

static void no_order(uint64_t ref)
{
	struct dp_book_order_info oi;
	ck_assert_int_eq(dp_book_order(bk, ref, &oi), -ENOENT);
}

static void lvl_is(const struct dp_book_level *l, uint32_t px, uint32_t n, uint64_t qty)
{
	ck_assert_uint_eq(l->price, px);
	ck_assert_uint_eq(l->orders, n);
	ck_assert_uint_eq(l->qty, qty);
}

START_TEST(create_args)
{
	struct dp_book *b = NULL;
	struct dp_book_cfg c = { 0, 10, 10 };
	ck_assert_int_eq(dp_book_create(&b, &c, NULL), -EINVAL);
	c = (struct dp_book_cfg){ 10, 0, 10 };
	ck_assert_int_eq(dp_book_create(&b, &c, NULL), -EINVAL);
	c = (struct dp_book_cfg){ 10, 10, 0 };
	ck_assert_int_eq(dp_book_create(&b, &c, NULL), -EINVAL);
	c = (struct dp_book_cfg){ 10, 10, 65537 };
	ck_assert_int_eq(dp_book_create(&b, &c, NULL), -EINVAL);
	c = (struct dp_book_cfg){ 1u << 31, 10, 10 };
	ck_assert_int_eq(dp_book_create(&b, &c, NULL), -EINVAL);
	c = (struct dp_book_cfg){ 10, 10, 65536 };
	ck_assert_uint_gt(dp_book_mem_size(&c), 65536 * 64);
	ck_assert_int_eq(dp_book_create(&b, &c, NULL), 0);
	ck_assert_int_eq(dp_book_check(b), 0);
	dp_book_destroy(b);
	dp_book_destroy(NULL);
}
END_TEST

/* An allocator that fails its Nth call: create must unwind cleanly. */
static int alloc_calls, alloc_fail_at, alloc_live;
static void *zalloc_n(size_t size, void *arg)
{
	(void)arg;
	if (++alloc_calls == alloc_fail_at)
		return NULL;
	void *p = NULL;
	if (posix_memalign(&p, 64, size ? size : 64))
		return NULL;
	memset(p, 0, size);
	alloc_live++;
	return p;
}
static void free_n(void *p, void *arg)
{
	(void)arg;
	if (p) {
		alloc_live--;
		free(p);
	}
}

START_TEST(create_alloc_fail)
{
	struct dp_book_cfg c = { 100, 100, 10 };
	struct dp_mem m = { zalloc_n, free_n, NULL };
	for (int n = 1; n <= 8; n++) {
		struct dp_book *b = NULL;
		alloc_calls = 0;
		alloc_fail_at = n;
		alloc_live = 0;
		int rc = dp_book_create(&b, &c, &m);
		if (rc == 0) {
			ck_assert_int_ge(n, 8); /* create makes 7 allocations */
			ck_assert_int_eq(dp_book_check(b), 0);
			dp_book_destroy(b);
		} else {
			ck_assert_int_eq(rc, -ENOMEM);
		}
		ck_assert_int_eq(alloc_live, 0);
	}
}
END_TEST

START_TEST(add_both_sides_levels)
{
	add(1, 1, 'B', 100, 1000);
	add(1, 2, 'B', 200, 1010);
	add(1, 3, 'B', 300, 990);
	add(1, 4, 'S', 50, 1030);
	add(1, 5, 'S', 60, 1020);
	add(1, 6, 'S', 70, 1040);
	add(1, 7, 'B', 10, 1010);

	struct dp_book_level bid, ask, d[8];
	ck_assert_int_eq(dp_book_bbo(bk, 1, &bid, &ask), 0);
	lvl_is(&bid, 1010, 2, 210);
	lvl_is(&ask, 1020, 1, 60);

	ck_assert_int_eq(dp_book_depth(bk, 1, DP_BOOK_BID, d, 8), 3);
	lvl_is(&d[0], 1010, 2, 210);
	lvl_is(&d[1], 1000, 1, 100);
	lvl_is(&d[2], 990, 1, 300);
	ck_assert_int_eq(dp_book_depth(bk, 1, DP_BOOK_ASK, d, 2), 2);
	lvl_is(&d[0], 1020, 1, 60);
	lvl_is(&d[1], 1030, 1, 50);
	ck_assert_int_eq(dp_book_depth(bk, 1, DP_BOOK_ASK, d, 8), 3);
	lvl_is(&d[2], 1040, 1, 70);
	ck_assert_int_eq(dp_book_depth(bk, 2, DP_BOOK_ASK, d, 8), 0);
	ck_assert_int_eq(dp_book_depth(bk, 99, DP_BOOK_ASK, d, 8), 0);
	ck_assert_int_eq(dp_book_depth(bk, 1, 7, d, 8), 0);

	/* Empty book side: qty 0. */
	ck_assert_int_eq(dp_book_bbo(bk, 2, &bid, &ask), 0);
	ck_assert_uint_eq(bid.qty, 0);
	ck_assert_uint_eq(ask.qty, 0);
	ck_assert_int_eq(dp_book_bbo(bk, 16, &bid, &ask), -EINVAL);

	struct dp_book_order_info oi = order(7);
	ck_assert_uint_eq(oi.ref, 7);
	ck_assert_uint_eq(oi.locate, 1);
	ck_assert_int_eq(oi.side, 'B');
	ck_assert_uint_eq(oi.price, 1010);
	ck_assert_uint_eq(oi.qty, 10);
	ck_assert_uint_eq(oi.queue_pos, 1);
	ck_assert_uint_eq(order(2).queue_pos, 0);
	ck_assert_uint_eq(order(4).side, 'S');

	ck_assert_uint_eq(dp_book_live_orders(bk), 7);
	ck_assert_uint_eq(dp_book_live_levels(bk), 6);
	ck_assert_uint_eq(st()->events[DP_BEV_ADD], 7);

	struct dp_book_symbol_info si;
	ck_assert_int_eq(dp_book_symbol(bk, 1, &si), 0);
	ck_assert_str_eq(si.stock, "TEST");
	ck_assert_uint_eq(si.orders, 7);
	ck_assert_uint_eq(si.bid_levels, 3);
	ck_assert_uint_eq(si.ask_levels, 3);
	ck_assert_uint_eq(si.events, 7);
	ck_assert_int_eq(si.trading_state, ' ');
	ck_assert_int_eq(dp_book_symbol(bk, 2, &si), -ENOENT);
	ck_assert_int_eq(dp_book_symbol(bk, 200, &si), -ENOENT);
}
END_TEST

/* Many levels on one side, inserted in scattered order: depth is sorted. */
START_TEST(many_levels_sorted)
{
	uint64_t ref = 1;
	for (int i = 0; i < 200; i++) {
		uint32_t px = 10000 + (uint32_t)((i * 37) % 200) * 5;
		add(3, ref++, 'S', 1, px);
		add(3, ref++, 'B', 1, px);
	}
	struct dp_book_level d[300];
	ck_assert_int_eq(dp_book_depth(bk, 3, DP_BOOK_ASK, d, 300), 200);
	for (int i = 0; i < 200; i++)
		lvl_is(&d[i], 10000 + (uint32_t)i * 5, 1, 1);
	ck_assert_int_eq(dp_book_depth(bk, 3, DP_BOOK_BID, d, 300), 200);
	for (int i = 0; i < 200; i++)
		lvl_is(&d[i], 10995 - (uint32_t)i * 5, 1, 1);
	/* Remove from the middle and the ends. */
	for (uint64_t r = 1; r < ref; r += 3)
		ev_ref(DP_BEV_DELETE, r, 0);
	ck_assert_int_eq(dp_book_check(bk), 0);
	for (uint64_t r = 1; r < ref; r++)
		if ((r - 1) % 3)
			ev_ref(DP_BEV_DELETE, r, 0);
	ck_assert_uint_eq(dp_book_live_orders(bk), 0);
	ck_assert_uint_eq(dp_book_live_levels(bk), 0);
}
END_TEST

START_TEST(fifo_and_exec)
{
	add(1, 10, 'S', 100, 500);
	add(1, 11, 'S', 200, 500);
	add(1, 12, 'S', 300, 500);
	ck_assert_uint_eq(order(10).queue_pos, 0);
	ck_assert_uint_eq(order(11).queue_pos, 1);
	ck_assert_uint_eq(order(12).queue_pos, 2);

	/* Partial E, then partial C, on the head. */
	ev_ref(DP_BEV_EXEC, 10, 30);
	ck_assert_uint_eq(order(10).qty, 70);
	struct dp_book_ev c = { .kind = DP_BEV_EXEC_PX, .ref = 10, .qty = 20, .price = 499 };
	apply(&c);
	ck_assert_uint_eq(order(10).qty, 50);
	ck_assert_uint_eq(order(10).price, 500); /* exec price does not move the order */
	struct dp_book_level bid, ask;
	dp_book_bbo(bk, 1, &bid, &ask);
	lvl_is(&ask, 500, 3, 550);

	/* Full execution of the head: the next becomes first. */
	ev_ref(DP_BEV_EXEC, 10, 50);
	no_order(10);
	ck_assert_uint_eq(order(11).queue_pos, 0);
	ck_assert_uint_eq(order(12).queue_pos, 1);
	ck_assert_uint_eq(st()->overfill, 0);

	/* Overfill: removed and counted. */
	struct dp_book_ev c2 = { .kind = DP_BEV_EXEC_PX, .ref = 11, .qty = 201, .price = 500 };
	apply(&c2);
	no_order(11);
	ck_assert_uint_eq(st()->overfill, 1);
	dp_book_bbo(bk, 1, &bid, &ask);
	lvl_is(&ask, 500, 1, 300);
	ck_assert_uint_eq(st()->events[DP_BEV_EXEC], 2);
	ck_assert_uint_eq(st()->events[DP_BEV_EXEC_PX], 2);
}
END_TEST

START_TEST(cancel_and_delete)
{
	add(1, 1, 'B', 100, 100);
	add(1, 2, 'B', 100, 100);
	add(1, 3, 'B', 100, 100);
	ev_ref(DP_BEV_CANCEL, 2, 40);
	ck_assert_uint_eq(order(2).qty, 60);
	ck_assert_uint_eq(order(2).queue_pos, 1); /* partial cancel keeps priority */
	ev_ref(DP_BEV_CANCEL, 2, 60);
	no_order(2);
	ck_assert_uint_eq(order(3).queue_pos, 1);
	ck_assert_uint_eq(st()->overfill, 0);
	ev_ref(DP_BEV_CANCEL, 3, 1000);
	ck_assert_uint_eq(st()->overfill, 1);
	ev_ref(DP_BEV_DELETE, 1, 0);
	no_order(1);
	ck_assert_uint_eq(dp_book_live_orders(bk), 0);
	ck_assert_uint_eq(dp_book_live_levels(bk), 0);
	ck_assert_uint_eq(st()->events[DP_BEV_CANCEL], 3);
	ck_assert_uint_eq(st()->events[DP_BEV_DELETE], 1);
	struct dp_book_symbol_info si;
	ck_assert_int_eq(dp_book_symbol(bk, 1, &si), 0);
	ck_assert_uint_eq(si.orders, 0);
	ck_assert_uint_eq(si.bid_levels, 0);
}
END_TEST

START_TEST(replace_cases)
{
	add(1, 1, 'B', 100, 100);
	add(1, 2, 'B', 100, 100);
	add(1, 3, 'B', 100, 100);

	/* Same price, smaller quantity: still loses priority (U always does). */
	replace(1, 21, 50, 100);
	no_order(1);
	struct dp_book_order_info oi = order(21);
	ck_assert_uint_eq(oi.queue_pos, 2);
	ck_assert_uint_eq(oi.qty, 50);
	ck_assert_int_eq(oi.side, 'B');
	ck_assert_uint_eq(oi.locate, 1);
	ck_assert_uint_eq(order(2).queue_pos, 0);

	/* Price change moves the order to another level. */
	replace(2, 22, 70, 105);
	struct dp_book_level d[4];
	ck_assert_int_eq(dp_book_depth(bk, 1, DP_BOOK_BID, d, 4), 2);
	lvl_is(&d[0], 105, 1, 70);
	lvl_is(&d[1], 100, 2, 150);
	ck_assert_uint_eq(st()->events[DP_BEV_REPLACE], 2);

	/* Unknown original: counted, nothing else happens (even a bad new ref). */
	replace(99, 3, 10, 100);
	ck_assert_uint_eq(st()->unknown_ref, 1);
	ck_assert_uint_eq(order(3).qty, 100);
	ck_assert_uint_eq(dp_book_live_orders(bk), 3);

	/* New ref already live: counted as duplicate, the original is removed. */
	replace(22, 3, 10, 100);
	ck_assert_uint_eq(st()->duplicate_ref, 1);
	no_order(22);
	ck_assert_uint_eq(order(3).qty, 100);
	ck_assert_uint_eq(dp_book_live_orders(bk), 2);
	ck_assert_uint_eq(st()->events[DP_BEV_REPLACE], 2);

	/* Zero quantity: original removed, zero_qty counted. */
	replace(21, 23, 0, 100);
	no_order(21);
	no_order(23);
	ck_assert_uint_eq(st()->zero_qty, 1);

	/* New ref equal to the original: allowed (the original is gone first). */
	replace(3, 3, 5, 90);
	ck_assert_uint_eq(order(3).price, 90);
	ck_assert_uint_eq(order(3).qty, 5);

	/* Replace of an ask stays an ask. */
	add(1, 40, 'S', 10, 200);
	replace(40, 41, 10, 210);
	ck_assert_int_eq(order(41).side, 'S');
}
END_TEST

START_TEST(unknown_refs)
{
	add(1, 1, 'B', 100, 100);
	ev_ref(DP_BEV_EXEC, 2, 1);
	ev_ref(DP_BEV_EXEC_PX, 2, 1);
	ev_ref(DP_BEV_CANCEL, 2, 1);
	ev_ref(DP_BEV_DELETE, 2, 0);
	replace(2, 3, 1, 1);
	ck_assert_uint_eq(st()->unknown_ref, 5);
	ck_assert_uint_eq(order(1).qty, 100);
	/* A deleted order is unknown afterwards. */
	ev_ref(DP_BEV_DELETE, 1, 0);
	ev_ref(DP_BEV_DELETE, 1, 0);
	ck_assert_uint_eq(st()->unknown_ref, 6);
	for (int k = 0; k < DP_BEV__COUNT; k++)
		if (k != DP_BEV_ADD && k != DP_BEV_DELETE)
			ck_assert_uint_eq(st()->events[k], 0);
}
END_TEST

START_TEST(refusals)
{
	add(1, 1, 'B', 100, 100);
	add(1, 1, 'S', 50, 120);
	ck_assert_uint_eq(st()->duplicate_ref, 1);
	ck_assert_int_eq(order(1).side, 'B');
	add(1, 2, 'B', 0, 100);
	ck_assert_uint_eq(st()->zero_qty, 1);
	add(1, 3, 'X', 10, 100);
	ck_assert_uint_eq(st()->bad_side, 1);
	add(16, 4, 'B', 10, 100);
	add(65535, 4, 'B', 10, 100);
	ck_assert_uint_eq(st()->bad_locate, 2);
	struct dp_book_ev r = { .kind = DP_BEV_DIRECTORY, .locate = 20 };
	apply(&r);
	ck_assert_uint_eq(st()->bad_locate, 3);
	no_order(2);
	no_order(3);
	no_order(4);
	ck_assert_uint_eq(st()->events[DP_BEV_ADD], 1);
	ck_assert_uint_eq(dp_book_live_orders(bk), 1);
	/* Unknown kinds are ignored. */
	struct dp_book_ev z = { .kind = DP_BEV_NONE, .ref = 1 };
	apply(&z);
	z.kind = 200;
	apply(&z);
	ck_assert_uint_eq(order(1).qty, 100);
}
END_TEST

START_TEST(pool_exhaustion)
{
	teardown();
	mk(4, 2, 4);
	add(1, 1, 'B', 10, 100);
	add(1, 2, 'S', 10, 110);
	add(1, 3, 'B', 10, 99); /* third level */
	ck_assert_uint_eq(st()->levels_full, 1);
	no_order(3);
	add(1, 3, 'B', 10, 100);
	add(1, 4, 'S', 10, 110);
	add(1, 5, 'S', 10, 110); /* fifth order */
	ck_assert_uint_eq(st()->orders_full, 1);
	no_order(5);
	ck_assert_uint_eq(dp_book_live_orders(bk), 4);
	/* A replace still works when full: the original frees its slot first. */
	replace(4, 6, 20, 110);
	ck_assert_uint_eq(order(6).qty, 20);
	/* But not into a new level while both levels are in use. */
	replace(6, 7, 20, 111);
	ck_assert_uint_eq(st()->levels_full, 2);
	no_order(6);
	no_order(7);
	/* Recovery after deletes. */
	ev_ref(DP_BEV_DELETE, 1, 0);
	ev_ref(DP_BEV_DELETE, 3, 0);
	add(1, 8, 'B', 10, 95);
	add(1, 9, 'S', 10, 111);
	ck_assert_uint_eq(st()->levels_full, 3); /* asks: 110 still live, and 95 took the free level */
	ev_ref(DP_BEV_DELETE, 2, 0);
	add(1, 9, 'S', 10, 111);
	ck_assert_uint_eq(order(9).price, 111);
	ck_assert_uint_eq(dp_book_live_levels(bk), 2);
	add(1, 10, 'S', 1, 111);
	add(1, 11, 'B', 1, 95);
	ck_assert_uint_eq(dp_book_live_orders(bk), 4);
	add(1, 12, 'B', 1, 95);
	ck_assert_uint_eq(st()->orders_full, 2);
}
END_TEST

/* Grow and shrink side arrays through several size classes, repeatedly. */
START_TEST(side_array_growth)
{
	teardown();
	mk(5000, 5000, 4);
	for (int round = 0; round < 3; round++) {
		for (uint32_t i = 0; i < 1000; i++) {
			add((uint16_t)(round % 3), 1 + i, (i & 1) ? 'S' : 'B', 1, (i & 1) ? 20000 + i : 10000 - i);
		}
		ck_assert_uint_eq(dp_book_live_levels(bk), 1000);
		for (uint32_t i = 0; i < 1000; i++)
			ev_ref(DP_BEV_DELETE, 1 + i, 0);
		ck_assert_uint_eq(dp_book_live_levels(bk), 0);
	}
}
END_TEST

START_TEST(directory_state_find)
{
	struct dp_book_ev r = { .kind = DP_BEV_DIRECTORY, .locate = 5, .qty = 100, .flag = 'Q' };
	memcpy(r.stock, "AAPL    ", 8);
	apply(&r);
	struct dp_book_ev h = { .kind = DP_BEV_TRADING_STATE, .locate = 5, .flag = 'T' };
	memcpy(h.stock, "AAPL    ", 8);
	apply(&h);
	struct dp_book_symbol_info si;
	ck_assert_int_eq(dp_book_symbol(bk, 5, &si), 0);
	ck_assert_str_eq(si.stock, "AAPL");
	ck_assert_uint_eq(si.round_lot, 100);
	ck_assert_int_eq(si.market_category, 'Q');
	ck_assert_int_eq(si.trading_state, 'T');
	ck_assert_uint_eq(si.events, 2);
	ck_assert_int_eq(dp_book_find_symbol(bk, "AAPL"), 5);
	ck_assert_int_eq(dp_book_find_symbol(bk, "AAP"), -ENOENT);
	ck_assert_int_eq(dp_book_find_symbol(bk, "TOOLONGNAME"), -ENOENT);
	ck_assert_uint_eq(st()->events[DP_BEV_DIRECTORY], 1);
	ck_assert_uint_eq(st()->events[DP_BEV_TRADING_STATE], 1);

	/* An ADD names an unnamed locate, but not a named one. */
	struct dp_book_ev a = { .kind = DP_BEV_ADD, .locate = 6, .ref = 1, .side = 'B', .qty = 1, .price = 1 };
	memcpy(a.stock, "MSFT    ", 8);
	apply(&a);
	ck_assert_int_eq(dp_book_find_symbol(bk, "MSFT"), 6);
	a.locate = 5;
	a.ref = 2;
	apply(&a);
	ck_assert_int_eq(dp_book_find_symbol(bk, "MSFT"), 6);
	ck_assert_int_eq(dp_book_find_symbol(bk, "AAPL"), 5);

	/* H halts; a later R renames. */
	h.flag = 'H';
	apply(&h);
	memcpy(r.stock, "AAPL.X  ", 8);
	apply(&r);
	ck_assert_int_eq(dp_book_symbol(bk, 5, &si), 0);
	ck_assert_int_eq(si.trading_state, 'H');
	ck_assert_str_eq(si.stock, "AAPL.X");
	ck_assert_int_eq(dp_book_find_symbol(bk, "AAPL.X"), 5);
}
END_TEST

START_TEST(busiest)
{
	uint16_t out[8];
	ck_assert_int_eq(dp_book_busiest(bk, out, 8), 0);
	uint64_t ref = 1;
	/* locate: events   3:5  7:2  1:9  9:2  0:1 */
	static const int counts[][2] = { { 3, 5 }, { 7, 2 }, { 1, 9 }, { 9, 2 }, { 0, 1 } };
	for (unsigned k = 0; k < 5; k++)
		for (int i = 0; i < counts[k][1]; i++)
			add((uint16_t)counts[k][0], ref++, 'B', 1, 100);
	ck_assert_int_eq(dp_book_busiest(bk, out, 8), 5);
	ck_assert_uint_eq(out[0], 1);
	ck_assert_uint_eq(out[1], 3);
	ck_assert_uint_eq(out[2], 7); /* tie 7/9: lower locate first */
	ck_assert_uint_eq(out[3], 9);
	ck_assert_uint_eq(out[4], 0);
	ck_assert_int_eq(dp_book_busiest(bk, out, 2), 2);
	ck_assert_uint_eq(out[0], 1);
	ck_assert_uint_eq(out[1], 3);
	ck_assert_int_eq(dp_book_busiest(bk, out, 3), 3);
	ck_assert_uint_eq(out[2], 7);
	ck_assert_int_eq(dp_book_busiest(bk, out, 0), 0);
	/* Executions count towards the order's symbol. */
	for (uint64_t r = 1; r <= 5; r++)
		ev_ref(DP_BEV_DELETE, r, 0); /* locate 3 */
	for (uint64_t r = 6; r <= 7; r++)
		ev_ref(DP_BEV_DELETE, r, 0); /* locate 7 */
	ck_assert_int_eq(dp_book_busiest(bk, out, 2), 2);
	ck_assert_uint_eq(out[0], 3);
	ck_assert_uint_eq(out[1], 1);
}
END_TEST

/* Orders whose refs collide into the same probe runs, deleted in mixed order. */
START_TEST(hash_churn)
{
	teardown();
	mk(64, 64, 2);
	uint64_t live[64];
	int n = 0;
	uint64_t next = 1;
	uint32_t rnd = 12345;
	for (int step = 0; step < 20000; step++) {
		rnd = rnd * 1103515245u + 12345u;
		if (n < 60 && ((rnd >> 16) & 1)) {
			uint64_t ref = next++ * 0x100000001ull;
			add(1, ref, 'B', 1, 100 + (rnd >> 20) % 8);
			live[n++] = ref;
		} else if (n > 0) {
			int k = (int)((rnd >> 8) % (uint32_t)n);
			ev_ref(DP_BEV_DELETE, live[k], 0);
			live[k] = live[--n];
		}
		ck_assert_uint_eq(dp_book_live_orders(bk), (uint32_t)n);
	}
	for (int k = 0; k < n; k++)
		ck_assert_uint_eq(order(live[k]).ref, live[k]);
	ck_assert_uint_eq(st()->unknown_ref, 0);
	ck_assert_uint_eq(st()->duplicate_ref, 0);
}
END_TEST


/*
 * A window of 16 reference slots: orders that outlive 16 later references
 * move to the overflow hash and stay reachable; duplicates of moved,
 * out-of-order and colliding references are still refused; removing an
 * order from either place keeps the index whole (dp_book_check).
 */
START_TEST(ref_window_overflow)
{
	teardown();
	struct dp_book_cfg cfg = { 200, 200, 4, 16 };
	ck_assert_int_eq(dp_book_create(&bk, &cfg, NULL), 0);
	uint32_t live;
	uint64_t moved;

	/* Rising refs 1..48: 32 of them are pushed out by the ref 16 later. */
	for (uint64_t r = 1; r <= 48; r++)
		add(1, r, r & 1 ? 'B' : 'S', 10, 1000 + (uint32_t)(r % 5));
	dp_book_ref_overflow(bk, &live, &moved);
	ck_assert_uint_eq(live, 32);
	ck_assert_uint_eq(moved, 32);
	for (uint64_t r = 1; r <= 48; r++)
		ck_assert_uint_eq(order(r).ref, r);

	/* Duplicates: one in the overflow, one direct, one colliding with a live slot. */
	add(1, 3, 'B', 10, 1000);
	add(1, 40, 'B', 10, 1000);
	ck_assert_uint_eq(st()->duplicate_ref, 2);
	add(1, 3 + 16 * 100, 'B', 10, 1000); /* new ref, slot held by 35 */
	ck_assert_uint_eq(order(3 + 16 * 100).ref, 3 + 16 * 100);
	ck_assert_uint_eq(order(35).ref, 35);

	/* Remove through both places, every kind. */
	ev_ref(DP_BEV_DELETE, 3, 0);        /* overflow */
	ev_ref(DP_BEV_DELETE, 48, 0);       /* direct */
	ev_ref(DP_BEV_CANCEL, 5, 4);        /* overflow, partial */
	ck_assert_uint_eq(order(5).qty, 6);
	ev_ref(DP_BEV_EXEC, 5, 6);          /* overflow, full */
	no_order(5);
	replace(7, 7 + 16 * 200, 20, 1001); /* overflow original, new ref collides */
	no_order(7);
	ck_assert_uint_eq(order(7 + 16 * 200).qty, 20);
	ev_ref(DP_BEV_DELETE, 3, 0);        /* gone: unknown */
	ck_assert_uint_eq(st()->unknown_ref, 1);
	/* An older ref (below the highest) that is not live may be added. */
	add(1, 3, 'S', 5, 1003);
	ck_assert_uint_eq(order(3).qty, 5);
	ck_assert_uint_eq(st()->duplicate_ref, 2);

	/* Drain everything: both places end empty. */
	for (uint64_t r = 1; r <= 48; r++)
		if (r != 5 && r != 7 && r != 48)
			ev_ref(DP_BEV_DELETE, r, 0);
	ev_ref(DP_BEV_DELETE, 3 + 16 * 100, 0);
	ev_ref(DP_BEV_DELETE, 7 + 16 * 200, 0);
	ck_assert_uint_eq(dp_book_live_orders(bk), 0);
	dp_book_ref_overflow(bk, &live, NULL);
	ck_assert_uint_eq(live, 0);
	ck_assert_uint_eq(st()->unknown_ref, 1);

	/* Bad windows are refused. */
	cfg.ref_window = (1u << 31) + 1;
	struct dp_book *x = NULL;
	ck_assert_int_eq(dp_book_create(&x, &cfg, NULL), -EINVAL);
}
END_TEST

/*
 * Price ladders: levels near the touch sit in a 128-tick window indexed by
 * tick, the rest (deep, off the cent grid, or on a side with no ladder left
 * in the pool) in the sorted array. Depth, BBO and the level counts must
 * merge the two in price order, and moving the window (rebase) must keep
 * every level findable.
 */
START_TEST(ladder_window)
{
	teardown();
	struct dp_book_cfg cfg = { 1000, 1000, 4, 0, 3 }; /* 3 ladders for 8 sides */
	ck_assert_int_eq(dp_book_create(&bk, &cfg, NULL), 0);
	uint32_t used, total;
	uint64_t rebases;

	/* Bids from $50.00 down a cent at a time: 96 below the first in the window. */
	uint64_t r = 1;
	for (uint32_t i = 0; i < 150; i++)
		add(1, r++, 'B', 10 + i, 500000 - 100 * i);
	add(1, r++, 'B', 7, 499950);  /* off the cent grid: in the array */
	add(1, r++, 'B', 5, 500100);  /* one cent better: a new best in the window */
	dp_book_ladders(bk, &used, &total, &rebases);
	ck_assert_uint_eq(used, 1);
	ck_assert_uint_eq(total, 3);
	struct dp_book_level lv[200];
	int n = dp_book_depth(bk, 1, DP_BOOK_BID, lv, 200);
	ck_assert_int_eq(n, 152);
	ck_assert_uint_eq(lv[0].price, 500100);
	ck_assert_uint_eq(lv[1].price, 500000);
	ck_assert_uint_eq(lv[2].price, 499950);
	ck_assert_uint_eq(lv[2].qty, 7);
	for (int i = 3; i < n; i++)
		ck_assert_uint_eq(lv[i].price, 500000 - 100 * (uint32_t)(i - 2));
	struct dp_book_symbol_info si;
	ck_assert_int_eq(dp_book_symbol(bk, 1, &si), 0);
	ck_assert_uint_eq(si.bid_levels, 152);

	/* The touch runs away upwards: after a few misses the window follows it. */
	uint64_t before = rebases;
	for (uint32_t i = 1; i <= 20; i++)
		add(1, r++, 'B', 1, 500100 + 20000 + 100 * i);
	dp_book_ladders(bk, NULL, NULL, &rebases);
	ck_assert_uint_gt(rebases, before);
	n = dp_book_depth(bk, 1, DP_BOOK_BID, lv, 200);
	ck_assert_int_eq(n, 172);
	for (int i = 1; i < n; i++)
		ck_assert_uint_gt(lv[i - 1].price, lv[i].price);
	struct dp_book_level bid, ask;
	ck_assert_int_eq(dp_book_bbo(bk, 1, &bid, &ask), 0);
	ck_assert_uint_eq(bid.price, 500100 + 20000 + 2000);
	ck_assert_uint_eq(ask.qty, 0);

	/* Deleting every order empties both places. */
	for (uint64_t x = 1; x < r; x++)
		ev_ref(DP_BEV_DELETE, x, 0);
	ck_assert_uint_eq(dp_book_live_levels(bk), 0);
	ck_assert_int_eq(dp_book_depth(bk, 1, DP_BOOK_BID, lv, 200), 0);

	/* Ends of the key space: a bid at price 1 and an ask at the top price. */
	add(2, r++, 'B', 3, 1);
	add(2, r++, 'S', 4, UINT32_MAX);
	add(2, r++, 'S', 5, UINT32_MAX - 100);
	ck_assert_int_eq(dp_book_bbo(bk, 2, &bid, &ask), 0);
	ck_assert_uint_eq(bid.price, 1);
	ck_assert_uint_eq(ask.price, UINT32_MAX - 100);
	ck_assert_uint_eq(ask.qty, 5);

	/* The pool is now spent (sides 1B, 2B, 2S): the others use the array only. */
	add(3, r++, 'S', 6, 20000);
	add(3, r++, 'S', 8, 19900);
	dp_book_ladders(bk, &used, NULL, NULL);
	ck_assert_uint_eq(used, 3);
	n = dp_book_depth(bk, 3, DP_BOOK_ASK, lv, 200);
	ck_assert_int_eq(n, 2);
	ck_assert_uint_eq(lv[0].price, 19900);
	ck_assert_uint_eq(lv[1].price, 20000);

	/* More than 65535 ladders is refused. */
	cfg.ladders = 65536;
	struct dp_book *x = NULL;
	ck_assert_int_eq(dp_book_create(&x, &cfg, NULL), -EINVAL);
}
END_TEST

/* dp_book_ev_from_itch on hand-built messages of every type. */
START_TEST(itch_mapping)
{
	struct dp_itch_msg m;
	struct dp_book_ev ev;

	memset(&m, 0, sizeof m);
	m.hdr.type = 'A';
	m.hdr.stock_locate = 7;
	m.hdr.timestamp = 123456789;
	m.u.add.ref = 42;
	m.u.add.side = 'S';
	m.u.add.shares = 300;
	m.u.add.price = 1502500;
	memcpy(m.u.add.stock, "AAPL    ", 8);
	ck_assert_int_eq(dp_book_ev_from_itch(&m, &ev), 1);
	ck_assert_uint_eq(ev.kind, DP_BEV_ADD);
	ck_assert_uint_eq(ev.locate, 7);
	ck_assert_uint_eq(ev.ts, 123456789);
	ck_assert_uint_eq(ev.ref, 42);
	ck_assert_int_eq(ev.side, 'S');
	ck_assert_uint_eq(ev.qty, 300);
	ck_assert_uint_eq(ev.price, 1502500);
	ck_assert_int_eq(memcmp(ev.stock, "AAPL    ", 8), 0);

	m.hdr.type = 'F';
	memcpy(m.u.add.attribution, "MPID", 4);
	ck_assert_int_eq(dp_book_ev_from_itch(&m, &ev), 1);
	ck_assert_uint_eq(ev.kind, DP_BEV_ADD);
	ck_assert_uint_eq(ev.ref, 42);
	ck_assert_uint_eq(ev.qty, 300);

	memset(&m.u, 0, sizeof m.u);
	m.hdr.type = 'E';
	m.u.executed.ref = 43;
	m.u.executed.shares = 10;
	m.u.executed.match = 9001;
	ck_assert_int_eq(dp_book_ev_from_itch(&m, &ev), 1);
	ck_assert_uint_eq(ev.kind, DP_BEV_EXEC);
	ck_assert_uint_eq(ev.ref, 43);
	ck_assert_uint_eq(ev.qty, 10);
	ck_assert_uint_eq(ev.ref2, 9001);
	ck_assert_uint_eq(ev.locate, 7);

	memset(&m.u, 0, sizeof m.u);
	m.hdr.type = 'C';
	m.u.executed_px.ref = 44;
	m.u.executed_px.shares = 11;
	m.u.executed_px.match = 9002;
	m.u.executed_px.printable = 'Y';
	m.u.executed_px.price = 777;
	ck_assert_int_eq(dp_book_ev_from_itch(&m, &ev), 1);
	ck_assert_uint_eq(ev.kind, DP_BEV_EXEC_PX);
	ck_assert_uint_eq(ev.ref, 44);
	ck_assert_uint_eq(ev.qty, 11);
	ck_assert_uint_eq(ev.ref2, 9002);
	ck_assert_uint_eq(ev.price, 777);

	memset(&m.u, 0, sizeof m.u);
	m.hdr.type = 'X';
	m.u.cancel.ref = 45;
	m.u.cancel.shares = 12;
	ck_assert_int_eq(dp_book_ev_from_itch(&m, &ev), 1);
	ck_assert_uint_eq(ev.kind, DP_BEV_CANCEL);
	ck_assert_uint_eq(ev.ref, 45);
	ck_assert_uint_eq(ev.qty, 12);

	memset(&m.u, 0, sizeof m.u);
	m.hdr.type = 'D';
	m.u.del.ref = 46;
	ck_assert_int_eq(dp_book_ev_from_itch(&m, &ev), 1);
	ck_assert_uint_eq(ev.kind, DP_BEV_DELETE);
	ck_assert_uint_eq(ev.ref, 46);

	memset(&m.u, 0, sizeof m.u);
	m.hdr.type = 'U';
	m.u.replace.orig_ref = 47;
	m.u.replace.new_ref = 48;
	m.u.replace.shares = 13;
	m.u.replace.price = 888;
	ck_assert_int_eq(dp_book_ev_from_itch(&m, &ev), 1);
	ck_assert_uint_eq(ev.kind, DP_BEV_REPLACE);
	ck_assert_uint_eq(ev.ref, 47);
	ck_assert_uint_eq(ev.ref2, 48);
	ck_assert_uint_eq(ev.qty, 13);
	ck_assert_uint_eq(ev.price, 888);

	memset(&m.u, 0, sizeof m.u);
	m.hdr.type = 'R';
	memcpy(m.u.stock_directory.stock, "MSFT    ", 8);
	m.u.stock_directory.round_lot_size = 100;
	m.u.stock_directory.market_category = 'Q';
	ck_assert_int_eq(dp_book_ev_from_itch(&m, &ev), 1);
	ck_assert_uint_eq(ev.kind, DP_BEV_DIRECTORY);
	ck_assert_uint_eq(ev.qty, 100);
	ck_assert_int_eq(ev.flag, 'Q');
	ck_assert_int_eq(memcmp(ev.stock, "MSFT    ", 8), 0);

	memset(&m.u, 0, sizeof m.u);
	m.hdr.type = 'H';
	memcpy(m.u.trading_action.stock, "MSFT    ", 8);
	m.u.trading_action.trading_state = 'T';
	ck_assert_int_eq(dp_book_ev_from_itch(&m, &ev), 1);
	ck_assert_uint_eq(ev.kind, DP_BEV_TRADING_STATE);
	ck_assert_int_eq(ev.flag, 'T');
	ck_assert_int_eq(memcmp(ev.stock, "MSFT    ", 8), 0);
	ck_assert_uint_eq(ev.locate, 7);

	/* Everything else does not concern the book. */
	static const char others[] = "SYLVWKJhPQBINOz";
	for (const char *t = others; *t; t++) {
		memset(&m.u, 0, sizeof m.u);
		m.hdr.type = *t;
		ck_assert_int_eq(dp_book_ev_from_itch(&m, &ev), 0);
	}
}
END_TEST

/* The mapped events drive the book the same as hand-made ones. */
START_TEST(itch_to_book)
{
	struct dp_itch_msg m;
	struct dp_book_ev ev;
	memset(&m, 0, sizeof m);
	m.hdr.type = 'A';
	m.hdr.stock_locate = 2;
	m.u.add.ref = 5;
	m.u.add.side = 'B';
	m.u.add.shares = 100;
	m.u.add.price = 10000;
	memcpy(m.u.add.stock, "ZVZZT   ", 8);
	ck_assert_int_eq(dp_book_ev_from_itch(&m, &ev), 1);
	apply(&ev);
	memset(&m.u, 0, sizeof m.u);
	m.hdr.type = 'E';
	m.u.executed.ref = 5;
	m.u.executed.shares = 40;
	ck_assert_int_eq(dp_book_ev_from_itch(&m, &ev), 1);
	apply(&ev);
	ck_assert_uint_eq(order(5).qty, 60);
	ck_assert_int_eq(dp_book_find_symbol(bk, "ZVZZT"), 2);
}
END_TEST

static Suite *suite(void)
{
	Suite *s = suite_create("book");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, create_args);
	tcase_add_test(tc, create_alloc_fail);
	tcase_add_test(tc, add_both_sides_levels);
	tcase_add_test(tc, many_levels_sorted);
	tcase_add_test(tc, fifo_and_exec);
	tcase_add_test(tc, cancel_and_delete);
	tcase_add_test(tc, replace_cases);
	tcase_add_test(tc, unknown_refs);
	tcase_add_test(tc, refusals);
	tcase_add_test(tc, pool_exhaustion);
	tcase_add_test(tc, side_array_growth);
	tcase_add_test(tc, directory_state_find);
	tcase_add_test(tc, busiest);
	tcase_add_test(tc, hash_churn);
	tcase_add_test(tc, ref_window_overflow);
	tcase_add_test(tc, ladder_window);
	tcase_add_test(tc, itch_mapping);
	tcase_add_test(tc, itch_to_book);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
