// SPDX-License-Identifier: GPL-2.0-only
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "loconn.h"

int lo_up(void)
{
	struct ifreq ifr = {};
	int fd = socket(AF_INET, SOCK_DGRAM, 0), rc;

	strcpy(ifr.ifr_name, "lo");
	rc = ioctl(fd, SIOCGIFFLAGS, &ifr);
	ifr.ifr_flags |= IFF_UP;
	rc = rc ? rc : ioctl(fd, SIOCSIFFLAGS, &ifr);
	close(fd);
	return rc;
}

int lo_listener(int port)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port) };
	int fd = socket(AF_INET6, SOCK_STREAM, 0), zero = 0, one = 1;

	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 4096)) {
		close(fd);
		return -1;
	}
	return fd;
}

int lo_connect_n(const char *src, int port, int n)
{
	return lo_connect_to(src, strchr(src, ':') ? LO_SERVER6 : "127.0.0.1", port, n);
}

int lo_connect_to(const char *src, const char *dst, int port, int n)
{
	int ok = 0;

	for (int i = 0; i < n; i++) {
		int v6 = strchr(src, ':') != NULL, fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM, 0);
		struct sockaddr_storage s = {}, d = {};
		socklen_t len;

		if (v6) {
			struct sockaddr_in6 *a = (void *)&s, *b = (void *)&d;

			a->sin6_family = b->sin6_family = AF_INET6;
			inet_pton(AF_INET6, src, &a->sin6_addr);
			inet_pton(AF_INET6, dst, &b->sin6_addr);
			b->sin6_port = htons((uint16_t)port);
			len = sizeof(*a);
		} else {
			struct sockaddr_in *a = (void *)&s, *b = (void *)&d;

			a->sin_family = b->sin_family = AF_INET;
			inet_pton(AF_INET, src, &a->sin_addr);
			inet_pton(AF_INET, dst, &b->sin_addr);
			b->sin_port = htons((uint16_t)port);
			len = sizeof(*a);
		}
		if (!bind(fd, (struct sockaddr *)&s, len) && !connect(fd, (struct sockaddr *)&d, len))
			ok++;
		close(fd);
	}
	usleep(20000); /* let the final ACKs land */
	return ok;
}
