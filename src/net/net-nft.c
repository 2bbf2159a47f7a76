/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* nftables through libnftables: the one file that includes nftables/libnftables.h.
 *
 * Everything lives in "table inet cowpen" (one table for both families; inet NAT needs Linux 5.2):
 *
 *   chain prerouting  nat, hook prerouting, priority dstnat (-100)
 *         DNAT of forwarded ports for traffic from elsewhere to any local address
 *   chain output      nat, hook output, priority -100
 *         the same for traffic the host itself sends to its own addresses, 127.0.0.1 included
 *   chain postrouting nat, hook postrouting, priority srcnat (100)
 *         masquerading of container subnets going out, and of forwarded connections from 127/8
 *   chain guard       filter, hook prerouting, priority raw (-300)
 *         drops packets to 127.0.0.0/8 arriving on our host-side interfaces (see below)
 *
 * Port forwards from the host's own loopback. nspawn's forwards do not work from 127.0.0.1 or ::1:
 *  - IPv4: a locally generated packet to 127.0.0.1 is DNATed in the output hook, but the reroute
 *    that follows refuses a loopback source leaving on a non-loopback device (the kernel's
 *    __mkroute_output) unless route_localnet is set on that outgoing device. So the host side of a
 *    container's network (ve-… or the zone's bridge; our own interface, so nothing of the host's
 *    changes and the setting goes with the interface) gets route_localnet=1, and postrouting
 *    masquerades connections from 127/8 to the container, which would otherwise see a loopback
 *    source it cannot answer. route_localnet also makes the kernel accept packets *to* 127/8
 *    arriving on that interface (CVE-2020-8558 in Kubernetes), which would expose the host's
 *    loopback-only services to the container: the guard chain drops those before routing.
 *  - IPv6: there is no route_localnet; a packet with source ::1 leaving on another device is
 *    dropped whatever we do after the output DNAT (tried: the connection times out). So ::1 is
 *    excluded from the output DNAT and served by a small userspace TCP forwarder that listens on
 *    [::1]:HOSTPORT (net-forward.c); UDP forwards are not offered on ::1.
 * Both were checked in network namespaces with the unit tests (test-net-setup.c). */

#include <fcntl.h>
#include <json-c/json.h>
#include <nftables/libnftables.h>
#include <string.h>
#include <unistd.h>

#include "dlopen-util.h"
#include "net-nft.h"
#include "util.h"

/* libnftables (and what it pulls in: libmnl, libnftnl, libjansson, libxtables, libgmp, …) is loaded
 * with dlopen() before the first use (dlopen-util.h): a run without networking maps none of it. */
static typeof(nft_ctx_new) *sym_nft_ctx_new;
static typeof(nft_ctx_free) *sym_nft_ctx_free;
static typeof(nft_ctx_output_set_flags) *sym_nft_ctx_output_set_flags;
static typeof(nft_ctx_buffer_output) *sym_nft_ctx_buffer_output;
static typeof(nft_ctx_buffer_error) *sym_nft_ctx_buffer_error;
static typeof(nft_run_cmd_from_buffer) *sym_nft_run_cmd_from_buffer;
static typeof(nft_ctx_get_error_buffer) *sym_nft_ctx_get_error_buffer;
static typeof(nft_ctx_get_output_buffer) *sym_nft_ctx_get_output_buffer;

static const DlopenSymbol libnftables_symbols[] = {
        DLSYM(nft_ctx_new),
        DLSYM(nft_ctx_free),
        DLSYM(nft_ctx_output_set_flags),
        DLSYM(nft_ctx_buffer_output),
        DLSYM(nft_ctx_buffer_error),
        DLSYM(nft_run_cmd_from_buffer),
        DLSYM(nft_ctx_get_error_buffer),
        DLSYM(nft_ctx_get_output_buffer),
        {},
};
static DlopenLibrary libnftables_library = DLOPEN_LIBRARY_INIT(LIBNFTABLES_SONAME, libnftables_symbols);

static void nft_ctx_freep(struct nft_ctx **c) {
        if (*c)
                sym_nft_ctx_free(*c);
}

static int nft_open(bool json, struct nft_ctx **ret, const char *object, Diag *diag) {
        const char *detail = NULL;
        int r = dlopen_library(&libnftables_library, &detail);
        if (r < 0)
                return diag_fail(diag, r, object, "%s (needed for the firewall rules)", detail);
        struct nft_ctx *c = sym_nft_ctx_new(NFT_CTX_DEFAULT);
        if (!c)
                return -ENOMEM;
        if (json)
                sym_nft_ctx_output_set_flags(c, NFT_CTX_OUTPUT_JSON | NFT_CTX_OUTPUT_HANDLE);
        if (sym_nft_ctx_buffer_output(c) < 0 || sym_nft_ctx_buffer_error(c) < 0) {
                sym_nft_ctx_free(c);
                return -ENOMEM;
        }
        *ret = c;
        return 0;
}

/* The first line of libnftables' error text, for the cause. */
static const char *first_line(const char *s, char *buf, size_t size) {
        if (!s || !*s)
                return "nftables refused the rules";
        size_t n = strcspn(s, "\n");
        snprintf(buf, size, "%.*s", (int) MIN(n, size - 1), s);
        return buf;
}

/* Runs a batch of commands (one transaction: all or nothing). */
static int nft_run(const char *cmds, const char *object, Diag *diag) {
        _cleanup_(nft_ctx_freep) struct nft_ctx *c = NULL;
        int r = nft_open(false, &c, object, diag);
        if (r < 0)
                return r;
        if (sym_nft_run_cmd_from_buffer(c, cmds) != 0) {
                char b[256];
                const char *e = sym_nft_ctx_get_error_buffer(c);
                /* The kernel side of libnftables reports errno-less; "No such file" means a missing
                 * nf_tables feature (module) in most cases. */
                return diag_fail(diag, -EPROTO, object, "nftables: %s", first_line(e, b, sizeof(b)));
        }
        return 0;
}

/* Deletions. nf_tables commits them at once (the rules are gone when the reply comes), but the
 * release of the netlink socket that sent them then waits for the deferred destruction of what was
 * deleted: nft_rcv_nl_event() flushes nf_tables' destroy work, an RCU grace period (8…17 ms
 * measured here, on Linux 6.18, more than all the rest of a teardown). So a helper process sends
 * them: it reports the outcome as soon as the commit is done, then closes its socket and exits;
 * nobody waits for that (as nobody waits for a network namespace's destruction under
 * systemd-nspawn). Nothing is left to it but freeing. It is not reaped: a short-lived zombie of
 * ours until we exit (teardown is the end of a run; a sweep is rare), reaped by init then; a
 * second fork to have it reparented at once cost 1…5 ms under load. */
static int nft_run_detached(const char *cmds, const char *object, Diag *diag) {
        const char *detail = NULL;
        int r = dlopen_library(&libnftables_library, &detail);
        if (r < 0)
                return diag_fail(diag, r, object, "%s (needed for the firewall rules)", detail);
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return diag_fail(diag, negative_errno(), object, "pipe: %m");
        fflush(NULL);
        pid_t child = fork();
        if (child < 0) {
                r = negative_errno();
                close(p[0]);
                close(p[1]);
                return diag_fail(diag, r, object, "fork: %s", strerror(-r));
        }
        if (child == 0) {
                int null = open("/dev/null", O_RDWR | O_CLOEXEC);
                for (int fd = 0; fd < 3 && null >= 0; fd++)
                        (void) dup3(null, fd, 0); /* not the caller's terminal or pipes */
                int w = fcntl(p[1], F_DUPFD_CLOEXEC, 3);
                if (w < 0)
                        _exit(1);
                (void) close_range(3, (unsigned) w - 1, 0);
                (void) close_range((unsigned) w + 1, ~0U, 0);
                char msg[512] = "1nftables: cannot start";
                struct nft_ctx *c = sym_nft_ctx_new(NFT_CTX_DEFAULT);
                if (c && sym_nft_ctx_buffer_output(c) >= 0 && sym_nft_ctx_buffer_error(c) >= 0) {
                        if (sym_nft_run_cmd_from_buffer(c, cmds) == 0)
                                strcpy(msg, "0");
                        else {
                                char b[256];
                                snprintf(msg, sizeof(msg), "1nftables: %s",
                                        first_line(sym_nft_ctx_get_error_buffer(c), b, sizeof(b)));
                        }
                }
                if (write(w, msg, strlen(msg)) < 0) /* one write of < PIPE_BUF: read whole */
                        _exit(1);
                close(w);
                if (c)
                        sym_nft_ctx_free(c); /* the wait for the kernel, nobody else's */
                _exit(0);
        }
        close(p[1]);
        char msg[512];
        ssize_t n;
        while ((n = read(p[0], msg, sizeof(msg) - 1)) < 0 && errno == EINTR)
                ;
        close(p[0]);
        if (n <= 0)
                return diag_fail(diag, -EIO, object, "nftables: the helper process died");
        msg[n] = 0;
        if (msg[0] != '0')
                return diag_fail(diag, -EPROTO, object, "%s", msg + 1);
        return 0;
}

static const char base_chains[] =
        "add table inet " NET_NFT_TABLE "\n"
        "add chain inet " NET_NFT_TABLE " prerouting { type nat hook prerouting priority -100; policy accept; }\n"
        "add chain inet " NET_NFT_TABLE " output { type nat hook output priority -100; policy accept; }\n"
        "add chain inet " NET_NFT_TABLE " postrouting { type nat hook postrouting priority 100; policy accept; }\n"
        "add chain inet " NET_NFT_TABLE " guard { type filter hook prerouting priority -300; policy accept; }\n";

#define RULE "add rule inet " NET_NFT_TABLE " "

/* A stream for one transaction of rules, starting with the table's base chains. */
static FILE *rules_open(char **buf, size_t *size) {
        FILE *f = open_memstream(buf, size);
        if (f)
                fputs(base_chains, f);
        return f;
}

/* A port forward's DNAT in one chain: to the container's address addr, for packets to any local
 * address that match (a further match, "" for none, ending in a space). */
static void add_dnat(FILE *f, const char *chain, bool ipv6, const char *match, const char *proto,
        const NetPortForward *p, const char *addr, const char *comment) {
        fprintf(f, RULE "%s meta nfproto %s %sfib daddr type local %s dport %u dnat %s to %s%s%s:%u comment \"%s\"\n",
                chain, ipv6 ? "ipv6" : "ipv4", match, proto, p->host_port, ipv6 ? "ip6" : "ip", ipv6 ? "[" : "", addr,
                ipv6 ? "]" : "", p->container_port, comment);
}

static void add_masquerade(FILE *f, const NetPrefix *subnet, const char *comment) {
        char s[NET_PREFIX_STRING_MAX];
        const char *fam = subnet->family == AF_INET ? "ip" : "ip6";
        net_prefix_to_string(subnet, s);
        fprintf(f, RULE "postrouting %s saddr %s %s daddr != %s masquerade comment \"%s\"\n", fam, s, fam, s, comment);
}

static void add_guard(FILE *f, const char *ifname, const char *comment) {
        fprintf(f, RULE "guard iifname \"%s\" ip daddr 127.0.0.0/8 drop comment \"%s\"\n", ifname, comment);
}

int net_nft_add_machine(const NetNftMachine *m, Diag *diag) {
        if (!net_machine_name_is_valid(m->machine))
                return diag_fail(diag, -EINVAL, m->machine, "invalid machine name");
        char comment[128];
        snprintf(comment, sizeof(comment), "cowpen machine %s", m->machine);
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f = rules_open(&buf, &size);
        if (!f)
                return -ENOMEM;
        if (m->guard_ifname)
                add_guard(f, m->guard_ifname, comment);
        if (m->masq4)
                add_masquerade(f, m->masq4, comment);
        if (m->masq6)
                add_masquerade(f, m->masq6, comment);
        for (size_t i = 0; i < m->n_ports; i++) {
                const NetPortForward *p = &m->ports[i];
                const char *proto = p->protocol == IPPROTO_UDP ? "udp" : "tcp";
                char a[NET_PREFIX_STRING_MAX];
                if (m->container4) {
                        net_addr_to_string(m->container4, a);
                        /* From elsewhere and from the host itself, to any local address. */
                        add_dnat(f, "prerouting", false, "", proto, p, a, comment);
                        add_dnat(f, "output", false, "", proto, p, a, comment);
                        /* From 127/8: the container must see an address it can answer. */
                        fprintf(f,
                                RULE "postrouting meta nfproto ipv4 ip saddr 127.0.0.0/8 ip daddr %s %s dport %u "
                                     "masquerade comment \"%s\"\n",
                                a, proto, p->container_port, comment);
                }
                if (m->container6) {
                        net_addr_to_string(m->container6, a);
                        add_dnat(f, "prerouting", true, "", proto, p, a, comment);
                        /* ::1 cannot be DNATed out (see the top): the forwarder serves it. */
                        add_dnat(f, "output", true, "ip6 daddr != ::1 ", proto, p, a, comment);
                }
        }
        if (fclose(f) != 0)
                return -ENOMEM;
        return nft_run(buf, m->machine, diag);
}

int net_nft_add_zone(
        const char *zone, const char *bridge, const NetPrefix *subnet4, const NetPrefix *subnet6, Diag *diag) {
        if (!net_machine_name_is_valid(zone) || !net_ifname_is_valid(bridge))
                return diag_fail(diag, -EINVAL, zone, "invalid zone name");
        char comment[128];
        snprintf(comment, sizeof(comment), "cowpen zone %s", zone);
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f = rules_open(&buf, &size);
        if (!f)
                return -ENOMEM;
        add_guard(f, bridge, comment);
        if (subnet4)
                add_masquerade(f, subnet4, comment);
        if (subnet6)
                add_masquerade(f, subnet6, comment);
        if (fclose(f) != 0)
                return -ENOMEM;
        return nft_run(buf, zone, diag);
}

/* Calls cb(chain, handle, comment) for each rule of our table; an absent table has none. */
static int for_each_rule(
        void (*cb)(const char *chain, int64_t handle, const char *comment, void *u), void *u, Diag *diag) {
        _cleanup_(nft_ctx_freep) struct nft_ctx *c = NULL;
        int r = nft_open(true, &c, NET_NFT_TABLE, diag);
        if (r < 0)
                return r;
        if (sym_nft_run_cmd_from_buffer(c, "list table inet " NET_NFT_TABLE) != 0) {
                const char *e = sym_nft_ctx_get_error_buffer(c);
                if (e && strstr(e, "No such file or directory"))
                        return 0; /* no table */
                char b[256];
                return diag_fail(diag, -EPROTO, NET_NFT_TABLE, "nftables: %s", first_line(e, b, sizeof(b)));
        }
        json_object *root = json_tokener_parse(sym_nft_ctx_get_output_buffer(c));
        json_object *list;
        if (!root || !json_object_object_get_ex(root, "nftables", &list) ||
                !json_object_is_type(list, json_type_array)) {
                json_object_put(root);
                return diag_fail(diag, -EBADMSG, NET_NFT_TABLE, "nftables: cannot read the JSON listing");
        }
        size_t n = json_object_array_length(list);
        for (size_t i = 0; i < n; i++) {
                json_object *o = json_object_array_get_idx(list, i), *rule, *v;
                if (!json_object_object_get_ex(o, "rule", &rule))
                        continue;
                const char *chain = NULL, *comment = NULL, *table = NULL;
                int64_t handle = -1;
                if (json_object_object_get_ex(rule, "table", &v))
                        table = json_object_get_string(v);
                if (json_object_object_get_ex(rule, "chain", &v))
                        chain = json_object_get_string(v);
                if (json_object_object_get_ex(rule, "handle", &v))
                        handle = json_object_get_int64(v);
                if (json_object_object_get_ex(rule, "comment", &v))
                        comment = json_object_get_string(v);
                if (!table || !streq(table, NET_NFT_TABLE) || !chain || handle < 0)
                        continue;
                cb(chain, handle, comment, u);
        }
        json_object_put(root);
        return 0;
}

typedef struct RemoveData {
        const char *comment;
        FILE *f;
        int n;
        int n_all;
} RemoveData;

static void remove_cb(const char *chain, int64_t handle, const char *comment, void *u) {
        RemoveData *d = u;
        d->n_all++;
        if (!comment || !streq(comment, d->comment))
                return;
        /* Chain names are ours (ASCII); handles are numbers. */
        fprintf(d->f, "delete rule inet " NET_NFT_TABLE " %s handle %lld\n", chain, (long long) handle);
        d->n++;
}

int net_nft_remove(NetNftOwnerKind kind, const char *name, Diag *diag) {
        char comment[128];
        snprintf(comment, sizeof(comment), "cowpen %s %s", kind == NET_NFT_ZONE ? "zone" : "machine", name);
        _cleanup_free_ char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        if (!f)
                return -ENOMEM;
        RemoveData d = {.comment = comment, .f = f};
        int r = for_each_rule(remove_cb, &d, diag);
        if (fclose(f) != 0)
                return -ENOMEM;
        if (r < 0)
                return r;
        if (d.n == 0)
                return 0;
        r = nft_run_detached(buf, name, diag);
        return r < 0 ? r : d.n;
}

static void owners_cb(const char *chain, int64_t handle, const char *comment, void *u) {
        char ***l = u;
        if (!comment || !startswith(comment, "cowpen "))
                return;
        const char *o = comment + STRLEN("cowpen ");
        if (!strv_contains(*l, o))
                (void) strv_extend(l, o);
}

int net_nft_owners(char ***ret, Diag *diag) {
        char **l = NULL;
        int r = for_each_rule(owners_cb, &l, diag);
        if (r < 0) {
                strv_free(l);
                return r;
        }
        if (!l && !(l = calloc(1, sizeof(char *))))
                return -ENOMEM;
        *ret = l;
        return 0;
}

static void count_cb(const char *chain, int64_t handle, const char *comment, void *u) {
        (*(int *) u)++;
}

int net_nft_delete_table(Diag *diag) {
        /* "delete" of a missing table fails; "add" first makes that a no-op either way. */
        return nft_run_detached(
                "add table inet " NET_NFT_TABLE "\ndelete table inet " NET_NFT_TABLE "\n", NET_NFT_TABLE, diag);
}

int net_nft_remove_table_if_unused(Diag *diag) {
        int n = 0;
        int r = for_each_rule(count_cb, &n, diag);
        if (r < 0)
                return r;
        if (n > 0)
                return 0;
        /* "delete" of a missing table fails; "add" first makes that a no-op either way. */
        r = nft_run_detached(
                "add table inet " NET_NFT_TABLE "\ndelete table inet " NET_NFT_TABLE "\n", NET_NFT_TABLE, diag);
        return r < 0 ? r : 1;
}
