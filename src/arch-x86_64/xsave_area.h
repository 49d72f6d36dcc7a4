/*
 * xsave_area.h: which bytes of a standard-format (non-compacted) XSAVE area XSAVE writes and
 * XRSTOR reads for a requested-feature bitmap (SDM vol. 1 §13.4-13.8), for chyve's emulation.
 */
#ifndef CHYVE_XSAVE_AREA_H
#define CHYVE_XSAVE_AREA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Standard-format offsets (SDM vol. 1 §13.4). */
#define XSAVE_FCW 0
#define XSAVE_X87_END 24 /* x87 state: bytes 0-23 and 32-159 (FCW ... FDP, ST0-ST7) */
#define XSAVE_MXCSR 24   /* MXCSR and MXCSR_MASK, 8 bytes */
#define XSAVE_ST0 32
#define XSAVE_XMM0 160
#define XSAVE_XMM_END 416 /* bytes 416-511 are never written: 464-511 belong to software */
#define XSAVE_HEADER 512  /* XSTATE_BV (8), XCOMP_BV (8), reserved (48) */
#define XSAVE_MIN 576     /* legacy area + header */

#define XSAVE_X87 0x1ull
#define XSAVE_SSE 0x2ull
#define XSAVE_AVX 0x4ull

/* Offset and size of each state component i >= 2 (CPUID.(EAX=0DH,ECX=i)); size 0: unknown. */
struct xsave_layout {
    uint32_t off[64], size[64];
};

/* A byte range [off, off + len) of the area. */
struct xsave_range {
    uint32_t off, len;
};

/* Room for every range xsave_ranges() can return. */
#define XSAVE_MAX_RANGES 66

/*
 * The ranges of the area that hold the state of components `mask` in the order of the area:
 * x87 (0-23, 32-159), MXCSR+MXCSR_MASK when mask has SSE or AVX, XMM0-15 (160-415), then each
 * component i >= 2 at its layout offset. `with_bv` adds XSTATE_BV (512-519), which XSAVE rewrites
 * (the rest of the header it leaves alone). Returns the number of ranges stored in out (room for
 * XSAVE_MAX_RANGES), or -1 with err_msg() if a component in mask has no layout, overlaps the
 * legacy area or header, or ends past `limit` bytes.
 */
int xsave_ranges(uint64_t mask, bool with_bv, const struct xsave_layout *lay, uint32_t limit,
                 struct xsave_range *out);

/* The end of the last range in r[0, n) (at least XSAVE_MIN): the bytes an access must reach. */
uint32_t xsave_ranges_end(const struct xsave_range *r, int n);

#endif
