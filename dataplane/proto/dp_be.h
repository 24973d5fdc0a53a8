/*
 * dp_be.h - big-endian loads and stores for the wire codecs, one copy for
 * all of them. memcpy keeps every access alignment-safe (wire fields sit at
 * odd offsets) and lets the compiler emit a single load plus bswap/movbe.
 * Each function touches exactly the bytes of its field, never more.
 */
#ifndef DP_BE_H
#define DP_BE_H

#include <stdint.h>
#include <string.h>

static inline uint16_t dp_ld16(const uint8_t *p)
{
	uint16_t v;
	memcpy(&v, p, 2);
	return __builtin_bswap16(v);
}

static inline uint32_t dp_ld32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return __builtin_bswap32(v);
}

static inline uint64_t dp_ld48(const uint8_t *p)
{
	return (uint64_t)dp_ld16(p) << 32 | dp_ld32(p + 2);
}

static inline uint64_t dp_ld64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return __builtin_bswap64(v);
}

static inline void dp_st16(uint8_t *p, uint16_t v)
{
	v = __builtin_bswap16(v);
	memcpy(p, &v, 2);
}

static inline void dp_st32(uint8_t *p, uint32_t v)
{
	v = __builtin_bswap32(v);
	memcpy(p, &v, 4);
}

static inline void dp_st48(uint8_t *p, uint64_t v)
{
	dp_st16(p, (uint16_t)(v >> 32));
	dp_st32(p + 2, (uint32_t)v);
}

static inline void dp_st64(uint8_t *p, uint64_t v)
{
	v = __builtin_bswap64(v);
	memcpy(p, &v, 8);
}

#endif /* DP_BE_H */
