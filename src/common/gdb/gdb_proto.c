/*
 * gdb_proto.c: the packets chyve's GDB stub answers (gdb_proto.h). Every packet comes from a
 * network client and is parsed as hostile: numbers are bounded, lengths checked against the data
 * that follows them and against the reply buffer, thread ids against the VM.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "arch.h"
#include "gdb/gdb_packet.h"
#include "gdb/gdb_proto.h"
#include "gdb/gdb_target.h"

/* Largest register file of any architecture (aarch64 with FP/SIMD: 788 bytes). */
#define REGS_MAX 1024

/* errno values GDB's E replies carry (GDB prints them as numbers). */
#define E_FAULT "E0e"  /* EFAULT: memory not mapped */
#define E_INVAL "E16"  /* EINVAL: bad syntax or argument */
#define E_NOTSUP "E5f" /* ENOTSUP: this host cannot */
#define E_NOSPC "E1c"  /* ENOSPC: no hardware slot left */

static void reply(struct gdb_session *s, const char *text)
{
    size_t n = strlen(text);
    memcpy(s->out, text, n + 1);
    s->len = n;
}

__attribute__((format(printf, 2, 3))) static void replyf(struct gdb_session *s, const char *fmt,
                                                         ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(s->out, sizeof(s->out), fmt, ap);
    va_end(ap);
    s->len = n < 0 ? 0 : (size_t)n < sizeof(s->out) ? (size_t)n : sizeof(s->out) - 1;
}

/* Appends hex of in[0 .. n) to the reply if it fits; returns false otherwise. */
static bool append_hex(struct gdb_session *s, const uint8_t *in, size_t n)
{
    if (n > (GDB_PACKET_MAX - s->len) / 2)
        return false;
    s->len += gdb_hex_encode(s->out + s->len, in, n);
    s->out[s->len] = '\0';
    return true;
}

void gdb_session_init(struct gdb_session *s, const struct gdb_stop *first)
{
    memset(s, 0, sizeof(*s));
    s->last = *first;
}

/* The thread a g/m/H-selected operation works on: the selection, else the last stopped one. */
static unsigned pick(struct gdb_target *t, const struct gdb_session *s, unsigned sel)
{
    if (sel && gdb_target_alive(t, sel))
        return sel;
    if (gdb_target_alive(t, s->last.tid))
        return s->last.tid;
    for (unsigned i = 1; i <= gdb_target_threads(t); i++)
        if (gdb_target_alive(t, i))
            return i;
    return s->last.tid;
}

/* A thread id from the packet that names one live thread, or 0/-1 when allowed. */
static int parse_tid(struct gdb_target *t, const char **p, bool allow_any, int64_t *tid)
{
    if (gdb_parse_thread(p, tid) != 0)
        return -1;
    if (*tid <= 0)
        return allow_any ? 0 : -1;
    if ((uint64_t)*tid > gdb_target_threads(t) || !gdb_target_alive(t, (unsigned)*tid))
        return -1;
    return 0;
}

static void stop_text(struct gdb_session *s, const struct gdb_stop *st)
{
    replyf(s, "T%02xthread:%02x;", st->signal & 0xff, st->tid);
    const char *tag = NULL;
    switch (st->why) {
    case GDB_WHY_WATCH:
        tag = "watch";
        break;
    case GDB_WHY_RWATCH:
        tag = "rwatch";
        break;
    case GDB_WHY_AWATCH:
        tag = "awatch";
        break;
    case GDB_WHY_SWBREAK:
        if (s->swbreak)
            tag = "swbreak";
        break;
    case GDB_WHY_HWBREAK:
        if (s->swbreak)
            tag = "hwbreak";
        break;
    default:
        break;
    }
    if (!tag)
        return;
    size_t n = strlen(s->out);
    if (st->why == GDB_WHY_SWBREAK || st->why == GDB_WHY_HWBREAK)
        snprintf(s->out + n, sizeof(s->out) - n, "%s:;", tag);
    else
        snprintf(s->out + n, sizeof(s->out) - n, "%s:%llx;", tag, (unsigned long long)st->addr);
    s->len = strlen(s->out);
}

void gdb_proto_stop_reply(struct gdb_session *s, const struct gdb_stop *st)
{
    s->last = *st;
    s->g_tid = st->tid; /* GDB takes the stopped thread as the stub's current one (no Hg) */
    stop_text(s, st);
}

void gdb_proto_exit_reply(struct gdb_session *s, bool exited, int code)
{
    if (exited)
        replyf(s, "W%02x", (unsigned)code & 0xff);
    else
        reply(s, "X09");
}

/* g: the whole register file of the selected thread. */
static void read_regs(struct gdb_session *s, struct gdb_target *t)
{
    uint8_t regs[REGS_MAX];
    if (arch_gdb.regs_size > sizeof(regs) || gdb_target_get_regs(t, pick(t, s, s->g_tid), regs))
        return reply(s, E_FAULT);
    s->len = 0;
    append_hex(s, regs, arch_gdb.regs_size);
}

/* G XX...: exactly the whole register file. */
static void write_regs(struct gdb_session *s, struct gdb_target *t, const char *hex, size_t n)
{
    uint8_t regs[REGS_MAX];
    if (arch_gdb.regs_size > sizeof(regs) || n != 2 * arch_gdb.regs_size ||
        gdb_hex_decode(hex, regs, arch_gdb.regs_size) != 0)
        return reply(s, E_INVAL);
    reply(s, gdb_target_set_regs(t, pick(t, s, s->g_tid), regs) == 0 ? "OK" : E_FAULT);
}

/* p N / P N=XX: one register. */
static void one_reg(struct gdb_session *s, struct gdb_target *t, const char *p, bool write)
{
    uint64_t n;
    uint8_t regs[REGS_MAX];
    if (gdb_parse_hex(&p, &n) != 0 || n >= arch_gdb.nregs || (write ? *p != '=' : *p != '\0'))
        return reply(s, E_INVAL);
    unsigned off = arch_gdb.reg_off[n], size = arch_gdb.reg_size[n];
    unsigned tid = pick(t, s, s->g_tid);
    if (arch_gdb.regs_size > sizeof(regs) || gdb_target_get_regs(t, tid, regs) != 0)
        return reply(s, E_FAULT);
    if (!write) {
        s->len = 0;
        append_hex(s, regs + off, size);
        return;
    }
    p++;
    if (strlen(p) != 2u * size || gdb_hex_decode(p, regs + off, size) != 0)
        return reply(s, E_INVAL);
    reply(s, gdb_target_set_regs(t, tid, regs) == 0 ? "OK" : E_FAULT);
}

/* m ADDR,LEN: as much as is mapped from ADDR, at most what fits the reply. */
static void read_mem(struct gdb_session *s, struct gdb_target *t, const char *p)
{
    uint64_t addr, len;
    if (gdb_parse_addr_len(&p, &addr, &len) != 0 || *p)
        return reply(s, E_INVAL);
    if (len > GDB_PACKET_MAX / 2)
        len = GDB_PACKET_MAX / 2;
    if (len == 0)
        return reply(s, "");
    uint8_t buf[GDB_PACKET_MAX / 2];
    size_t got = 0;
    if (gdb_target_read(t, pick(t, s, s->g_tid), addr, buf, (size_t)len, &got) != 0 || got == 0)
        return reply(s, E_FAULT);
    s->len = 0;
    append_hex(s, buf, got);
}

/* M ADDR,LEN:XX... (hex) and X ADDR,LEN:BIN (binary, escapes already undone). */
static void write_mem(struct gdb_session *s, struct gdb_target *t, const uint8_t *pkt, size_t n,
                      bool binary)
{
    const char *p = (const char *)pkt + 1;
    uint64_t addr, len;
    if (gdb_parse_addr_len(&p, &addr, &len) != 0 || *p != ':')
        return reply(s, E_INVAL);
    p++;
    size_t data = n - (size_t)((const uint8_t *)p - pkt);
    if (len > GDB_PACKET_MAX || data != (binary ? len : 2 * len))
        return reply(s, E_INVAL);
    if (len == 0)
        return reply(s, "OK");
    uint8_t buf[GDB_PACKET_MAX];
    if (binary)
        memcpy(buf, p, (size_t)len);
    else if (gdb_hex_decode(p, buf, (size_t)len) != 0)
        return reply(s, E_INVAL);
    int rc = gdb_target_write(t, pick(t, s, s->g_tid), addr, buf, (size_t)len);
    reply(s, rc == 0 ? "OK" : E_FAULT);
}

/* Z/z TYPE,ADDR,KIND[;cond...]: conditions and commands are not supported (ignored by GDB). */
static void breakpoint(struct gdb_session *s, struct gdb_target *t, const char *p, bool insert)
{
    uint64_t type = 0, addr, kind;
    if (gdb_parse_hex(&p, &type) != 0 || *p++ != ',' || gdb_parse_addr_len(&p, &addr, &kind) != 0 ||
        (*p && *p != ';'))
        return reply(s, E_INVAL);
    if (type > 4)
        return reply(s, ""); /* a kind chyve does not know: "not supported" */
    int rc = gdb_target_breakpoint(t, (int)type, addr, kind, insert);
    reply(s, rc == 0          ? "OK"
             : rc == -ENOTSUP ? E_NOTSUP
             : rc == -ENOSPC  ? E_NOSPC
             : rc == -EFAULT  ? E_FAULT
                              : E_INVAL);
}

/* The default step target of s/vCont without a thread. */
static unsigned step_tid(struct gdb_target *t, const struct gdb_session *s)
{
    return pick(t, s, s->c_tid);
}

/* c [ADDR] / s [ADDR]: continue all threads or step the Hc one. */
static enum gdb_verdict resume_simple(struct gdb_session *s, struct gdb_target *t, const char *p,
                                      bool step)
{
    unsigned n = gdb_target_threads(t), me = step_tid(t, s);
    if (*p) {
        uint64_t pc;
        uint8_t regs[REGS_MAX];
        if (gdb_parse_hex(&p, &pc) != 0 || *p) {
            reply(s, E_INVAL);
            return GDB_REPLY;
        }
        unsigned off = arch_gdb.reg_off[arch_gdb.pc_regnum];
        if (arch_gdb.regs_size > sizeof(regs) || gdb_target_get_regs(t, me, regs) != 0) {
            reply(s, E_FAULT);
            return GDB_REPLY;
        }
        for (unsigned i = 0; i < arch_gdb.reg_size[arch_gdb.pc_regnum]; i++)
            regs[off + i] = (uint8_t)(pc >> (8 * i));
        if (gdb_target_set_regs(t, me, regs) != 0) {
            reply(s, E_FAULT);
            return GDB_REPLY;
        }
    }
    enum gdb_action act[256];
    if (n > sizeof(act) / sizeof(act[0]))
        n = sizeof(act) / sizeof(act[0]);
    for (unsigned i = 0; i < n; i++)
        act[i] = step ? (i + 1 == me ? GDB_ACT_STEP : GDB_ACT_STAY) : GDB_ACT_CONTINUE;
    gdb_target_resume(t, act);
    return GDB_RESUMED;
}

/*
 * vCont;ACTION[:TID];...: the leftmost action that names a thread applies to it; threads no
 * action names stay stopped. C and S are c and s (chyve delivers no signals to a guest).
 */
static enum gdb_verdict resume_vcont(struct gdb_session *s, struct gdb_target *t, const char *p)
{
    enum gdb_action act[256];
    bool set[256] = {false};
    unsigned n = gdb_target_threads(t);
    if (n > sizeof(act) / sizeof(act[0]))
        n = sizeof(act) / sizeof(act[0]);
    for (unsigned i = 0; i < n; i++)
        act[i] = GDB_ACT_STAY;
    bool any = false;
    while (*p == ';') {
        p++;
        char c = *p++;
        enum gdb_action a;
        if (c == 'c' || c == 'C')
            a = GDB_ACT_CONTINUE;
        else if (c == 's' || c == 'S')
            a = GDB_ACT_STEP;
        else if (c == 't')
            a = GDB_ACT_STAY;
        else
            goto bad;
        if (c == 'C' || c == 'S') {
            uint64_t sig;
            if (gdb_parse_hex(&p, &sig) != 0 || sig > 0xff)
                goto bad;
        }
        int64_t tid = -1;
        if (*p == ':' && (p++, parse_tid(t, &p, true, &tid) != 0))
            goto bad;
        if (*p && *p != ';')
            goto bad;
        for (unsigned i = 0; i < n; i++) {
            if (set[i] || (tid > 0 && (unsigned)tid != i + 1) || !gdb_target_alive(t, i + 1))
                continue;
            act[i] = a;
            set[i] = true;
            any = any || a != GDB_ACT_STAY;
        }
    }
    if (*p || !any)
        goto bad;
    gdb_target_resume(t, act);
    return GDB_RESUMED;
bad:
    reply(s, E_INVAL);
    return GDB_REPLY;
}

/* qXfer:features:read:ANNEX:OFF,LEN */
static void xfer_features(struct gdb_session *s, const char *p)
{
    static const char annex[] = "target.xml:";
    if (strncmp(p, annex, sizeof(annex) - 1) != 0)
        return reply(s, E_INVAL);
    p += sizeof(annex) - 1;
    uint64_t off, len;
    if (gdb_parse_addr_len(&p, &off, &len) != 0 || *p)
        return reply(s, E_INVAL);
    size_t total = strlen(arch_gdb.target_xml);
    if (off >= total)
        return reply(s, "l");
    size_t n = total - (size_t)off;
    if (len < n)
        n = (size_t)len;
    if (n > GDB_PACKET_MAX - 1)
        n = GDB_PACKET_MAX - 1;
    s->out[0] = off + n < total ? 'm' : 'l';
    memcpy(s->out + 1, arch_gdb.target_xml + off, n);
    s->out[n + 1] = '\0';
    s->len = n + 1;
}

/* qSupported:FEATURES: what chyve offers; remembers whether the debugger takes swbreak. */
static void supported(struct gdb_session *s, const char *p)
{
    s->swbreak = false;
    for (const char *f = p; f && *f; f = strchr(f, ';') ? strchr(f, ';') + 1 : NULL)
        if (!strncmp(f, "swbreak+", 8) && (f[8] == ';' || !f[8]))
            s->swbreak = true;
    replyf(s, "PacketSize=%x;qXfer:features:read+;QStartNoAckMode+;vContSupported+%s",
           GDB_PACKET_MAX, s->swbreak ? ";swbreak+;hwbreak+" : "");
}

/* qfThreadInfo: every live thread in one reply (at most a few hundred fit easily). */
static void thread_info(struct gdb_session *s, struct gdb_target *t)
{
    reply(s, "m");
    unsigned n = gdb_target_threads(t);
    for (unsigned i = 1; i <= n && s->len < GDB_PACKET_MAX - 16; i++) {
        if (!gdb_target_alive(t, i))
            continue;
        size_t k = (size_t)snprintf(s->out + s->len, sizeof(s->out) - s->len, "%s%02x",
                                    s->out[s->len - 1] == 'm' ? "" : ",", i);
        s->len += k;
    }
    if (s->len == 1)
        reply(s, "l");
}

static enum gdb_verdict query(struct gdb_session *s, struct gdb_target *t, const char *p)
{
    if (!strncmp(p, "qSupported", 10) && (p[10] == ':' || !p[10]))
        supported(s, p[10] ? p + 11 : "");
    else if (!strcmp(p, "qAttached") || !strncmp(p, "qAttached:", 10))
        reply(s, "1");
    else if (!strcmp(p, "qC"))
        replyf(s, "QC%02x", pick(t, s, 0));
    else if (!strcmp(p, "qfThreadInfo"))
        thread_info(s, t);
    else if (!strcmp(p, "qsThreadInfo"))
        reply(s, "l");
    else if (!strncmp(p, "qThreadExtraInfo,", 17)) {
        const char *q = p + 17;
        int64_t tid;
        char text[32];
        if (parse_tid(t, &q, false, &tid) != 0 || *q)
            reply(s, E_INVAL);
        else {
            int n = snprintf(text, sizeof(text), "vCPU %u", (unsigned)tid - 1);
            s->len = 0;
            append_hex(s, (const uint8_t *)text, (size_t)n);
        }
    } else if (!strcmp(p, "qOffsets")) {
        unsigned long long o = (unsigned long long)gdb_target_load_offset(t);
        replyf(s, "Text=%llx;Data=%llx;Bss=%llx", o, o, o);
    } else if (!strncmp(p, "qXfer:features:read:", 20))
        xfer_features(s, p + 20);
    else if (!strcmp(p, "qSymbol::"))
        reply(s, "OK");
    else
        reply(s, "");
    return GDB_REPLY;
}

/* H g TID / H c TID */
static void set_thread(struct gdb_session *s, struct gdb_target *t, const char *p)
{
    char op = *p++;
    int64_t tid;
    if ((op != 'g' && op != 'c') || parse_tid(t, &p, true, &tid) != 0 || *p)
        return reply(s, E_INVAL);
    unsigned v = tid > 0 ? (unsigned)tid : 0;
    if (op == 'g')
        s->g_tid = v;
    else
        s->c_tid = v;
    reply(s, "OK");
}

enum gdb_verdict gdb_proto_handle(struct gdb_session *s, struct gdb_target *t, const uint8_t *pkt,
                                  size_t len)
{
    const char *p = (const char *)pkt;
    s->len = 0;
    s->out[0] = '\0';
    if (len == 0)
        return GDB_REPLY;
    /* Only X carries binary data; in every other packet a NUL ends the text early: refuse it. */
    if (pkt[0] != 'X' && strlen(p) != len) {
        reply(s, E_INVAL);
        return GDB_REPLY;
    }
    switch (pkt[0]) {
    case '?':
        stop_text(s, &s->last);
        break;
    case 'g':
        if (len == 1)
            read_regs(s, t);
        else
            reply(s, E_INVAL);
        break;
    case 'G':
        write_regs(s, t, p + 1, len - 1);
        break;
    case 'p':
        one_reg(s, t, p + 1, false);
        break;
    case 'P':
        one_reg(s, t, p + 1, true);
        break;
    case 'm':
        read_mem(s, t, p + 1);
        break;
    case 'M':
        write_mem(s, t, pkt, len, false);
        break;
    case 'X':
        write_mem(s, t, pkt, len, true);
        break;
    case 'Z':
    case 'z':
        breakpoint(s, t, p + 1, pkt[0] == 'Z');
        break;
    case 'c':
    case 's':
        return resume_simple(s, t, p + 1, pkt[0] == 's');
    case 'v':
        if (!strcmp(p, "vCont?"))
            reply(s, "vCont;c;C;s;S;t");
        else if (!strncmp(p, "vCont;", 6))
            return resume_vcont(s, t, p + 5);
        else if (!strncmp(p, "vKill", 5))
            return GDB_KILL;
        else
            reply(s, "");
        break;
    case 'H':
        set_thread(s, t, p + 1);
        break;
    case 'T': {
        const char *q = p + 1;
        int64_t tid;
        reply(s, parse_tid(t, &q, false, &tid) == 0 && !*q ? "OK" : E_INVAL);
        break;
    }
    case 'q':
        return query(s, t, p);
    case 'Q':
        if (!strcmp(p, "QStartNoAckMode")) {
            s->noack_next = true; /* after this OK, which is still acknowledged */
            reply(s, "OK");
        } else
            reply(s, "");
        break;
    case 'D':
        reply(s, "OK");
        return GDB_DETACH;
    case 'k':
        return GDB_KILL;
    default:
        reply(s, "");
        break;
    }
    return GDB_REPLY;
}
