/* fuzz_pt_x86.c: the x86 guest page-table walk against hostile tables (fuzz_pt_walk.h). */
#include "fuzz_pt_walk.h"
