/* gdb_aarch64.c: the aarch64 target description and register file layout for the GDB stub. */
#include <stddef.h>
#include <stdint.h>

#include "arch.h"
#include "gdb_regs.h"

/* One <reg> line of the description; the first of each feature also pins its number. */
#define XREG(n) "<reg name=\"x" #n "\" bitsize=\"64\" type=\"int\"/>"
#define VREG(n) "<reg name=\"v" #n "\" bitsize=\"128\" type=\"aarch64v\"/>"
#define XREG4(a, b, c, d) XREG(a) XREG(b) XREG(c) XREG(d)
#define VREG4(a, b, c, d) VREG(a) VREG(b) VREG(c) VREG(d)

/*
 * GDB (checked with gdb-multiarch 13.1: `set architecture aarch64`, `set tdesc filename`) finds
 * the registers by name in the two features; the vector types are the ones its aarch64 code
 * and users expect ($v0.d.u, $v0.s.f, $v0.b.u[3]): per element width a union of float,
 * unsigned and signed vectors, gathered in the union aarch64v.
 */
// clang-format off
static const char target_xml[] =
    "<?xml version=\"1.0\"?>"
    "<!DOCTYPE target SYSTEM \"gdb-target.dtd\">"
    "<target version=\"1.0\">"
    "<architecture>aarch64</architecture>"
    "<feature name=\"org.gnu.gdb.aarch64.core\">"
    "<flags id=\"chyve_cpsr\" size=\"4\">"
    "<field name=\"SP\" start=\"0\" end=\"0\" type=\"bool\"/>"
    "<field name=\"EL\" start=\"2\" end=\"3\" type=\"uint32\"/>"
    "<field name=\"nRW\" start=\"4\" end=\"4\" type=\"bool\"/>"
    "<field name=\"F\" start=\"6\" end=\"6\" type=\"bool\"/>"
    "<field name=\"I\" start=\"7\" end=\"7\" type=\"bool\"/>"
    "<field name=\"A\" start=\"8\" end=\"8\" type=\"bool\"/>"
    "<field name=\"D\" start=\"9\" end=\"9\" type=\"bool\"/>"
    "<field name=\"IL\" start=\"20\" end=\"20\" type=\"bool\"/>"
    "<field name=\"SS\" start=\"21\" end=\"21\" type=\"bool\"/>"
    "<field name=\"PAN\" start=\"22\" end=\"22\" type=\"bool\"/>"
    "<field name=\"V\" start=\"28\" end=\"28\" type=\"bool\"/>"
    "<field name=\"C\" start=\"29\" end=\"29\" type=\"bool\"/>"
    "<field name=\"Z\" start=\"30\" end=\"30\" type=\"bool\"/>"
    "<field name=\"N\" start=\"31\" end=\"31\" type=\"bool\"/>"
    "</flags>"
    "<reg name=\"x0\" bitsize=\"64\" type=\"int\" regnum=\"0\"/>"
    XREG(1) XREG(2) XREG(3) XREG4(4, 5, 6, 7) XREG4(8, 9, 10, 11) XREG4(12, 13, 14, 15)
    XREG4(16, 17, 18, 19) XREG4(20, 21, 22, 23) XREG4(24, 25, 26, 27) XREG(28) XREG(29)
    XREG(30)
    "<reg name=\"sp\" bitsize=\"64\" type=\"data_ptr\"/>"
    "<reg name=\"pc\" bitsize=\"64\" type=\"code_ptr\"/>"
    "<reg name=\"cpsr\" bitsize=\"32\" type=\"chyve_cpsr\"/>"
    "</feature>"
    "<feature name=\"org.gnu.gdb.aarch64.fpu\">"
    "<vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>"
    "<vector id=\"v2u\" type=\"uint64\" count=\"2\"/>"
    "<vector id=\"v2i\" type=\"int64\" count=\"2\"/>"
    "<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>"
    "<vector id=\"v4u\" type=\"uint32\" count=\"4\"/>"
    "<vector id=\"v4i\" type=\"int32\" count=\"4\"/>"
    "<vector id=\"v8u\" type=\"uint16\" count=\"8\"/>"
    "<vector id=\"v8i\" type=\"int16\" count=\"8\"/>"
    "<vector id=\"v16u\" type=\"uint8\" count=\"16\"/>"
    "<vector id=\"v16i\" type=\"int8\" count=\"16\"/>"
    "<vector id=\"v1u\" type=\"uint128\" count=\"1\"/>"
    "<vector id=\"v1i\" type=\"int128\" count=\"1\"/>"
    "<union id=\"vnd\"><field name=\"f\" type=\"v2d\"/>"
    "<field name=\"u\" type=\"v2u\"/><field name=\"s\" type=\"v2i\"/></union>"
    "<union id=\"vns\"><field name=\"f\" type=\"v4f\"/>"
    "<field name=\"u\" type=\"v4u\"/><field name=\"s\" type=\"v4i\"/></union>"
    "<union id=\"vnh\"><field name=\"u\" type=\"v8u\"/>"
    "<field name=\"s\" type=\"v8i\"/></union>"
    "<union id=\"vnb\"><field name=\"u\" type=\"v16u\"/>"
    "<field name=\"s\" type=\"v16i\"/></union>"
    "<union id=\"vnq\"><field name=\"u\" type=\"v1u\"/>"
    "<field name=\"s\" type=\"v1i\"/></union>"
    "<union id=\"aarch64v\"><field name=\"d\" type=\"vnd\"/>"
    "<field name=\"s\" type=\"vns\"/><field name=\"h\" type=\"vnh\"/>"
    "<field name=\"b\" type=\"vnb\"/><field name=\"q\" type=\"vnq\"/></union>"
    "<reg name=\"v0\" bitsize=\"128\" type=\"aarch64v\" regnum=\"34\"/>"
    VREG(1) VREG(2) VREG(3) VREG4(4, 5, 6, 7) VREG4(8, 9, 10, 11) VREG4(12, 13, 14, 15)
    VREG4(16, 17, 18, 19) VREG4(20, 21, 22, 23) VREG4(24, 25, 26, 27)
    VREG4(28, 29, 30, 31)
    "<reg name=\"fpsr\" bitsize=\"32\" type=\"int\"/>"
    "<reg name=\"fpcr\" bitsize=\"32\" type=\"int\"/>"
    "</feature>"
    "</target>";
// clang-format on

#define OFF4(f, n) f(n), f((n) + 1), f((n) + 2), f((n) + 3)
#define OFF8(f, n) OFF4(f, n), OFF4(f, (n) + 4)

static const uint16_t reg_off[A64_GDB_NREGS] = {
    OFF8(A64_GDB_OFF_X, 0),  OFF8(A64_GDB_OFF_X, 8),  OFF8(A64_GDB_OFF_X, 16),
    OFF4(A64_GDB_OFF_X, 24), A64_GDB_OFF_X(28),       A64_GDB_OFF_X(29),
    A64_GDB_OFF_X(30),       A64_GDB_OFF_SP,          A64_GDB_OFF_PC,
    A64_GDB_OFF_CPSR,        OFF8(A64_GDB_OFF_V, 0),  OFF8(A64_GDB_OFF_V, 8),
    OFF8(A64_GDB_OFF_V, 16), OFF8(A64_GDB_OFF_V, 24), A64_GDB_OFF_FPSR,
    A64_GDB_OFF_FPCR,
};

static const uint8_t reg_size[A64_GDB_NREGS] = {
    [A64_GDB_X(0)... A64_GDB_PC] = 8,
    [A64_GDB_CPSR] = 4,
    [A64_GDB_V(0)... A64_GDB_V(31)] = 16,
    [A64_GDB_FPSR] = 4,
    [A64_GDB_FPCR] = 4,
};

_Static_assert(A64_GDB_OFF_SP == A64_GDB_OFF_X(31) && A64_GDB_OFF_PC == A64_GDB_OFF_X(32) &&
                   A64_GDB_OFF_CPSR == A64_GDB_OFF_X(33) &&
                   A64_GDB_OFF_V(0) == A64_GDB_OFF_CPSR + 4 &&
                   A64_GDB_OFF_FPSR == A64_GDB_OFF_V(32) &&
                   A64_GDB_OFF_FPCR == A64_GDB_OFF_FPSR + 4 &&
                   A64_GDB_REGS_SIZE == A64_GDB_OFF_FPCR + 4,
               "the aarch64 register file is packed in GDB's order");

const struct arch_gdb arch_gdb = {
    .target_xml = target_xml,
    .regs_size = A64_GDB_REGS_SIZE,
    .nregs = A64_GDB_NREGS,
    .reg_off = reg_off,
    .reg_size = reg_size,
    .pc_regnum = A64_GDB_PC,
    .sp_regnum = A64_GDB_SP,
    .bp_insn = {0x00, 0x00, 0x20, 0xd4}, /* brk #0: 0xd4200000, little endian */
    .bp_len = 4,
    .read_watch = true,
};

bool arch_gdb_watch_ok(uint64_t addr, uint64_t len)
{
    /* DBGWCR.BAS selects bytes of the doubleword at DBGWVR (bits [2:0] clear). */
    return len >= 1 && len <= 8 && (addr & 7) + len <= 8;
}
