/*
 * filewrite_virt.c: a v1 FileWrite whose buffer is guest-VIRTUAL and not identity-mapped: two
 * consecutive virtual pages at VIRT_BASE map onto two non-adjacent physical pages, and the message
 * straddles the boundary. The host must walk the page tables page by page.
 */
#include "rt.h"

#define VIRT_BASE 0x20000000000ull /* PML4 index 4: far from the identity map */

static uint8_t frames[3][4096] __attribute__((aligned(4096)));
static const char msg[] = "filewrite_virt: this line straddles two virtual pages whose physical "
                          "pages are not adjacent\n";

int guest_main(void)
{
    /* virtual page 0 -> frame 2, virtual page 1 -> frame 0 (frame 1 lies between them) */
    if (rt_map_page(VIRT_BASE, (uintptr_t)frames[2]) != 0 ||
        rt_map_page(VIRT_BASE + RT_PAGE, (uintptr_t)frames[0]) != 0) {
        rt_puts("FAIL: cannot map the virtual pages\n");
        return 1;
    }
    size_t len = sizeof(msg) - 1, head = 20;
    char *v = (char *)(uintptr_t)(VIRT_BASE + RT_PAGE - head);
    memcpy(v, msg, len);
    memset(frames[1], 'X', sizeof(frames[1]));
    if (memcmp(&frames[2][4096 - head], msg, head) != 0 ||
        memcmp(frames[0], msg + head, len - head) != 0)
        rt_puts("FAIL: the guest's own mapping does not work\n");
    rt_printf("writing %lu bytes from virtual 0x%lx\n", (unsigned long)len,
              (unsigned long)(uintptr_t)v);
    hc1_file_write(1, v, len);
    static const char err_line[] = "filewrite_virt: fd 2 goes to the console too\n";
    hc1_file_write(2, err_line, sizeof(err_line) - 1);
    return 0;
}
