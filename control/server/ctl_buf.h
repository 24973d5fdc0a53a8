/*
 * ctl_buf.h - growable text buffer for building CLI responses in
 * mgw-control (never used on the dataplane). Out of memory is sticky:
 * later appends are ignored and ctl_buf_failed() tells.
 */
#ifndef CTL_BUF_H
#define CTL_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct ctl_buf {
	char *p;
	size_t len;
	size_t cap;
	bool oom;
};

void ctl_buf_printf(struct ctl_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append s as a JSON string literal, quotes included. */
void ctl_buf_json_str(struct ctl_buf *b, const char *s);
void ctl_buf_reset(struct ctl_buf *b);
void ctl_buf_free(struct ctl_buf *b);
static inline bool ctl_buf_failed(const struct ctl_buf *b) { return b->oom; }

#endif /* CTL_BUF_H */
