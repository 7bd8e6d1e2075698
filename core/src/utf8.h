/*
 * utf8.h -- strict UTF-8 decoding of untrusted bytes.  Private to libmekiki.
 *
 * Overlong forms, surrogates, code points above U+10FFFF and truncated
 * sequences are invalid; an invalid sequence consumes exactly one byte and
 * decodes to U+FFFD, so that decoding always advances and never reads past
 * the end.
 */
#ifndef MEKIKI_UTF8_H
#define MEKIKI_UTF8_H

#include <stddef.h>
#include <stdint.h>

#define MK_REPLACEMENT 0xFFFDu

/* Decode one code point at s[0..n), n > 0; *len receives the bytes used. */
static inline uint32_t mk_utf8_decode(const unsigned char *s, size_t n, size_t *len)
{
	uint32_t c = s[0];
	if (c < 0x80) {
		*len = 1;
		return c;
	}
	*len = 1;
	if (c < 0xC2 || c > 0xF4)
		return MK_REPLACEMENT;
	if (c < 0xE0) {
		if (n < 2 || (s[1] & 0xC0) != 0x80)
			return MK_REPLACEMENT;
		*len = 2;
		return (c & 0x1F) << 6 | (s[1] & 0x3F);
	}
	if (c < 0xF0) {
		if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
			return MK_REPLACEMENT;
		uint32_t r = (c & 0x0F) << 12 | (uint32_t)(s[1] & 0x3F) << 6 | (s[2] & 0x3F);
		if (r < 0x800 || (r >= 0xD800 && r <= 0xDFFF))
			return MK_REPLACEMENT;
		*len = 3;
		return r;
	}
	if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 ||
	    (s[3] & 0xC0) != 0x80)
		return MK_REPLACEMENT;
	uint32_t r = (c & 0x07) << 18 | (uint32_t)(s[1] & 0x3F) << 12 |
	             (uint32_t)(s[2] & 0x3F) << 6 | (s[3] & 0x3F);
	if (r < 0x10000 || r > 0x10FFFF)
		return MK_REPLACEMENT;
	*len = 4;
	return r;
}

/* Encode c (a valid scalar value) into out[0..4); returns the length. */
static inline size_t mk_utf8_encode(uint32_t c, char *out)
{
	if (c < 0x80) {
		out[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		out[0] = (char)(0xC0 | c >> 6);
		out[1] = (char)(0x80 | (c & 0x3F));
		return 2;
	}
	if (c < 0x10000) {
		out[0] = (char)(0xE0 | c >> 12);
		out[1] = (char)(0x80 | (c >> 6 & 0x3F));
		out[2] = (char)(0x80 | (c & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | c >> 18);
	out[1] = (char)(0x80 | (c >> 12 & 0x3F));
	out[2] = (char)(0x80 | (c >> 6 & 0x3F));
	out[3] = (char)(0x80 | (c & 0x3F));
	return 4;
}

/*
 * A quotable excerpt of untrusted bytes s[0..n) for a log line: the first
 * max bytes of it at most (a valid character that max would cut is left
 * out whole), valid UTF-8 kept, every control byte, DEL, C1 control and
 * byte of an invalid sequence written as \xNN.  out has room for
 * 4 * max + 1 bytes; returns the length written.
 */
static inline size_t mk_printable_excerpt(const char *s, size_t n, char *out, size_t max)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, o = 0, lim = n > max ? max : n;
	while (i < lim) {
		size_t len;
		uint32_t c = mk_utf8_decode(u + i, n - i, &len);
		int bad = (c == MK_REPLACEMENT && !(len == 3 && u[i] == 0xEF)) || c < 0x20 ||
		          c == 0x7F || (c >= 0x80 && c < 0xA0);
		if (i + len > lim) {
			if (!bad)
				break;
			len = lim - i;
		}
		if (bad) {
			for (size_t k = 0; k < len; k++) {
				out[o++] = '\\';
				out[o++] = 'x';
				out[o++] = hex[u[i + k] >> 4];
				out[o++] = hex[u[i + k] & 15];
			}
		} else {
			for (size_t k = 0; k < len; k++)
				out[o++] = (char)u[i + k];
		}
		i += len;
	}
	out[o] = 0;
	return o;
}

#endif
