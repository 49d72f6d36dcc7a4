/*
 * virtio_abi.h: the virtio 1.2 register and ring layout chyve's devices implement, as numbers only
 * (no code), so that the device (dev/virtio.c, net/virtio_net.c), its unit tests and the
 * freestanding test guests' driver (tests/guests/net) spell it once.
 */
#ifndef CHYVE_VIRTIO_ABI_H
#define CHYVE_VIRTIO_ABI_H

/* PCI identity (§4.1.2): vendor, and modern device ids 0x1040 + the device type. */
#define VIRTIO_PCI_VENDOR 0x1AF4
#define VIRTIO_PCI_DEVICE_MODERN 0x1040
#define VIRTIO_ID_NET 1

/* struct virtio_pci_cap cfg_type (§4.1.4). */
#define VIRTIO_PCI_CAP_COMMON 1
#define VIRTIO_PCI_CAP_NOTIFY 2
#define VIRTIO_PCI_CAP_ISR 3
#define VIRTIO_PCI_CAP_DEVICE 4

/* struct virtio_pci_common_cfg offsets (§4.1.4.3). */
#define VIRTIO_CC_DFSELECT 0x00
#define VIRTIO_CC_DF 0x04
#define VIRTIO_CC_GFSELECT 0x08
#define VIRTIO_CC_GF 0x0C
#define VIRTIO_CC_MSIX 0x10
#define VIRTIO_CC_NUMQ 0x12
#define VIRTIO_CC_STATUS 0x14
#define VIRTIO_CC_CFGGEN 0x15
#define VIRTIO_CC_QSELECT 0x16
#define VIRTIO_CC_QSIZE 0x18
#define VIRTIO_CC_QMSIX 0x1A
#define VIRTIO_CC_QENABLE 0x1C
#define VIRTIO_CC_QNOTIFYOFF 0x1E
#define VIRTIO_CC_QDESC 0x20
#define VIRTIO_CC_QDRIVER 0x28
#define VIRTIO_CC_QDEVICE 0x30
#define VIRTIO_CC_SIZE 0x38
#define VIRTIO_MSI_NO_VECTOR 0xFFFF

/* ISR bits (§4.1.4.5). */
#define VIRTIO_ISR_QUEUE 1
#define VIRTIO_ISR_CONFIG 2

/* Device status bits (§2.1) and the feature bit every modern device has (§6). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED 128
#define VIRTIO_F_VERSION_1 32

/* Split virtqueues (§2.7): 16-byte descriptors and their flags, the driver ring's flag. */
#define VRING_DESC_SIZE 16
#define VRING_DESC_F_NEXT 1
#define VRING_DESC_F_WRITE 2
#define VRING_DESC_F_INDIRECT 4
#define VRING_AVAIL_F_NO_INTERRUPT 1

/* virtio-net (§5.1): feature bits, configuration layout, status. */
#define VIRTIO_NET_F_CSUM 0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MTU 3
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_STATUS 16
#define VIRTIO_NET_CFG_MAC 0
#define VIRTIO_NET_CFG_STATUS 6
#define VIRTIO_NET_CFG_PAIRS 8
#define VIRTIO_NET_CFG_MTU 10
#define VIRTIO_NET_S_LINK_UP 1

/* struct virtio_net_hdr_v1 (§5.1.6): offsets of its fields, its flags. */
#define VIRTIO_NET_HDR_LEN 12
#define VIRTIO_NET_HDR_FLAGS 0
#define VIRTIO_NET_HDR_GSO_TYPE 1
#define VIRTIO_NET_HDR_HDR_LEN 2
#define VIRTIO_NET_HDR_GSO_SIZE 4
#define VIRTIO_NET_HDR_CSUM_START 6
#define VIRTIO_NET_HDR_CSUM_OFFSET 8
#define VIRTIO_NET_HDR_NUM_BUFFERS 10
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2

#endif
