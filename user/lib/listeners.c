// SPDX-License-Identifier: GPL-2.0-only
/*
 * Listening sockets from the kernel (sock_diag, libmnl), their owners from
 * /proc, and the network namespaces to look in. See listeners.h.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>

#include "listeners.h"
#include "log.h"

#define NETNS_RUN_DIR "/run/netns"
#define DIAG_TIMEOUT_S 5 /* a dump the kernel never ends is a bug; bounded anyway */
#define DIAG_BUF 32768	 /* a dump part is at most 32 KiB (netlink_dump, NLMSG_GOODSIZE up to it) */

struct dump_ctx {
	const char *netns;
	const uint16_t *ports;
	size_t nports;
	struct ig_listener **out;
	size_t *n;
	int added;
	int err;
};

static int port_wanted(const struct dump_ctx *c, uint16_t port)
{
	if (!c->nports)
		return 1;
	for (size_t i = 0; i < c->nports; i++)
		if (c->ports[i] == port)
			return 1;
	return 0;
}

static int attr_cb(const struct nlattr *a, void *data)
{
	const struct nlattr **tb = data;
	int type = mnl_attr_get_type(a);

	if (mnl_attr_type_valid(a, INET_DIAG_MAX) > 0)
		tb[type] = a;
	return MNL_CB_OK;
}

static int all_zero(const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

/* One inet_diag_msg: a listener, when its port is one we look for. */
static int msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct dump_ctx *c = data;
	const struct nlattr *tb[INET_DIAG_MAX + 1] = {};
	const struct inet_diag_msg *m;
	struct ig_listener *l, *grown;
	size_t alen;

	if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY)
		return MNL_CB_OK;
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*m)) {
		c->err = -EPROTO;
		return MNL_CB_ERROR;
	}
	m = mnl_nlmsg_get_payload(nlh);
	if (!port_wanted(c, ntohs(m->id.idiag_sport)))
		return MNL_CB_OK;
	if (m->idiag_family != AF_INET && m->idiag_family != AF_INET6)
		return MNL_CB_OK;
	mnl_attr_parse(nlh, sizeof(*m), attr_cb, tb);
	grown = realloc(*c->out, (*c->n + 1) * sizeof(**c->out));
	if (!grown) {
		c->err = -ENOMEM;
		return MNL_CB_ERROR;
	}
	*c->out = grown;
	l = &grown[(*c->n)++];
	memset(l, 0, sizeof(*l));
	snprintf(l->netns, sizeof(l->netns), "%s", c->netns ? c->netns : "");
	l->family = m->idiag_family;
	alen = l->family == AF_INET ? 4 : 16;
	memcpy(l->addr, m->id.idiag_src, alen);
	l->port = ntohs(m->id.idiag_sport);
	l->wildcard = all_zero(l->addr, alen);
	/* the kernel adds INET_DIAG_SKV6ONLY to every AF_INET6 socket */
	l->v6only = tb[INET_DIAG_SKV6ONLY] && mnl_attr_get_u8(tb[INET_DIAG_SKV6ONLY]);
	l->inode = m->idiag_inode;
	c->added++;
	return MNL_CB_OK;
}

/* One family's dump on an open socket into c. 0 or -errno. */
static int dump_family(struct mnl_socket *nl, int family, struct dump_ctx *c)
{
	char buf[DIAG_BUF];
	struct inet_diag_req_v2 *req;
	struct nlmsghdr *nlh;
	unsigned int seq = (unsigned int)family, portid = mnl_socket_get_portid(nl);
	ssize_t len;
	int rc;

	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
	req->sdiag_family = (uint8_t)family;
	req->sdiag_protocol = IPPROTO_TCP;
	req->idiag_states = 1u << TCP_LISTEN;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		len = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (len < 0)
			return -errno;
		rc = mnl_cb_run(buf, (size_t)len, seq, portid, msg_cb, c);
		if (rc == MNL_CB_STOP)
			return 0;
		if (rc < 0)
			return c->err ? c->err : -errno;
	}
}

int ig_listeners_dump(const char *netns, const uint16_t *ports, size_t nports,
		      struct ig_listener **out, size_t *n)
{
	struct dump_ctx c = { netns, ports, nports, out, n, 0, 0 };
	struct timeval tv = { .tv_sec = DIAG_TIMEOUT_S };
	struct mnl_socket *nl = mnl_socket_open(NETLINK_SOCK_DIAG);
	int err = 0;

	if (!nl) {
		err = -errno;
		ig_err("sock_diag: cannot open a netlink socket: %s", strerror(-err));
		return err;
	}
	setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		err = -errno;
	if (!err)
		err = dump_family(nl, AF_INET, &c);
	if (!err)
		err = dump_family(nl, AF_INET6, &c);
	mnl_socket_close(nl);
	if (err) {
		ig_err("sock_diag: listening sockets%s%s: %s", netns && *netns ? " in netns " : "",
		       netns ? netns : "", strerror(-err));
		return err;
	}
	return c.added;
}

/* The inode of "socket:[INODE]", or 0. */
static uint32_t socket_inode(const char *link)
{
	unsigned long v;
	char *end;

	if (strncmp(link, "socket:[", 8) != 0)
		return 0;
	errno = 0;
	v = strtoul(link + 8, &end, 10);
	if (errno || *end != ']' || v > UINT32_MAX)
		return 0;
	return (uint32_t)v;
}

static void read_comm(pid_t pid, char *comm)
{
	char path[64];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", (int)pid);
	comm[0] = '\0';
	f = fopen(path, "re");
	if (!f)
		return;
	if (fgets(comm, IG_COMM_LEN, f))
		comm[strcspn(comm, "\n")] = '\0';
	fclose(f);
}

/* Give each listener holding inode `ino` the owner pid, if it has none or
 * a higher one (the lowest PID: usually the master, not a worker). */
static int claim(struct ig_listener *l, size_t n, uint32_t ino, pid_t pid)
{
	int hit = 0;

	for (size_t i = 0; i < n; i++)
		if (l[i].inode == ino && (!l[i].pid || pid < l[i].pid)) {
			l[i].pid = pid;
			hit = 1;
		}
	return hit;
}

static void scan_fds(struct ig_listener *l, size_t n, pid_t pid)
{
	char path[64], link[64];
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return; /* gone, or a kernel thread */
	while ((e = readdir(d))) {
		ssize_t k;
		uint32_t ino;

		if (e->d_name[0] == '.')
			continue;
		k = readlinkat(dirfd(d), e->d_name, link, sizeof(link) - 1);
		if (k <= 0)
			continue;
		link[k] = '\0';
		ino = socket_inode(link);
		if (ino)
			claim(l, n, ino, pid);
	}
	closedir(d);
}

/* A /proc entry's PID, or 0 when it is not a process directory. */
static pid_t proc_pid(const char *name)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(name, &end, 10);
	return (errno || *end || v <= 0 || v > INT_MAX) ? 0 : (pid_t)v;
}

int ig_listeners_owners(struct ig_listener *l, size_t n)
{
	struct dirent *e;
	int owned = 0;
	DIR *d;

	if (!n)
		return 0;
	d = opendir("/proc");
	if (!d) {
		int err = -errno;

		ig_err("cannot read /proc: %s", strerror(-err));
		return err;
	}
	while ((e = readdir(d))) {
		pid_t pid = proc_pid(e->d_name);

		if (pid)
			scan_fds(l, n, pid);
	}
	closedir(d);
	for (size_t i = 0; i < n; i++)
		if (l[i].pid) {
			read_comm(l[i].pid, l[i].comm);
			owned++;
		}
	return owned;
}

int ig_netns_open(const char *name)
{
	char path[PATH_MAX];
	int fd;

	if (!name || !*name || strchr(name, '/') || name[0] == '.' ||
	    strlen(name) >= IG_NETNS_NAME_LEN)
		return -EINVAL;
	snprintf(path, sizeof(path), NETNS_RUN_DIR "/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int ig_netns_open_any(const char *name)
{
	char path[64];
	pid_t pid;
	int fd;

	if (!name || !*name)
		fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	else if (!strncmp(name, "pid:", 4) && (pid = proc_pid(name + 4))) {
		snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
	} else
		return ig_netns_open(name);
	return fd < 0 ? -errno : fd;
}

struct ns_job {
	int nsfd;
	int (*fn)(void *arg);
	void *arg;
	int rc;
};

static void *ns_thread(void *p)
{
	struct ns_job *j = p;

	if (setns(j->nsfd, CLONE_NEWNET)) {
		j->rc = -errno;
		ig_err("setns: cannot enter the network namespace: %s", strerror(errno));
		return NULL;
	}
	j->rc = j->fn(j->arg);
	return NULL;
}

int ig_netns_run(int nsfd, int (*fn)(void *arg), void *arg)
{
	struct ns_job j = { nsfd, fn, arg, 0 };
	pthread_t t;
	int err = pthread_create(&t, NULL, ns_thread, &j);

	if (err) {
		ig_err("cannot start a thread for a network namespace: %s", strerror(err));
		return -err;
	}
	pthread_join(t, NULL);
	return j.rc;
}

/* Append a namespace unless one with its identity is there. */
static int ns_add(struct ig_netns **out, size_t *n, const char *name, const struct stat *st)
{
	struct ig_netns *grown;

	for (size_t i = 0; i < *n; i++)
		if ((*out)[i].dev == st->st_dev && (*out)[i].ino == st->st_ino)
			return 0;
	grown = realloc(*out, (*n + 1) * sizeof(**out));
	if (!grown)
		return -ENOMEM;
	*out = grown;
	snprintf(grown[*n].name, sizeof(grown[*n].name), "%s", name);
	grown[*n].dev = st->st_dev;
	grown[*n].ino = st->st_ino;
	(*n)++;
	return 0;
}

int ig_netns_all(struct ig_netns **out, size_t *n)
{
	char path[PATH_MAX], name[IG_NETNS_NAME_LEN];
	struct dirent *e;
	struct stat st, self;
	int err = 0;
	DIR *d;

	*out = NULL;
	*n = 0;
	if (stat("/proc/thread-self/ns/net", &self)) {
		err = -errno;
		ig_err("cannot read /proc/thread-self/ns/net: %s", strerror(-err));
		return err;
	}
	err = ns_add(out, n, "", &self);
	d = opendir(NETNS_RUN_DIR);
	while (!err && d && (e = readdir(d))) {
		if (e->d_name[0] == '.' || strlen(e->d_name) >= IG_NETNS_NAME_LEN)
			continue;
		snprintf(path, sizeof(path), NETNS_RUN_DIR "/%s", e->d_name);
		/* a namespace is an nsfs inode, as ours; a leftover file whose
		 * mount is gone is not */
		if (stat(path, &st) == 0 && st.st_dev == self.st_dev)
			err = ns_add(out, n, e->d_name, &st);
	}
	if (d)
		closedir(d);
	d = opendir("/proc");
	if (!d) {
		err = err ? err : -errno;
		ig_err("cannot read /proc: %s", strerror(errno));
	}
	while (!err && d && (e = readdir(d))) {
		pid_t pid = proc_pid(e->d_name);

		if (!pid)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
		snprintf(name, sizeof(name), "pid:%d", (int)pid);
		if (stat(path, &st) == 0)
			err = ns_add(out, n, name, &st);
	}
	if (d)
		closedir(d);
	return err;
}
