/*
 * fake_virtq.h: the driver's side of chyve's virtio transport, for tests: split rings built in
 * guest RAM, BAR 0 register accesses, the virtio 1.x initialisation sequence, and a capture of
 * chyve's warnings on stderr.
 */
#ifndef CHYVE_FAKE_VIRTQ_H
#define CHYVE_FAKE_VIRTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dev/virtio.h"
#include "guest_mem.h"

/* struct virtio_pci_common_cfg offsets (virtio 1.2 §4.1.4.3). */

/* Split ring flags (virtio 1.2 §2.7). */

/* One split virtqueue laid out by the "driver" in guest RAM. */
struct fvq {
    const struct guest_mem *m;
    uint16_t size;
    uint64_t desc, avail, used; /* guest-physical */
    uint16_t avail_idx;         /* the driver's next avail index */
};

/*
 * Lays out a queue of `size` entries at guest-physical `base` (4 KiB aligned): descriptors, then
 * the driver ring, then the device ring at the next 4 KiB boundary. All three are zeroed.
 * Aborts if they do not fit guest RAM (test setup).
 */
void fvq_init(struct fvq *q, const struct guest_mem *m, uint64_t base, uint16_t size);

/* Writes descriptor i. */
void fvq_desc(struct fvq *q, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags,
              uint16_t next);

/* Puts head into the next driver-ring slot and publishes it (avail idx + 1). */
void fvq_make_avail(struct fvq *q, uint16_t head);

/* Stores a raw avail idx or avail flags (hostile drivers). */
void fvq_set_avail_idx(struct fvq *q, uint16_t idx);
void fvq_set_avail_flags(struct fvq *q, uint16_t flags);

/* The device ring: its idx, and used element `slot` (ring position, not modulo). */
uint16_t fvq_used_idx(const struct fvq *q);
void fvq_used_elem(const struct fvq *q, uint16_t slot, uint32_t *id, uint32_t *len);

/* Volatile reads of the used idx, for polling while a device thread writes it. */
uint16_t fvq_used_idx_sync(const struct fvq *q);

/* Waits up to timeout_ms for the used idx to reach at least want; returns the last value. */
uint16_t fvq_wait_used(const struct fvq *q, uint16_t want, int timeout_ms);

/* BAR 0 accesses through virtio_bar_access(), values little-endian. */
uint64_t vbar_read(struct virtio_device *d, uint64_t off, unsigned len);
void vbar_write(struct virtio_device *d, uint64_t off, unsigned len, uint64_t val);

/* Selects queue qi and programs q's size and ring addresses (64-bit writes), then enables it. */
void vdrv_queue(struct virtio_device *d, uint16_t qi, const struct fvq *q);

/*
 * The driver sequence of virtio 1.2 §3.1.1 up to FEATURES_OK with the given features (VERSION_1
 * must be in them to succeed). Returns the status read back.
 */
uint8_t vdrv_negotiate(struct virtio_device *d, uint64_t features);

/* Sets DRIVER_OK on top of the current status; returns the status read back. */
uint8_t vdrv_driver_ok(struct virtio_device *d);

/* Redirects stderr into a temporary file until stderr_capture_end(), which returns it (malloc'd).
 */
void stderr_capture_begin(void);
char *stderr_capture_end(void);

/* Number of non-overlapping occurrences of needle in hay. */
unsigned count_substr(const char *hay, const char *needle);

#endif
