/*
 * dp_mstage.c - the match stage's per-message logic (see dp_mstage.h):
 * reference, risk, engine, reports back to risk, counters.
 */
#include "dp_mstage.h"

#include <errno.h>
#include <string.h>

#include "mgw_shm.h"

void dp_mstage_init(struct dp_mstage *s, struct dp_match *m, struct dp_risk *r,
		    const struct dp_ref_table *ref, uint64_t *ctr, uint32_t max_symbols)
{
	memset(s, 0, sizeof(*s));
	s->m = m;
	s->r = r;
	s->ref = ref;
	s->ctr = ctr;
	s->max_symbols = max_symbols > DP_MSTAGE_MAX_SYMBOLS ? DP_MSTAGE_MAX_SYMBOLS : max_symbols;
}

int dp_mstage_restrict(struct dp_mstage *s, uint32_t account, const char *name, int on)
{
	uint32_t i;
	for (i = 0; i < s->n_restrict; i++)
		if (s->restrict_[i].account == account && strcmp(s->restrict_[i].name, name) == 0)
			break;
	if (i == s->n_restrict) {
		if (s->n_restrict == DP_MSTAGE_MAX_RESTRICT)
			return -ENOSPC;
		s->n_restrict++;
	}
	struct dp_mstage_restrict *e = &s->restrict_[i];
	e->account = account;
	e->on = (uint8_t)(on != 0);
	memset(e->name, 0, sizeof(e->name));
	strncpy(e->name, name, 8);
	/* Every locate is matched against the list again at its next order. */
	memset(s->named, 0, sizeof(s->named));
	return 0;
}

int dp_mstage_inject(struct dp_mstage *s, const struct dp_order_msg *msg)
{
	if (s->has_inject)
		return -EBUSY;
	s->inject = *msg;
	s->has_inject = 1;
	return 0;
}

uint32_t dp_mstage_reason_ctr(uint8_t reason)
{
	switch (reason) {
	case DP_RJ_BAD_SIDE: return MGW_CTR_RJ_BAD_SIDE;
	case DP_RJ_BAD_QTY: return MGW_CTR_RJ_BAD_QTY;
	case DP_RJ_BAD_PRICE: return MGW_CTR_RJ_BAD_PRICE;
	case DP_RJ_BAD_TYPE: return MGW_CTR_RJ_BAD_TYPE;
	case DP_RJ_BAD_TIF: return MGW_CTR_RJ_BAD_TIF;
	case DP_RJ_UNKNOWN_SYMBOL: return MGW_CTR_RJ_UNKNOWN_SYMBOL;
	case DP_RJ_UNKNOWN_ORDER: return MGW_CTR_RJ_UNKNOWN_ORDER;
	case DP_RJ_DUPLICATE_ID: return MGW_CTR_RJ_DUPLICATE_ID;
	case DP_RJ_POST_ONLY_WOULD_TAKE: return MGW_CTR_RJ_POST_ONLY_WOULD_TAKE;
	case DP_RJ_FOK_NOT_FILLABLE: return MGW_CTR_RJ_FOK_NOT_FILLABLE;
	case DP_RJ_IOC_REMAINDER: return MGW_CTR_RJ_IOC_REMAINDER;
	case DP_RJ_NO_REFERENCE: return MGW_CTR_RJ_NO_REFERENCE;
	case DP_RJ_TRADE_THROUGH: return MGW_CTR_RJ_TRADE_THROUGH;
	case DP_RJ_STP: return MGW_CTR_RJ_STP;
	case DP_RJ_BOOK_FULL: return MGW_CTR_RJ_BOOK_FULL;
	case DP_RJ_RISK_MAX_QTY: return MGW_CTR_RJ_RISK_MAX_QTY;
	case DP_RJ_RISK_MAX_NOTIONAL: return MGW_CTR_RJ_RISK_MAX_NOTIONAL;
	case DP_RJ_RISK_PRICE_COLLAR: return MGW_CTR_RJ_RISK_PRICE_COLLAR;
	case DP_RJ_RISK_CREDIT: return MGW_CTR_RJ_RISK_CREDIT;
	case DP_RJ_RISK_MAX_POSITION: return MGW_CTR_RJ_RISK_MAX_POSITION;
	case DP_RJ_RISK_RESTRICTED: return MGW_CTR_RJ_RISK_RESTRICTED;
	case DP_RJ_RISK_THROTTLE: return MGW_CTR_RJ_RISK_THROTTLE;
	case DP_RJ_RISK_UNKNOWN_ACCOUNT: return MGW_CTR_RJ_RISK_UNKNOWN_ACCOUNT;
	case DP_RJ_KILL_SWITCH: return MGW_CTR_RJ_KILL_SWITCH;
	case DP_RJ_BACKPRESSURE: return MGW_CTR_RJ_BACKPRESSURE;
	default: return MGW_CTR_RJ_OTHER;
	}
}

/* Count one report that goes out. */
static void count_report(struct dp_mstage *s, const struct dp_exec_report *r)
{
	static const uint32_t by_kind[] = {
		[DP_EXEC_ACCEPTED] = MGW_CTR_REP_ACCEPTED,
		[DP_EXEC_REJECTED] = MGW_CTR_REP_REJECTED,
		[DP_EXEC_FILL] = MGW_CTR_REP_FILL,
		[DP_EXEC_CANCELLED] = MGW_CTR_REP_CANCELLED,
		[DP_EXEC_REPLACED] = MGW_CTR_REP_REPLACED,
		[DP_EXEC_CANCEL_REJECTED] = MGW_CTR_REP_CANCEL_REJECTED,
	};
	if (r->kind >= DP_EXEC_ACCEPTED && r->kind <= DP_EXEC_CANCEL_REJECTED)
		mgw_ctr_add(s->ctr, (enum mgw_ctr_id)by_kind[r->kind], 1);
	if (r->reason != DP_RJ_NONE)
		mgw_ctr_add(s->ctr, (enum mgw_ctr_id)dp_mstage_reason_ctr(r->reason), 1);
}

/* Engine reports (risk has seen them in dp_risk_match): counted, fills remembered. */
static void after_engine(struct dp_mstage *s, const struct dp_exec_report *out, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		count_report(s, &out[i]);
		if (out[i].kind == DP_EXEC_FILL && out[i].symbol < s->max_symbols)
			s->traded[out[i].symbol / 64] |= 1ull << (out[i].symbol % 64);
	}
}

/* A refusal made here (risk, backpressure): REJECTED for a NEW,
   CANCEL_REJECTED for a REPLACE, with the request's own ids. */
static uint32_t refuse(struct dp_mstage *s, const struct dp_order_msg *msg, uint8_t reason,
		       struct dp_exec_report *out)
{
	memset(out, 0, sizeof(*out));
	out->kind = msg->kind == DP_ORD_REPLACE ? DP_EXEC_CANCEL_REJECTED : DP_EXEC_REJECTED;
	out->reason = reason;
	out->side = msg->side;
	out->symbol = msg->symbol;
	out->account = msg->account;
	out->session = msg->session;
	out->cl_ord_id = msg->cl_ord_id;
	out->last_px = msg->price;
	out->leaves_qty = 0;
	count_report(s, out);
	return 1;
}

/*
 * Restricted names: the first order on a locate (after a change of the
 * list) looks the locate's name up in the reference table and applies the
 * matching restrictions. Returns 0, or DP_RJ_RISK_RESTRICTED to fail closed
 * when this account has restrictions but the feed has not named the locate
 * yet (it might be one of them).
 */
static uint8_t resolve_restricted(struct dp_mstage *s, const struct dp_order_msg *msg)
{
	uint16_t loc = msg->symbol;
	if (!s->n_restrict || loc >= s->max_symbols || (s->named[loc / 64] & (1ull << (loc % 64))))
		return DP_RJ_NONE;
	char stock[8];
	if (!dp_ref_stock(s->ref, loc, stock)) {
		for (uint32_t i = 0; i < s->n_restrict; i++)
			if (s->restrict_[i].on && s->restrict_[i].account == msg->account)
				return DP_RJ_RISK_RESTRICTED;
		return DP_RJ_NONE;
	}
	for (uint32_t i = 0; i < s->n_restrict; i++)
		if (dp_ref_stock_eq(stock, s->restrict_[i].name))
			(void)dp_risk_set_restricted(s->r, s->restrict_[i].account, loc, s->restrict_[i].on);
	s->named[loc / 64] |= 1ull << (loc % 64);
	return DP_RJ_NONE;
}

uint32_t dp_mstage_msg(struct dp_mstage *s, const struct dp_order_msg *msg, uint64_t now_ns,
		       int backpressure, struct dp_exec_report *out, uint32_t cap)
{
	static const uint32_t by_kind[] = {
		[DP_ORD_NEW] = MGW_CTR_ORD_NEW,
		[DP_ORD_CANCEL] = MGW_CTR_ORD_CANCEL,
		[DP_ORD_REPLACE] = MGW_CTR_ORD_REPLACE,
		[DP_ORD_MASS_CANCEL] = MGW_CTR_ORD_MASS_CANCEL,
	};
	if (cap < DP_MATCH_MIN_CAP || dp_match_pending(s->m))
		return 0;
	int order = msg->kind == DP_ORD_NEW || msg->kind == DP_ORD_REPLACE;
	mgw_ctr_add(s->ctr, msg->kind >= DP_ORD_NEW && msg->kind <= DP_ORD_MASS_CANCEL
				    ? (enum mgw_ctr_id)by_kind[msg->kind] : MGW_CTR_ORD_BAD, 1);
	if (order && backpressure) {
		mgw_ctr_add(s->ctr, MGW_CTR_MATCH_BACKPRESSURE, 1);
		return refuse(s, msg, DP_RJ_BACKPRESSURE, out);
	}
	/* One reference per message: risk and the engine judge the same prices. */
	struct dp_ref_px ref = dp_ref_read(s->ref, msg->symbol);
	uint8_t rj = order ? resolve_restricted(s, msg) : DP_RJ_NONE;
	if (rj != DP_RJ_NONE)
		return refuse(s, msg, rj, out);
	/* risk check (NEW, REPLACE), engine, every report back to risk */
	uint32_t n = dp_risk_match(s->r, s->m, msg, &ref, now_ns, out, cap, &rj);
	if (rj != DP_RJ_NONE)
		return refuse(s, msg, rj, out);
	if (dp_match_pending(s->m))
		mgw_ctr_add(s->ctr, MGW_CTR_MATCH_PAUSES, 1);
	after_engine(s, out, n);
	return n;
}

uint32_t dp_mstage_resume(struct dp_mstage *s, struct dp_exec_report *out, uint32_t cap)
{
	uint32_t n = dp_risk_match_resume(s->r, s->m, out, cap);
	after_engine(s, out, n);
	return n;
}
