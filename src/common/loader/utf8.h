/* utf8.h: strict UTF-8 validation (guest paths, configuration text), and encoding. */
#ifndef CHYVE_UTF8_H
#define CHYVE_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* True if s[0, len) is well-formed UTF-8: no overlong forms, surrogates or values > U+10FFFF. */
bool utf8_valid(const char *s, size_t len);

/* Writes code point cp (<= U+10FFFF, no surrogate) as 1 to 4 bytes at out; returns how many. */
size_t utf8_put(char *out, uint32_t cp);

#endif
