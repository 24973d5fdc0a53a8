/*
 * dp_itch.h - NASDAQ TotalView-ITCH 5.0 message codec.
 *
 * Decodes and encodes every message type of the ITCH 5.0 specification
 * (S R H Y L V W K J h A F E C X D U P Q B I N O). Wire format: big-endian
 * integers, 48-bit nanoseconds-since-midnight timestamps, alpha fields
 * left-justified and space padded, Price(4) with 4 implied decimals and
 * Price(8) (MWCB levels) with 8 implied decimals. Prices stay integers in
 * those units everywhere in mgw; nothing here uses floating point.
 *
 * The decoder treats its input as hostile: the message length must equal the
 * spec length for its type exactly, and no byte outside [buf, buf+len) is
 * ever read. Every rejection returns a negative dp_itch_err so that the
 * caller can count it by reason.
 */
#ifndef DP_ITCH_H
#define DP_ITCH_H

#include <stddef.h>
#include <stdint.h>

/* Message types, as their ASCII type byte. */
enum dp_itch_type {
	DP_ITCH_SYSTEM_EVENT      = 'S',
	DP_ITCH_STOCK_DIRECTORY   = 'R',
	DP_ITCH_TRADING_ACTION    = 'H',
	DP_ITCH_REG_SHO           = 'Y',
	DP_ITCH_MP_POSITION       = 'L',
	DP_ITCH_MWCB_DECLINE      = 'V',
	DP_ITCH_MWCB_STATUS       = 'W',
	DP_ITCH_IPO_QUOTING       = 'K',
	DP_ITCH_LULD_COLLAR       = 'J',
	DP_ITCH_OPERATIONAL_HALT  = 'h',
	DP_ITCH_ADD_ORDER         = 'A',
	DP_ITCH_ADD_ORDER_MPID    = 'F',
	DP_ITCH_ORDER_EXECUTED    = 'E',
	DP_ITCH_ORDER_EXECUTED_PX = 'C',
	DP_ITCH_ORDER_CANCEL      = 'X',
	DP_ITCH_ORDER_DELETE      = 'D',
	DP_ITCH_ORDER_REPLACE     = 'U',
	DP_ITCH_TRADE             = 'P',
	DP_ITCH_CROSS_TRADE       = 'Q',
	DP_ITCH_BROKEN_TRADE      = 'B',
	DP_ITCH_NOII              = 'I',
	DP_ITCH_RPII              = 'N',
	DP_ITCH_DLCR              = 'O',
};

/* Number of message types and the order used for per-type counters. */
#define DP_ITCH_NTYPES 23
/* "SRHYLVWKJhAFECXDUPQBINO": type byte for counter slot i. */
extern const char dp_itch_type_chars[DP_ITCH_NTYPES + 1];

/* Decode errors, returned negated. Also the order of the error counters. */
enum dp_itch_err {
	DP_ITCH_OK = 0,
	DP_ITCH_ERR_EMPTY = 1,       /* zero-length message */
	DP_ITCH_ERR_UNKNOWN_TYPE,    /* type byte not in the spec */
	DP_ITCH_ERR_BAD_LENGTH,      /* length differs from the spec length for the type */
	DP_ITCH_ERR_TRUNCATED,       /* framing says more bytes than the buffer holds */
	DP_ITCH_ERR_BAD_FIELD,       /* an enumerated field (side, ...) has an invalid value */
	DP_ITCH_ERR__COUNT
};

/* Largest ITCH 5.0 message (NOII, 50 bytes). */
#define DP_ITCH_MAX_LEN 50
#define DP_ITCH_STOCK_LEN 8

/* Fields common to every message: bytes 0..10 on the wire. */
struct dp_itch_hdr {
	char type;
	uint16_t stock_locate;
	uint16_t tracking;
	uint64_t timestamp; /* ns since midnight, 48 bits on the wire */
};

/*
 * A decoded message. `hdr.type` selects the union member; member names
 * follow the spec's field names. Alpha fields are kept as raw bytes (space
 * padded, not NUL terminated); see dp_itch_stock_str() to print one.
 */
struct dp_itch_msg {
	struct dp_itch_hdr hdr;
	union {
		struct { char event_code; } system_event;                        /* S */
		struct {                                                           /* R */
			char stock[8];
			char market_category;
			char financial_status;
			uint32_t round_lot_size;
			char round_lots_only;
			char issue_classification;
			char issue_subtype[2];
			char authenticity;
			char short_sale_threshold;
			char ipo_flag;
			char luld_ref_price_tier;
			char etp_flag;
			uint32_t etp_leverage_factor;
			char inverse_indicator;
		} stock_directory;
		struct {                                                           /* H */
			char stock[8];
			char trading_state; /* H halted, P paused, Q quotation only, T trading */
			char reserved;
			char reason[4];
		} trading_action;
		struct { char stock[8]; char reg_sho_action; } reg_sho;           /* Y */
		struct {                                                           /* L */
			char mpid[4];
			char stock[8];
			char primary_market_maker;
			char market_maker_mode;
			char market_participant_state;
		} mp_position;
		struct { uint64_t level1, level2, level3; } mwcb_decline;         /* V, Price(8) */
		struct { char breached_level; } mwcb_status;                      /* W */
		struct {                                                           /* K */
			char stock[8];
			uint32_t release_time;  /* seconds since midnight */
			char release_qualifier;
			uint32_t ipo_price;
		} ipo_quoting;
		struct {                                                           /* J */
			char stock[8];
			uint32_t ref_price;
			uint32_t upper_price;
			uint32_t lower_price;
			uint32_t extension;
		} luld_collar;
		struct { char stock[8]; char market_code; char action; } op_halt; /* h */
		struct {                                                           /* A, F */
			uint64_t ref;
			char side; /* 'B' or 'S' */
			uint32_t shares;
			char stock[8];
			uint32_t price;
			char attribution[4]; /* F only */
		} add;
		struct { uint64_t ref; uint32_t shares; uint64_t match; } executed; /* E */
		struct {                                                           /* C */
			uint64_t ref;
			uint32_t shares;
			uint64_t match;
			char printable;
			uint32_t price;
		} executed_px;
		struct { uint64_t ref; uint32_t shares; } cancel;                 /* X */
		struct { uint64_t ref; } del;                                      /* D */
		struct {                                                           /* U */
			uint64_t orig_ref;
			uint64_t new_ref;
			uint32_t shares;
			uint32_t price;
		} replace;
		struct {                                                           /* P */
			uint64_t ref;
			char side;
			uint32_t shares;
			char stock[8];
			uint32_t price;
			uint64_t match;
		} trade;
		struct {                                                           /* Q */
			uint64_t shares;
			char stock[8];
			uint32_t cross_price;
			uint64_t match;
			char cross_type;
		} cross_trade;
		struct { uint64_t match; } broken_trade;                           /* B */
		struct {                                                           /* I */
			uint64_t paired_shares;
			uint64_t imbalance_shares;
			char imbalance_direction;
			char stock[8];
			uint32_t far_price;
			uint32_t near_price;
			uint32_t ref_price;
			char cross_type;
			char price_variation;
		} noii;
		struct { char stock[8]; char interest_flag; } rpii;               /* N */
		struct {                                                           /* O */
			char stock[8];
			char open_eligibility;
			uint32_t min_price;
			uint32_t max_price;
			uint32_t near_exec_price;
			uint64_t near_exec_time;
			uint32_t lower_collar;
			uint32_t upper_collar;
		} dlcr;
	} u;
};

/* Spec length of a message of type `type`, or 0 if the type is unknown. */
size_t dp_itch_msg_len(uint8_t type);

/* Counter slot (0..DP_ITCH_NTYPES-1) of a type byte, or -1 if unknown. */
int dp_itch_type_index(uint8_t type);

/*
 * Decode one message occupying exactly buf[0..len). Returns 0 and fills *m,
 * or a negative dp_itch_err (m is then unspecified). Never reads outside
 * the buffer.
 */
int dp_itch_decode(const uint8_t *buf, size_t len, struct dp_itch_msg *m);

/*
 * Encode *m into buf (capacity cap). Returns the number of bytes written
 * (the spec length for the type), or a negative dp_itch_err: UNKNOWN_TYPE,
 * or TRUNCATED when cap is too small. The 48-bit timestamp is taken modulo
 * 2^48.
 */
int dp_itch_encode(const struct dp_itch_msg *m, uint8_t *buf, size_t cap);

/* Short text name of an error ("unknown_type", ...), for counters and logs. */
const char *dp_itch_err_name(int err);

/*
 * Copy an 8-byte alpha stock field into out (at least 9 bytes) without the
 * trailing spaces, NUL terminated. Non-printable bytes become '?'.
 */
void dp_itch_stock_str(const char stock[8], char out[9]);

/* Fill an 8-byte alpha field from a C string, space padded (truncated at 8). */
void dp_itch_stock_set(char stock[8], const char *s);

/*
 * Format a decoded message as one line of text (no newline), like
 * "A 09:30:00.000001234 locate=12 ref=42 B 100 AAPL @ 150.2500".
 * Returns the snprintf-style length.
 */
int dp_itch_format(const struct dp_itch_msg *m, char *out, size_t cap);

/*
 * BinaryFILE framing: a 2-byte big-endian length before each message.
 * dp_itch_file_next() reads the frame at buf[*off], sets *msg and *msglen
 * and advances *off. Returns 1 on a frame, 0 at clean end of buffer, or
 * -DP_ITCH_ERR_TRUNCATED if the last frame runs past the end.
 */
int dp_itch_file_next(const uint8_t *buf, size_t len, size_t *off,
		      const uint8_t **msg, size_t *msglen);

#endif /* DP_ITCH_H */
