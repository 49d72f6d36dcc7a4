/*
 * floor.c: the cost floor of bare KVM, with none of chyve's code: create a VM, map 2 MiB (or
 * `--mem MiB`, never touched but for the code page), run one real-mode vCPU to its exit port.
 * `floor` times nothing itself (bench.sh times the process); `floor --exits N` makes the guest do N
 * port exits and prints the cost of one in ns.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MEM_SIZE (2u << 20)
#define CODE_ADDR 0x1000u
#define LOOP_PORT 0x10
#define STOP_PORT 0x11

/*
 * Real-mode guest: ecx = N; while (ecx) { out LOOP_PORT, al; ecx--; } out STOP_PORT, al; hlt.
 * The 32-bit count is patched in at offset 2. One instruction per row:
 */
/* clang-format off */
static const uint8_t guest[] = {
    0x66, 0xB9, 0, 0, 0, 0, /* 0x00 mov ecx, imm32 */
    0x66, 0x85, 0xC9,       /* 0x06 test ecx, ecx */
    0x74, 0x06,             /* 0x09 jz 0x11 */
    0xE6, LOOP_PORT,        /* 0x0b out LOOP_PORT, al */
    0x66, 0x49,             /* 0x0d dec ecx */
    0x75, 0xFA,             /* 0x0f jnz 0x0b */
    0xE6, STOP_PORT,        /* 0x11 out STOP_PORT, al */
    0xF4,                   /* 0x13 hlt */
};
/* clang-format on */

static void die(const char *what)
{
    fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
    exit(1);
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    unsigned long exits = 0;
    size_t mem_size = MEM_SIZE;
    for (int i = 1; i < argc; i += 2) {
        if (i + 1 < argc && strcmp(argv[i], "--exits") == 0) {
            exits = strtoul(argv[i + 1], NULL, 10);
        } else if (i + 1 < argc && strcmp(argv[i], "--mem") == 0) {
            mem_size = (size_t)strtoul(argv[i + 1], NULL, 10) << 20;
        } else {
            fprintf(stderr, "usage: floor [--exits N] [--mem MiB]\n");
            return 2;
        }
    }
    if (mem_size < MEM_SIZE) {
        mem_size = MEM_SIZE;
    }
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (kvm < 0) {
        die("/dev/kvm");
    }
    int vm = ioctl(kvm, KVM_CREATE_VM, 0UL);
    if (vm < 0) {
        die("KVM_CREATE_VM");
    }
    uint8_t *mem = mmap(NULL, mem_size, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mem == MAP_FAILED) {
        die("mmap");
    }
    memcpy(mem + CODE_ADDR, guest, sizeof(guest));
    uint32_t n = (uint32_t)exits;
    memcpy(mem + CODE_ADDR + 2, &n, 4);
    struct kvm_userspace_memory_region region = {
        .slot = 0,
        .guest_phys_addr = 0,
        .memory_size = mem_size,
        .userspace_addr = (uint64_t)(uintptr_t)mem,
    };
    if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) != 0) {
        die("KVM_SET_USER_MEMORY_REGION");
    }
    int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0UL);
    if (vcpu < 0) {
        die("KVM_CREATE_VCPU");
    }
    int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    struct kvm_run *run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
    if (run == MAP_FAILED) {
        die("mmap kvm_run");
    }
    struct kvm_sregs sregs;
    if (ioctl(vcpu, KVM_GET_SREGS, &sregs) != 0) {
        die("KVM_GET_SREGS");
    }
    sregs.cs.base = 0;
    sregs.cs.selector = 0;
    if (ioctl(vcpu, KVM_SET_SREGS, &sregs) != 0) {
        die("KVM_SET_SREGS");
    }
    struct kvm_regs regs = {.rip = CODE_ADDR, .rflags = 2};
    if (ioctl(vcpu, KVM_SET_REGS, &regs) != 0) {
        die("KVM_SET_REGS");
    }
    unsigned long seen = 0;
    double t0 = now_ns();
    for (;;) {
        if (ioctl(vcpu, KVM_RUN, 0UL) != 0) {
            if (errno == EINTR) {
                continue;
            }
            die("KVM_RUN");
        }
        if (run->exit_reason != KVM_EXIT_IO) {
            fprintf(stderr, "floor: unexpected exit reason %u\n", run->exit_reason);
            return 1;
        }
        if (run->io.port == STOP_PORT) {
            break;
        }
        seen++;
    }
    double t1 = now_ns();
    if (seen != exits) {
        fprintf(stderr, "floor: saw %lu exits, expected %lu\n", seen, exits);
        return 1;
    }
    if (exits > 0) {
        /* the stop exit counts too: exits + 1 round trips in all */
        printf("%.0f ns per exit\n", (t1 - t0) / (double)(exits + 1));
    }
    return 0;
}
