/* utf8.h: strict UTF-8 validation (guest paths, configuration text). */
#ifndef CHYVE_UTF8_H
#define CHYVE_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* True if s[0, len) is well-formed UTF-8: no overlong forms, surrogates or values > U+10FFFF. */
bool utf8_valid(const char *s, size_t len);

#endif
