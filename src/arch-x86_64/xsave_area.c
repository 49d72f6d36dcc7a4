/* xsave_area.c: the bytes of a standard-format XSAVE area that each state component owns. */
#include <stdbool.h>

#include "err.h"
#include "xsave_area.h"

int xsave_ranges(uint64_t mask, bool with_bv, const struct xsave_layout *lay, uint32_t limit,
                 struct xsave_range *out)
{
    int n = 0;
    if (mask & XSAVE_X87) {
        out[n++] = (struct xsave_range){XSAVE_FCW, XSAVE_X87_END - XSAVE_FCW};
    }
    if (mask & (XSAVE_SSE | XSAVE_AVX)) { /* MXCSR goes with SSE or AVX (SDM vol. 1 §13.7) */
        out[n++] = (struct xsave_range){XSAVE_MXCSR, 8};
    }
    if (mask & XSAVE_X87) {
        out[n++] = (struct xsave_range){XSAVE_ST0, XSAVE_XMM0 - XSAVE_ST0};
    }
    if (mask & XSAVE_SSE) {
        out[n++] = (struct xsave_range){XSAVE_XMM0, XSAVE_XMM_END - XSAVE_XMM0};
    }
    if (with_bv) {
        out[n++] = (struct xsave_range){XSAVE_HEADER, 8};
    }
    for (unsigned i = 2; i < 63; i++) {
        if (!(mask & (1ull << i))) {
            continue;
        }
        uint32_t off = lay->off[i], size = lay->size[i];
        if (size == 0 || off < XSAVE_MIN || (uint64_t)off + size > limit) {
            return err_set("XSAVE state component %u has no usable layout on this host", i);
        }
        out[n++] = (struct xsave_range){off, size};
    }
    return n;
}

uint32_t xsave_ranges_end(const struct xsave_range *r, int n)
{
    uint32_t end = XSAVE_MIN;
    for (int i = 0; i < n; i++) {
        if (r[i].off + r[i].len > end) {
            end = r[i].off + r[i].len;
        }
    }
    return end;
}
