/* fuzz_elf.c: elf_parse() on any bytes, then elf_load() of what it accepts into small guest RAM. */
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "guest_mem.h"
#include "loader/elf.h"
#include "log.h"

#define GUEST_SIZE (4ull << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct guest_mem mem;
    static bool ready;
    if (!ready) {
        log_threshold = LOG_ERROR;
        if (guest_mem_init(&mem, 0, GUEST_SIZE) != 0)
            return 0;
        ready = true;
    }
    static const uint16_t machines[] = {62, 183};
    for (size_t i = 0; i < 2; i++) {
        struct kernel k;
        memset(&k, 0, sizeof(k));
        if (elf_parse(data, size, machines[i], &k) != 0)
            continue;
        /* Where vm.c would put it: the fixed address, or a 2 MiB-aligned spot for ET_DYN. */
        uint64_t at = k.relocatable ? 0x200000 : k.first_vaddr;
        elf_load(&k, data, size, &mem, at);
        if (k.relocatable)
            elf_load(&k, data, size, &mem, GUEST_SIZE - 0x1000); /* mostly outside RAM */
    }
    return 0;
}
