/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* rtnetlink via libmnl: the one file that includes libmnl.h.
 *
 * Input: only the kernel's replies (trusted, but parsed with libmnl's bounds-checked attribute
 * walkers all the same). Names come from the caller, checked with net_ifname_is_valid(). */

#include <arpa/inet.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <string.h>
#include <time.h>

#include "dlopen-util.h"
#include "net-netlink.h"

#ifndef IFA_F_NODAD
#define IFA_F_NODAD 0x02
#endif

/* libmnl, loaded with dlopen() by rtnl_open() before anything of it is used (dlopen-util.h): a run
 * without networking maps neither it nor libnftables. */
static typeof(mnl_attr_get_payload) *sym_mnl_attr_get_payload;
static typeof(mnl_attr_get_payload_len) *sym_mnl_attr_get_payload_len;
static typeof(mnl_attr_get_str) *sym_mnl_attr_get_str;
static typeof(mnl_attr_get_type) *sym_mnl_attr_get_type;
static typeof(mnl_attr_get_u32) *sym_mnl_attr_get_u32;
static typeof(mnl_attr_nest_end) *sym_mnl_attr_nest_end;
static typeof(mnl_attr_nest_start) *sym_mnl_attr_nest_start;
static typeof(mnl_attr_parse) *sym_mnl_attr_parse;
static typeof(mnl_attr_parse_nested) *sym_mnl_attr_parse_nested;
static typeof(mnl_attr_put) *sym_mnl_attr_put;
static typeof(mnl_attr_put_strz) *sym_mnl_attr_put_strz;
static typeof(mnl_attr_put_u16) *sym_mnl_attr_put_u16;
static typeof(mnl_attr_put_u32) *sym_mnl_attr_put_u32;
static typeof(mnl_attr_type_valid) *sym_mnl_attr_type_valid;
static typeof(mnl_attr_validate) *sym_mnl_attr_validate;
static typeof(mnl_cb_run) *sym_mnl_cb_run;
static typeof(mnl_nlmsg_get_payload) *sym_mnl_nlmsg_get_payload;
static typeof(mnl_nlmsg_get_payload_len) *sym_mnl_nlmsg_get_payload_len;
static typeof(mnl_nlmsg_next) *sym_mnl_nlmsg_next;
static typeof(mnl_nlmsg_ok) *sym_mnl_nlmsg_ok;
static typeof(mnl_nlmsg_put_extra_header) *sym_mnl_nlmsg_put_extra_header;
static typeof(mnl_nlmsg_put_header) *sym_mnl_nlmsg_put_header;
static typeof(mnl_nlmsg_size) *sym_mnl_nlmsg_size;
static typeof(mnl_socket_bind) *sym_mnl_socket_bind;
static typeof(mnl_socket_close) *sym_mnl_socket_close;
static typeof(mnl_socket_get_portid) *sym_mnl_socket_get_portid;
static typeof(mnl_socket_open2) *sym_mnl_socket_open2;
static typeof(mnl_socket_recvfrom) *sym_mnl_socket_recvfrom;
static typeof(mnl_socket_sendto) *sym_mnl_socket_sendto;
static typeof(mnl_socket_setsockopt) *sym_mnl_socket_setsockopt;
static typeof(mnl_attr_ok) *sym_mnl_attr_ok;
static typeof(mnl_attr_next) *sym_mnl_attr_next;

static const DlopenSymbol libmnl_symbols[] = {
        DLSYM(mnl_attr_get_payload),
        DLSYM(mnl_attr_get_payload_len),
        DLSYM(mnl_attr_get_str),
        DLSYM(mnl_attr_get_type),
        DLSYM(mnl_attr_get_u32),
        DLSYM(mnl_attr_nest_end),
        DLSYM(mnl_attr_nest_start),
        DLSYM(mnl_attr_parse),
        DLSYM(mnl_attr_parse_nested),
        DLSYM(mnl_attr_put),
        DLSYM(mnl_attr_put_strz),
        DLSYM(mnl_attr_put_u16),
        DLSYM(mnl_attr_put_u32),
        DLSYM(mnl_attr_type_valid),
        DLSYM(mnl_attr_validate),
        DLSYM(mnl_cb_run),
        DLSYM(mnl_nlmsg_get_payload),
        DLSYM(mnl_nlmsg_get_payload_len),
        DLSYM(mnl_nlmsg_next),
        DLSYM(mnl_nlmsg_ok),
        DLSYM(mnl_nlmsg_put_extra_header),
        DLSYM(mnl_nlmsg_put_header),
        DLSYM(mnl_nlmsg_size),
        DLSYM(mnl_socket_bind),
        DLSYM(mnl_socket_close),
        DLSYM(mnl_socket_get_portid),
        DLSYM(mnl_socket_open2),
        DLSYM(mnl_socket_recvfrom),
        DLSYM(mnl_socket_sendto),
        DLSYM(mnl_socket_setsockopt),
        DLSYM(mnl_attr_ok),
        DLSYM(mnl_attr_next),
        {},
};
static DlopenLibrary libmnl_library = DLOPEN_LIBRARY_INIT(LIBMNL_SONAME, libmnl_symbols);

int dlopen_libmnl(const char **ret_detail) {
        return dlopen_library(&libmnl_library, ret_detail);
}

struct Rtnl {
        struct mnl_socket *sock;
        unsigned portid;
        unsigned seq;
        char *buf; /* RTNL_BUFFER_SIZE */
};

/* Dumps of a namespace with many links can come in large datagrams; 32 KiB is what the kernel
 * uses at most per dump message (and what iproute2 reads with). */
#define RTNL_BUFFER_SIZE 32768

int rtnl_open(int netns_fd, Rtnl **ret) {
        _cleanup_close_ int orig = -EBADF;
        int r = dlopen_libmnl(NULL);
        if (r < 0)
                return r;

        if (netns_fd >= 0) {
                orig = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
                if (orig < 0)
                        return negative_errno();
                if (setns(netns_fd, CLONE_NEWNET) < 0)
                        return negative_errno();
        }
        /* Created here, the socket belongs to netns_fd's namespace for good. */
        struct mnl_socket *sock = sym_mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
        r = sock ? 0 : negative_errno();
        if (orig >= 0 && setns(orig, CLONE_NEWNET) < 0)
                /* Our thread would go on in the container's namespace: nothing sane is left to do. */
                abort();
        if (r < 0)
                return r;

        if (sym_mnl_socket_bind(sock, 0, MNL_SOCKET_AUTOPID) < 0) {
                r = negative_errno();
                sym_mnl_socket_close(sock);
                return r;
        }
        int one = 1;
        /* The kernel's own explanation with errors (NLMSGERR_ATTR_MSG); best effort. */
        (void) sym_mnl_socket_setsockopt(sock, NETLINK_EXT_ACK, &one, sizeof(one));
        (void) sym_mnl_socket_setsockopt(sock, NETLINK_CAP_ACK, &one, sizeof(one));

        Rtnl *nl = calloc(1, sizeof(Rtnl));
        char *buf = malloc(RTNL_BUFFER_SIZE);
        if (!nl || !buf) {
                free(nl);
                free(buf);
                sym_mnl_socket_close(sock);
                return -ENOMEM;
        }
        nl->sock = sock;
        nl->portid = sym_mnl_socket_get_portid(sock);
        nl->seq = (unsigned) time(NULL);
        nl->buf = buf;
        *ret = nl;
        return 0;
}

void rtnl_close(Rtnl *nl) {
        if (!nl)
                return;
        sym_mnl_socket_close(nl->sock);
        free(nl->buf);
        free(nl);
}

static struct nlmsghdr *msg_new(Rtnl *nl, uint16_t type, uint16_t flags) {
        memset(nl->buf, 0, MNL_SOCKET_BUFFER_SIZE);
        struct nlmsghdr *nlh = sym_mnl_nlmsg_put_header(nl->buf);
        nlh->nlmsg_type = type;
        nlh->nlmsg_flags = NLM_F_REQUEST | flags;
        nlh->nlmsg_seq = ++nl->seq;
        return nlh;
}

static int rtnl_send(Rtnl *nl, const struct nlmsghdr *nlh) {
        if (sym_mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0)
                return negative_errno();
        return 0;
}

/* The next datagram of replies, into nl->buf: its length, or -errno. */
static ssize_t rtnl_recv(Rtnl *nl) {
        for (;;) {
                ssize_t n = sym_mnl_socket_recvfrom(nl->sock, nl->buf, RTNL_BUFFER_SIZE);
                if (n >= 0)
                        return n;
                if (errno != EINTR)
                        return negative_errno();
        }
}

/* Sends nlh, then hands each datagram of replies (in nl->buf) to f until f returns 0 (done) or
 * -errno; f returns 1 for more. */
typedef int (*reply_handler)(Rtnl *nl, size_t n, void *userdata);
static int rtnl_exchange(Rtnl *nl, const struct nlmsghdr *nlh, reply_handler f, void *userdata) {
        int r = rtnl_send(nl, nlh);
        while (r >= 0) {
                ssize_t n = rtnl_recv(nl);
                if (n < 0)
                        return (int) n;
                r = f(nl, (size_t) n, userdata);
                if (r == 0)
                        return 0;
        }
        return r;
}

/* The kernel's message of an extended acknowledgement (NLMSGERR_ATTR_MSG), if it sent one. */
static void ack_message(const struct nlmsghdr *h, const struct nlmsgerr *e, char *ret_msg, size_t msg_size) {
        if (!(h->nlmsg_flags & NLM_F_ACK_TLVS))
                return;
        size_t off = sizeof(struct nlmsgerr);
        if (!(h->nlmsg_flags & NLM_F_CAPPED))
                off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
        size_t plen = sym_mnl_nlmsg_get_payload_len(h);
        if (off >= plen)
                return;
        /* mnl_attr_for_each_payload(), spelled out with the loaded functions. */
        const char *first = (const char *) sym_mnl_nlmsg_get_payload(h) + off, *end = first + (plen - off);
        for (const struct nlattr *attr = (const void *) first;
                sym_mnl_attr_ok(attr, (int) (end - (const char *) attr)); attr = sym_mnl_attr_next(attr))
                if (sym_mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
                        sym_mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0) {
                        snprintf(ret_msg, msg_size, "%s", sym_mnl_attr_get_str(attr));
                        return;
                }
}

typedef struct AckWait {
        unsigned seq;
        char *msg;
        size_t msg_size;
} AckWait;

static int ack_handler(Rtnl *nl, size_t n, void *userdata) {
        AckWait *w = userdata;
        int len = (int) n;
        for (struct nlmsghdr *h = (struct nlmsghdr *) nl->buf; sym_mnl_nlmsg_ok(h, len);
                h = sym_mnl_nlmsg_next(h, &len)) {
                if (h->nlmsg_seq != w->seq || h->nlmsg_type != NLMSG_ERROR)
                        continue;
                if (h->nlmsg_len < sym_mnl_nlmsg_size(sizeof(struct nlmsgerr)))
                        return -EBADMSG;
                const struct nlmsgerr *e = sym_mnl_nlmsg_get_payload(h);
                if (e->error != 0 && w->msg && w->msg_size)
                        ack_message(h, e, w->msg, w->msg_size);
                return e->error; /* 0 or -errno */
        }
        return 1;
}

/* Sends nlh and waits for its acknowledgement. Returns 0 or the kernel's -errno; the kernel's
 * message (extended ack), if any, is copied into ret_msg. */
static int rtnl_call(Rtnl *nl, struct nlmsghdr *nlh, char *ret_msg, size_t msg_size) {
        nlh->nlmsg_flags |= NLM_F_ACK;
        if (ret_msg && msg_size)
                ret_msg[0] = 0;
        AckWait w = {.seq = nlh->nlmsg_seq, .msg = ret_msg, .msg_size = msg_size};
        return rtnl_exchange(nl, nlh, ack_handler, &w);
}

/* The Diag for a failed request: "<what>: <kernel message or strerror>", object = the interface. */
static int call_or_fail(Rtnl *nl, struct nlmsghdr *nlh, const char *object, const char *what, Diag *diag) {
        char kmsg[256];
        int r = rtnl_call(nl, nlh, kmsg, sizeof(kmsg));
        if (r >= 0)
                return r;
        if (kmsg[0])
                return diag_fail(diag, r, object, "%s: %s (%s)", what, strerror(-r), kmsg);
        return diag_fail(diag, r, object, "%s: %s", what, strerror(-r));
}

typedef struct DumpWait {
        unsigned seq;
        mnl_cb_t cb;
        void *userdata;
} DumpWait;

static int dump_handler(Rtnl *nl, size_t n, void *userdata) {
        DumpWait *w = userdata;
        errno = 0;
        int r = sym_mnl_cb_run(nl->buf, n, w->seq, nl->portid, w->cb, w->userdata);
        if (r == MNL_CB_STOP)
                return 0;
        return r < 0 ? negative_errno() : 1;
}

static int rtnl_dump(Rtnl *nl, struct nlmsghdr *nlh, mnl_cb_t cb, void *userdata) {
        DumpWait w = {.seq = nlh->nlmsg_seq, .cb = cb, .userdata = userdata};
        return rtnl_exchange(nl, nlh, dump_handler, &w);
}

/* The attributes of a message (or of a nested attribute) in a table by type; types above max, which
 * a newer kernel may send, are left out. */
typedef struct AttrTable {
        const struct nlattr **tb;
        unsigned max;
} AttrTable;

static int attr_table_cb(const struct nlattr *a, void *data) {
        const AttrTable *t = data;
        if (sym_mnl_attr_type_valid(a, t->max) >= 0)
                t->tb[sym_mnl_attr_get_type(a)] = a;
        return MNL_CB_OK;
}

static void attrs_parse(const struct nlmsghdr *h, size_t header, const struct nlattr **tb, unsigned max) {
        AttrTable t = {.tb = tb, .max = max};
        sym_mnl_attr_parse(h, (unsigned) header, attr_table_cb, &t);
}

static void attrs_parse_nested(const struct nlattr *nest, const struct nlattr **tb, unsigned max) {
        AttrTable t = {.tb = tb, .max = max};
        sym_mnl_attr_parse_nested(nest, attr_table_cb, &t);
}

/* ---- links ---- */

static void link_parse(const struct nlmsghdr *h, RtnlLink *l) {
        const struct ifinfomsg *ifm = sym_mnl_nlmsg_get_payload(h);
        const struct nlattr *tb[IFLA_MAX + 1] = {};
        *l = (RtnlLink){.ifindex = ifm->ifi_index, .flags = ifm->ifi_flags};
        attrs_parse(h, sizeof(*ifm), tb, IFLA_MAX);
        if (tb[IFLA_IFNAME] && sym_mnl_attr_validate(tb[IFLA_IFNAME], MNL_TYPE_NUL_STRING) >= 0)
                snprintf(l->name, sizeof(l->name), "%s", sym_mnl_attr_get_str(tb[IFLA_IFNAME]));
        if (tb[IFLA_MASTER] && sym_mnl_attr_validate(tb[IFLA_MASTER], MNL_TYPE_U32) >= 0)
                l->master = (int) sym_mnl_attr_get_u32(tb[IFLA_MASTER]);
        if (tb[IFLA_ADDRESS] && sym_mnl_attr_get_payload_len(tb[IFLA_ADDRESS]) == 6)
                memcpy(l->mac, sym_mnl_attr_get_payload(tb[IFLA_ADDRESS]), 6);
        if (tb[IFLA_LINKINFO]) {
                const struct nlattr *info[IFLA_INFO_MAX + 1] = {};
                attrs_parse_nested(tb[IFLA_LINKINFO], info, IFLA_INFO_MAX);
                if (info[IFLA_INFO_KIND] && sym_mnl_attr_validate(info[IFLA_INFO_KIND], MNL_TYPE_NUL_STRING) >= 0)
                        snprintf(l->kind, sizeof(l->kind), "%s", sym_mnl_attr_get_str(info[IFLA_INFO_KIND]));
        }
}

typedef struct LinkGetData {
        RtnlLink link;
        bool found;
} LinkGetData;

static int link_get_cb(const struct nlmsghdr *h, void *userdata) {
        LinkGetData *d = userdata;
        if (h->nlmsg_type != RTM_NEWLINK)
                return MNL_CB_OK;
        link_parse(h, &d->link);
        d->found = true;
        return MNL_CB_OK;
}

int rtnl_link_get(Rtnl *nl, const char *name, RtnlLink *ret, Diag *diag) {
        if (!net_ifname_is_valid(name))
                return diag_fail(diag, -EINVAL, name, "invalid interface name");

        struct nlmsghdr *nlh = msg_new(nl, RTM_GETLINK, NLM_F_ACK);
        struct ifinfomsg *ifm = sym_mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
        ifm->ifi_family = AF_UNSPEC;
        sym_mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
        sym_mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);

        /* The reply is one RTM_NEWLINK, then the ack (or just an error). */
        unsigned seq = nlh->nlmsg_seq;
        if (sym_mnl_socket_sendto(nl->sock, nlh, nlh->nlmsg_len) < 0) {
                int e = negative_errno();
                return diag_fail(diag, e, name, "cannot query interface: %s", strerror(-e));
        }
        LinkGetData d = {};
        for (;;) {
                ssize_t n = sym_mnl_socket_recvfrom(nl->sock, nl->buf, RTNL_BUFFER_SIZE);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        {
                                int e = negative_errno();
                                return diag_fail(diag, e, name, "cannot query interface: %s", strerror(-e));
                        }
                }
                int len = (int) n;
                for (struct nlmsghdr *h = (struct nlmsghdr *) nl->buf; sym_mnl_nlmsg_ok(h, len);
                        h = sym_mnl_nlmsg_next(h, &len)) {
                        if (h->nlmsg_seq != seq)
                                continue;
                        if (h->nlmsg_type == RTM_NEWLINK)
                                link_get_cb(h, &d);
                        else if (h->nlmsg_type == NLMSG_ERROR) {
                                const struct nlmsgerr *e = sym_mnl_nlmsg_get_payload(h);
                                if (e->error == -ENODEV)
                                        return diag_fail(diag, -ENODEV, name, "no such interface");
                                if (e->error < 0)
                                        return diag_fail(diag, e->error, name, "cannot query interface: %s",
                                                strerror(-e->error));
                                if (!d.found)
                                        return diag_fail(diag, -ENODEV, name, "no such interface");
                                if (ret)
                                        *ret = d.link;
                                return d.link.ifindex;
                        }
                }
        }
}

int rtnl_link_index(Rtnl *nl, const char *name) {
        return rtnl_link_get(nl, name, NULL, NULL);
}

/* What a dump collects: an array of items of one size, grown as replies come, and the first error. */
typedef struct DumpArray {
        void *items;
        size_t size, n, allocated;
        int error;
} DumpArray;

/* A new zeroed item at the end, or NULL (out of memory, recorded in d->error). */
static void *dump_array_push(DumpArray *d) {
        if (d->error < 0)
                return NULL;
        if (d->n == d->allocated) {
                size_t a = d->allocated ? d->allocated * 2 : 16;
                void *items = reallocarray(d->items, a, d->size);
                if (!items) {
                        d->error = -ENOMEM;
                        return NULL;
                }
                d->items = items;
                d->allocated = a;
        }
        void *x = (char *) d->items + d->n++ * d->size;
        memset(x, 0, d->size);
        return x;
}

/* The end of a dump: the items to the caller, or the failure (r or the collection's) in the diag. */
static int dump_array_finish(DumpArray *d, int r, void *ret, size_t *ret_n, const char *what, Diag *diag) {
        if (r >= 0 && d->error < 0)
                r = d->error;
        if (r < 0) {
                free(d->items);
                return diag_fail(diag, r, NULL, "%s: %s", what, strerror(-r));
        }
        *(void **) ret = d->items;
        *ret_n = d->n;
        return 0;
}

static int link_dump_cb(const struct nlmsghdr *h, void *userdata) {
        if (h->nlmsg_type != RTM_NEWLINK)
                return MNL_CB_OK;
        RtnlLink *l = dump_array_push(userdata);
        if (l)
                link_parse(h, l);
        return MNL_CB_OK;
}

int rtnl_link_dump(Rtnl *nl, RtnlLink **ret, size_t *ret_n, Diag *diag) {
        struct nlmsghdr *nlh = msg_new(nl, RTM_GETLINK, NLM_F_DUMP);
        struct ifinfomsg *ifm = sym_mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
        ifm->ifi_family = AF_UNSPEC;
        sym_mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
        DumpArray d = {.size = sizeof(RtnlLink)};
        int r = rtnl_dump(nl, nlh, link_dump_cb, &d);
        return dump_array_finish(&d, r, ret, ret_n, "cannot list interfaces", diag);
}

static int check_name(const char *name, Diag *diag) {
        if (!net_ifname_is_valid(name))
                return diag_fail(diag, -EINVAL, name, "invalid interface name (1…15 bytes, no '/', ':' or spaces)");
        return 0;
}

/* -EOPNOTSUPP from RTM_NEWLINK with a kind: the kernel has no such link type (not built, module
 * missing or not loadable). */
static int newlink_call(
        Rtnl *nl, struct nlmsghdr *nlh, const char *name, const char *kind, const char *what, Diag *diag) {
        char kmsg[256];
        int r = rtnl_call(nl, nlh, kmsg, sizeof(kmsg));
        if (r == -EOPNOTSUPP && kind)
                return diag_fail(diag, r, name, "kernel lacks %s support", kind);
        if (r == -EEXIST)
                return diag_fail(diag, r, name, "%s: an interface of that name exists already", what);
        if (r < 0) {
                if (kmsg[0])
                        return diag_fail(diag, r, name, "%s: %s (%s)", what, strerror(-r), kmsg);
                return diag_fail(diag, r, name, "%s: %s", what, strerror(-r));
        }
        return 0;
}

static void put_name_mac(struct nlmsghdr *nlh, const char *name, const uint8_t *mac) {
        sym_mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
        if (mac)
                sym_mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
}

/* An RTM_NEWLINK request for a new interface of that name (and MAC address, if given); the caller
 * adds its kind. */
static struct nlmsghdr *newlink_msg(Rtnl *nl, const char *name, const uint8_t *mac) {
        struct nlmsghdr *nlh = msg_new(nl, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
        struct ifinfomsg *ifm = sym_mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
        ifm->ifi_family = AF_UNSPEC;
        put_name_mac(nlh, name, mac);
        return nlh;
}

int rtnl_link_add(Rtnl *nl, const char *name, const char *kind, const uint8_t *mac, Diag *diag) {
        int r = check_name(name, diag);
        if (r < 0)
                return r;
        struct nlmsghdr *nlh = newlink_msg(nl, name, mac);
        struct nlattr *li = sym_mnl_attr_nest_start(nlh, IFLA_LINKINFO);
        sym_mnl_attr_put_strz(nlh, IFLA_INFO_KIND, kind);
        sym_mnl_attr_nest_end(nlh, li);
        char what[64];
        snprintf(what, sizeof(what), "cannot create %s interface", kind);
        return newlink_call(nl, nlh, name, kind, what, diag);
}

int rtnl_veth_add(Rtnl *nl, const char *name, const uint8_t *mac, const char *peer, const uint8_t *peer_mac,
        int peer_netns_fd, Diag *diag) {
        int r = check_name(name, diag);
        if (r < 0)
                return r;
        r = check_name(peer, diag);
        if (r < 0)
                return r;

        struct nlmsghdr *nlh = newlink_msg(nl, name, mac);
        struct nlattr *li = sym_mnl_attr_nest_start(nlh, IFLA_LINKINFO);
        sym_mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "veth");
        struct nlattr *data = sym_mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
        struct nlattr *p = sym_mnl_attr_nest_start(nlh, VETH_INFO_PEER);
        /* The peer's attributes follow an ifinfomsg of its own. */
        struct ifinfomsg *pifm = sym_mnl_nlmsg_put_extra_header(nlh, sizeof(*pifm));
        pifm->ifi_family = AF_UNSPEC;
        put_name_mac(nlh, peer, peer_mac);
        if (peer_netns_fd >= 0)
                sym_mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t) peer_netns_fd);
        sym_mnl_attr_nest_end(nlh, p);
        sym_mnl_attr_nest_end(nlh, data);
        sym_mnl_attr_nest_end(nlh, li);
        return newlink_call(nl, nlh, name, "veth", "cannot create veth pair", diag);
}

static int vlan_like_add(Rtnl *nl, const char *parent, const char *name, const uint8_t *mac, int netns_fd,
        const char *kind, Diag *diag) {
        int r = check_name(name, diag);
        if (r < 0)
                return r;
        RtnlLink pl;
        r = rtnl_link_get(nl, parent, &pl, diag);
        if (r < 0)
                return r;

        struct nlmsghdr *nlh = newlink_msg(nl, name, mac);
        sym_mnl_attr_put_u32(nlh, IFLA_LINK, (uint32_t) pl.ifindex);
        if (netns_fd >= 0)
                sym_mnl_attr_put_u32(nlh, IFLA_NET_NS_FD, (uint32_t) netns_fd);
        struct nlattr *li = sym_mnl_attr_nest_start(nlh, IFLA_LINKINFO);
        sym_mnl_attr_put_strz(nlh, IFLA_INFO_KIND, kind);
        struct nlattr *data = sym_mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
        if (streq(kind, "macvlan"))
                sym_mnl_attr_put_u32(nlh, IFLA_MACVLAN_MODE, MACVLAN_MODE_BRIDGE);
        else
                sym_mnl_attr_put_u16(nlh, IFLA_IPVLAN_MODE, IPVLAN_MODE_L2);
        sym_mnl_attr_nest_end(nlh, data);
        sym_mnl_attr_nest_end(nlh, li);

        char what[96];
        snprintf(what, sizeof(what), "cannot create %s interface on %s", kind, parent);
        return newlink_call(nl, nlh, name, kind, what, diag);
}

int rtnl_macvlan_add(Rtnl *nl, const char *parent, const char *name, const uint8_t *mac, int netns_fd, Diag *diag) {
        return vlan_like_add(nl, parent, name, mac, netns_fd, "macvlan", diag);
}

int rtnl_ipvlan_add(Rtnl *nl, const char *parent, const char *name, int netns_fd, Diag *diag) {
        return vlan_like_add(nl, parent, name, NULL, netns_fd, "ipvlan", diag);
}

int rtnl_bridge_check(Rtnl *nl, const char *name, Diag *diag) {
        RtnlLink l;
        int r = rtnl_link_get(nl, name, &l, diag);
        if (r < 0)
                return r;
        if (!streq(l.kind, "bridge"))
                return diag_fail(diag, -ENOTTY, name, "not a bridge (%s)", l.kind[0] ? l.kind : "a device");
        return l.ifindex;
}

int rtnl_bridge_ensure(Rtnl *nl, const char *name, Diag *diag) {
        for (unsigned attempt = 0;; attempt++) {
                Diag probe = DIAG_INIT;
                int r = rtnl_bridge_check(nl, name, &probe);
                if (r != -ENODEV) {
                        if (r < 0)
                                diag_fail(diag, r, probe.object, "%s", probe.cause ? probe.cause : strerror(-r));
                        diag_done(&probe);
                        return r < 0 ? r : 0;
                }
                diag_done(&probe);
                r = rtnl_link_add(nl, name, "bridge", NULL, attempt < 3 ? &probe : diag);
                if (r >= 0) {
                        diag_done(&probe);
                        return 1;
                }
                diag_done(&probe);
                /* Someone else made it between our look and our create: look again. */
                if (r != -EEXIST || attempt >= 3)
                        return r;
        }
}

int rtnl_bridge_members(Rtnl *nl, const char *name, Diag *diag) {
        int ifindex = rtnl_bridge_check(nl, name, diag);
        if (ifindex < 0)
                return ifindex;
        RtnlLink *links = NULL;
        size_t n = 0;
        int r = rtnl_link_dump(nl, &links, &n, diag);
        if (r < 0)
                return r;
        int members = 0;
        for (size_t i = 0; i < n; i++)
                if (links[i].master == ifindex)
                        members++;
        free(links);
        return members;
}

int rtnl_bridge_remove_if_empty(Rtnl *nl, const char *name, Diag *diag) {
        Diag probe = DIAG_INIT;
        int r = rtnl_bridge_members(nl, name, &probe);
        if (r == -ENODEV) {
                diag_done(&probe);
                return 0;
        }
        if (r < 0) {
                diag_fail(diag, r, probe.object, "%s", probe.cause ? probe.cause : strerror(-r));
                diag_done(&probe);
                return r;
        }
        diag_done(&probe);
        if (r > 0)
                return 0;
        r = rtnl_link_delete(nl, name, diag);
        return r < 0 ? r : 1;
}

static struct nlmsghdr *setlink_new(Rtnl *nl, const char *name) {
        struct nlmsghdr *nlh = msg_new(nl, RTM_NEWLINK, 0);
        struct ifinfomsg *ifm = sym_mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
        ifm->ifi_family = AF_UNSPEC;
        sym_mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
        return nlh;
}

int rtnl_link_set_master(Rtnl *nl, const char *name, const char *master, Diag *diag) {
        int m = rtnl_bridge_check(nl, master, diag);
        if (m < 0)
                return m;
        struct nlmsghdr *nlh = setlink_new(nl, name);
        sym_mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t) m);
        char what[64];
        snprintf(what, sizeof(what), "cannot add interface to bridge %s", master);
        return call_or_fail(nl, nlh, name, what, diag);
}

int rtnl_link_set_up(Rtnl *nl, const char *name, bool up, Diag *diag) {
        struct nlmsghdr *nlh = setlink_new(nl, name);
        struct ifinfomsg *ifm = sym_mnl_nlmsg_get_payload(nlh);
        ifm->ifi_change = IFF_UP;
        ifm->ifi_flags = up ? IFF_UP : 0;
        return call_or_fail(nl, nlh, name, up ? "cannot set interface up" : "cannot set interface down", diag);
}

static int link_move(Rtnl *nl, const char *name, uint16_t attr, uint32_t target, const char *new_name, Diag *diag) {
        RtnlLink l;
        int r = rtnl_link_get(nl, name, &l, diag);
        if (r < 0)
                return r;
        if (new_name) {
                r = check_name(new_name, diag);
                if (r < 0)
                        return r;
        }
        struct nlmsghdr *nlh = msg_new(nl, RTM_NEWLINK, 0);
        struct ifinfomsg *ifm = sym_mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
        ifm->ifi_family = AF_UNSPEC;
        ifm->ifi_index = l.ifindex;
        sym_mnl_attr_put_u32(nlh, attr, target);
        if (new_name && !streq(new_name, name))
                sym_mnl_attr_put_strz(nlh, IFLA_IFNAME, new_name);
        return call_or_fail(nl, nlh, name, "cannot move interface to the network namespace", diag);
}

int rtnl_link_move(Rtnl *nl, const char *name, int netns_fd, const char *new_name, Diag *diag) {
        return link_move(nl, name, IFLA_NET_NS_FD, (uint32_t) netns_fd, new_name, diag);
}

int rtnl_link_move_pid(Rtnl *nl, const char *name, pid_t pid, const char *new_name, Diag *diag) {
        return link_move(nl, name, IFLA_NET_NS_PID, (uint32_t) pid, new_name, diag);
}

int rtnl_link_delete(Rtnl *nl, const char *name, Diag *diag) {
        if (!net_ifname_is_valid(name))
                return 0;
        struct nlmsghdr *nlh = msg_new(nl, RTM_DELLINK, 0);
        struct ifinfomsg *ifm = sym_mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
        ifm->ifi_family = AF_UNSPEC;
        sym_mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
        char kmsg[256];
        int r = rtnl_call(nl, nlh, kmsg, sizeof(kmsg));
        if (r == -ENODEV)
                return 0;
        if (r < 0)
                return diag_fail(diag, r, name, "cannot delete interface: %s", strerror(-r));
        return 1;
}

/* ---- addresses and routes ---- */

static size_t family_size(int family) {
        return family == AF_INET ? sizeof(struct in_addr) : sizeof(struct in6_addr);
}

int rtnl_addr_add(Rtnl *nl, const char *ifname, const NetPrefix *addr, Diag *diag) {
        int ifindex = rtnl_link_get(nl, ifname, NULL, diag);
        if (ifindex < 0)
                return ifindex;
        struct nlmsghdr *nlh = msg_new(nl, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
        struct ifaddrmsg *ifa = sym_mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
        ifa->ifa_family = (uint8_t) addr->family;
        ifa->ifa_prefixlen = addr->prefixlen;
        ifa->ifa_index = (unsigned) ifindex;
        ifa->ifa_scope = RT_SCOPE_UNIVERSE;
        sym_mnl_attr_put(nlh, IFA_LOCAL, family_size(addr->family), &addr->addr);
        sym_mnl_attr_put(nlh, IFA_ADDRESS, family_size(addr->family), &addr->addr);
        if (addr->family == AF_INET6) {
                ifa->ifa_flags = IFA_F_NODAD;
                sym_mnl_attr_put_u32(nlh, IFA_FLAGS, IFA_F_NODAD);
        }
        char what[96], b[NET_PREFIX_STRING_MAX];
        snprintf(what, sizeof(what), "cannot add address %s", net_prefix_to_string(addr, b));
        return call_or_fail(nl, nlh, ifname, what, diag);
}

int rtnl_route_add(Rtnl *nl, const char *ifname, const NetPrefix *dst, const NetPrefix *gateway, Diag *diag) {
        int ifindex = rtnl_link_get(nl, ifname, NULL, diag);
        if (ifindex < 0)
                return ifindex;
        int family = dst ? dst->family : gateway ? gateway->family : AF_INET;
        struct nlmsghdr *nlh = msg_new(nl, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
        struct rtmsg *rtm = sym_mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
        rtm->rtm_family = (uint8_t) family;
        rtm->rtm_dst_len = dst ? dst->prefixlen : 0;
        rtm->rtm_table = RT_TABLE_MAIN;
        rtm->rtm_protocol = RTPROT_STATIC;
        rtm->rtm_scope = gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
        rtm->rtm_type = RTN_UNICAST;
        if (dst)
                sym_mnl_attr_put(nlh, RTA_DST, family_size(family), &dst->addr);
        if (gateway)
                sym_mnl_attr_put(nlh, RTA_GATEWAY, family_size(family), &gateway->addr);
        sym_mnl_attr_put_u32(nlh, RTA_OIF, (uint32_t) ifindex);
        char what[160], b1[NET_PREFIX_STRING_MAX], b2[NET_PREFIX_STRING_MAX];
        snprintf(what, sizeof(what), "cannot add route to %s%s%s", dst ? net_prefix_to_string(dst, b1) : "default",
                gateway ? " via " : "", gateway ? net_addr_to_string(gateway, b2) : "");
        return call_or_fail(nl, nlh, ifname, what, diag);
}

static void prefix_push(DumpArray *d, int family, const void *addr, unsigned prefixlen) {
        NetPrefix *x = dump_array_push(d);
        if (!x)
                return;
        *x = (NetPrefix){.family = family, .prefixlen = (unsigned char) prefixlen};
        memcpy(&x->addr, addr, family_size(family));
}

static int addr_dump_cb(const struct nlmsghdr *h, void *userdata) {
        DumpArray *d = userdata;
        if (h->nlmsg_type != RTM_NEWADDR)
                return MNL_CB_OK;
        const struct ifaddrmsg *ifa = sym_mnl_nlmsg_get_payload(h);
        if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
                return MNL_CB_OK;
        const struct nlattr *tb[IFA_MAX + 1] = {};
        attrs_parse(h, sizeof(*ifa), tb, IFA_MAX);
        const struct nlattr *a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
        if (a && sym_mnl_attr_get_payload_len(a) == family_size(ifa->ifa_family))
                prefix_push(d, ifa->ifa_family, sym_mnl_attr_get_payload(a), ifa->ifa_prefixlen);
        /* The peer of a point-to-point address is in use too. */
        if (tb[IFA_LOCAL] && tb[IFA_ADDRESS] &&
                sym_mnl_attr_get_payload_len(tb[IFA_ADDRESS]) == family_size(ifa->ifa_family))
                prefix_push(d, ifa->ifa_family, sym_mnl_attr_get_payload(tb[IFA_ADDRESS]), ifa->ifa_prefixlen);
        return MNL_CB_OK;
}

static int route_dump_cb(const struct nlmsghdr *h, void *userdata) {
        DumpArray *d = userdata;
        if (h->nlmsg_type != RTM_NEWROUTE)
                return MNL_CB_OK;
        const struct rtmsg *rtm = sym_mnl_nlmsg_get_payload(h);
        if ((rtm->rtm_family != AF_INET && rtm->rtm_family != AF_INET6) || rtm->rtm_dst_len == 0)
                return MNL_CB_OK; /* default routes cover everything and say nothing */
        const struct nlattr *tb[RTA_MAX + 1] = {};
        attrs_parse(h, sizeof(*rtm), tb, RTA_MAX);
        if (tb[RTA_DST] && sym_mnl_attr_get_payload_len(tb[RTA_DST]) == family_size(rtm->rtm_family))
                prefix_push(d, rtm->rtm_family, sym_mnl_attr_get_payload(tb[RTA_DST]), rtm->rtm_dst_len);
        return MNL_CB_OK;
}

int rtnl_prefixes_in_use(Rtnl *nl, int family, NetPrefix **ret, size_t *ret_n, Diag *diag) {
        DumpArray d = {.size = sizeof(NetPrefix)};
        int r;

        struct nlmsghdr *nlh = msg_new(nl, RTM_GETADDR, NLM_F_DUMP);
        struct ifaddrmsg *ifa = sym_mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
        ifa->ifa_family = (uint8_t) family;
        r = rtnl_dump(nl, nlh, addr_dump_cb, &d);
        if (r >= 0) {
                nlh = msg_new(nl, RTM_GETROUTE, NLM_F_DUMP);
                struct rtmsg *rtm = sym_mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
                rtm->rtm_family = (uint8_t) family;
                rtm->rtm_table = RT_TABLE_UNSPEC; /* all tables */
                r = rtnl_dump(nl, nlh, route_dump_cb, &d);
        }
        return dump_array_finish(&d, r, ret, ret_n, "cannot read the addresses and routes in use", diag);
}
