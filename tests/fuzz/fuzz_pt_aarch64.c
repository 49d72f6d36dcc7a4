/* fuzz_pt_aarch64.c: the aarch64 guest page-table walk against hostile tables (fuzz_pt_walk.h). */
#include "fuzz_pt_walk.h"
