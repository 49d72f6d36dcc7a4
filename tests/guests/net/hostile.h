/* hostile.h: attacks on the virtio-net device through every register and ring a guest reaches. */
#ifndef NET_HOSTILE_H
#define NET_HOSTILE_H

/*
 * Runs every attack against the initialised device, resetting and reinitialising it (queue sizes
 * rx_size / tx_size) after each and checking it still reaches DRIVER_OK. Returns the number of
 * attacks; prints "net: hostile: FAIL ..." for a device that misbehaved.
 */
unsigned hostile_run(unsigned rx_size, unsigned tx_size);

#endif
