/* hostile.h: attacks on the virtio-net device through every register and ring a guest reaches. */
#ifndef NET_HOSTILE_H
#define NET_HOSTILE_H

#include <stdint.h>

/*
 * Runs every attack against the initialised device, resetting and reinitialising it (queue sizes
 * rx_size / tx_size) after each. ip / gw (host byte order) let it provoke an RX frame with an ARP
 * request. Prints "net: hostile: FAIL ..." for each wrong answer from the device. Returns the
 * number of failures; *attacks gets the number of attacks (each may cost chyve one warning).
 */
unsigned hostile_run(uint16_t rx_size, uint16_t tx_size, uint32_t ip, uint32_t gw,
                     unsigned *attacks);

#endif
