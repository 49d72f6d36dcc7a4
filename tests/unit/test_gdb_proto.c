/*
 * Unit tests of the GDB protocol core (gdb_proto.c) against a fake target: every packet the stub
 * answers, with good and hostile arguments, and the stop and exit replies.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "arch.h"
#include "gdb/gdb_packet.h"
#include "gdb/gdb_proto.h"
#include "gdb/gdb_target.h"

/* The fake: 3 threads (thread 2 gone), memory mapped at [MEM_VA, MEM_VA + MEM_LEN). */
#define NTHREADS 3
#define MEM_VA 0x10000u
#define MEM_LEN 0x3000u

struct gdb_target {
    bool alive[NTHREADS];
    uint8_t regs[NTHREADS][1024];
    uint8_t mem[MEM_LEN];
    int bp_type;
    uint64_t bp_addr, bp_kind;
    bool bp_insert;
    int bp_result;
    bool cleared, killed, resumed;
    enum gdb_action act[NTHREADS];
    uint64_t offset;
};

static struct gdb_target T;
static struct gdb_session S;

unsigned gdb_target_threads(struct gdb_target *t)
{
    (void)t;
    return NTHREADS;
}

bool gdb_target_alive(struct gdb_target *t, unsigned tid)
{
    return tid >= 1 && tid <= NTHREADS && t->alive[tid - 1];
}

int gdb_target_get_regs(struct gdb_target *t, unsigned tid, uint8_t *buf)
{
    if (!gdb_target_alive(t, tid))
        return -1;
    memcpy(buf, t->regs[tid - 1], arch_gdb.regs_size);
    return 0;
}

int gdb_target_set_regs(struct gdb_target *t, unsigned tid, const uint8_t *buf)
{
    if (!gdb_target_alive(t, tid))
        return -1;
    memcpy(t->regs[tid - 1], buf, arch_gdb.regs_size);
    return 0;
}

int gdb_target_read(struct gdb_target *t, unsigned tid, uint64_t va, uint8_t *buf, size_t len,
                    size_t *got)
{
    (void)tid;
    *got = 0;
    if (va < MEM_VA || va - MEM_VA >= MEM_LEN)
        return len ? -1 : 0;
    size_t n = MEM_LEN - (size_t)(va - MEM_VA);
    *got = n < len ? n : len;
    memcpy(buf, t->mem + (va - MEM_VA), *got);
    return 0;
}

int gdb_target_write(struct gdb_target *t, unsigned tid, uint64_t va, const uint8_t *buf,
                     size_t len)
{
    (void)tid;
    if (va < MEM_VA || va - MEM_VA > MEM_LEN || len > MEM_LEN - (va - MEM_VA))
        return -1;
    memcpy(t->mem + (va - MEM_VA), buf, len);
    return 0;
}

int gdb_target_breakpoint(struct gdb_target *t, int type, uint64_t addr, uint64_t kind, bool insert)
{
    t->bp_type = type;
    t->bp_addr = addr;
    t->bp_kind = kind;
    t->bp_insert = insert;
    return t->bp_result;
}

void gdb_target_clear_breakpoints(struct gdb_target *t)
{
    t->cleared = true;
}

uint64_t gdb_target_load_offset(struct gdb_target *t)
{
    return t->offset;
}

void gdb_target_resume(struct gdb_target *t, const enum gdb_action *act)
{
    t->resumed = true;
    memcpy(t->act, act, sizeof(t->act));
}

void gdb_target_kill(struct gdb_target *t)
{
    t->killed = true;
}

static void setup(void)
{
    memset(&T, 0, sizeof(T));
    T.alive[0] = T.alive[2] = true;
    for (unsigned i = 0; i < NTHREADS; i++)
        for (size_t k = 0; k < sizeof(T.regs[i]); k++)
            T.regs[i][k] = (uint8_t)(k * 7 + i);
    for (size_t k = 0; k < MEM_LEN; k++)
        T.mem[k] = (uint8_t)k;
    struct gdb_stop first = {.tid = 1, .signal = 5, .why = GDB_WHY_SIGNAL};
    gdb_session_init(&S, &first);
}

/* Sends one packet (a C string, or with an explicit length for binary data). */
static enum gdb_verdict sendn(const char *pkt, size_t len)
{
    static uint8_t buf[GDB_PACKET_MAX + 1];
    memcpy(buf, pkt, len);
    buf[len] = 0;
    return gdb_proto_handle(&S, &T, buf, len);
}

static enum gdb_verdict send_pkt(const char *pkt)
{
    return sendn(pkt, strlen(pkt));
}

/* Sends pkt and checks the verdict is a reply equal to want. */
static void expect(const char *pkt, const char *want)
{
    cr_assert_eq(send_pkt(pkt), GDB_REPLY, "%s", pkt);
    cr_assert_eq(S.len, strlen(S.out), "%s", pkt);
    cr_assert_str_eq(S.out, want, "%s", pkt);
}

static void hex_of(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

TestSuite(gdb_proto, .init = setup);

Test(gdb_proto, supported_and_noack)
{
    send_pkt("qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386");
    cr_assert(strstr(S.out, "PacketSize=4000"));
    cr_assert(strstr(S.out, "qXfer:features:read+"));
    cr_assert(strstr(S.out, "QStartNoAckMode+"));
    cr_assert(strstr(S.out, "swbreak+"));
    send_pkt("qSupported:multiprocess+");
    cr_assert_null(strstr(S.out, "swbreak+"));
    expect("QStartNoAckMode", "OK");
    cr_assert(S.noack_next);
    expect("QNonStop:1", "");
}

Test(gdb_proto, stop_reason_and_threads)
{
    expect("?", "T05thread:01;");
    expect("qC", "QC01");
    expect("qfThreadInfo", "m01,03");
    expect("qsThreadInfo", "l");
    expect("qAttached", "1");
    expect("T3", "OK");
    expect("T2", "E16"); /* gone */
    expect("T9", "E16");
    expect("Tzz", "E16");
    expect("Hg3", "OK");
    expect("Hg2", "E16");
    expect("Hg0", "OK");
    expect("Hc-1", "OK");
    expect("Hx1", "E16");
    send_pkt("qThreadExtraInfo,3");
    char want[64];
    hex_of((const uint8_t *)"vCPU 2", 6, want);
    cr_assert_str_eq(S.out, want);
}

Test(gdb_proto, registers)
{
    char *want = calloc(1, 2 * arch_gdb.regs_size + 1);
    hex_of(T.regs[0], arch_gdb.regs_size, want);
    expect("g", want);
    expect("Hg3", "OK");
    hex_of(T.regs[2], arch_gdb.regs_size, want);
    expect("g", want);
    expect("gx", "E16");

    /* G writes the whole file of the selected thread; a short or non-hex one changes nothing. */
    char *pkt = calloc(1, 2 * arch_gdb.regs_size + 2);
    pkt[0] = 'G';
    memset(pkt + 1, 'a', 2 * arch_gdb.regs_size);
    pkt[1 + 2 * arch_gdb.regs_size] = 0;
    expect(pkt, "OK");
    cr_assert_eq(T.regs[2][0], 0xaa);
    cr_assert_eq(T.regs[2][arch_gdb.regs_size - 1], 0xaa);
    pkt[2 * arch_gdb.regs_size] = 0;
    expect(pkt, "E16");
    pkt[2 * arch_gdb.regs_size] = 'a';
    pkt[5] = 'x';
    expect(pkt, "E16");
    free(pkt);
    free(want);
}

Test(gdb_proto, one_register)
{
    unsigned pc = arch_gdb.pc_regnum, off = arch_gdb.reg_off[pc], size = arch_gdb.reg_size[pc];
    char pkt[64], want[64];
    snprintf(pkt, sizeof(pkt), "p%x", pc);
    hex_of(T.regs[0] + off, size, want);
    expect(pkt, want);
    snprintf(pkt, sizeof(pkt), "p%x", arch_gdb.nregs);
    expect(pkt, "E16");
    expect("p3e8", "E16");
    expect("pffffffffffffffffff", "E16");
    char val[40];
    memset(val, 0, sizeof(val));
    memset(val, '1', 2 * size);
    snprintf(pkt, sizeof(pkt), "P%x=%s", pc, val);
    expect(pkt, "OK");
    for (unsigned i = 0; i < size; i++)
        cr_assert_eq(T.regs[0][off + i], 0x11);
    snprintf(pkt, sizeof(pkt), "P%x=11", pc); /* too short */
    expect(pkt, "E16");
    snprintf(pkt, sizeof(pkt), "P%x", pc);
    expect(pkt, "E16");
}

Test(gdb_proto, memory_read)
{
    expect("m10000,4", "00010203");
    expect("m10ffe,4", "feff0001");
    /* Stops at the end of the mapping; nothing mapped is an error. */
    expect("m12ffe,10", "feff");
    expect("m20000,4", "E0e");
    expect("mffffffffffffffff,10", "E0e");
    expect("m0,ffffffffffffffff", "E0e");
    expect("m10000,0", "");
    expect("m10000", "E16");
    expect("m,4", "E16");
    expect("m10000,4x", "E16");
    expect("m1ffffffffffffffff,4", "E16"); /* 17 digits */
    /* A huge length is clamped to what one reply holds. */
    send_pkt("m10000,ffffffff");
    cr_assert_eq(S.len, 2 * MEM_LEN > GDB_PACKET_MAX ? GDB_PACKET_MAX : 2 * MEM_LEN);
}

Test(gdb_proto, memory_write)
{
    expect("M10000,2:abcd", "OK");
    cr_assert_eq(T.mem[0], 0xab);
    cr_assert_eq(T.mem[1], 0xcd);
    expect("M10000,3:abcd", "E16");
    expect("M10000,1:abcd", "E16");
    expect("M10000,2:abzz", "E16");
    expect("M10000,2abcd", "E16");
    expect("M20000,1:00", "E0e");
    expect("M10000,0:", "OK");
    /* X: binary, NUL bytes included; the length must match the data. */
    const char x[] = "X10004,3:\0\x7d\x23";
    cr_assert_eq(sendn(x, sizeof(x) - 1), GDB_REPLY);
    cr_assert_str_eq(S.out, "OK");
    cr_assert_eq(T.mem[4], 0);
    cr_assert_eq(T.mem[5], 0x7d);
    cr_assert_eq(T.mem[6], 0x23);
    cr_assert_eq(sendn("X10004,4:ab", 11), GDB_REPLY);
    cr_assert_str_eq(S.out, "E16");
    expect("X10000,0:", "OK");
    /* A NUL inside a text packet is garbage. */
    cr_assert_eq(sendn("m10000\0,4", 9), GDB_REPLY);
    cr_assert_str_eq(S.out, "E16");
}

Test(gdb_proto, breakpoints)
{
    expect("Z0,10000,1", "OK");
    cr_assert_eq(T.bp_type, 0);
    cr_assert_eq(T.bp_addr, 0x10000);
    cr_assert_eq(T.bp_kind, 1);
    cr_assert(T.bp_insert);
    expect("z1,ffff800000001234,1", "OK");
    cr_assert_eq(T.bp_type, 1);
    cr_assert_eq(T.bp_addr, 0xffff800000001234ull);
    cr_assert_not(T.bp_insert);
    expect("Z2,10000,4;X1,0", "OK"); /* a condition after ';' is ignored */
    T.bp_result = -ENOTSUP;
    expect("Z4,10000,8", "E5f");
    T.bp_result = -ENOSPC;
    expect("Z1,10000,1", "E1c");
    T.bp_result = -EINVAL;
    expect("Z3,10000,3", "E16");
    T.bp_result = -EFAULT;
    expect("Z0,0,1", "E0e");
    expect("Z5,10000,1", "");
    expect("Z0,10000", "E16");
    expect("Z0", "E16");
    expect("Z,1,1", "E16");
}

Test(gdb_proto, continue_and_step)
{
    cr_assert_eq(send_pkt("c"), GDB_RESUMED);
    cr_assert_eq(T.act[0], GDB_ACT_CONTINUE);
    cr_assert_eq(T.act[2], GDB_ACT_CONTINUE);
    T.resumed = false;
    expect("Hc3", "OK");
    cr_assert_eq(send_pkt("s"), GDB_RESUMED);
    cr_assert_eq(T.act[0], GDB_ACT_STAY);
    cr_assert_eq(T.act[2], GDB_ACT_STEP);
    /* c ADDR sets the PC first. */
    cr_assert_eq(send_pkt("c10000"), GDB_RESUMED);
    unsigned pc = arch_gdb.pc_regnum;
    cr_assert_eq(T.regs[2][arch_gdb.reg_off[pc]], 0x00);
    cr_assert_eq(T.regs[2][arch_gdb.reg_off[pc] + 1], 0x00);
    cr_assert_eq(T.regs[2][arch_gdb.reg_off[pc] + 2], 0x01);
    T.resumed = false;
    expect("cxyz", "E16");
    cr_assert_not(T.resumed);
}

Test(gdb_proto, vcont)
{
    expect("vCont?", "vCont;c;C;s;S;t");
    cr_assert_eq(send_pkt("vCont;s:3;c"), GDB_RESUMED);
    cr_assert_eq(T.act[0], GDB_ACT_CONTINUE);
    cr_assert_eq(T.act[1], GDB_ACT_STAY); /* gone */
    cr_assert_eq(T.act[2], GDB_ACT_STEP);
    cr_assert_eq(send_pkt("vCont;c:1"), GDB_RESUMED);
    cr_assert_eq(T.act[0], GDB_ACT_CONTINUE);
    cr_assert_eq(T.act[2], GDB_ACT_STAY);
    cr_assert_eq(send_pkt("vCont;C05:p1.1;t"), GDB_RESUMED);
    cr_assert_eq(T.act[0], GDB_ACT_CONTINUE);
    T.resumed = false;
    expect("vCont;c:2", "E16");  /* a gone thread */
    expect("vCont;c:99", "E16"); /* no such thread */
    expect("vCont;x", "E16");
    expect("vCont;t", "E16"); /* resumes nothing */
    expect("vCont;c:1x", "E16");
    expect("vCont;C", "E16");
    expect("vCont", "");
    cr_assert_not(T.resumed);
    expect("vMustReplyEmpty", "");
}

Test(gdb_proto, queries)
{
    T.offset = 0x123000;
    expect("qOffsets", "Text=123000;Data=123000;Bss=123000");
    expect("qSymbol::", "OK");
    expect("qTStatus", "");
    expect("qXfer:features:read:foo.xml:0,100", "E16");
    expect("qXfer:features:read:target.xml:0", "E16");
    /* The target description read in small chunks reassembles to arch_gdb.target_xml. */
    size_t total = strlen(arch_gdb.target_xml), got = 0;
    char *xml = calloc(1, total + 1);
    for (;;) {
        char pkt[64];
        snprintf(pkt, sizeof(pkt), "qXfer:features:read:target.xml:%zx,%x", got, 0x155);
        cr_assert_eq(send_pkt(pkt), GDB_REPLY);
        cr_assert(S.out[0] == 'm' || S.out[0] == 'l');
        memcpy(xml + got, S.out + 1, S.len - 1);
        got += S.len - 1;
        cr_assert_leq(got, total);
        if (S.out[0] == 'l')
            break;
    }
    xml[got] = 0;
    cr_assert_eq(got, total);
    cr_assert_str_eq(xml, arch_gdb.target_xml);
    free(xml);
    char pkt[64];
    snprintf(pkt, sizeof(pkt), "qXfer:features:read:target.xml:%zx,10", total + 5);
    expect(pkt, "l");
}

Test(gdb_proto, detach_kill_unknown)
{
    cr_assert_eq(send_pkt("D"), GDB_DETACH);
    cr_assert_str_eq(S.out, "OK");
    cr_assert_eq(send_pkt("D;1"), GDB_DETACH);
    cr_assert_eq(send_pkt("k"), GDB_KILL);
    cr_assert_eq(send_pkt("vKill;1"), GDB_KILL);
    expect("!", "");
    expect("\x01\x02", "");
    expect("", "");
}

Test(gdb_proto, stop_and_exit_replies)
{
    S.swbreak = true;
    gdb_proto_stop_reply(&S, &(struct gdb_stop){3, 5, GDB_WHY_SWBREAK, 0});
    cr_assert_str_eq(S.out, "T05thread:03;swbreak:;");
    expect("qC", "QC03");
    /* The stopped thread is the current one for g/m, whatever Hg said before. */
    expect("Hg1", "OK");
    gdb_proto_stop_reply(&S, &(struct gdb_stop){3, 5, GDB_WHY_STEP, 0});
    char *want = calloc(1, 2 * arch_gdb.regs_size + 1);
    hex_of(T.regs[2], arch_gdb.regs_size, want);
    expect("g", want);
    free(want);
    gdb_proto_stop_reply(&S, &(struct gdb_stop){1, 5, GDB_WHY_HWBREAK, 0});
    cr_assert_str_eq(S.out, "T05thread:01;hwbreak:;");
    S.swbreak = false;
    gdb_proto_stop_reply(&S, &(struct gdb_stop){1, 5, GDB_WHY_SWBREAK, 0});
    cr_assert_str_eq(S.out, "T05thread:01;");
    gdb_proto_stop_reply(&S, &(struct gdb_stop){1, 5, GDB_WHY_WATCH, 0x1234});
    cr_assert_str_eq(S.out, "T05thread:01;watch:1234;");
    gdb_proto_stop_reply(&S, &(struct gdb_stop){1, 5, GDB_WHY_RWATCH, 0xffff});
    cr_assert_str_eq(S.out, "T05thread:01;rwatch:ffff;");
    gdb_proto_stop_reply(&S, &(struct gdb_stop){3, 2, GDB_WHY_AWATCH, 0x10});
    cr_assert_str_eq(S.out, "T02thread:03;awatch:10;");
    expect("?", "T02thread:03;awatch:10;");
    gdb_proto_exit_reply(&S, true, 7);
    cr_assert_str_eq(S.out, "W07");
    gdb_proto_exit_reply(&S, true, -1);
    cr_assert_str_eq(S.out, "Wff");
    gdb_proto_exit_reply(&S, false, 0);
    cr_assert_str_eq(S.out, "X09");
}
