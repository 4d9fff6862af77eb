// SPDX-License-Identifier: GPL-2.0-only
/* events: follow automatic blocks and their expiry, live, until interrupted. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <bpf/libbpf.h>

#include "blocks.h"
#include "cli.h"
#include "events.h"
#include "log.h"

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
};

static int on_event(const struct ig_event *ev, void *arg)
{
	struct follow *f = arg;
	int killed = -1;

	/* the kernel blocked the source; only user space can end the sessions
	 * it already had open */
	if (f->kill && ev->type == IG_EV_BLOCK &&
	    ig_event_kill_sessions(f->h, ev, &killed))
		killed = -1;
	if (f->cli->json) {
		json_object *o = ig_event_json(ev);

		if (killed >= 0)
			json_object_object_add(o, "sessions_killed", json_object_new_int(killed));
		cli_json_print(o);
	} else {
		char line[512];

		ig_event_text(ev, line, sizeof(line));
		if (killed > 0)
			printf("%s; %d open session%s ended\n", line, killed, killed == 1 ? "" : "s");
		else
			printf("%s\n", line);
	}
	fflush(stdout);
	return 0;
}

int cmd_events(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "no-kill", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	struct follow f = { .cli = cli, .kill = 1 };
	struct sigaction sa = { .sa_handler = on_signal };
	struct ring_buffer *rb;
	struct ig_handle h;
	int c, rc, err = 0;

	optind = 0;
	while ((c = getopt_long(argc, argv, "j", opts, NULL)) != -1) {
		if (c == 'j') {
			cli->json = 1;
		} else if (c == 'n') {
			f.kill = 0;
		} else {
			fprintf(stderr, "usage: imapguard events [-j] [--no-kill]\n");
			return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "usage: imapguard events [-j] [--no-kill]\n");
		return EXIT_USAGE;
	}
	if ((rc = cli_open(cli, &h)))
		return rc;
	f.h = &h;
	rb = ig_events_open(&h, on_event, &f);
	if (!rb) {
		ig_err("cannot read the event ring: %s", cli_strerror(-errno));
		ig_handle_close(&h);
		return EXIT_FAIL;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	while (!stop) {
		err = ring_buffer__poll(rb, 200);
		if (err == -EINTR)
			err = 0;
		if (err < 0)
			break;
	}
	ring_buffer__free(rb);
	ig_handle_close(&h);
	if (err < 0) {
		ig_err("reading events: %s", cli_strerror(err));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}
