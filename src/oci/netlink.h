/*
 * netlink.h: rtnetlink requests built by hand and exchanged with the kernel (NETLINK_ROUTE), for
 * chyve-oci's network plumbing (net.c): messages with nested attributes, answers parsed with
 * bounds checks, errors with the kernel's extended-ACK words.
 */
#ifndef CHYVE_OCI_NETLINK_H
#define CHYVE_OCI_NETLINK_H

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A request being built: one message, whose attributes nl_msg_put() appends. */
struct nl_msg {
    union {
        struct nlmsghdr h;
        char b[512]; /* the largest request here, the u32 filter, takes about 150 bytes */
    } u;
    bool full;
};

/* A NETLINK_ROUTE socket and the sequence number of its next request. */
struct nl {
    int fd;
    uint32_t seq;
};

/* Called with each message of an answer; returns 0 to go on, -1 (err_msg()) to stop. */
typedef int (*nl_cb)(const struct nlmsghdr *h, void *ctx);

/* Starts m as a request of type with flags and family header hdr (hlen bytes). */
void nl_msg_init(struct nl_msg *m, uint16_t type, uint16_t flags, const void *hdr, size_t hlen);

/* Appends attribute type with len bytes of data (none: a nest's head); returns its offset. */
size_t nl_msg_put(struct nl_msg *m, unsigned short type, const void *data, size_t len);

void nl_msg_put_str(struct nl_msg *m, unsigned short type, const char *s);

void nl_msg_put_u32(struct nl_msg *m, unsigned short type, uint32_t v);

/* Closes the nest nl_msg_put(m, type, NULL, 0) opened at offset nest: it holds what followed. */
void nl_msg_end(struct nl_msg *m, size_t nest);

/* The attribute of type in the len bytes at p (attributes one after the other), or NULL. */
const struct rtattr *nl_attr_find(const char *p, size_t len, unsigned short type);

const void *nl_attr_data(const struct rtattr *a);

size_t nl_attr_len(const struct rtattr *a);

/* Whether a holds at least 4 bytes; then *v gets them. */
bool nl_attr_u32(const struct rtattr *a, uint32_t *v);

/*
 * Copies a received message's family header (hlen bytes) to hdr and points *attrs and *len at its
 * attributes. Returns false when the message is too short to hold the header.
 */
bool nl_msg_parse(const struct nlmsghdr *h, void *hdr, size_t hlen, const char **attrs,
                  size_t *len);

int nl_open(struct nl *nl);

/* An NLMSG_ERROR answer as 0 (an ACK) or -1 with err_msg() "STEP: cause (the kernel's words)". */
int nl_error(const struct nlmsghdr *h, const char *step);

/*
 * Sends m and reads the kernel's answer: each message of it goes to cb (when not NULL), until the
 * ACK (requests with NLM_F_ACK) or the end of a dump (NLM_F_DUMP). Returns 0, or -1 with err_msg()
 * starting with step.
 */
int nl_exchange(struct nl *nl, struct nl_msg *m, nl_cb cb, void *ctx, const char *step);

/* Asks for a dump of type (family header hdr of hlen bytes), each answer going to cb. */
int nl_dump(struct nl *nl, uint16_t type, const void *hdr, size_t hlen, nl_cb cb, void *ctx,
            const char *step);

#endif
