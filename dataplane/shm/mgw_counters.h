/*
 * mgw_counters.h - the list of dataplane counters, defined once.
 *
 * Every counter the dataplane exports is one line of MGW_COUNTERS below.
 * The enum of counter ids, the per-lcore counter blocks in the shared
 * segment and the name/help/label description table that exporters read
 * (mgw_shm_counter_desc) are all generated from this list, so there is no
 * second hand-kept list anywhere: mgw-control, mgwctl and the Prometheus
 * exporter enumerate the table written into the segment.
 *
 * X(id, kind, name, labels, help)
 *   id     - C identifier, MGW_CTR_<id>
 *   kind   - C (counter: 64-bit, monotonic, never reset) or G (gauge)
 *   name   - exported metric name, mgw_<subsystem>_<thing>[_total]
 *   labels - Prometheus label set without braces ("" for none)
 *   help   - one line for operators
 */
#ifndef MGW_COUNTERS_H
#define MGW_COUNTERS_H

#define MGW_COUNTERS(X)                                                                      \
	/* lcore loop */                                                                       \
	X(LOOP_PASSES, C, "mgw_lcore_loop_passes_total", "", "Poll loop passes")                 \
	X(LOOP_BUSY, C, "mgw_lcore_loop_busy_passes_total", "", "Loop passes that did work")     \
	X(LOOP_CYCLES, C, "mgw_lcore_cycles_total", "", "TSC cycles spent in the poll loop")     \
	X(LOOP_BUSY_CYCLES, C, "mgw_lcore_busy_cycles_total", "",                                \
	  "TSC cycles of loop passes that did work (busy ratio = busy_cycles / cycles)")        \
	/* rx: frames */                                                                       \
	X(RX_PACKETS, C, "mgw_rx_packets_total", "", "Frames received from the ports")           \
	X(RX_BYTES, C, "mgw_rx_bytes_total", "", "Bytes received from the ports")                \
	X(RX_BACKPRESSURE, C, "mgw_rx_backpressure_total", "",                                   \
	  "Rx passes skipped because the rx->book ring lacked room (the NIC buffers meanwhile)") \
	X(PKT_DROP_SEGMENTED, C, "mgw_pkt_dropped_total", "reason=\"multi_segment\"", "Frames dropped, by reason") \
	X(PKT_DROP_RUNT, C, "mgw_pkt_dropped_total", "reason=\"runt\"", "Frames dropped, by reason") \
	X(PKT_DROP_NOT_IPV4, C, "mgw_pkt_dropped_total", "reason=\"not_ipv4\"", "Frames dropped, by reason") \
	X(PKT_DROP_IP_HDR, C, "mgw_pkt_dropped_total", "reason=\"ip_header\"", "Frames dropped, by reason") \
	X(PKT_DROP_IP_CSUM, C, "mgw_pkt_dropped_total", "reason=\"ip_checksum\"", "Frames dropped, by reason") \
	X(PKT_DROP_FRAGMENT, C, "mgw_pkt_dropped_total", "reason=\"ip_fragment\"", "Frames dropped, by reason") \
	X(PKT_DROP_NOT_UDP, C, "mgw_pkt_dropped_total", "reason=\"not_udp\"", "Frames dropped, by reason") \
	X(PKT_DROP_UDP_HDR, C, "mgw_pkt_dropped_total", "reason=\"udp_header\"", "Frames dropped, by reason") \
	X(PKT_DROP_PORT, C, "mgw_pkt_dropped_total", "reason=\"udp_port_filter\"", "Frames dropped, by reason") \
	X(PKT_DROP_GROUP, C, "mgw_pkt_dropped_total", "reason=\"group_filter\"", "Frames dropped, by reason") \
	/* MoldUDP64 */                                                                        \
	X(MOLD_PACKETS, C, "mgw_mold_packets_total", "", "MoldUDP64 datagrams accepted")         \
	X(MOLD_HEARTBEATS, C, "mgw_mold_heartbeats_total", "", "MoldUDP64 heartbeats")           \
	X(MOLD_END_OF_SESSION, C, "mgw_mold_end_of_session_total", "", "MoldUDP64 end-of-session packets") \
	X(MOLD_SESSIONS_ENDED, G, "mgw_mold_sessions_ended", "",                                 \
	  "1 while every MoldUDP64 session seen has sent end of session (references stale)")    \
	X(MOLD_DROP_SHORT, C, "mgw_mold_dropped_total", "reason=\"short\"", "MoldUDP64 datagrams or blocks dropped, by reason") \
	X(MOLD_DROP_TRUNCATED, C, "mgw_mold_dropped_total", "reason=\"truncated\"", "MoldUDP64 datagrams or blocks dropped, by reason") \
	X(MOLD_DROP_TRAILING, C, "mgw_mold_dropped_total", "reason=\"trailing\"", "MoldUDP64 datagrams or blocks dropped, by reason") \
	X(MOLD_DROP_ZERO_LEN, C, "mgw_mold_dropped_total", "reason=\"zero_length\"", "MoldUDP64 datagrams or blocks dropped, by reason") \
	X(MOLD_DROP_SESSIONS, C, "mgw_mold_dropped_total", "reason=\"too_many_sessions\"", "MoldUDP64 datagrams or blocks dropped, by reason") \
	X(MOLD_GAPS, C, "mgw_mold_gaps_total", "", "Sequence gaps detected")                     \
	X(MOLD_GAP_MESSAGES, C, "mgw_mold_gap_messages_total", "", "Messages missing in gaps")   \
	X(MOLD_DUP_MESSAGES, C, "mgw_mold_duplicate_messages_total", "", "Messages already seen, skipped") \
	/* ITCH messages by type, in dp_itch_type_chars order */                              \
	X(ITCH_S, C, "mgw_itch_messages_total", "type=\"S\"", "ITCH messages decoded, by type")  \
	X(ITCH_R, C, "mgw_itch_messages_total", "type=\"R\"", "ITCH messages decoded, by type")  \
	X(ITCH_H, C, "mgw_itch_messages_total", "type=\"H\"", "ITCH messages decoded, by type")  \
	X(ITCH_Y, C, "mgw_itch_messages_total", "type=\"Y\"", "ITCH messages decoded, by type")  \
	X(ITCH_L, C, "mgw_itch_messages_total", "type=\"L\"", "ITCH messages decoded, by type")  \
	X(ITCH_V, C, "mgw_itch_messages_total", "type=\"V\"", "ITCH messages decoded, by type")  \
	X(ITCH_W, C, "mgw_itch_messages_total", "type=\"W\"", "ITCH messages decoded, by type")  \
	X(ITCH_K, C, "mgw_itch_messages_total", "type=\"K\"", "ITCH messages decoded, by type")  \
	X(ITCH_J, C, "mgw_itch_messages_total", "type=\"J\"", "ITCH messages decoded, by type")  \
	X(ITCH_h, C, "mgw_itch_messages_total", "type=\"h\"", "ITCH messages decoded, by type")  \
	X(ITCH_A, C, "mgw_itch_messages_total", "type=\"A\"", "ITCH messages decoded, by type")  \
	X(ITCH_F, C, "mgw_itch_messages_total", "type=\"F\"", "ITCH messages decoded, by type")  \
	X(ITCH_E, C, "mgw_itch_messages_total", "type=\"E\"", "ITCH messages decoded, by type")  \
	X(ITCH_C, C, "mgw_itch_messages_total", "type=\"C\"", "ITCH messages decoded, by type")  \
	X(ITCH_X, C, "mgw_itch_messages_total", "type=\"X\"", "ITCH messages decoded, by type")  \
	X(ITCH_D, C, "mgw_itch_messages_total", "type=\"D\"", "ITCH messages decoded, by type")  \
	X(ITCH_U, C, "mgw_itch_messages_total", "type=\"U\"", "ITCH messages decoded, by type")  \
	X(ITCH_P, C, "mgw_itch_messages_total", "type=\"P\"", "ITCH messages decoded, by type")  \
	X(ITCH_Q, C, "mgw_itch_messages_total", "type=\"Q\"", "ITCH messages decoded, by type")  \
	X(ITCH_B, C, "mgw_itch_messages_total", "type=\"B\"", "ITCH messages decoded, by type")  \
	X(ITCH_I, C, "mgw_itch_messages_total", "type=\"I\"", "ITCH messages decoded, by type")  \
	X(ITCH_N, C, "mgw_itch_messages_total", "type=\"N\"", "ITCH messages decoded, by type")  \
	X(ITCH_O, C, "mgw_itch_messages_total", "type=\"O\"", "ITCH messages decoded, by type")  \
	/* ITCH errors, in dp_itch_err order (1..) */                                         \
	X(ITCH_ERR_EMPTY, C, "mgw_itch_errors_total", "reason=\"empty\"", "ITCH messages rejected, by reason") \
	X(ITCH_ERR_UNKNOWN_TYPE, C, "mgw_itch_errors_total", "reason=\"unknown_type\"", "ITCH messages rejected, by reason") \
	X(ITCH_ERR_BAD_LENGTH, C, "mgw_itch_errors_total", "reason=\"bad_length\"", "ITCH messages rejected, by reason") \
	X(ITCH_ERR_TRUNCATED, C, "mgw_itch_errors_total", "reason=\"truncated\"", "ITCH messages rejected, by reason") \
	X(ITCH_ERR_BAD_FIELD, C, "mgw_itch_errors_total", "reason=\"bad_field\"", "ITCH messages rejected, by reason") \
	X(FEED_EV_OVERFLOW, C, "mgw_feed_event_overflow_total", "",                              \
	  "Book events lost because a frame made more than the rx scratch holds (must stay 0)")  \
	/* rx -> book ring */                                                                  \
	X(RING_ENQUEUED, C, "mgw_ring_rx_book_enqueued_total", "", "Book events passed from rx to book") \
	X(RING_DEQUEUED, C, "mgw_ring_rx_book_dequeued_total", "", "Book events taken by the book lcore") \
	/* book, in dp_book_ev_kind order (1..) */                                            \
	X(BOOK_ADD, C, "mgw_book_events_total", "kind=\"add\"", "Book events applied, by kind")  \
	X(BOOK_EXEC, C, "mgw_book_events_total", "kind=\"exec\"", "Book events applied, by kind") \
	X(BOOK_EXEC_PX, C, "mgw_book_events_total", "kind=\"exec_px\"", "Book events applied, by kind") \
	X(BOOK_CANCEL, C, "mgw_book_events_total", "kind=\"cancel\"", "Book events applied, by kind") \
	X(BOOK_DELETE, C, "mgw_book_events_total", "kind=\"delete\"", "Book events applied, by kind") \
	X(BOOK_REPLACE, C, "mgw_book_events_total", "kind=\"replace\"", "Book events applied, by kind") \
	X(BOOK_DIRECTORY, C, "mgw_book_events_total", "kind=\"directory\"", "Book events applied, by kind") \
	X(BOOK_TRADING_STATE, C, "mgw_book_events_total", "kind=\"trading_state\"", "Book events applied, by kind") \
	X(BOOK_UNKNOWN_REF, C, "mgw_book_refused_total", "reason=\"unknown_ref\"", "Book events refused, by reason") \
	X(BOOK_DUPLICATE_REF, C, "mgw_book_refused_total", "reason=\"duplicate_ref\"", "Book events refused, by reason") \
	X(BOOK_OVERFILL, C, "mgw_book_refused_total", "reason=\"overfill\"", "Book events refused, by reason") \
	X(BOOK_BAD_LOCATE, C, "mgw_book_refused_total", "reason=\"bad_locate\"", "Book events refused, by reason") \
	X(BOOK_BAD_SIDE, C, "mgw_book_refused_total", "reason=\"bad_side\"", "Book events refused, by reason") \
	X(BOOK_ZERO_QTY, C, "mgw_book_refused_total", "reason=\"zero_qty\"", "Book events refused, by reason") \
	X(BOOK_ORDERS_FULL, C, "mgw_book_refused_total", "reason=\"orders_full\"", "Book events refused, by reason") \
	X(BOOK_LEVELS_FULL, C, "mgw_book_refused_total", "reason=\"levels_full\"", "Book events refused, by reason") \
	X(BOOK_LIVE_ORDERS, G, "mgw_book_live_orders", "", "Orders resting in the exchange books") \
	X(BOOK_LIVE_LEVELS, G, "mgw_book_live_levels", "", "Price levels in use in the exchange books") \
	X(BOOK_REF_OVERFLOW, G, "mgw_book_ref_overflow_orders", "", "Orders found through the reference overflow hash (outlived the direct index window)") \
	X(BOOK_REF_MOVED, C, "mgw_book_ref_overflow_moved_total", "", "Orders moved from the direct reference index to its overflow hash") \
	X(BOOK_LADDERS_USED, G, "mgw_book_ladders_used", "", "Price ladders given to book sides (a side keeps its ladder; sides without one search a sorted array)") \
	X(BOOK_LADDERS_TOTAL, G, "mgw_book_ladders", "", "Price ladders in the pool (book.ladders)") \
	X(BOOK_LADDER_REBASES, C, "mgw_book_ladder_rebases_total", "", "Price ladder windows moved to follow the touch") \
	/* order path (match lcore), see docs/MATCHING.md "In the dataplane" */                \
	X(ORD_NEW, C, "mgw_orders_total", "kind=\"new\"", "Order messages taken from the order ring (and kill-switch mass cancels), by kind") \
	X(ORD_CANCEL, C, "mgw_orders_total", "kind=\"cancel\"", "Order messages taken from the order ring (and kill-switch mass cancels), by kind") \
	X(ORD_REPLACE, C, "mgw_orders_total", "kind=\"replace\"", "Order messages taken from the order ring (and kill-switch mass cancels), by kind") \
	X(ORD_MASS_CANCEL, C, "mgw_orders_total", "kind=\"mass_cancel\"", "Order messages taken from the order ring (and kill-switch mass cancels), by kind") \
	X(ORD_BAD, C, "mgw_orders_total", "kind=\"invalid\"", "Order messages taken from the order ring (and kill-switch mass cancels), by kind") \
	X(REP_ACCEPTED, C, "mgw_exec_reports_total", "kind=\"accepted\"", "Execution reports written to the report ring, by kind") \
	X(REP_REJECTED, C, "mgw_exec_reports_total", "kind=\"rejected\"", "Execution reports written to the report ring, by kind") \
	X(REP_FILL, C, "mgw_exec_reports_total", "kind=\"fill\"", "Execution reports written to the report ring, by kind") \
	X(REP_CANCELLED, C, "mgw_exec_reports_total", "kind=\"cancelled\"", "Execution reports written to the report ring, by kind") \
	X(REP_REPLACED, C, "mgw_exec_reports_total", "kind=\"replaced\"", "Execution reports written to the report ring, by kind") \
	X(REP_CANCEL_REJECTED, C, "mgw_exec_reports_total", "kind=\"cancel_rejected\"", "Execution reports written to the report ring, by kind") \
	X(RJ_BAD_SIDE, C, "mgw_order_rejects_total", "reason=\"bad_side\"", "REJECTED, CANCEL_REJECTED and reasoned CANCELLED reports, by reason") \
	X(RJ_BAD_QTY, C, "mgw_order_rejects_total", "reason=\"bad_qty\"", "REJECTED, CANCEL_REJECTED and reasoned CANCELLED reports, by reason") \
	X(RJ_BAD_PRICE, C, "mgw_order_rejects_total", "reason=\"bad_price\"", "REJECTED, CANCEL_REJECTED and reasoned CANCELLED reports, by reason") \
	X(RJ_BAD_TYPE, C, "mgw_order_rejects_total", "reason=\"bad_type\"", "REJECTED, CANCEL_REJECTED and reasoned CANCELLED reports, by reason") \
	X(RJ_BAD_TIF, C, "mgw_order_rejects_total", "reason=\"bad_tif\"", "REJECTED, CANCEL_REJECTED and reasoned CANCELLED reports, by reason") \
	X(RJ_UNKNOWN_SYMBOL, C, "mgw_order_rejects_total", "reason=\"unknown_symbol\"", "REJECTED, CANCEL_REJECTED and reasoned CANCELLED reports, by reason") \
	X(RJ_UNKNOWN_ORDER, C, "mgw_order_rejects_total", "reason=\"unknown_order\"", "REJECTED, CANCEL_REJECTED and reasoned CANCELLED reports, by reason") \
	X(RJ_DUPLICATE_ID, C, "mgw_order_rejects_total", "reason=\"duplicate_id\"", "REJECTED, CANCEL_REJECTED and reasoned CANCELLED reports, by reason") \
	X(RJ_POST_ONLY_WOULD_TAKE, C, "mgw_order_rejects_total", "reason=\"post_only_would_take\"", "REJECTED, CANCEL_REJECTED and reasoned CANCELLED reports, by reason") \
	X(RJ_FOK_NOT_FILLABLE, C, "mgw_order_rejects_total", "reason=\"fok_not_fillable\"", "REJECTED, CANCEL_REJECTED and reasoned CANCELLED reports, by reason") \
	X(RJ_IOC_REMAINDER, C, "mgw_order_rejects_total", "reason=\"ioc_remainder\"", "REJECTED, CANCEL_REJECTED and reasoned CANCELLED reports, by reason") \
	X(RJ_NO_REFERENCE, C, "mgw_order_rejects_total", "reason=\"no_reference\"", "REJECTED, CANCEL_REJECTED and reasoned CANCELLED reports, by reason") \
	X(RJ_TRADE_THROUGH, C, "mgw_order_rejects_total", "reason=\"trade_through\"", "REJECTED, CANCEL_REJECTED and reasoned CANCELLED reports, by reason") \
	X(RJ_STP, C, "mgw_order_rejects_total", "reason=\"stp\"", "REJECTED, CANCEL_REJECTED and reasoned CANCELLED reports, by reason") \
	X(RJ_BOOK_FULL, C, "mgw_order_rejects_total", "reason=\"book_full\"", "REJECTED, CANCEL_REJECTED and reasoned CANCELLED reports, by reason") \
	X(RJ_RISK_MAX_QTY, C, "mgw_order_rejects_total", "reason=\"risk_max_qty\"", "REJECTED, CANCEL_REJECTED and reasoned CANCELLED reports, by reason") \
	X(RJ_RISK_MAX_NOTIONAL, C, "mgw_order_rejects_total", "reason=\"risk_max_notional\"", "REJECTED, CANCEL_REJECTED and reasoned CANCELLED reports, by reason") \
	X(RJ_RISK_PRICE_COLLAR, C, "mgw_order_rejects_total", "reason=\"risk_price_collar\"", "REJECTED, CANCEL_REJECTED and reasoned CANCELLED reports, by reason") \
	X(RJ_RISK_CREDIT, C, "mgw_order_rejects_total", "reason=\"risk_credit\"", "REJECTED, CANCEL_REJECTED and reasoned CANCELLED reports, by reason") \
	X(RJ_RISK_MAX_POSITION, C, "mgw_order_rejects_total", "reason=\"risk_max_position\"", "REJECTED, CANCEL_REJECTED and reasoned CANCELLED reports, by reason") \
	X(RJ_RISK_RESTRICTED, C, "mgw_order_rejects_total", "reason=\"risk_restricted\"", "REJECTED, CANCEL_REJECTED and reasoned CANCELLED reports, by reason") \
	X(RJ_RISK_THROTTLE, C, "mgw_order_rejects_total", "reason=\"risk_throttle\"", "REJECTED, CANCEL_REJECTED and reasoned CANCELLED reports, by reason") \
	X(RJ_RISK_UNKNOWN_ACCOUNT, C, "mgw_order_rejects_total", "reason=\"risk_unknown_account\"", "REJECTED, CANCEL_REJECTED and reasoned CANCELLED reports, by reason") \
	X(RJ_KILL_SWITCH, C, "mgw_order_rejects_total", "reason=\"kill_switch\"", "REJECTED, CANCEL_REJECTED and reasoned CANCELLED reports, by reason") \
	X(RJ_BACKPRESSURE, C, "mgw_order_rejects_total", "reason=\"backpressure\"", "REJECTED, CANCEL_REJECTED and reasoned CANCELLED reports, by reason") \
	X(RJ_OTHER, C, "mgw_order_rejects_total", "reason=\"other\"", "REJECTED, CANCEL_REJECTED and reasoned CANCELLED reports, by reason") \
	X(MATCH_BACKPRESSURE, C, "mgw_match_backpressure_total", "",                           \
	  "New orders refused because the report ring was above its high-water mark") \
	X(MATCH_STALLS, C, "mgw_match_stalls_total", "",                                      \
	  "Match passes that took no order: the report ring lacked even the headroom (nobody consumes it?)") \
	X(MATCH_PAUSES, C, "mgw_match_pauses_total", "", "Messages whose reports came in several chunks (dp_match_resume)") \
	X(MATCH_LIVE_ORDERS, G, "mgw_match_live_orders", "", "Client orders resting in the matching engine") \
	X(MATCH_REPORT_RING_USED, G, "mgw_match_report_ring_used", "", "Report ring slots in use (not yet consumed)") \
	X(REF_STALE, G, "mgw_reference_stale", "", "1 while reference prices are stale (feed gap, session ended or feed silent): marketable orders are refused") \
	X(REF_STATE, G, "mgw_reference_state", "", "Why references are stale: 0 valid, 1 gap, 2 end_of_session, 3 silent") \
	X(REF_TO_VALID, C, "mgw_reference_transitions_total", "state=\"valid\"", "Reference table state changes, by the state entered") \
	X(REF_TO_GAP, C, "mgw_reference_transitions_total", "state=\"gap\"", "Reference table state changes, by the state entered") \
	X(REF_TO_ENDED, C, "mgw_reference_transitions_total", "state=\"end_of_session\"", "Reference table state changes, by the state entered") \
	X(REF_TO_SILENT, C, "mgw_reference_transitions_total", "state=\"silent\"", "Reference table state changes, by the state entered") \
	X(REF_FEED_IDLE_MS, G, "mgw_reference_feed_idle", "", "Time since the book lcore last saw a MoldUDP64 packet (heartbeats count), in milliseconds, 0.1 ms resolution") \
	X(REF_PUBLISHED, C, "mgw_reference_updates_total", "", "Reference price table entries rewritten by the book lcore") \
	/* commands */                                                                         \
	X(CMD_DONE, C, "mgw_commands_total", "result=\"ok\"", "Commands from control, by result") \
	X(CMD_FAILED, C, "mgw_commands_total", "result=\"error\"", "Commands from control, by result")

enum mgw_ctr_id {
#define MGW_X_ENUM(id, kind, name, labels, help) MGW_CTR_##id,
	MGW_COUNTERS(MGW_X_ENUM)
#undef MGW_X_ENUM
	MGW_CTR__COUNT
};

#endif /* MGW_COUNTERS_H */
