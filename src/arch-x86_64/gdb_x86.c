/* gdb_x86.c: what the GDB stub knows of x86_64: target description, register file, int3. */
#include "arch.h"
#include "gdb_regs.h"

/*
 * The target description: GDB's i386:x86-64 registers in GDB's order, numbered as gdb_regs.h
 * (the first register of each feature carries its regnum so the numbering cannot drift).
 */
static const char target_xml[] =
    "<?xml version=\"1.0\"?>"
    "<!DOCTYPE target SYSTEM \"gdb-target.dtd\">"
    "<target version=\"1.0\">"
    "<architecture>i386:x86-64</architecture>"
    "<feature name=\"org.gnu.gdb.i386.core\">"
    "<flags id=\"i386_eflags\" size=\"4\">"
    "<field name=\"CF\" start=\"0\" end=\"0\"/>"
    "<field name=\"\" start=\"1\" end=\"1\"/>"
    "<field name=\"PF\" start=\"2\" end=\"2\"/>"
    "<field name=\"AF\" start=\"4\" end=\"4\"/>"
    "<field name=\"ZF\" start=\"6\" end=\"6\"/>"
    "<field name=\"SF\" start=\"7\" end=\"7\"/>"
    "<field name=\"TF\" start=\"8\" end=\"8\"/>"
    "<field name=\"IF\" start=\"9\" end=\"9\"/>"
    "<field name=\"DF\" start=\"10\" end=\"10\"/>"
    "<field name=\"OF\" start=\"11\" end=\"11\"/>"
    "<field name=\"NT\" start=\"14\" end=\"14\"/>"
    "<field name=\"RF\" start=\"16\" end=\"16\"/>"
    "<field name=\"VM\" start=\"17\" end=\"17\"/>"
    "<field name=\"AC\" start=\"18\" end=\"18\"/>"
    "<field name=\"VIF\" start=\"19\" end=\"19\"/>"
    "<field name=\"VIP\" start=\"20\" end=\"20\"/>"
    "<field name=\"ID\" start=\"21\" end=\"21\"/>"
    "</flags>"
    "<reg name=\"rax\" bitsize=\"64\" type=\"int64\" regnum=\"0\"/>"
    "<reg name=\"rbx\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"rcx\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"rdx\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"rsi\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"rdi\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"rbp\" bitsize=\"64\" type=\"data_ptr\"/>"
    "<reg name=\"rsp\" bitsize=\"64\" type=\"data_ptr\"/>"
    "<reg name=\"r8\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"r9\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"r10\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"r11\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"r12\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"r13\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"r14\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"r15\" bitsize=\"64\" type=\"int64\"/>"
    "<reg name=\"rip\" bitsize=\"64\" type=\"code_ptr\"/>"
    "<reg name=\"eflags\" bitsize=\"32\" type=\"i386_eflags\"/>"
    "<reg name=\"cs\" bitsize=\"32\" type=\"int32\"/>"
    "<reg name=\"ss\" bitsize=\"32\" type=\"int32\"/>"
    "<reg name=\"ds\" bitsize=\"32\" type=\"int32\"/>"
    "<reg name=\"es\" bitsize=\"32\" type=\"int32\"/>"
    "<reg name=\"fs\" bitsize=\"32\" type=\"int32\"/>"
    "<reg name=\"gs\" bitsize=\"32\" type=\"int32\"/>"
    "<reg name=\"st0\" bitsize=\"80\" type=\"i387_ext\"/>"
    "<reg name=\"st1\" bitsize=\"80\" type=\"i387_ext\"/>"
    "<reg name=\"st2\" bitsize=\"80\" type=\"i387_ext\"/>"
    "<reg name=\"st3\" bitsize=\"80\" type=\"i387_ext\"/>"
    "<reg name=\"st4\" bitsize=\"80\" type=\"i387_ext\"/>"
    "<reg name=\"st5\" bitsize=\"80\" type=\"i387_ext\"/>"
    "<reg name=\"st6\" bitsize=\"80\" type=\"i387_ext\"/>"
    "<reg name=\"st7\" bitsize=\"80\" type=\"i387_ext\"/>"
    "<reg name=\"fctrl\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
    "<reg name=\"fstat\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
    "<reg name=\"ftag\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
    "<reg name=\"fiseg\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
    "<reg name=\"fioff\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
    "<reg name=\"foseg\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
    "<reg name=\"fooff\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
    "<reg name=\"fop\" bitsize=\"32\" type=\"int\" group=\"float\"/>"
    "</feature>"
    "<feature name=\"org.gnu.gdb.i386.sse\">"
    "<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>"
    "<vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>"
    "<vector id=\"v16i8\" type=\"int8\" count=\"16\"/>"
    "<vector id=\"v8i16\" type=\"int16\" count=\"8\"/>"
    "<vector id=\"v4i32\" type=\"int32\" count=\"4\"/>"
    "<vector id=\"v2i64\" type=\"int64\" count=\"2\"/>"
    "<union id=\"vec128\">"
    "<field name=\"v4_float\" type=\"v4f\"/>"
    "<field name=\"v2_double\" type=\"v2d\"/>"
    "<field name=\"v16_int8\" type=\"v16i8\"/>"
    "<field name=\"v8_int16\" type=\"v8i16\"/>"
    "<field name=\"v4_int32\" type=\"v4i32\"/>"
    "<field name=\"v2_int64\" type=\"v2i64\"/>"
    "<field name=\"uint128\" type=\"uint128\"/>"
    "</union>"
    "<flags id=\"i386_mxcsr\" size=\"4\">"
    "<field name=\"IE\" start=\"0\" end=\"0\"/>"
    "<field name=\"DE\" start=\"1\" end=\"1\"/>"
    "<field name=\"ZE\" start=\"2\" end=\"2\"/>"
    "<field name=\"OE\" start=\"3\" end=\"3\"/>"
    "<field name=\"UE\" start=\"4\" end=\"4\"/>"
    "<field name=\"PE\" start=\"5\" end=\"5\"/>"
    "<field name=\"DAZ\" start=\"6\" end=\"6\"/>"
    "<field name=\"IM\" start=\"7\" end=\"7\"/>"
    "<field name=\"DM\" start=\"8\" end=\"8\"/>"
    "<field name=\"ZM\" start=\"9\" end=\"9\"/>"
    "<field name=\"OM\" start=\"10\" end=\"10\"/>"
    "<field name=\"UM\" start=\"11\" end=\"11\"/>"
    "<field name=\"PM\" start=\"12\" end=\"12\"/>"
    "<field name=\"FZ\" start=\"15\" end=\"15\"/>"
    "</flags>"
    "<reg name=\"xmm0\" bitsize=\"128\" type=\"vec128\" regnum=\"40\"/>"
    "<reg name=\"xmm1\" bitsize=\"128\" type=\"vec128\"/>"
    "<reg name=\"xmm2\" bitsize=\"128\" type=\"vec128\"/>"
    "<reg name=\"xmm3\" bitsize=\"128\" type=\"vec128\"/>"
    "<reg name=\"xmm4\" bitsize=\"128\" type=\"vec128\"/>"
    "<reg name=\"xmm5\" bitsize=\"128\" type=\"vec128\"/>"
    "<reg name=\"xmm6\" bitsize=\"128\" type=\"vec128\"/>"
    "<reg name=\"xmm7\" bitsize=\"128\" type=\"vec128\"/>"
    "<reg name=\"xmm8\" bitsize=\"128\" type=\"vec128\"/>"
    "<reg name=\"xmm9\" bitsize=\"128\" type=\"vec128\"/>"
    "<reg name=\"xmm10\" bitsize=\"128\" type=\"vec128\"/>"
    "<reg name=\"xmm11\" bitsize=\"128\" type=\"vec128\"/>"
    "<reg name=\"xmm12\" bitsize=\"128\" type=\"vec128\"/>"
    "<reg name=\"xmm13\" bitsize=\"128\" type=\"vec128\"/>"
    "<reg name=\"xmm14\" bitsize=\"128\" type=\"vec128\"/>"
    "<reg name=\"xmm15\" bitsize=\"128\" type=\"vec128\"/>"
    "<reg name=\"mxcsr\" bitsize=\"32\" type=\"i386_mxcsr\" group=\"vector\"/>"
    "</feature>"
    "<feature name=\"org.gnu.gdb.i386.segments\">"
    "<reg name=\"fs_base\" bitsize=\"64\" type=\"int\" regnum=\"57\"/>"
    "<reg name=\"gs_base\" bitsize=\"64\" type=\"int\"/>"
    "</feature>"
    "</target>";

_Static_assert(X86_GDB_XMM0 == 40 && X86_GDB_FS_BASE == 57 && X86_GDB_NREGS == 59,
               "the regnum attributes in target_xml must match gdb_regs.h");

/* Size of each register, in regnum order. */
static const uint8_t reg_size[X86_GDB_NREGS] = {
    [X86_GDB_RAX... X86_GDB_RIP] = 8,         [X86_GDB_EFLAGS... X86_GDB_GS] = 4,
    [X86_GDB_ST0... X86_GDB_ST0 + 7] = 10,    [X86_GDB_FCTRL... X86_GDB_FOP] = 4,
    [X86_GDB_XMM0... X86_GDB_XMM0 + 15] = 16, [X86_GDB_MXCSR] = 4,
    [X86_GDB_FS_BASE... X86_GDB_GS_BASE] = 8,
};

/* Offset of each register: the sum of the sizes before it (checked against gdb_regs.h below). */
static const uint16_t reg_off[X86_GDB_NREGS] = {
    [X86_GDB_RAX] = X86_GDB_OFF_GPR(0),        [X86_GDB_RBX] = X86_GDB_OFF_GPR(1),
    [X86_GDB_RCX] = X86_GDB_OFF_GPR(2),        [X86_GDB_RDX] = X86_GDB_OFF_GPR(3),
    [X86_GDB_RSI] = X86_GDB_OFF_GPR(4),        [X86_GDB_RDI] = X86_GDB_OFF_GPR(5),
    [X86_GDB_RBP] = X86_GDB_OFF_GPR(6),        [X86_GDB_RSP] = X86_GDB_OFF_GPR(7),
    [X86_GDB_R8 + 0] = X86_GDB_OFF_GPR(8),     [X86_GDB_R8 + 1] = X86_GDB_OFF_GPR(9),
    [X86_GDB_R8 + 2] = X86_GDB_OFF_GPR(10),    [X86_GDB_R8 + 3] = X86_GDB_OFF_GPR(11),
    [X86_GDB_R8 + 4] = X86_GDB_OFF_GPR(12),    [X86_GDB_R8 + 5] = X86_GDB_OFF_GPR(13),
    [X86_GDB_R8 + 6] = X86_GDB_OFF_GPR(14),    [X86_GDB_R8 + 7] = X86_GDB_OFF_GPR(15),
    [X86_GDB_RIP] = X86_GDB_OFF_RIP,           [X86_GDB_EFLAGS] = X86_GDB_OFF_EFLAGS,
    [X86_GDB_CS] = X86_GDB_OFF_SEG(0),         [X86_GDB_SS] = X86_GDB_OFF_SEG(1),
    [X86_GDB_DS] = X86_GDB_OFF_SEG(2),         [X86_GDB_ES] = X86_GDB_OFF_SEG(3),
    [X86_GDB_FS] = X86_GDB_OFF_SEG(4),         [X86_GDB_GS] = X86_GDB_OFF_SEG(5),
    [X86_GDB_ST0] = X86_GDB_OFF_ST(0),         [X86_GDB_ST0 + 1] = X86_GDB_OFF_ST(1),
    [X86_GDB_ST0 + 2] = X86_GDB_OFF_ST(2),     [X86_GDB_ST0 + 3] = X86_GDB_OFF_ST(3),
    [X86_GDB_ST0 + 4] = X86_GDB_OFF_ST(4),     [X86_GDB_ST0 + 5] = X86_GDB_OFF_ST(5),
    [X86_GDB_ST0 + 6] = X86_GDB_OFF_ST(6),     [X86_GDB_ST0 + 7] = X86_GDB_OFF_ST(7),
    [X86_GDB_FCTRL] = X86_GDB_OFF_FPCTL(0),    [X86_GDB_FSTAT] = X86_GDB_OFF_FPCTL(1),
    [X86_GDB_FTAG] = X86_GDB_OFF_FPCTL(2),     [X86_GDB_FISEG] = X86_GDB_OFF_FPCTL(3),
    [X86_GDB_FIOFF] = X86_GDB_OFF_FPCTL(4),    [X86_GDB_FOSEG] = X86_GDB_OFF_FPCTL(5),
    [X86_GDB_FOOFF] = X86_GDB_OFF_FPCTL(6),    [X86_GDB_FOP] = X86_GDB_OFF_FPCTL(7),
    [X86_GDB_XMM0] = X86_GDB_OFF_XMM(0),       [X86_GDB_XMM0 + 1] = X86_GDB_OFF_XMM(1),
    [X86_GDB_XMM0 + 2] = X86_GDB_OFF_XMM(2),   [X86_GDB_XMM0 + 3] = X86_GDB_OFF_XMM(3),
    [X86_GDB_XMM0 + 4] = X86_GDB_OFF_XMM(4),   [X86_GDB_XMM0 + 5] = X86_GDB_OFF_XMM(5),
    [X86_GDB_XMM0 + 6] = X86_GDB_OFF_XMM(6),   [X86_GDB_XMM0 + 7] = X86_GDB_OFF_XMM(7),
    [X86_GDB_XMM0 + 8] = X86_GDB_OFF_XMM(8),   [X86_GDB_XMM0 + 9] = X86_GDB_OFF_XMM(9),
    [X86_GDB_XMM0 + 10] = X86_GDB_OFF_XMM(10), [X86_GDB_XMM0 + 11] = X86_GDB_OFF_XMM(11),
    [X86_GDB_XMM0 + 12] = X86_GDB_OFF_XMM(12), [X86_GDB_XMM0 + 13] = X86_GDB_OFF_XMM(13),
    [X86_GDB_XMM0 + 14] = X86_GDB_OFF_XMM(14), [X86_GDB_XMM0 + 15] = X86_GDB_OFF_XMM(15),
    [X86_GDB_MXCSR] = X86_GDB_OFF_MXCSR,       [X86_GDB_FS_BASE] = X86_GDB_OFF_FS_BASE,
    [X86_GDB_GS_BASE] = X86_GDB_OFF_GS_BASE,
};

/* Each block of gdb_regs.h ends where the next one starts. */
_Static_assert(
    X86_GDB_OFF_GPR(16) == X86_GDB_OFF_RIP && X86_GDB_OFF_RIP + 8 == X86_GDB_OFF_EFLAGS &&
        X86_GDB_OFF_EFLAGS + 4 == X86_GDB_OFF_SEG(0) && X86_GDB_OFF_SEG(6) == X86_GDB_OFF_ST(0) &&
        X86_GDB_OFF_ST(8) == X86_GDB_OFF_FPCTL(0) && X86_GDB_OFF_FPCTL(8) == X86_GDB_OFF_XMM(0) &&
        X86_GDB_OFF_XMM(16) == X86_GDB_OFF_MXCSR && X86_GDB_OFF_MXCSR + 4 == X86_GDB_OFF_FS_BASE &&
        X86_GDB_OFF_FS_BASE + 8 == X86_GDB_OFF_GS_BASE &&
        X86_GDB_OFF_GS_BASE + 8 == X86_GDB_REGS_SIZE,
    "gdb_regs.h offsets must be contiguous");

const struct arch_gdb arch_gdb = {
    .target_xml = target_xml,
    .regs_size = X86_GDB_REGS_SIZE,
    .nregs = X86_GDB_NREGS,
    .reg_off = reg_off,
    .reg_size = reg_size,
    .pc_regnum = X86_GDB_RIP,
    .sp_regnum = X86_GDB_RSP,
    .bp_insn = {0xCC}, /* int3 */
    .bp_len = 1,
    .read_watch = false, /* DR7 RW: execute, write, I/O or read+write, never read alone */
};

bool arch_gdb_watch_ok(uint64_t addr, uint64_t len)
{
    /* DR7 LENn encodes 1, 2, 4 or 8 bytes, and the address must be aligned to the length. */
    if (len != 1 && len != 2 && len != 4 && len != 8) {
        return false;
    }
    return (addr & (len - 1)) == 0;
}
