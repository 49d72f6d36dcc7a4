/* netlink.c: rtnetlink requests and answers (netlink.h). */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if.h>
#include <linux/if_arp.h>
#include <linux/if_ether.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <linux/tc_act/tc_mirred.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "netlink.h"

#define NL_RECV_MAX 32768 /* the kernel sends no netlink datagram larger than 32 KiB */
#define NL_TIMEOUT_S 10   /* the kernel answers at once; this only stops a hang */

void nl_msg_init(struct nl_msg *m, uint16_t type, uint16_t flags, const void *hdr, size_t hlen)
{
    memset(m, 0, sizeof(*m));
    m->u.h.nlmsg_len = NLMSG_LENGTH(hlen);
    m->u.h.nlmsg_type = type;
    m->u.h.nlmsg_flags = NLM_F_REQUEST | flags;
    memcpy(m->u.b + NLMSG_HDRLEN, hdr, hlen);
}

size_t nl_msg_put(struct nl_msg *m, unsigned short type, const void *data, size_t len)
{
    size_t off = NLMSG_ALIGN(m->u.h.nlmsg_len);
    size_t alen = RTA_LENGTH(len);
    if (m->full || off + RTA_ALIGN(alen) > sizeof(m->u.b)) {
        m->full = true;
        return 0;
    }
    struct rtattr *a = (struct rtattr *)(m->u.b + off);
    a->rta_type = type;
    a->rta_len = (unsigned short)alen;
    if (len > 0) {
        memcpy(m->u.b + off + RTA_LENGTH(0), data, len);
    }
    m->u.h.nlmsg_len = (uint32_t)(off + RTA_ALIGN(alen));
    return off;
}

void nl_msg_put_str(struct nl_msg *m, unsigned short type, const char *s)
{
    nl_msg_put(m, type, s, strlen(s) + 1);
}

void nl_msg_put_u32(struct nl_msg *m, unsigned short type, uint32_t v)
{
    nl_msg_put(m, type, &v, sizeof(v));
}

void nl_msg_end(struct nl_msg *m, size_t nest)
{
    if (!m->full) {
        struct rtattr *a = (struct rtattr *)(m->u.b + nest);
        a->rta_len = (unsigned short)(m->u.h.nlmsg_len - nest);
    }
}

const struct rtattr *nl_attr_find(const char *p, size_t len, unsigned short type)
{
    while (len >= sizeof(struct rtattr)) {
        const struct rtattr *a = (const struct rtattr *)p;
        if (a->rta_len < sizeof(*a) || a->rta_len > len) {
            return NULL;
        }
        if ((a->rta_type & NLA_TYPE_MASK) == type) {
            return a;
        }
        size_t step = RTA_ALIGN(a->rta_len);
        if (step >= len) {
            return NULL;
        }
        p += step;
        len -= step;
    }
    return NULL;
}

const void *nl_attr_data(const struct rtattr *a)
{
    return (const char *)a + RTA_LENGTH(0);
}

size_t nl_attr_len(const struct rtattr *a)
{
    return a->rta_len - RTA_LENGTH(0);
}

bool nl_attr_u32(const struct rtattr *a, uint32_t *v)
{
    if (a == NULL || nl_attr_len(a) < sizeof(*v)) {
        return false;
    }
    memcpy(v, nl_attr_data(a), sizeof(*v));
    return true;
}

bool nl_msg_parse(const struct nlmsghdr *h, void *hdr, size_t hlen, const char **attrs, size_t *len)
{
    size_t off = NLMSG_HDRLEN + NLMSG_ALIGN(hlen);
    if (h->nlmsg_len < off) {
        return false;
    }
    memcpy(hdr, (const char *)h + NLMSG_HDRLEN, hlen);
    *attrs = (const char *)h + off;
    *len = h->nlmsg_len - off;
    return true;
}

int nl_open(struct nl *nl)
{
    nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (nl->fd < 0) {
        return err_set("cannot open a netlink socket: %s", strerror(errno));
    }
    /* Optional: the kernel's own words on a refusal ("extended ACK"), without the request echoed
     * back; and a bound on the wait. */
    int one = 1;
    (void)setsockopt(nl->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
    (void)setsockopt(nl->fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
    struct timeval tv = {.tv_sec = NL_TIMEOUT_S};
    (void)setsockopt(nl->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    nl->seq = (uint32_t)time(NULL);
    return 0;
}

int nl_error(const struct nlmsghdr *h, const char *step)
{
    struct nlmsgerr e;
    const char *attrs;
    size_t len;
    if (!nl_msg_parse(h, &e, sizeof(e), &attrs, &len)) {
        return err_set("%s: malformed netlink answer", step);
    }
    if (e.error == 0) {
        return 0;
    }
    int code = e.error < 0 ? -e.error : e.error;
    const char *why = NULL;
    /* Without NETLINK_CAP_ACK the request's payload comes back before the TLVs. */
    size_t echo = (h->nlmsg_flags & NLM_F_CAPPED) || e.msg.nlmsg_len < NLMSG_HDRLEN
                      ? 0
                      : NLMSG_ALIGN(e.msg.nlmsg_len - NLMSG_HDRLEN);
    if ((h->nlmsg_flags & NLM_F_ACK_TLVS) && echo <= len) {
        const struct rtattr *a = nl_attr_find(attrs + echo, len - echo, NLMSGERR_ATTR_MSG);
        if (a != NULL && nl_attr_len(a) > 1 &&
            ((const char *)nl_attr_data(a))[nl_attr_len(a) - 1] == '\0') {
            why = nl_attr_data(a);
        }
    }
    if (why != NULL) {
        return err_set("%s: %s (%s)", step, strerror(code), why);
    }
    return err_set("%s: %s", step, strerror(code));
}

int nl_exchange(struct nl *nl, struct nl_msg *m, nl_cb cb, void *ctx, const char *step)
{
    if (m->full) {
        return err_set("%s: netlink request too large", step);
    }
    m->u.h.nlmsg_seq = ++nl->seq;
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    ssize_t n;
    do {
        n = sendto(nl->fd, m->u.b, m->u.h.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel));
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        return err_set("%s: cannot send to netlink: %s", step, strerror(errno));
    }
    union {
        struct nlmsghdr h;
        char b[NL_RECV_MAX];
    } buf;
    for (;;) {
        struct sockaddr_nl from;
        struct iovec iov = {.iov_base = buf.b, .iov_len = sizeof(buf.b)};
        struct msghdr mh = {
            .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1};
        n = recvmsg(nl->fd, &mh, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return err_set("%s: netlink did not answer within %d s", step, NL_TIMEOUT_S);
        }
        if (n < 0) {
            return err_set("%s: cannot read from netlink: %s", step, strerror(errno));
        }
        if (mh.msg_flags & MSG_TRUNC) {
            return err_set("%s: netlink answer truncated", step);
        }
        if (mh.msg_namelen != sizeof(from) || from.nl_pid != 0) {
            continue; /* not the kernel's */
        }
        const char *p = buf.b;
        size_t left = (size_t)n;
        while (left >= NLMSG_HDRLEN) {
            const struct nlmsghdr *h = (const struct nlmsghdr *)p;
            if (h->nlmsg_len < NLMSG_HDRLEN || h->nlmsg_len > left) {
                return err_set("%s: malformed netlink answer", step);
            }
            if (h->nlmsg_seq == m->u.h.nlmsg_seq) {
                if (h->nlmsg_type == NLMSG_ERROR) {
                    return nl_error(h, step);
                }
                if (h->nlmsg_type == NLMSG_DONE) {
                    /* its payload, when there is one, is the dump's own result */
                    int rc = 0;
                    if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(rc))) {
                        memcpy(&rc, (const char *)h + NLMSG_HDRLEN, sizeof(rc));
                    }
                    return rc < 0 ? err_set("%s: %s", step, strerror(-rc)) : 0;
                }
                if (cb != NULL && cb(h, ctx) != 0) {
                    return -1;
                }
            }
            size_t adv = NLMSG_ALIGN(h->nlmsg_len);
            if (adv >= left) {
                break;
            }
            p += adv;
            left -= adv;
        }
    }
}

int nl_dump(struct nl *nl, uint16_t type, const void *hdr, size_t hlen, nl_cb cb, void *ctx,
            const char *step)
{
    struct nl_msg m;
    nl_msg_init(&m, type, NLM_F_DUMP, hdr, hlen);
    return nl_exchange(nl, &m, cb, ctx, step);
}
