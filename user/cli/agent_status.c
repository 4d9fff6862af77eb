// SPDX-License-Identifier: GPL-2.0-only
/*
 * `imapguard status`: the agent. The CLI shares no memory with imapguardd,
 * so this is what the system shows: the process holding the events' lock
 * (is it imapguardd?), the TCP sockets that process listens on (its
 * /proc/PID/fd inodes found among the LISTEN sockets of its own network
 * namespace's /proc/PID/net/tcp and tcp6), and the state file's mtime in
 * the state_dir of the policy in force (the agent renames a complete file
 * into place, so the mtime is its last write).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "events.h"
#include "policy.h"

#define AGENT_COMM "imapguardd"
#define STATE_FILE "state.json" /* as user/agent/state.c */
#define MAX_SOCKETS 64		/* the agent has a handful; more are not ours to list */

/* The inodes of the sockets process pid holds open; how many (<= max). */
static int socket_inodes(int pid, unsigned long *ino, int max)
{
	char path[64], link[64];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", pid);
	d = opendir(path);
	if (!d)
		return 0;
	while ((e = readdir(d)) && n < max) {
		char fd[64 + 256];
		ssize_t len;

		snprintf(fd, sizeof(fd), "%s/%s", path, e->d_name);
		len = readlink(fd, link, sizeof(link) - 1);
		if (len <= 0)
			continue;
		link[len] = '\0';
		if (sscanf(link, "socket:[%lu]", &ino[n]) == 1)
			n++;
	}
	closedir(d);
	return n;
}

/* "ADDR:PORT" ("[ADDR]:PORT") of a /proc/net/tcp{,6} local_address: the
 * address as the kernel's words in host order, the port in hex. */
static void proc_addr(const char *hex, int v6, char *out, size_t len)
{
	unsigned int w[4] = {}, port = 0;
	char a[INET6_ADDRSTRLEN];
	uint32_t words[4];

	if (v6)
		sscanf(hex, "%8x%8x%8x%8x:%x", &w[0], &w[1], &w[2], &w[3], &port);
	else
		sscanf(hex, "%8x:%x", &w[0], &port);
	for (int i = 0; i < 4; i++)
		words[i] = w[i]; /* already in memory order: the kernel printed its words */
	inet_ntop(v6 ? AF_INET6 : AF_INET, words, a, sizeof(a));
	snprintf(out, len, v6 ? "[%s]:%u" : "%s:%u", a, port);
}

/* The LISTEN sockets among inodes ino[n], as "ADDR:PORT" strings. */
static void listeners(int pid, const unsigned long *ino, int n, json_object *arr)
{
	static const char *const files[] = { "tcp", "tcp6" };

	for (int v6 = 0; v6 < 2; v6++) {
		char path[64], line[512], local[80], addr[INET6_ADDRSTRLEN + 16];
		unsigned int st;
		unsigned long inode;
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/net/%s", pid, files[v6]);
		f = fopen(path, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f)) {
			/* sl local rem st tx:rx tr:when retrnsmt uid timeout inode */
			if (sscanf(line, " %*s %79s %*s %x %*s %*s %*s %*s %*s %lu", local, &st,
				   &inode) != 3 || st != 0x0A /* TCP_LISTEN */)
				continue;
			for (int i = 0; i < n; i++)
				if (ino[i] == inode) {
					proc_addr(local, v6, addr, sizeof(addr));
					json_object_array_add(arr, json_object_new_string(addr));
				}
		}
		fclose(f);
	}
}

/* Is process pid imapguardd (by its comm)? */
static int is_agent(int pid)
{
	char path[64], comm[32] = "";
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (!fgets(comm, sizeof(comm), f))
		comm[0] = '\0';
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	return !strcmp(comm, AGENT_COMM);
}

json_object *cli_agent_status(const struct ig_handle *h)
{
	json_object *o = json_object_new_object(), *ls = json_object_new_array();
	int pid = ig_events_holder(h->pin), agent = pid > 0 && is_agent(pid);
	unsigned long ino[MAX_SOCKETS];
	char path[PATH_MAX + 16];
	struct ig_policy pol;
	struct ig_diag d = {};
	struct stat st;

	json_object_object_add(o, "running", json_object_new_boolean(agent));
	json_object_object_add(o, "pid", agent ? json_object_new_int(pid) : NULL);
	if (agent)
		listeners(pid, ino, socket_inodes(pid, ino, MAX_SOCKETS), ls);
	json_object_object_add(o, "listeners", ls);
	/* errors of the policy (an interface of another namespace, say)
	 * leave its state_dir readable */
	ig_policy_load(h->meta.policy_path, &pol, &d);
	ig_diag_free(&d);
	snprintf(path, sizeof(path), "%s/" STATE_FILE, pol.agent.state_dir);
	ig_policy_free(&pol);
	explicit_bzero(&pol, sizeof(pol)); /* its secrets are not ours to keep */
	json_object_object_add(o, "state_file", json_object_new_string(path));
	if (stat(path, &st) == 0) {
		json_object_object_add(o, "state_written_unix", json_object_new_int64(st.st_mtime));
		json_object_object_add(o, "state_age_seconds",
				       json_object_new_int64((int64_t)(time(NULL) - st.st_mtime)));
	} else {
		json_object_object_add(o, "state_written_unix", NULL);
		json_object_object_add(o, "state_age_seconds", NULL);
	}
	return o;
}

void cli_agent_status_print(const struct ig_handle *h)
{
	json_object *o = cli_agent_status(h), *v, *ls;

	json_object_object_get_ex(o, "running", &v);
	if (json_object_get_boolean(v)) {
		json_object_object_get_ex(o, "pid", &v);
		printf("agent:     imapguardd running (pid %d)", json_object_get_int(v));
		json_object_object_get_ex(o, "listeners", &ls);
		if (json_object_array_length(ls))
			printf(", listening on");
		for (size_t i = 0; i < json_object_array_length(ls); i++)
			printf("%s %s", i ? "," : "",
			       json_object_get_string(json_object_array_get_idx(ls, i)));
	} else {
		printf("agent:     imapguardd NOT RUNNING");
	}
	json_object_object_get_ex(o, "state_age_seconds", &v);
	if (v)
		printf("; state written %llds ago", (long long)json_object_get_int64(v));
	else
		printf("; no state written yet");
	json_object_object_get_ex(o, "state_file", &v);
	printf(" (%s)\n", json_object_get_string(v));
	json_object_put(o);
}
