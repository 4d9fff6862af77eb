// SPDX-License-Identifier: GPL-2.0-only
/*
 * A BPF ring buffer has one consumer position: two readers would steal
 * each other's events. The agent is the one reader while it runs, and it
 * repeats every event, as a JSON line, to `imapguard events` clients over a
 * unix socket (0600, root only) whose path it records in the pinned meta.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "agent.h"

/* Where `imapguard events` finds our stream, recorded in the pinned meta
 * (under the pins' lock: an apply writes the meta too). */
static int meta_set_sock(struct agent *a, const char *path)
{
	struct ig_meta m;
	int lock = -1, err;

	err = ig_lock(a->pin, &lock);
	if (err)
		return err;
	err = ig_meta_read(&a->h, &m);
	if (!err) {
		snprintf(m.agent_sock, sizeof(m.agent_sock), "%s", path);
		pthread_mutex_lock(&a->lock);
		a->h.meta = m;
		pthread_mutex_unlock(&a->lock);
		err = ig_meta_write(&a->h);
	}
	ig_unlock(&lock);
	return err;
}

int fanout_open(struct agent *a)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	mode_t old;
	int fd;

	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/events.sock",
			     a->pol.agent.state_dir) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	if (mkdir(a->pol.agent.state_dir, 0700) && errno != EEXIST)
		return -errno;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(sa.sun_path);
	old = umask(0077);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 8)) {
		int err = -errno;

		umask(old);
		close(fd);
		return err;
	}
	umask(old);
	a->fanout_fd = fd;
	return meta_set_sock(a, sa.sun_path);
}

void fanout_accept(struct agent *a)
{
	int c;

	pthread_mutex_lock(&a->fanout_lock);
	while ((c = accept4(a->fanout_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		if (a->nsubscribers >= (int)(sizeof(a->subscribers) / sizeof(a->subscribers[0]))) {
			close(c);
			continue;
		}
		a->subscribers[a->nsubscribers++] = c;
	}
	pthread_mutex_unlock(&a->fanout_lock);
}

void fanout_send(struct agent *a, const char *line)
{
	/* one send per reader, line and newline together; `imapguard events`
	 * reads lines of up to 4095 bytes (an event is a few hundred) */
	char buf[4096];
	int len = snprintf(buf, sizeof(buf), "%s\n", line);

	if (len < 0 || (size_t)len >= sizeof(buf))
		return;
	/* the main loop and the auth-policy threads both publish */
	pthread_mutex_lock(&a->fanout_lock);
	for (int i = 0; i < a->nsubscribers;) {
		if (send(a->subscribers[i], buf, (size_t)len, MSG_DONTWAIT | MSG_NOSIGNAL) == len) {
			i++;
			continue;
		}
		/* gone, or too slow to keep up: never let a reader stall us */
		close(a->subscribers[i]);
		a->subscribers[i] = a->subscribers[--a->nsubscribers];
	}
	pthread_mutex_unlock(&a->fanout_lock);
}

void fanout_close(struct agent *a)
{
	char path[PATH_MAX];

	for (int i = 0; i < a->nsubscribers; i++)
		close(a->subscribers[i]);
	a->nsubscribers = 0;
	if (a->fanout_fd >= 0) {
		close(a->fanout_fd);
		snprintf(path, sizeof(path), "%s/events.sock", a->pol.agent.state_dir);
		unlink(path);
		meta_set_sock(a, "");
	}
	a->fanout_fd = -1;
}
