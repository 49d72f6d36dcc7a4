/*
 * gdb_target.c: the guest the GDB suite (tests/gdb) debugs, built with -g. It calls the
 * breakpoint target gdb_checkpoint() GDB_ROUNDS times, each bumping gdb_counter and printing
 * "gdb_target: counter N", prints "gdb_target: done" and exits with gdb_exit_code (7 unless a
 * debugger changed it). Application argument "spin": first spins in gdb_spin() for at most
 * GDB_SPIN_SECONDS of TSC time, for the interrupt (Ctrl-C) cases. CPU 0 first prints where it
 * was loaded ("gdb_target: image 0x... pattern 0xde"), then waits (bounded) until every other CPU
 * has checked in and parked.
 */
#include "rt.h"

#define GDB_ROUNDS 3
#define GDB_SPIN_SECONDS 10
#define GDB_WAIT_SECONDS 60

/* The symbols the debugger reads and writes: keep their names and types (tests/gdb). */
volatile int gdb_counter;
volatile int gdb_exit_code = 7;
volatile uint64_t gdb_spins;
/* Known bytes for "x/4xb &gdb_pattern". */
volatile const unsigned char gdb_pattern[4] = {0xde, 0xad, 0xbe, 0xef};

void gdb_checkpoint(int n);
int gdb_spin(uint64_t ticks);

static uint32_t online;
static struct rt_args args;

/* Called once per round with the round number 1..GDB_ROUNDS; the breakpoint target. */
__attribute__((noinline)) void gdb_checkpoint(int n)
{
    gdb_counter = gdb_counter + 1;
    rt_printf("gdb_target: counter %d (round %d)\n", gdb_counter, n);
}

/* Spins for ticks TSC ticks; returns 1 if it ran to its end. The interrupt target. */
__attribute__((noinline)) int gdb_spin(uint64_t ticks)
{
    uint64_t end = rt_rdtsc() + ticks;
    while (rt_rdtsc() < end) {
        gdb_spins = gdb_spins + 1;
        rt_pause();
    }
    return 1;
}

void guest_ap_main(unsigned cpu)
{
    rt_printf("gdb_target: cpu %u online\n", cpu);
    __atomic_add_fetch(&online, 1, __ATOMIC_SEQ_CST);
    rt_park();
}

int guest_main(void)
{
    uint64_t ncpus = bi_u64(BI_NUM_CPUS);
    /* the suite checks qOffsets against this: the load offset of a relocatable build */
    rt_printf("gdb_target: image 0x%lx pattern 0x%x\n", (unsigned long)(uintptr_t)__image_start,
              gdb_pattern[0]);
    uint64_t khz = rt_tick_khz();
    __atomic_add_fetch(&online, 1, __ATOMIC_SEQ_CST);
    uint64_t deadline = rt_rdtsc() + khz * 1000 * GDB_WAIT_SECONDS;
    while (__atomic_load_n(&online, __ATOMIC_SEQ_CST) < ncpus && rt_rdtsc() < deadline)
        rt_pause();
    rt_printf("gdb_target: %u of %lu cpus online\n", __atomic_load_n(&online, __ATOMIC_SEQ_CST),
              (unsigned long)ncpus);

    if (rt_parse_bootargs(&args) == 0 && args.napp > 0 && strcmp(args.app[0], "spin") == 0) {
        rt_puts("gdb_target: spinning\n");
        gdb_spin(khz * 1000 * GDB_SPIN_SECONDS);
        rt_puts("gdb_target: spun\n");
    }
    for (int i = 1; i <= GDB_ROUNDS; i++)
        gdb_checkpoint(i);
    rt_puts("gdb_target: done\n");
    return gdb_exit_code;
}
