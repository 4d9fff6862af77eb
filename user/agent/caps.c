// SPDX-License-Identifier: GPL-2.0-only
/*
 * Least privilege: once the policy is applied and the state restored, the
 * agent keeps only the capabilities its later work needs, before any thread
 * exists (capabilities are per thread, and threads inherit the creator's),
 * so libmicrohttpd and json-c parse requests in threads that never held
 * more. What remains, and why:
 *
 *   CAP_BPF        every bpf() call (Debian's unprivileged_bpf_disabled):
 *                  map reads and writes of blocks, grants and the ring, and
 *                  loading programs on a SIGHUP re-apply or a re-adoption
 *   CAP_NET_ADMIN  attaching XDP and tc and the sockops cgroup link on a
 *                  re-apply, the nftables writes, and SOCK_DESTROY of a
 *                  blocked source's sessions (sock_diag)
 *   CAP_SYS_ADMIN  looking up attached programs by id (libxdp, attach.c)
 *                  and mounting bpffs when a re-apply finds none
 *   CAP_NET_BIND_SERVICE  only when a listener's port is below 1024, where
 *                  binding needs it (the listeners bind after the drop)
 *
 * Everything else goes, from the effective, permitted, inheritable and
 * ambient sets, and from the bounding set when we may change it (CAP_SETPCAP;
 * under systemd the unit's CapabilityBoundingSet already holds only these).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <cap-ng.h>
#include <linux/capability.h>

#include "agent.h"

/* The listener at `listen` (HOST:PORT or "off") binds a port below 1024. */
static int low_port(const char *listen)
{
	struct sockaddr_storage ss;
	unsigned int len;
	uint16_t port;

	if (!strcmp(listen, "off") || ig_parse_listen(listen, &ss, &len))
		return 0;
	port = ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					: ((struct sockaddr_in *)&ss)->sin_port;
	return ntohs(port) < 1024;
}

int caps_drop(const struct agent *a, json_object *report)
{
	static const int base[] = { CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN };
	int keep[4], n = 0, m = 0, bounds, rc;
	json_object *names = json_object_new_array();

	for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++)
		keep[n++] = base[i];
	if (low_port(a->pol.agent.metrics_listen) ||
	    (a->pol.auth.enabled && low_port(a->pol.agent.policy_listen)))
		keep[n++] = CAP_NET_BIND_SERVICE;

	capng_get_caps_process();
	bounds = capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP);
	/* what we were not given (a narrower bounding set) we cannot keep */
	for (int i = 0, had = n; i < had; i++)
		if (capng_have_capability(CAPNG_PERMITTED, (unsigned int)keep[i]))
			keep[m++] = keep[i];
	n = m;
	capng_clear(CAPNG_SELECT_ALL);
	for (int i = 0; i < n; i++) {
		const char *name = capng_capability_to_name((unsigned int)keep[i]);
		char num[16];

		capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED | CAPNG_BOUNDING_SET,
			     (unsigned int)keep[i]);
		/* a libcap-ng older than the capability has no name for it */
		snprintf(num, sizeof(num), "%d", keep[i]);
		json_object_array_add(names, json_object_new_string(name ? name : num));
	}
	/* without CAP_SETPCAP the bounding set cannot change: whoever
	 * started us (systemd's CapabilityBoundingSet) chose it */
	rc = capng_apply(bounds ? CAPNG_SELECT_ALL : CAPNG_SELECT_CAPS | CAPNG_SELECT_AMBIENT);
	json_object_object_add(report, "capabilities", names);
	json_object_object_add(report, "bounding_set_cleared", json_object_new_boolean(bounds && !rc));
	return rc ? -EPERM : 0;
}
