/*
 * dp_order.h - the fixed-size messages of the client order path.
 *
 * Order entry (FIX, OUCH, the FPGA card, tests and benchmarks) hands the
 * match stage dp_order_msg records over an rte_ring; the match stage
 * answers with dp_exec_report records on another ring. Both are plain,
 * pointer-free 64-byte records so they can live in rings, in the shared
 * segment and in the journal unchanged.
 *
 * Money is integer: prices are in the feed's Price(4) ticks (1/10000 of a
 * dollar), quantities are shares. Symbols are the ITCH stock locate of the
 * exchange feed, so the reference prices of a symbol come from the exchange
 * book of the same locate.
 */
#ifndef DP_ORDER_H
#define DP_ORDER_H

#include <stdint.h>

enum dp_ord_kind {
	DP_ORD_NEW = 1,
	DP_ORD_CANCEL = 2,      /* orig_cl_ord_id names the order */
	DP_ORD_REPLACE = 3,     /* orig_cl_ord_id names it; new price/qty; cl_ord_id is the new id */
	DP_ORD_MASS_CANCEL = 4, /* scope in `mass`, key in account/session/symbol */
};

enum dp_ord_type { DP_ORD_LIMIT = 1, DP_ORD_MARKET = 2 };

enum dp_tif { DP_TIF_DAY = 1, DP_TIF_IOC = 2, DP_TIF_FOK = 3 };

enum dp_mass_scope { DP_MASS_ACCOUNT = 1, DP_MASS_SESSION = 2, DP_MASS_SYMBOL = 3, DP_MASS_ALL = 4 };

#define DP_ORD_F_POST_ONLY 0x01 /* reject if it would take liquidity on arrival */
/*
 * MASS_CANCEL made by a kill switch (dp_risk_kill sets it): its CANCELLED
 * reports carry DP_RJ_KILL_SWITCH instead of DP_RJ_NONE, so a client and
 * the audit see why. Internal: order entry must not pass it from clients.
 */
#define DP_ORD_F_KILL 0x02

/* One client request: 64 bytes. */
struct dp_order_msg {
	uint8_t kind;        /* dp_ord_kind */
	uint8_t type;        /* dp_ord_type (NEW, REPLACE) */
	uint8_t tif;         /* dp_tif (NEW) */
	uint8_t flags;       /* DP_ORD_F_* */
	char side;           /* 'B' or 'S' (NEW) */
	uint8_t mass;        /* dp_mass_scope (MASS_CANCEL) */
	uint16_t symbol;     /* ITCH stock locate */
	uint32_t account;
	uint32_t session;    /* order entry session that sent it */
	uint64_t cl_ord_id;  /* client order id, unique per session */
	uint64_t orig_cl_ord_id;
	uint32_t price;      /* Price(4) ticks; ignored for MARKET */
	uint32_t qty;        /* shares, > 0 */
	uint64_t ts;         /* receive time, UTC ns */
	uint64_t seq;        /* order-entry sequence */
	uint64_t reserved;   /* zero; room for a later field without changing the size */
};
_Static_assert(sizeof(struct dp_order_msg) == 64, "dp_order_msg is 64 bytes");

enum dp_exec_kind {
	DP_EXEC_ACCEPTED = 1,   /* new order accepted (resting or about to match) */
	DP_EXEC_REJECTED = 2,   /* new/replace refused: reason */
	DP_EXEC_FILL = 3,       /* a (partial) execution: last_qty at last_px; leaves 0 = filled */
	DP_EXEC_CANCELLED = 4,  /* cancelled by request, mass cancel, IOC/FOK remainder, STP, kill */
	DP_EXEC_REPLACED = 5,   /* replace applied; price/qty/leaves are the new ones */
	DP_EXEC_CANCEL_REJECTED = 6, /* cancel/replace of an unknown or finished order: reason */
};

/* One result: 64 bytes. A fill produces one report per side. */
struct dp_exec_report {
	uint8_t kind;        /* dp_exec_kind */
	uint8_t reason;      /* dp_reject_reason (REJECTED, CANCEL_REJECTED, CANCELLED) */
	char side;
	uint8_t flags;
	uint16_t symbol;
	uint16_t pad;
	uint32_t account;
	uint32_t session;
	uint64_t cl_ord_id;
	uint64_t order_id;   /* engine-assigned, unique for the day */
	uint64_t exec_id;    /* unique per report; both sides of a fill share the match id in contra */
	uint32_t last_px;    /* FILL: execution price; REPLACED: new price */
	uint32_t last_qty;   /* FILL: executed shares */
	uint32_t leaves_qty;
	uint32_t cum_qty;
	uint32_t avg_px;     /* cumulative notional / cum_qty, rounded half up, Price(4) */
	uint32_t contra;     /* FILL: the other side's account */
};
_Static_assert(sizeof(struct dp_exec_report) == 64, "dp_exec_report is 64 bytes");

/*
 * Reference best bid and offer of a symbol at one moment, from the exchange
 * book of the same locate. The match stage passes the same value to the
 * risk checks and to the matching engine.
 */
struct dp_ref_px {
	uint32_t bid, ask; /* Price(4); 0 = no price on that side */
	uint8_t valid;     /* 0: stale, halted, paused or no reference */
};

/*
 * Why an order was refused or cancelled. Stable numbers: they are in
 * journals, audit rows and client messages. Text: dp_match_reason_text().
 */
enum dp_reject_reason {
	DP_RJ_NONE = 0,
	/* message validity */
	DP_RJ_BAD_SIDE = 1,
	DP_RJ_BAD_QTY = 2,
	DP_RJ_BAD_PRICE = 3,
	DP_RJ_BAD_TYPE = 4,
	DP_RJ_BAD_TIF = 5,
	DP_RJ_UNKNOWN_SYMBOL = 6,
	DP_RJ_UNKNOWN_ORDER = 7,      /* cancel/replace target not live */
	DP_RJ_DUPLICATE_ID = 8,       /* cl_ord_id already used in this session */
	/* matching */
	DP_RJ_POST_ONLY_WOULD_TAKE = 20,
	DP_RJ_FOK_NOT_FILLABLE = 21,
	DP_RJ_IOC_REMAINDER = 22,     /* CANCELLED: unfilled part of IOC / market */
	DP_RJ_NO_REFERENCE = 23,      /* marketable but no valid reference price (stale, halted) */
	DP_RJ_TRADE_THROUGH = 24,     /* CANCELLED: remainder would trade through the reference */
	DP_RJ_STP = 25,               /* CANCELLED: self-trade prevention */
	DP_RJ_BOOK_FULL = 26,         /* engine pools exhausted */
	/* pre-trade risk */
	DP_RJ_RISK_MAX_QTY = 40,
	DP_RJ_RISK_MAX_NOTIONAL = 41,
	DP_RJ_RISK_PRICE_COLLAR = 42,
	DP_RJ_RISK_CREDIT = 43,
	DP_RJ_RISK_MAX_POSITION = 44,
	DP_RJ_RISK_RESTRICTED = 45,
	DP_RJ_RISK_THROTTLE = 46,
	DP_RJ_RISK_UNKNOWN_ACCOUNT = 47,
	DP_RJ_KILL_SWITCH = 48,       /* REJECTED / CANCELLED by a kill switch */
	DP_RJ_BACKPRESSURE = 49,      /* journal or event ring above its high-water mark */
};

/*
 * Hash of an order key (session, cl_ord_id): the one function the
 * engine's order table and risk's live-order and id tables all use, so a
 * caller driving both (dp_risk_match) hashes a message's ids once. A
 * folded 64x64->128 multiply with the session mixed in: the high half
 * carries every input bit into every output bit, the low half keeps the
 * low ones distinct (same probe lengths as a Murmur3 finalizer for
 * counters and random ids, half the instructions).
 */
static inline uint32_t dp_order_key_hash(uint32_t session, uint64_t cl_ord_id)
{
	uint64_t x = cl_ord_id ^ ((uint64_t)session * 0x9e3779b97f4a7c15ULL);
	unsigned __int128 p = (unsigned __int128)x * 0xc4ceb9fe1a85ec53ULL;
	return (uint32_t)((uint64_t)p ^ (uint64_t)(p >> 64));
}

#endif /* DP_ORDER_H */
