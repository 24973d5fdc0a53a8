/*
 * ctl_config.c - loader and validator for the appliance's YAML config file.
 *
 * The file is read twice by libyaml: first as an event stream, which is where
 * syntax errors, anchors/aliases, extra documents and absurd nesting are
 * refused (the event stream still knows the line and the key path); then as a
 * document tree (yaml_parser_load), which is walked against the schema in
 * ctl_config.h. Every value lands in a scratch struct that is copied to the
 * caller only when the whole document is valid, so a failed load never leaves
 * a half-filled config behind.
 *
 * The input is treated as hostile: sizes are bounded, every scalar is handled
 * with its explicit length (scalars may contain NUL bytes), text echoed into
 * error messages is cut short and stripped of control bytes, and nothing here
 * recurses on the document's shape.
 */
#include "ctl_config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include <yaml.h>

/* Larger files are refused before parsing: a config is a few KiB. */
#define CFG_MAX_BYTES (1u << 20)
/* The schema is 5 levels deep; anything much deeper is not a config. */
#define CFG_MAX_DEPTH 16
/* sun_path size: a socket path must fit with its terminating NUL. */
#define CFG_SOCK_MAX (sizeof(((struct sockaddr_un *)0)->sun_path))
/* How much of an offending value is echoed back in a message. */
#define CFG_SHOW_MAX 48

#define KEY_CAP sizeof(((struct ctl_config_err *)0)->key)

/* ---- small text helpers ---------------------------------------------- */

/* snprintf that may truncate on purpose (paths and messages are bounded). */
static void fmt(char *dst, size_t cap, const char *f, ...)
	__attribute__((format(printf, 3, 4)));
static void fmt(char *dst, size_t cap, const char *f, ...)
{
	va_list ap;

	if (cap == 0)
		return;
	va_start(ap, f);
	vsnprintf(dst, cap, f, ap);
	va_end(ap);
}

/*
 * Printable excerpt of untrusted text for an error message: control bytes
 * and non-ASCII become '?', so a message can never carry terminal escapes.
 */
static void show(const char *s, size_t len, char *out, size_t cap)
{
	size_t n = 0, i;

	for (i = 0; i < len && n + 4 < cap && i < CFG_SHOW_MAX; i++) {
		unsigned char ch = (unsigned char)s[i];
		out[n++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
	}
	if (i < len && n + 4 <= cap) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
}

static bool is_digit(char ch) { return ch >= '0' && ch <= '9'; }
static bool is_alpha(char ch) { return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'); }

/* ---- loader state ----------------------------------------------------- */

struct ld {
	yaml_document_t *doc;
	struct ctl_config_err *err;
	struct mgw_config *cfg;
	/* Expanded text of the last scalar read (reused, grown on demand). */
	char *txt;
	size_t txt_len, txt_cap;
	bool socket_set;
	int rx_lcore, book_lcore; /* index of the lcore holding the role, or -1 */
	int match_lcore;
};

static int fail(struct ld *l, int line, const char *path, const char *f, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(struct ld *l, int line, const char *path, const char *f, ...)
{
	va_list ap;

	l->err->line = line;
	fmt(l->err->key, sizeof l->err->key, "%s", path ? path : "");
	va_start(ap, f);
	vsnprintf(l->err->msg, sizeof l->err->msg, f, ap);
	va_end(ap);
	return -1;
}

static int line_of(const yaml_node_t *n)
{
	/* Bounded by the 1 MiB input, so the int cast cannot overflow. */
	return n ? (int)n->start_mark.line + 1 : 0;
}

static const char *kind_of(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SEQUENCE_NODE:
		return "a sequence";
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SCALAR_NODE:
		return n->data.scalar.length ? "a scalar" : "an empty value";
	default:
		return "nothing";
	}
}

static void path_key(char *dst, const char *parent, const char *key)
{
	if (parent[0])
		fmt(dst, KEY_CAP, "%s.%s", parent, key);
	else
		fmt(dst, KEY_CAP, "%s", key);
}

static void path_idx(char *dst, const char *parent, size_t i)
{
	fmt(dst, KEY_CAP, "%s[%zu]", parent, i);
}

/* ---- pass 1: event stream -------------------------------------------- */

/* Position of the parser inside one open mapping or sequence. */
struct frame {
	bool map;
	bool want_key; /* map: the next node is a key */
	char key[40];  /* map: last key read (sanitized) */
	size_t idx;    /* sequence: index of the next item */
};

/* Key path of the node the event stream is at, for pass-1 errors. */
static void stream_path(const struct frame *st, int depth, char *out)
{
	char tmp[KEY_CAP];

	out[0] = '\0';
	for (int i = 0; i < depth; i++) {
		if (st[i].map) {
			if (st[i].want_key)
				break; /* inside a key: the parent path is the best we have */
			path_key(tmp, out, st[i].key);
		} else {
			path_idx(tmp, out, st[i].idx);
		}
		memcpy(out, tmp, KEY_CAP);
	}
}

/* A node finished: its parent moves on to the next key, value or item. */
static void stream_advance(struct frame *st, int depth)
{
	if (depth == 0)
		return;
	if (st[depth - 1].map)
		st[depth - 1].want_key = !st[depth - 1].want_key;
	else
		st[depth - 1].idx++;
}

static int syntax_fail(struct ld *l, const yaml_parser_t *p, const char *buf, size_t len)
{
	const char *problem = p->problem ? p->problem : "unknown problem";
	int line;

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		return fail(l, 0, "", "out of memory while parsing");
	case YAML_READER_ERROR: {
		/* Reader errors carry a byte offset, not a mark: count lines. */
		size_t end = p->problem_offset < len ? p->problem_offset : len;
		line = 1;
		for (size_t i = 0; i < end; i++)
			line += buf[i] == '\n';
		return fail(l, line, "", "YAML syntax error: %s (byte offset %zu)", problem,
			    p->problem_offset);
	}
	default:
		line = (int)p->problem_mark.line + 1;
		if (p->context)
			return fail(l, line, "", "YAML syntax error: %s (%s started on line %d)",
				    problem, p->context, (int)p->context_mark.line + 1);
		return fail(l, line, "", "YAML syntax error: %s", problem);
	}
}

static int prescan(struct ld *l, const char *buf, size_t len)
{
	struct frame st[CFG_MAX_DEPTH + 1];
	yaml_parser_t p;
	yaml_event_t ev;
	int depth = 0, docs = 0, rc = 0;
	char path[KEY_CAP], shown[CFG_SHOW_MAX + 8];

	if (!yaml_parser_initialize(&p))
		return fail(l, 0, "", "out of memory while parsing");
	yaml_parser_set_input_string(&p, (const unsigned char *)buf, len);
	for (;;) {
		const yaml_char_t *anchor = NULL;
		bool done = false;
		int line;

		if (!yaml_parser_parse(&p, &ev)) {
			rc = syntax_fail(l, &p, buf, len);
			break;
		}
		line = (int)ev.start_mark.line + 1;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1)
				rc = fail(l, line, "", "only one YAML document is allowed in a config file");
			break;
		case YAML_ALIAS_EVENT:
			stream_path(st, depth, path);
			show((const char *)ev.data.alias.anchor, strlen((const char *)ev.data.alias.anchor),
			     shown, sizeof shown);
			rc = fail(l, line, path, "aliases are not allowed (*%s); write the value out", shown);
			break;
		case YAML_SCALAR_EVENT:
			anchor = ev.data.scalar.anchor;
			if (!anchor && depth > 0 && st[depth - 1].map && st[depth - 1].want_key)
				show((const char *)ev.data.scalar.value, ev.data.scalar.length,
				     st[depth - 1].key, sizeof st[depth - 1].key);
			break;
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			anchor = ev.type == YAML_SEQUENCE_START_EVENT ? ev.data.sequence_start.anchor
								      : ev.data.mapping_start.anchor;
			if (anchor)
				break;
			if (depth >= CFG_MAX_DEPTH) {
				stream_path(st, depth, path);
				rc = fail(l, line, path, "nested deeper than %d levels", CFG_MAX_DEPTH);
				break;
			}
			st[depth].map = ev.type == YAML_MAPPING_START_EVENT;
			st[depth].want_key = true;
			st[depth].key[0] = '\0';
			st[depth].idx = 0;
			depth++;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			if (depth > 0)
				depth--;
			break;
		default:
			break;
		}
		if (!rc && anchor) {
			stream_path(st, depth, path);
			show((const char *)anchor, strlen((const char *)anchor), shown, sizeof shown);
			rc = fail(l, line, path, "anchors are not allowed (&%s)", shown);
		}
		/* Scalars and finished collections complete a node of the parent. */
		if (ev.type == YAML_SCALAR_EVENT || ev.type == YAML_SEQUENCE_END_EVENT ||
		    ev.type == YAML_MAPPING_END_EVENT)
			stream_advance(st, depth);
		yaml_event_delete(&ev);
		if (rc || done)
			break;
	}
	yaml_parser_delete(&p);
	if (!rc && docs == 0)
		rc = fail(l, 1, "", "the file is empty: expected a mapping with dataplane, ports and feed");
	return rc;
}

/* ---- ${VAR} expansion ------------------------------------------------ */

static int txt_put(struct ld *l, const char *s, size_t n)
{
	/* Invariant once allocated: txt_len < txt_cap (room for the NUL). */
	if (!l->txt || n >= l->txt_cap - l->txt_len) {
		size_t cap = l->txt_cap ? l->txt_cap : 256;
		char *p;

		while (cap - l->txt_len - 1 < n) {
			if (cap > SIZE_MAX / 2)
				return -1;
			cap *= 2;
		}
		p = realloc(l->txt, cap);
		if (!p)
			return -1;
		l->txt = p;
		l->txt_cap = cap;
	}
	memcpy(l->txt + l->txt_len, s, n);
	l->txt_len += n;
	l->txt[l->txt_len] = '\0';
	return 0;
}

/*
 * Expand ${VAR} and ${VAR:-default} in one scalar into l->txt. Expansion is
 * a single pass: text coming from the environment or a default is never
 * expanded again, so a variable cannot smuggle in another reference.
 */
static int expand(struct ld *l, const yaml_node_t *n, const char *path)
{
	const char *v = (const char *)n->data.scalar.value;
	size_t len = n->data.scalar.length, i = 0;

	l->txt_len = 0;
	if (txt_put(l, "", 0) < 0)
		return fail(l, line_of(n), path, "out of memory");
	while (i < len) {
		char name[128], shown[CFG_SHOW_MAX + 8];
		size_t j, nlen, dflt = 0, dlen = 0;
		bool has_dflt = false;
		const char *val;

		if (v[i] != '$' || i + 1 >= len || v[i + 1] != '{') {
			if (txt_put(l, v + i, 1) < 0)
				return fail(l, line_of(n), path, "out of memory");
			i++;
			continue;
		}
		j = i + 2;
		if (j >= len || !(is_alpha(v[j]) || v[j] == '_'))
			return fail(l, line_of(n), path,
				    "bad ${...} reference: expected a variable name after ${");
		while (j < len && (is_alpha(v[j]) || is_digit(v[j]) || v[j] == '_'))
			j++;
		nlen = j - (i + 2);
		if (nlen >= sizeof name)
			return fail(l, line_of(n), path, "bad ${...} reference: variable name too long");
		memcpy(name, v + i + 2, nlen);
		name[nlen] = '\0';
		if (j + 1 < len && v[j] == ':' && v[j + 1] == '-') {
			has_dflt = true;
			dflt = j + 2;
			for (j = dflt; j < len && v[j] != '}'; j++)
				;
			dlen = j - dflt;
		}
		if (j >= len || v[j] != '}')
			return fail(l, line_of(n), path,
				    "bad ${...} reference to %s: expected } or :-default}", name);
		val = getenv(name);
		if (has_dflt && (!val || !val[0])) {
			if (txt_put(l, v + dflt, dlen) < 0)
				return fail(l, line_of(n), path, "out of memory");
		} else if (!val) {
			show(name, nlen, shown, sizeof shown);
			return fail(l, line_of(n), path,
				    "environment variable %s is not set (use ${%s:-default} to give a default)",
				    shown, shown);
		} else if (txt_put(l, val, strlen(val)) < 0) {
			return fail(l, line_of(n), path, "out of memory");
		}
		i = j + 1;
	}
	return 0;
}

/* ---- typed scalar readers ---------------------------------------------- */

static bool plain_null(const yaml_node_t *n)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
	const char *v = (const char *)n->data.scalar.value;

	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	for (size_t i = 0; i < sizeof nulls / sizeof nulls[0]; i++)
		if (n->data.scalar.length == strlen(nulls[i]) && memcmp(v, nulls[i], n->data.scalar.length) == 0)
			return true;
	return false;
}

/* A string value, expanded, into l->txt. `want` says what was expected. */
static int get_str(struct ld *l, const yaml_node_t *n, const char *path, const char *want)
{
	if (n->type != YAML_SCALAR_NODE)
		return fail(l, line_of(n), path, "%s, got %s", want, kind_of(n));
	if (plain_null(n))
		return fail(l, line_of(n), path, "%s, got %s", want,
			    n->data.scalar.length ? "null" : "an empty value");
	if (expand(l, n, path) < 0)
		return -1;
	if (memchr(l->txt, '\0', l->txt_len))
		return fail(l, line_of(n), path, "%s, got a string containing a NUL byte", want);
	return 0;
}

/*
 * Unsigned decimal only: no sign, no 0x, no leading zeros (YAML 1.1 would
 * read 010 as octal), no quotes (a quoted number is a string). Overflow is
 * caught while accumulating.
 */
static int get_uint(struct ld *l, const yaml_node_t *n, const char *path, uint64_t min,
		    uint64_t max, bool pow2, uint64_t *out)
{
	char want[96], shown[CFG_SHOW_MAX + 8];
	uint64_t v = 0;
	bool ok;

	fmt(want, sizeof want, "must be %s between %llu and %llu",
	    pow2 ? "a power of two" : "an integer", (unsigned long long)min, (unsigned long long)max);
	if (n->type != YAML_SCALAR_NODE)
		return fail(l, line_of(n), path, "%s, got %s", want, kind_of(n));
	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
		show((const char *)n->data.scalar.value, n->data.scalar.length, shown, sizeof shown);
		return fail(l, line_of(n), path, "%s (unquoted), got the quoted string \"%s\"", want,
			    shown);
	}
	if (expand(l, n, path) < 0)
		return -1;
	ok = l->txt_len > 0 && !(l->txt_len > 1 && l->txt[0] == '0');
	for (size_t i = 0; ok && i < l->txt_len; i++) {
		unsigned d = (unsigned)(l->txt[i] - '0');
		if (!is_digit(l->txt[i]) || v > (UINT64_MAX - d) / 10)
			ok = false;
		else
			v = v * 10 + d;
	}
	if (ok && (v < min || v > max || (pow2 && (v & (v - 1)) != 0)))
		ok = false;
	if (!ok) {
		if (l->txt_len == 0)
			return fail(l, line_of(n), path, "%s, got an empty value", want);
		show(l->txt, l->txt_len, shown, sizeof shown);
		return fail(l, line_of(n), path, "%s, got %s", want, shown);
	}
	*out = v;
	return 0;
}

static int get_u32(struct ld *l, const yaml_node_t *n, const char *path, uint32_t min,
		   uint32_t max, bool pow2, uint32_t *out)
{
	uint64_t v;

	if (get_uint(l, n, path, min, max, pow2, &v) < 0)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int get_u16(struct ld *l, const yaml_node_t *n, const char *path, uint16_t min,
		   uint16_t max, bool pow2, uint16_t *out)
{
	uint64_t v;

	if (get_uint(l, n, path, min, max, pow2, &v) < 0)
		return -1;
	*out = (uint16_t)v;
	return 0;
}

/* Strictly true or false: yes/no/on/off are YAML 1.1 traps, refused. */
static int get_bool(struct ld *l, const yaml_node_t *n, const char *path, bool *out)
{
	char shown[CFG_SHOW_MAX + 8];
	const char *want = "must be true or false";

	if (n->type != YAML_SCALAR_NODE)
		return fail(l, line_of(n), path, "%s, got %s", want, kind_of(n));
	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
		show((const char *)n->data.scalar.value, n->data.scalar.length, shown, sizeof shown);
		return fail(l, line_of(n), path, "%s (unquoted), got the quoted string \"%s\"", want,
			    shown);
	}
	if (expand(l, n, path) < 0)
		return -1;
	if (l->txt_len == 4 && memcmp(l->txt, "true", 4) == 0) {
		*out = true;
	} else if (l->txt_len == 5 && memcmp(l->txt, "false", 5) == 0) {
		*out = false;
	} else {
		show(l->txt, l->txt_len, shown, sizeof shown);
		return fail(l, line_of(n), path, "%s, got %s",
			    want, l->txt_len ? shown : "an empty value");
	}
	return 0;
}

/* Names: instance and port names end up in paths and counter labels. */
static int get_name(struct ld *l, const yaml_node_t *n, const char *path, char *out)
{
	const char *want = "must be 1 to 31 characters from A-Z a-z 0-9 _ -";
	char shown[CFG_SHOW_MAX + 8];
	bool ok;

	if (get_str(l, n, path, want) < 0)
		return -1;
	ok = l->txt_len >= 1 && l->txt_len < CTL_NAME_MAX;
	for (size_t i = 0; ok && i < l->txt_len; i++) {
		char ch = l->txt[i];
		ok = is_alpha(ch) || is_digit(ch) || ch == '_' || ch == '-';
	}
	if (!ok) {
		show(l->txt, l->txt_len, shown, sizeof shown);
		return fail(l, line_of(n), path, "%s, got \"%s\"", want, shown);
	}
	memcpy(out, l->txt, l->txt_len + 1);
	return 0;
}

/* Free text with a size limit (device spec, socket path). */
static int get_text(struct ld *l, const yaml_node_t *n, const char *path, size_t cap,
		    const char *what, char *out)
{
	char want[128];

	fmt(want, sizeof want, "must be a non-empty %s of at most %zu characters", what, cap - 1);
	if (get_str(l, n, path, want) < 0)
		return -1;
	if (l->txt_len == 0)
		return fail(l, line_of(n), path, "%s, got an empty string", want);
	if (l->txt_len >= cap)
		return fail(l, line_of(n), path, "%s (after ${} expansion), got %zu characters", want,
			    l->txt_len);
	memcpy(out, l->txt, l->txt_len + 1);
	return 0;
}

/* Strict dotted quad: 4 decimal parts 0..255, no leading zeros. */
static bool parse_ipv4(const char *s, size_t len, uint32_t *out)
{
	uint32_t addr = 0;
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		unsigned v = 0, digits = 0;

		if (part > 0) {
			if (i >= len || s[i] != '.')
				return false;
			i++;
		}
		while (i < len && is_digit(s[i]) && digits < 4) {
			if (digits == 1 && v == 0)
				return false; /* leading zero */
			v = v * 10 + (unsigned)(s[i] - '0');
			digits++;
			i++;
		}
		if (digits == 0 || digits > 3 || v > 255)
			return false;
		addr = (addr << 8) | v;
	}
	if (i != len)
		return false;
	*out = addr;
	return true;
}

/* ---- collections -------------------------------------------------------- */

static yaml_node_t *node_at(struct ld *l, int id)
{
	return yaml_document_get_node(l->doc, id);
}

/* A sequence with min..max items; returns its item count or -1. */
static int get_seq(struct ld *l, const yaml_node_t *n, const char *path, size_t min, size_t max,
		   const char *what)
{
	size_t count;

	if (n->type != YAML_SEQUENCE_NODE)
		return fail(l, line_of(n), path, "must be a sequence of %s, got %s", what, kind_of(n));
	count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	if (count < min || count > max) {
		if (min == max)
			return fail(l, line_of(n), path, "must list exactly %zu %s, got %zu", min, what,
				    count);
		return fail(l, line_of(n), path, "must list %zu to %zu %s, got %zu", min, max, what,
			    count);
	}
	return (int)count;
}

static yaml_node_t *seq_item(struct ld *l, const yaml_node_t *n, size_t i)
{
	return node_at(l, n->data.sequence.items.start[i]);
}

/*
 * Split a mapping into one value per known key (NULL when absent). Unknown
 * and duplicate keys are refused here, before any value is looked at, and
 * the loop stops at the first one, so a hostile mapping costs O(keys known).
 */
static int get_map(struct ld *l, const yaml_node_t *m, const char *path,
		   const char *const *keys, size_t nkeys, yaml_node_t **vals)
{
	int key_line[16] = {0};

	for (size_t k = 0; k < nkeys; k++)
		vals[k] = NULL;
	if (m->type != YAML_MAPPING_NODE) {
		if (!path[0])
			return fail(l, line_of(m), path, "the top level must be a mapping, got %s",
				    kind_of(m));
		return fail(l, line_of(m), path, "must be a mapping, got %s", kind_of(m));
	}
	for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
		yaml_node_t *kn = node_at(l, p->key), *vn = node_at(l, p->value);
		char child[KEY_CAP], shown[CFG_SHOW_MAX + 8], list[160];
		size_t k, klen;

		if (!kn || !vn)
			return fail(l, line_of(m), path, "malformed mapping");
		if (kn->type != YAML_SCALAR_NODE)
			return fail(l, line_of(kn), path, "keys must be plain words, got %s", kind_of(kn));
		klen = kn->data.scalar.length;
		for (k = 0; k < nkeys; k++)
			if (klen == strlen(keys[k]) && memcmp(kn->data.scalar.value, keys[k], klen) == 0)
				break;
		if (k == nkeys) {
			size_t used = 0;

			list[0] = '\0';
			for (size_t j = 0; j < nkeys && used < sizeof list; j++) {
				fmt(list + used, sizeof list - used, "%s%s", j ? ", " : "", keys[j]);
				used += strlen(list + used);
			}
			show((const char *)kn->data.scalar.value, klen, shown, sizeof shown);
			path_key(child, path, shown);
			return fail(l, line_of(kn), child, "unknown key (expected one of: %s)", list);
		}
		path_key(child, path, keys[k]);
		if (vals[k])
			return fail(l, line_of(kn), child, "duplicate key (first on line %d)",
				    key_line[k]);
		vals[k] = vn;
		key_line[k] = line_of(kn);
	}
	return 0;
}

static int missing(struct ld *l, const yaml_node_t *parent, const char *path, const char *key,
		   const char *hint)
{
	char child[KEY_CAP];

	path_key(child, path, key);
	return fail(l, line_of(parent), child, "required key missing (%s)", hint);
}

/* ---- schema -------------------------------------------------------------- */

static const struct {
	uint32_t bit;
	const char *name;
} role_names[] = {
	{CTL_ROLE_RX, "rx"},
	{CTL_ROLE_BOOK, "book"},
	{CTL_ROLE_MATCH, "match"},
	{CTL_ROLE_OE, "oe"},
};
#define N_ROLES (sizeof role_names / sizeof role_names[0])

/* Record that lcore `lc` has the single-owner role `bit`, refusing a second owner. */
static int claim_role(struct ld *l, const yaml_node_t *n, const char *path, size_t lc, uint32_t bit,
		      const char *name, int *owner, const char *rule)
{
	if (!(l->cfg->dataplane.lcores[lc].roles & bit))
		return 0;
	if (*owner >= 0)
		return fail(l, line_of(n), path, "role %s is already on dataplane.lcores[%d]; %s have it",
			    name, *owner, rule);
	*owner = (int)lc;
	return 0;
}

static int parse_roles(struct ld *l, const yaml_node_t *n, const char *path, size_t lc)
{
	struct ctl_lcore_cfg *lcore = &l->cfg->dataplane.lcores[lc];
	int count = get_seq(l, n, path, 1, N_ROLES, "roles (rx, book, match, oe)");

	if (count < 0)
		return -1;
	for (size_t i = 0; i < (size_t)count; i++) {
		const yaml_node_t *it = seq_item(l, n, i);
		char ip[KEY_CAP], shown[CFG_SHOW_MAX + 8];
		size_t r;

		path_idx(ip, path, i);
		if (get_str(l, it, ip, "must be one of rx, book, match, oe") < 0)
			return -1;
		for (r = 0; r < N_ROLES; r++)
			if (l->txt_len == strlen(role_names[r].name) &&
			    memcmp(l->txt, role_names[r].name, l->txt_len) == 0)
				break;
		if (r == N_ROLES) {
			show(l->txt, l->txt_len, shown, sizeof shown);
			return fail(l, line_of(it), ip,
				    "unknown role \"%s\" (expected one of rx, book, match, oe)", shown);
		}
		if (lcore->roles & role_names[r].bit)
			return fail(l, line_of(it), ip, "role %s is listed twice", role_names[r].name);
		lcore->roles |= role_names[r].bit;
	}
	/* rx and book each live on exactly one lcore: the feed has one decoder
	 * and one book writer, and the rx->book ring is single-producer. One
	 * matching engine for now: one owner of the client books and the risk
	 * state, and the order ring's single consumer. */
	if (claim_role(l, n, path, lc, CTL_ROLE_RX, "rx", &l->rx_lcore, "exactly one lcore must") < 0 ||
	    claim_role(l, n, path, lc, CTL_ROLE_BOOK, "book", &l->book_lcore, "exactly one lcore must") < 0 ||
	    claim_role(l, n, path, lc, CTL_ROLE_MATCH, "match", &l->match_lcore, "at most one lcore may") < 0)
		return -1;
	if (lcore->roles & CTL_ROLE_MATCH)
		l->cfg->match_lcore_set = 1;
	return 0;
}

static int parse_lcores(struct ld *l, const yaml_node_t *n, const char *path)
{
	static const char *const keys[] = {"id", "roles", "cpu"};
	struct ctl_dataplane_cfg *dp = &l->cfg->dataplane;
	int count = get_seq(l, n, path, 1, CTL_MAX_LCORES, "lcores");

	if (count < 0)
		return -1;
	for (size_t i = 0; i < (size_t)count; i++) {
		const yaml_node_t *it = seq_item(l, n, i);
		yaml_node_t *v[3];
		char ip[KEY_CAP], kp[KEY_CAP];
		uint32_t id, cpu;

		path_idx(ip, path, i);
		if (get_map(l, it, ip, keys, 3, v) < 0)
			return -1;
		if (!v[0])
			return missing(l, it, ip, "id", "the lcore id, 0 to 1023");
		if (!v[1])
			return missing(l, it, ip, "roles", "a list such as [rx, book]");
		path_key(kp, ip, "id");
		if (get_u32(l, v[0], kp, 0, 1023, false, &id) < 0)
			return -1;
		/* dataplane keys are read in table order: main_lcore is known. */
		if (id == dp->main_lcore)
			return fail(l, line_of(v[0]), kp,
				    "lcore %u is dataplane.main_lcore, which runs no role; pick another",
				    id);
		for (size_t j = 0; j < i; j++)
			if (dp->lcores[j].id == id)
				return fail(l, line_of(v[0]), kp,
					    "duplicate lcore id %u (also dataplane.lcores[%zu])", id, j);
		cpu = id;
		path_key(kp, ip, "cpu");
		if (v[2] && get_u32(l, v[2], kp, 0, 1023, false, &cpu) < 0)
			return -1;
		dp->lcores[i].id = id;
		dp->lcores[i].cpu = cpu;
		dp->lcores[i].roles = 0;
		dp->n_lcores = (uint32_t)i + 1;
		path_key(kp, ip, "roles");
		if (parse_roles(l, v[1], kp, i) < 0)
			return -1;
	}
	if (l->rx_lcore < 0)
		return fail(l, line_of(n), path, "no lcore has role rx; exactly one must");
	if (l->book_lcore < 0)
		return fail(l, line_of(n), path, "no lcore has role book; exactly one must");
	return 0;
}

static int parse_dataplane(struct ld *l, const yaml_node_t *n)
{
	static const char *const keys[] = {"hugepages", "memory_mb", "main_lcore",
					   "burst",     "ring_size", "lcores"};
	enum { HUGE, MEM, MAIN, BURST, RING, LCORES, NK };
	struct ctl_dataplane_cfg *dp = &l->cfg->dataplane;
	const char *path = "dataplane";
	yaml_node_t *v[NK];

	if (get_map(l, n, path, keys, NK, v) < 0)
		return -1;
	if (v[HUGE]) {
		const char *want = "must be auto, on or off";
		char shown[CFG_SHOW_MAX + 8];

		if (get_str(l, v[HUGE], "dataplane.hugepages", want) < 0)
			return -1;
		if (strcmp(l->txt, "auto") == 0) {
			dp->hugepages = CTL_HUGE_AUTO;
		} else if (strcmp(l->txt, "on") == 0) {
			dp->hugepages = CTL_HUGE_ON;
		} else if (strcmp(l->txt, "off") == 0) {
			dp->hugepages = CTL_HUGE_OFF;
		} else {
			show(l->txt, l->txt_len, shown, sizeof shown);
			return fail(l, line_of(v[HUGE]), "dataplane.hugepages", "%s, got %s", want, shown);
		}
	}
	if (v[MEM] && get_u32(l, v[MEM], "dataplane.memory_mb", 64, 1048576, false, &dp->memory_mb) < 0)
		return -1;
	if (v[MAIN] && get_u32(l, v[MAIN], "dataplane.main_lcore", 0, 1023, false, &dp->main_lcore) < 0)
		return -1;
	if (v[BURST] && get_u32(l, v[BURST], "dataplane.burst", 1, 256, false, &dp->burst) < 0)
		return -1;
	if (v[RING] && get_u32(l, v[RING], "dataplane.ring_size", 1024, 1048576, true, &dp->ring_size) < 0)
		return -1;
	if (!v[LCORES])
		return missing(l, n, path, "lcores", "list 1 to 64 lcores with id and roles");
	return parse_lcores(l, v[LCORES], "dataplane.lcores");
}

static int parse_ports(struct ld *l, const yaml_node_t *n)
{
	static const char *const keys[] = {"name", "device", "rx_queues", "rx_desc",
					   "mtu",  "promiscuous", "all_multicast"};
	enum { NAME, DEV, RXQ, RXD, MTU, PROMISC, ALLMULTI, NK };
	int count = get_seq(l, n, "ports", 1, CTL_MAX_PORTS, "ports");

	if (count < 0)
		return -1;
	for (size_t i = 0; i < (size_t)count; i++) {
		struct ctl_port_cfg *pc = &l->cfg->ports[i];
		const yaml_node_t *it = seq_item(l, n, i);
		yaml_node_t *v[NK];
		char ip[KEY_CAP], kp[KEY_CAP];

		path_idx(ip, "ports", i);
		if (get_map(l, it, ip, keys, NK, v) < 0)
			return -1;
		if (!v[NAME])
			return missing(l, it, ip, "name", "a port label such as feed0");
		if (!v[DEV])
			return missing(l, it, ip, "device", "a PCI address or DPDK vdev spec");
		path_key(kp, ip, "name");
		if (get_name(l, v[NAME], kp, pc->name) < 0)
			return -1;
		for (size_t j = 0; j < i; j++)
			if (strcmp(l->cfg->ports[j].name, pc->name) == 0)
				return fail(l, line_of(v[NAME]), kp,
					    "duplicate port name \"%s\" (also ports[%zu])", pc->name, j);
		path_key(kp, ip, "device");
		if (get_text(l, v[DEV], kp, CTL_PATH_MAX, "device string", pc->device) < 0)
			return -1;
		path_key(kp, ip, "rx_queues");
		if (v[RXQ] && get_u16(l, v[RXQ], kp, 1, 16, false, &pc->rx_queues) < 0)
			return -1;
		path_key(kp, ip, "rx_desc");
		if (v[RXD] && get_u16(l, v[RXD], kp, 64, 16384, true, &pc->rx_desc) < 0)
			return -1;
		path_key(kp, ip, "mtu");
		if (v[MTU] && get_u16(l, v[MTU], kp, 68, 9600, false, &pc->mtu) < 0)
			return -1;
		path_key(kp, ip, "promiscuous");
		if (v[PROMISC] && get_bool(l, v[PROMISC], kp, &pc->promiscuous) < 0)
			return -1;
		path_key(kp, ip, "all_multicast");
		if (v[ALLMULTI] && get_bool(l, v[ALLMULTI], kp, &pc->all_multicast) < 0)
			return -1;
		l->cfg->n_ports = (uint32_t)i + 1;
	}
	return 0;
}

static int parse_feed(struct ld *l, const yaml_node_t *n)
{
	static const char *const keys[] = {"udp_ports", "groups"};
	struct ctl_feed_cfg *f = &l->cfg->feed;
	yaml_node_t *v[2];
	int count;

	if (get_map(l, n, "feed", keys, 2, v) < 0)
		return -1;
	if (!v[0])
		return missing(l, n, "feed", "udp_ports", "list 1 to 16 UDP destination ports");
	count = get_seq(l, v[0], "feed.udp_ports", 1, CTL_MAX_UDP_PORTS, "UDP ports");
	if (count < 0)
		return -1;
	for (size_t i = 0; i < (size_t)count; i++) {
		const yaml_node_t *it = seq_item(l, v[0], i);
		char ip[KEY_CAP];
		uint16_t port;

		path_idx(ip, "feed.udp_ports", i);
		if (get_u16(l, it, ip, 1, 65535, false, &port) < 0)
			return -1;
		for (size_t j = 0; j < i; j++)
			if (f->udp_ports[j] == port)
				return fail(l, line_of(it), ip,
					    "duplicate UDP port %u (also feed.udp_ports[%zu])", port, j);
		f->udp_ports[i] = port;
		f->n_udp_ports = (uint32_t)i + 1;
	}
	if (!v[1])
		return 0;
	count = get_seq(l, v[1], "feed.groups", 0, CTL_MAX_GROUPS, "IPv4 addresses");
	if (count < 0)
		return -1;
	for (size_t i = 0; i < (size_t)count; i++) {
		const yaml_node_t *it = seq_item(l, v[1], i);
		const char *want = "must be an IPv4 address a.b.c.d";
		char ip[KEY_CAP], shown[CFG_SHOW_MAX + 8];
		uint32_t addr;

		path_idx(ip, "feed.groups", i);
		if (get_str(l, it, ip, want) < 0)
			return -1;
		if (!parse_ipv4(l->txt, l->txt_len, &addr)) {
			show(l->txt, l->txt_len, shown, sizeof shown);
			return fail(l, line_of(it), ip, "%s, got \"%s\"", want, shown);
		}
		for (size_t j = 0; j < i; j++)
			if (f->groups[j] == addr)
				return fail(l, line_of(it), ip,
					    "duplicate group %s (also feed.groups[%zu])", l->txt, j);
		f->groups[i] = addr;
		f->n_groups = (uint32_t)i + 1;
	}
	return 0;
}

static int parse_book(struct ld *l, const yaml_node_t *n)
{
	static const char *const keys[] = {"max_orders", "max_levels", "max_symbols", "ladders"};
	struct ctl_book_cfg *b = &l->cfg->book;
	yaml_node_t *v[4];

	if (get_map(l, n, "book", keys, 4, v) < 0)
		return -1;
	if (v[0] && get_u32(l, v[0], "book.max_orders", 1, INT32_MAX, false, &b->max_orders) < 0)
		return -1;
	if (v[1] && get_u32(l, v[1], "book.max_levels", 1, INT32_MAX, false, &b->max_levels) < 0)
		return -1;
	if (v[2] && get_u32(l, v[2], "book.max_symbols", 1, 65536, false, &b->max_symbols) < 0)
		return -1;
	if (v[3] && get_u32(l, v[3], "book.ladders", 0, 65535, false, &b->ladders) < 0)
		return -1;
	return 0;
}

/*
 * control.metrics: "IP:PORT" or "off". Only loopback addresses: the exporter
 * has no authentication, so it must not be reachable from the network; a
 * scraper elsewhere goes through a local proxy or agent the site controls.
 */
static int get_metrics(struct ld *l, const yaml_node_t *n, const char *path,
		       struct ctl_control_cfg *c)
{
	const char *want = "must be \"off\" or IP:PORT with a loopback IPv4 address "
			   "(127.0.0.0/8) and a port 1 to 65535";
	char shown[CFG_SHOW_MAX + 8];
	const char *colon;
	uint32_t ip, port = 0;
	size_t plen;

	if (get_str(l, n, path, want) < 0)
		return -1;
	show(l->txt, l->txt_len, shown, sizeof shown);
	if (l->txt_len == 3 && memcmp(l->txt, "off", 3) == 0) {
		fmt(c->metrics, sizeof c->metrics, "off");
		c->metrics_ip = 0;
		c->metrics_port = 0;
		return 0;
	}
	colon = memchr(l->txt, ':', l->txt_len);
	if (!colon)
		return fail(l, line_of(n), path, "%s, got \"%s\" (no :PORT)", want, shown);
	if (!parse_ipv4(l->txt, (size_t)(colon - l->txt), &ip))
		return fail(l, line_of(n), path, "%s, got \"%s\" (bad IPv4 address)", want, shown);
	if ((ip >> 24) != 127)
		return fail(l, line_of(n), path,
			    "%s, got \"%s\": the exporter has no authentication, so only "
			    "loopback addresses are allowed", want, shown);
	plen = l->txt_len - (size_t)(colon - l->txt) - 1;
	if (plen == 0 || plen > 5 || colon[1] == '0')
		return fail(l, line_of(n), path, "%s, got \"%s\" (bad port)", want, shown);
	for (size_t i = 1; i <= plen; i++) {
		if (!is_digit(colon[i]))
			return fail(l, line_of(n), path, "%s, got \"%s\" (bad port)", want, shown);
		port = port * 10 + (uint32_t)(colon[i] - '0');
	}
	if (port > 65535)
		return fail(l, line_of(n), path, "%s, got \"%s\" (bad port)", want, shown);
	/* At most 15 + 1 + 5 characters, so it fits the field. */
	fmt(c->metrics, sizeof c->metrics, "%.*s", (int)l->txt_len, l->txt);
	c->metrics_ip = ip;
	c->metrics_port = (uint16_t)port;
	return 0;
}

/*
 * A user or group name, resolved through NSS now rather than at each
 * connection: an unknown name is a config error with its line, not a rule
 * that silently never matches.
 */
static int resolve_name(struct ld *l, const yaml_node_t *n, const char *path, bool group,
			uint32_t *id, char *name_out)
{
	char buf[16384], shown[CFG_SHOW_MAX + 8];
	bool found = false;

	if (get_name(l, n, path, name_out) < 0)
		return -1;
	if (group) {
		struct group gr, *res = NULL;
		if (getgrnam_r(name_out, &gr, buf, sizeof buf, &res) == 0 && res) {
			*id = (uint32_t)res->gr_gid;
			found = true;
		}
	} else {
		struct passwd pw, *res = NULL;
		if (getpwnam_r(name_out, &pw, buf, sizeof buf, &res) == 0 && res) {
			*id = (uint32_t)res->pw_uid;
			found = true;
		}
	}
	if (!found) {
		show(name_out, strlen(name_out), shown, sizeof shown);
		return fail(l, line_of(n), path, "unknown %s \"%s\" (not in the %s database)",
			    group ? "group" : "user", shown, group ? "group" : "passwd");
	}
	return 0;
}

/* Socket permission bits: an octal string such as "0660" (quoted or not). */
static int get_mode(struct ld *l, const yaml_node_t *n, const char *path, uint32_t *out)
{
	const char *want = "must be octal permission bits from 0600 to 0666, such as \"0660\"";
	char shown[CFG_SHOW_MAX + 8];
	uint32_t v = 0;
	bool ok;

	if (get_str(l, n, path, want) < 0)
		return -1;
	ok = l->txt_len >= 3 && l->txt_len <= 4;
	for (size_t i = 0; ok && i < l->txt_len; i++) {
		ok = l->txt[i] >= '0' && l->txt[i] <= '7';
		v = v * 8 + (uint32_t)(l->txt[i] - '0');
	}
	/* The owner (mgw-control's user) keeps read+write; execute and special
	 * bits mean nothing on a socket and are refused as typos. */
	if (ok && ((v & 0600) != 0600 || (v & ~0666u) != 0))
		ok = false;
	if (!ok) {
		show(l->txt, l->txt_len, shown, sizeof shown);
		return fail(l, line_of(n), path, "%s, got \"%s\"", want, shown);
	}
	*out = v;
	return 0;
}

/* A group given as a number or as a name (resolved now). */
static int get_gid(struct ld *l, const yaml_node_t *n, const char *path, uint32_t *out)
{
	char name[CTL_NAME_MAX];

	if (n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    n->data.scalar.length > 0 && is_digit((char)n->data.scalar.value[0]))
		return get_u32(l, n, path, 0, UINT32_MAX - 1, false, out);
	return resolve_name(l, n, path, true, out, name);
}

static int get_acl_role(struct ld *l, const yaml_node_t *n, const char *path, bool allow_none,
			enum ctl_acl_role *out)
{
	const char *want = allow_none ? "must be none or viewer" : "must be viewer, operator or admin";
	char shown[CFG_SHOW_MAX + 8];

	if (get_str(l, n, path, want) < 0)
		return -1;
	if (allow_none && strcmp(l->txt, "none") == 0) {
		*out = CTL_ACL_NONE;
	} else if (strcmp(l->txt, "viewer") == 0) {
		*out = CTL_ACL_VIEWER;
	} else if (!allow_none && strcmp(l->txt, "operator") == 0) {
		*out = CTL_ACL_OPERATOR;
	} else if (!allow_none && strcmp(l->txt, "admin") == 0) {
		*out = CTL_ACL_ADMIN;
	} else {
		show(l->txt, l->txt_len, shown, sizeof shown);
		return fail(l, line_of(n), path, "%s, got %s", want, shown);
	}
	return 0;
}

/*
 * access: default_role and grants, a list of {uid|user|gid|group, role}.
 * Each grant names exactly one identity, so every rule reads as one grant.
 * default_role may not exceed viewer: anything more must be granted by name.
 */
static int parse_access(struct ld *l, const yaml_node_t *n)
{
	static const char *const keys[] = {"default_role", "grants"};
	static const char *const ekeys[] = {"uid", "user", "gid", "group", "role"};
	enum { UID, USER, GID, GROUP, ROLE, NE };
	struct ctl_access_cfg *a = &l->cfg->access;
	yaml_node_t *v[2];
	int count;

	if (get_map(l, n, "access", keys, 2, v) < 0)
		return -1;
	if (v[0] && get_acl_role(l, v[0], "access.default_role", true, &a->default_role) < 0)
		return -1;
	if (!v[1])
		return 0;
	count = get_seq(l, v[1], "access.grants", 0, CTL_MAX_ACL, "grants");
	if (count < 0)
		return -1;
	for (size_t i = 0; i < (size_t)count; i++) {
		struct ctl_acl_entry *e = &a->entries[i];
		const yaml_node_t *it = seq_item(l, v[1], i);
		yaml_node_t *ev[NE];
		char ip[KEY_CAP], kp[KEY_CAP];
		int which = -1, nid = 0;

		path_idx(ip, "access.grants", i);
		if (get_map(l, it, ip, ekeys, NE, ev) < 0)
			return -1;
		for (int k = UID; k <= GROUP; k++) {
			if (!ev[k])
				continue;
			nid++;
			if (which < 0)
				which = k;
		}
		if (nid != 1)
			return fail(l, line_of(it), ip,
				    "must name exactly one of uid, user, gid, group (got %d)", nid);
		if (!ev[ROLE])
			return missing(l, it, ip, "role", "viewer, operator or admin");
		path_key(kp, ip, ekeys[which]);
		memset(e, 0, sizeof *e);
		e->is_gid = which == GID || which == GROUP;
		if (which == UID || which == GID) {
			if (get_u32(l, ev[which], kp, 0, UINT32_MAX - 1, false, &e->id) < 0)
				return -1;
		} else if (resolve_name(l, ev[which], kp, which == GROUP, &e->id, e->name) < 0) {
			return -1;
		}
		path_key(kp, ip, "role");
		if (get_acl_role(l, ev[ROLE], kp, false, &e->role) < 0)
			return -1;
		a->n_entries = (uint32_t)i + 1;
	}
	return 0;
}

static int parse_control(struct ld *l, const yaml_node_t *n)
{
	static const char *const keys[] = {"socket", "metrics", "socket_mode", "socket_group"};
	yaml_node_t *v[4];

	if (get_map(l, n, "control", keys, 4, v) < 0)
		return -1;
	if (v[2] && get_mode(l, v[2], "control.socket_mode", &l->cfg->control.socket_mode) < 0)
		return -1;
	if (v[3]) {
		if (get_gid(l, v[3], "control.socket_group", &l->cfg->control.socket_group) < 0)
			return -1;
		l->cfg->control.socket_group_set = true;
	}
	if (v[1] && get_metrics(l, v[1], "control.metrics", &l->cfg->control) < 0)
		return -1;
	if (v[0]) {
		if (get_text(l, v[0], "control.socket", CFG_SOCK_MAX, "unix socket path",
			     l->cfg->control.socket) < 0)
			return -1;
		l->socket_set = true;
	}
	return 0;
}

static const char *const stp_names[] = {"none", "cancel_newest", "cancel_oldest", "cancel_both"};

const char *ctl_stp_name(int stp)
{
	return stp >= 0 && stp <= 3 ? stp_names[stp] : "default";
}

static int get_stp(struct ld *l, const yaml_node_t *n, const char *path, int *out)
{
	const char *want = "must be none, cancel_newest, cancel_oldest or cancel_both";
	char shown[CFG_SHOW_MAX + 8];

	if (get_str(l, n, path, want) < 0)
		return -1;
	for (int i = 0; i < 4; i++)
		if (strcmp(l->txt, stp_names[i]) == 0) {
			*out = i;
			return 0;
		}
	show(l->txt, l->txt_len, shown, sizeof shown);
	return fail(l, line_of(n), path, "%s, got %s", want, shown);
}

static int parse_matching(struct ld *l, const yaml_node_t *n)
{
	static const char *const keys[] = {"max_orders", "max_levels", "max_sessions", "stp",
					   "order_ring_size", "report_ring_size"};
	enum { ORD, LVL, SESS, STP, ORING, RRING, NK };
	struct ctl_matching_cfg *m = &l->cfg->matching;
	yaml_node_t *v[NK];
	int stp;

	if (get_map(l, n, "matching", keys, NK, v) < 0)
		return -1;
	if (v[ORD] && get_u32(l, v[ORD], "matching.max_orders", 1, INT32_MAX - 1, false, &m->max_orders) < 0)
		return -1;
	if (v[LVL] && get_u32(l, v[LVL], "matching.max_levels", 1, INT32_MAX - 1, false, &m->max_levels) < 0)
		return -1;
	if (v[SESS] && get_u32(l, v[SESS], "matching.max_sessions", 1, 65536, false, &m->max_sessions) < 0)
		return -1;
	if (v[STP]) {
		if (get_stp(l, v[STP], "matching.stp", &stp) < 0)
			return -1;
		m->stp = (enum ctl_stp)stp;
	}
	if (v[ORING] && get_u32(l, v[ORING], "matching.order_ring_size", 64, 1048576, true,
				&m->order_ring_size) < 0)
		return -1;
	if (v[RRING] && get_u32(l, v[RRING], "matching.report_ring_size", 256, 1048576, true,
				&m->report_ring_size) < 0)
		return -1;
	return 0;
}

/* An ITCH stock name: 1 to 8 printable characters without spaces. */
static int get_stock(struct ld *l, const yaml_node_t *n, const char *path, char out[9])
{
	const char *want = "must be a symbol of 1 to 8 printable characters without spaces";
	char shown[CFG_SHOW_MAX + 8];
	bool ok;

	if (get_str(l, n, path, want) < 0)
		return -1;
	ok = l->txt_len >= 1 && l->txt_len <= 8;
	for (size_t i = 0; ok && i < l->txt_len; i++)
		ok = l->txt[i] > ' ' && l->txt[i] < 0x7f;
	if (!ok) {
		show(l->txt, l->txt_len, shown, sizeof shown);
		return fail(l, line_of(n), path, "%s, got \"%s\"", want, shown);
	}
	memset(out, 0, 9);
	memcpy(out, l->txt, l->txt_len);
	return 0;
}

static int parse_account(struct ld *l, const yaml_node_t *it, const char *ip, size_t i)
{
	static const char *const keys[] = {"id", "max_order_qty", "max_order_notional", "collar_bps",
					   "credit_limit", "max_position", "stp", "restricted"};
	enum { ID, QTY, NOTIONAL, COLLAR, CREDIT, POS, STP, RESTR, NK };
	struct ctl_account_cfg *a = &l->cfg->risk.accounts[i];
	yaml_node_t *v[NK];
	char kp[KEY_CAP];
	uint64_t u64;

	if (get_map(l, it, ip, keys, NK, v) < 0)
		return -1;
	if (!v[ID])
		return missing(l, it, ip, "id", "the account number, 0 to 4294967294");
	memset(a, 0, sizeof *a);
	a->stp = -1;
	path_key(kp, ip, "id");
	if (get_u32(l, v[ID], kp, 0, UINT32_MAX - 1, false, &a->id) < 0)
		return -1;
	for (size_t j = 0; j < i; j++)
		if (l->cfg->risk.accounts[j].id == a->id)
			return fail(l, line_of(v[ID]), kp, "duplicate account %u (also risk.accounts[%zu])",
				    a->id, j);
	path_key(kp, ip, "max_order_qty");
	if (v[QTY]) {
		if (get_u32(l, v[QTY], kp, 1, UINT32_MAX, false, &a->max_order_qty) < 0)
			return -1;
		a->enabled |= CTL_RISK_MAX_QTY;
	}
	/* Dollars: the engine's 1/10000-dollar units times 10^12 dollars still fit 63 bits. */
	path_key(kp, ip, "max_order_notional");
	if (v[NOTIONAL]) {
		if (get_uint(l, v[NOTIONAL], kp, 1, 1000000000000ull, false, &u64) < 0)
			return -1;
		a->max_order_notional = u64;
		a->enabled |= CTL_RISK_MAX_NOTIONAL;
	}
	path_key(kp, ip, "collar_bps");
	if (v[COLLAR]) {
		if (get_u32(l, v[COLLAR], kp, 1, 10000, false, &a->collar_bps) < 0)
			return -1;
		a->enabled |= CTL_RISK_COLLAR;
	}
	path_key(kp, ip, "credit_limit");
	if (v[CREDIT]) {
		if (get_uint(l, v[CREDIT], kp, 1, 1000000000000ull, false, &u64) < 0)
			return -1;
		a->credit_limit = u64;
		a->enabled |= CTL_RISK_CREDIT;
	}
	path_key(kp, ip, "max_position");
	if (v[POS]) {
		if (get_uint(l, v[POS], kp, 1, 1000000000000ull, false, &u64) < 0)
			return -1;
		a->max_position = u64;
		a->enabled |= CTL_RISK_MAX_POSITION;
	}
	path_key(kp, ip, "stp");
	if (v[STP] && get_stp(l, v[STP], kp, &a->stp) < 0)
		return -1;
	if (v[RESTR]) {
		path_key(kp, ip, "restricted");
		int count = get_seq(l, v[RESTR], kp, 0, CTL_MAX_RESTRICTED, "symbols");
		if (count < 0)
			return -1;
		for (size_t k = 0; k < (size_t)count; k++) {
			const yaml_node_t *sn = seq_item(l, v[RESTR], k);
			char sp[KEY_CAP];
			path_idx(sp, kp, k);
			if (get_stock(l, sn, sp, a->restricted[k]) < 0)
				return -1;
			for (size_t j = 0; j < k; j++)
				if (strcmp(a->restricted[j], a->restricted[k]) == 0)
					return fail(l, line_of(sn), sp, "duplicate symbol %s (also %s[%zu])",
						    a->restricted[k], kp, j);
			a->n_restricted = (uint32_t)k + 1;
		}
	}
	return 0;
}

static int parse_risk(struct ld *l, const yaml_node_t *n)
{
	static const char *const keys[] = {"default_throttle", "accounts"};
	struct ctl_risk_cfg *r = &l->cfg->risk;
	yaml_node_t *v[2];

	if (get_map(l, n, "risk", keys, 2, v) < 0)
		return -1;
	if (v[0] && get_u32(l, v[0], "risk.default_throttle", 0, 10000000, false, &r->default_throttle) < 0)
		return -1;
	if (!v[1])
		return 0;
	int count = get_seq(l, v[1], "risk.accounts", 0, CTL_MAX_ACCOUNTS, "accounts");
	if (count < 0)
		return -1;
	for (size_t i = 0; i < (size_t)count; i++) {
		char ip[KEY_CAP];
		path_idx(ip, "risk.accounts", i);
		if (parse_account(l, seq_item(l, v[1], i), ip, i) < 0)
			return -1;
		r->n_accounts = (uint32_t)i + 1;
	}
	return 0;
}

static int parse_reference(struct ld *l, const yaml_node_t *n)
{
	static const char *const keys[] = {"stale_after_ms"};
	yaml_node_t *v[1];

	if (get_map(l, n, "reference", keys, 1, v) < 0)
		return -1;
	if (v[0] && get_u32(l, v[0], "reference.stale_after_ms", 0, 3600000, false,
			    &l->cfg->reference.stale_after_ms) < 0)
		return -1;
	return 0;
}

static int parse_root(struct ld *l, const yaml_node_t *root)
{
	static const char *const keys[] = {"instance", "dataplane", "ports",
					   "feed",     "book",      "control", "access",
					   "matching", "risk",      "reference"};
	enum { INST, DP, PORTS, FEED, BOOK, CTL, ACCESS, MATCHING, RISK, REFERENCE, NK };
	yaml_node_t *v[NK];

	if (get_map(l, root, "", keys, NK, v) < 0)
		return -1;
	if (v[INST] && get_name(l, v[INST], "instance", l->cfg->instance) < 0)
		return -1;
	if (!v[DP])
		return fail(l, line_of(root), "dataplane",
			    "required section missing (it must list lcores)");
	if (parse_dataplane(l, v[DP]) < 0)
		return -1;
	if (!v[PORTS])
		return missing(l, root, "", "ports", "list 1 to 8 ports with name and device");
	if (parse_ports(l, v[PORTS]) < 0)
		return -1;
	if (!v[FEED])
		return fail(l, line_of(root), "feed",
			    "required section missing (it must list udp_ports)");
	if (parse_feed(l, v[FEED]) < 0)
		return -1;
	if (v[BOOK] && parse_book(l, v[BOOK]) < 0)
		return -1;
	if (v[CTL] && parse_control(l, v[CTL]) < 0)
		return -1;
	if (v[ACCESS] && parse_access(l, v[ACCESS]) < 0)
		return -1;
	if (v[MATCHING] && parse_matching(l, v[MATCHING]) < 0)
		return -1;
	if (v[RISK] && parse_risk(l, v[RISK]) < 0)
		return -1;
	if (v[REFERENCE] && parse_reference(l, v[REFERENCE]) < 0)
		return -1;
	if (!l->socket_set)
		fmt(l->cfg->control.socket, sizeof l->cfg->control.socket, "/run/mgw/%s.sock",
		    l->cfg->instance);
	return 0;
}

/* ---- public API ---------------------------------------------------------- */

void ctl_config_defaults(struct mgw_config *c)
{
	if (!c)
		return;
	memset(c, 0, sizeof *c);
	memcpy(c->instance, "mgw", 4);
	c->dataplane.hugepages = CTL_HUGE_AUTO;
	c->dataplane.memory_mb = 512;
	c->dataplane.main_lcore = 0;
	c->dataplane.burst = 32;
	c->dataplane.ring_size = 16384;
	/* Per-port defaults are pre-set in every slot so a parsed port only
	 * overwrites the keys it names. */
	for (size_t i = 0; i < CTL_MAX_PORTS; i++) {
		c->ports[i].rx_queues = 1;
		c->ports[i].rx_desc = 1024;
		c->ports[i].mtu = 1500;
		c->ports[i].promiscuous = true;
		c->ports[i].all_multicast = true;
	}
	c->book.max_orders = 1048576;
	c->book.max_levels = 262144;
	c->book.max_symbols = 65536;
	c->matching.max_orders = 65536;
	c->matching.max_levels = 16384;
	c->matching.max_sessions = 256;
	c->matching.stp = CTL_STP_CANCEL_NEWEST;
	c->matching.order_ring_size = 4096;
	c->matching.report_ring_size = 16384;
	c->reference.stale_after_ms = 2000;
	fmt(c->control.socket, sizeof c->control.socket, "/run/mgw/%s.sock", c->instance);
	/* Owner and group only: who may connect at all is a deliberate choice
	 * (socket_group / socket_mode); roles then decide what each peer may do. */
	c->control.socket_mode = 0660;
	c->access.default_role = CTL_ACL_VIEWER;
	fmt(c->control.metrics, sizeof c->control.metrics, "127.0.0.1:9464");
	c->control.metrics_ip = 0x7f000001u;
	c->control.metrics_port = 9464;
}

int ctl_config_parse(const char *buf, size_t len, const char *name, struct mgw_config *out,
		     struct ctl_config_err *err)
{
	struct ctl_config_err scratch_err;
	struct mgw_config cfg;
	struct ld l = {.err = err ? err : &scratch_err, .cfg = &cfg, .rx_lcore = -1, .book_lcore = -1,
		     .match_lcore = -1};
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	int rc;

	memset(l.err, 0, sizeof *l.err);
	if (!name)
		name = "<memory>";
	fmt(l.err->file, sizeof l.err->file, "%s", name);
	ctl_config_defaults(out);
	ctl_config_defaults(&cfg);
	if (!out)
		return fail(&l, 0, "", "no output structure given");
	if (!buf && len > 0)
		return fail(&l, 0, "", "no input buffer given");
	if (!buf)
		buf = "";
	if (len > CFG_MAX_BYTES)
		return fail(&l, 0, "", "file is larger than %u bytes (1 MiB)", CFG_MAX_BYTES);

	if (prescan(&l, buf, len) < 0)
		return -1;
	if (!yaml_parser_initialize(&parser))
		return fail(&l, 0, "", "out of memory while parsing");
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &doc)) {
		rc = syntax_fail(&l, &parser, buf, len);
		yaml_parser_delete(&parser);
		return rc;
	}
	l.doc = &doc;
	root = yaml_document_get_root_node(&doc);
	if (!root)
		rc = fail(&l, 1, "", "the file is empty: expected a mapping with dataplane, ports and feed");
	else
		rc = parse_root(&l, root);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	free(l.txt);
	if (rc < 0)
		return -1;
	fmt(cfg.source, sizeof cfg.source, "%s", name);
	*out = cfg;
	return 0;
}

int ctl_config_load(const char *path, struct mgw_config *out, struct ctl_config_err *err)
{
	struct ctl_config_err scratch_err;
	struct ctl_config_err *e = err ? err : &scratch_err;
	FILE *f;
	char *buf;
	size_t n;
	int rc;

	memset(e, 0, sizeof *e);
	ctl_config_defaults(out);
	if (!path || !path[0]) {
		fmt(e->msg, sizeof e->msg, "no configuration file given");
		return -1;
	}
	fmt(e->file, sizeof e->file, "%s", path);
	if (strlen(path) >= CTL_PATH_MAX) {
		fmt(e->msg, sizeof e->msg, "path is longer than %d characters", CTL_PATH_MAX - 1);
		return -1;
	}
	f = fopen(path, "rbe");
	if (!f) {
		fmt(e->msg, sizeof e->msg, "cannot open: %s", strerror(errno));
		return -1;
	}
	/* Read one byte past the limit to tell "exactly 1 MiB" from "more". */
	buf = malloc(CFG_MAX_BYTES + 1);
	if (!buf) {
		fclose(f);
		fmt(e->msg, sizeof e->msg, "out of memory");
		return -1;
	}
	n = fread(buf, 1, CFG_MAX_BYTES + 1, f);
	if (ferror(f)) {
		fmt(e->msg, sizeof e->msg, "cannot read: %s", strerror(errno));
		rc = -1;
	} else if (n > CFG_MAX_BYTES) {
		fmt(e->msg, sizeof e->msg, "file is larger than %u bytes (1 MiB)", CFG_MAX_BYTES);
		rc = -1;
	} else {
		rc = ctl_config_parse(buf, n, path, out, e);
	}
	free(buf);
	fclose(f);
	return rc;
}

/* Appends to a bounded buffer while counting the full length, like snprintf. */
struct sbuf {
	char *p;
	size_t cap, len;
};

static void sb_put(struct sbuf *b, const char *s)
{
	size_t n = strlen(s);

	if (b->p && b->len < b->cap) {
		size_t room = b->cap - b->len - 1;
		size_t k = n < room ? n : room;
		memcpy(b->p + b->len, s, k);
		b->p[b->len + k] = '\0';
	}
	b->len += n;
}

int ctl_config_err_format(const struct ctl_config_err *err, char *out, size_t cap)
{
	struct sbuf b = {.p = out, .cap = cap};
	char num[16];

	if (!err)
		return -1;
	if (out && cap)
		out[0] = '\0';
	if (err->file[0]) {
		sb_put(&b, err->file);
		if (err->line > 0) {
			fmt(num, sizeof num, ":%d", err->line);
			sb_put(&b, num);
		}
		sb_put(&b, ": ");
	} else if (err->line > 0) {
		fmt(num, sizeof num, "line %d: ", err->line);
		sb_put(&b, num);
	}
	if (err->key[0]) {
		sb_put(&b, err->key);
		sb_put(&b, ": ");
	}
	sb_put(&b, err->msg);
	return b.len > INT32_MAX ? -1 : (int)b.len;
}

const char *ctl_acl_role_name(enum ctl_acl_role r)
{
	switch (r) {
	case CTL_ACL_VIEWER: return "viewer";
	case CTL_ACL_OPERATOR: return "operator";
	case CTL_ACL_ADMIN: return "admin";
	default: return "none";
	}
}

int ctl_roles_format(uint32_t roles, char *out, size_t cap)
{
	struct sbuf b = {.p = out, .cap = cap};
	uint32_t rest = roles;
	bool first = true;

	if (out && cap)
		out[0] = '\0';
	for (size_t r = 0; r < N_ROLES; r++) {
		if (!(roles & role_names[r].bit))
			continue;
		sb_put(&b, first ? "" : ",");
		sb_put(&b, role_names[r].name);
		rest &= ~role_names[r].bit;
		first = false;
	}
	if (rest) {
		/* Bits with no name yet: shown rather than silently dropped. */
		char hex[16];

		fmt(hex, sizeof hex, "%s0x%x", first ? "" : ",", rest);
		sb_put(&b, hex);
	}
	return (int)b.len;
}
