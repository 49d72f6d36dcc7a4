/*
 * gdb_proto.h: the GDB remote protocol as chyve speaks it, one decoded packet at a time, over a
 * gdb_target (gdb_target.h). No I/O: the server frames and sends what this produces.
 */
#ifndef CHYVE_GDB_PROTO_H
#define CHYVE_GDB_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gdb/gdb_packet.h"

struct gdb_target;

/* Why the VM stopped, for a stop reply. */
enum gdb_why {
    GDB_WHY_SIGNAL,  /* attach or interrupt: just the signal */
    GDB_WHY_STEP,    /* a single step finished */
    GDB_WHY_SWBREAK, /* a software breakpoint (swbreak:) */
    GDB_WHY_HWBREAK, /* a hardware breakpoint (hwbreak:) */
    GDB_WHY_WATCH,   /* write watchpoint at addr */
    GDB_WHY_RWATCH,  /* read watchpoint at addr */
    GDB_WHY_AWATCH,  /* access watchpoint at addr */
};

struct gdb_stop {
    unsigned tid; /* 1..n */
    int signal;   /* GDB's signal number: 5 SIGTRAP, 2 SIGINT */
    enum gdb_why why;
    uint64_t addr;
};

/* What the server does after a packet. */
enum gdb_verdict {
    GDB_REPLY,   /* send out[0 .. len) (possibly empty: "not supported") */
    GDB_RESUMED, /* the VM runs: no reply until it stops (then gdb_proto_stop_reply) */
    GDB_DETACH,  /* send the reply, then let the guest run on without the debugger */
    GDB_KILL,    /* end the run; nothing to send */
};

/* One debugger connection. */
struct gdb_session {
    bool noack;           /* QStartNoAckMode accepted: the server neither sends nor expects acks */
    bool noack_next;      /* set by QStartNoAckMode: the server sets noack once the OK is sent */
    bool swbreak;         /* the debugger takes swbreak:/hwbreak: stop reasons */
    unsigned g_tid;       /* Hg: thread for g/G/p/P/m/M (0: the last stopped one) */
    unsigned c_tid;       /* Hc: thread for c/s (0: all / the last stopped one) */
    struct gdb_stop last; /* the last stop, for '?' and qC */
    size_t len;           /* reply payload length */
    char out[GDB_PACKET_MAX + 1];
};

/* A new session, the VM stopped in `first` (attach: SIGTRAP in thread 1). */
void gdb_session_init(struct gdb_session *s, const struct gdb_stop *first);

/* Handles one packet payload pkt[0 .. len) (NUL after it). The reply goes to s->out. */
enum gdb_verdict gdb_proto_handle(struct gdb_session *s, struct gdb_target *t, const uint8_t *pkt,
                                  size_t len);

/* Fills s->out with the stop reply for st (T packet) and remembers it. */
void gdb_proto_stop_reply(struct gdb_session *s, const struct gdb_stop *st);

/* Fills s->out with the end of the run: W (exit code) or, killed or failed, X09. */
void gdb_proto_exit_reply(struct gdb_session *s, bool exited, int code);

#endif
