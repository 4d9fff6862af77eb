// SPDX-License-Identifier: GPL-2.0-only
/* events: follow automatic blocks and their expiry, live, until interrupted. */
#include <errno.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "blocks.h"
#include "cli.h"
#include "events.h"
#include "log.h"
#include "nft.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

struct follow {
	struct cli *cli;
	struct ig_handle *h;
	int kill;
	int nft_dirty; /* blocks changed since the last nftables sync */
};

/* One event, as JSON or as text: the same whether it came from the ring or
 * from the agent's stream. Puts o. */
static void emit(const struct cli *cli, json_object *o)
{
	char line[512];

	if (cli->json) {
		cli_json_print(o);
		return;
	}
	ig_event_line(o, line, sizeof(line));
	puts(line);
	json_object_put(o);
}

static int on_event(const struct ig_event *ev, void *arg)
{
	struct follow *f = arg;
	json_object *o = ig_event_json(ev);
	int killed;

	/* the kernel blocked the source; only user space can end the sessions
	 * it already had open */
	if (f->kill && ev->type == IG_EV_BLOCK &&
	    !ig_event_kill_sessions(f->h, ev, &killed))
		json_object_object_add(o, "sessions_killed", json_object_new_int(killed));
	f->nft_dirty = 1; /* followed into nftables once the ring is drained */
	emit(f->cli, o);
	fflush(stdout);
	return 0;
}

/* The agent owns the ring: follow its stream instead. */
static int follow_agent(struct cli *cli, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[4096], *nl;
	size_t have = 0;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		ig_err("imapguardd consumes the events, but its stream %s is unreachable: %s",
		       path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return EXIT_FAIL;
	}
	while (!stop) {
		ssize_t n = recv(fd, buf + have, sizeof(buf) - 1 - have, 0);

		if (n <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			break;
		}
		have += (size_t)n;
		buf[have] = '\0';
		while ((nl = strchr(buf, '\n'))) {
			json_object *o;

			*nl = '\0';
			o = json_tokener_parse(buf);
			if (o)
				emit(cli, o);
			else
				ig_warn("the agent sent a line that is not JSON; skipped");
			have -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, have + 1);
		}
		if (have == sizeof(buf) - 1)
			have = 0; /* a line longer than any event: drop it */
		fflush(stdout);
	}
	close(fd);
	if (!stop) {
		ig_err("the agent closed the event stream");
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

struct events_args {
	int no_kill;
};

static const struct cli_opt opts[] = {
	CLI_OPTION("no-kill", CLI_FLAG, struct events_args, no_kill,
		   .help = "leave the blocked sources' open sessions alone"),
	CLI_OPTIONS_END,
};

static int run(struct cli *cli, void *args, int argc, char **argv)
{
	const struct events_args *a = args;
	struct follow f = { .cli = cli, .kill = !a->no_kill };
	struct sigaction sa = { .sa_handler = on_signal };
	struct ring_buffer *rb;
	struct ig_handle h;
	int rc, err = 0, lock_fd = -1;

	(void)argc, (void)argv;
	if ((rc = cli_open(cli, &h)))
		return rc;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* the same lock imapguardd holds while it consumes the ring: two
	 * consumers would each see half the events */
	lock_fd = ig_events_lock(cli->pin);
	if (lock_fd == -EBUSY) {
		char sock[sizeof(h.meta.agent_sock)];

		memcpy(sock, h.meta.agent_sock, sizeof(sock));
		ig_handle_close(&h);
		if (!sock[0]) {
			ig_err("another process consumes the events of %s", cli->pin);
			return EXIT_FAIL;
		}
		/* the agent ends the sessions itself, whatever we ask */
		if (!f.kill)
			ig_warn("--no-kill has no effect while imapguardd consumes the events");
		return follow_agent(cli, sock);
	}
	if (lock_fd < 0) {
		ig_err("cannot lock the event ring of %s: %s", cli->pin, strerror(-lock_fd));
		ig_handle_close(&h);
		return EXIT_FAIL;
	}
	f.h = &h;
	rb = ig_events_open(&h, on_event, &f);
	if (!rb) {
		ig_err("cannot read the event ring: %s", cli_strerror(-errno));
		close(lock_fd);
		ig_handle_close(&h);
		return EXIT_FAIL;
	}
	while (!stop) {
		err = ring_buffer__poll(rb, 200);
		if (err == -EINTR)
			err = 0;
		/* what the pins want now (an apply may have changed it) */
		if (f.nft_dirty && (ig_meta_read(&h, &h.meta) ||
				    ig_nft_wanted(&h.meta) == IG_NFT_NONE)) {
			f.nft_dirty = 0;
		} else if (f.nft_dirty && !ig_trylock(cli->pin, &h.lock_fd)) {
			/* under the pins' lock, as the CLI changes blocks: a sync
			 * that saw half of a change would undo the other half
			 * (busy: the next poll tries again) */
			int rc = ig_nft_sync_dynamic(&h);

			ig_unlock(&h.lock_fd);
			/* one sync for a whole burst of events; > 0: some changes
			 * wait on elements about to lapse, so the next poll (200
			 * ms) tries again */
			if (rc == -ENOENT)
				ig_warn("the nftables table inet %s is missing: this block is not in "
					"it; run 'imapguard apply' (or imapguardd, which rebuilds it)",
					IG_NFT_TABLE);
			else if (rc < 0)
				ig_warn("nftables block sets not updated: %s", strerror(-rc));
			f.nft_dirty = rc > 0; /* an error waits for the next event */
		}
		if (err < 0)
			break;
	}
	ring_buffer__free(rb);
	ig_handle_close(&h);
	close(lock_fd);
	if (err < 0) {
		ig_err("reading events: %s", cli_strerror(err));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

const struct cli_cmd cli_cmd_events = {
	.name = "events",
	.help = "follow automatic blocks and their expiry, live;\n"
		"ends the blocked sources' open sessions unless --no-kill",
	.doc = "Follow automatic blocks and their expiry, live, until interrupted. While\n"
	       "imapguardd consumes the events, its stream is followed instead.",
	.opts = opts,
	.args_size = sizeof(struct events_args),
	.run = run,
};
