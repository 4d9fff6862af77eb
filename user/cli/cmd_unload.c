// SPDX-License-Identifier: GPL-2.0-only
/* unload [--force]: detach everything and remove the pins. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "apply.h"
#include "cli.h"
#include "events.h"
#include "log.h"

struct unload_args {
	int force;
};

static const struct cli_opt opts[] = {
	CLI_OPTION("force", CLI_FLAG, struct unload_args, force, .short_name = 'f',
		   .help = "stop the events' consumer (imapguardd) first"),
	CLI_OPTIONS_END,
};

/*
 * Unloading under a running agent would leave it enforcing nothing on
 * unpinned maps (blocks, grants and events going nowhere, silently): the
 * consumer of the events is stopped first with --force, else refused.
 */
static int stop_consumer(const struct cli *cli, int force)
{
	int pid = ig_events_holder(cli->pin);

	if (pid <= 0)
		return 0;
	if (!force) {
		ig_err("process %d (imapguardd or 'imapguard events') consumes the events of "
		       "%s; unloading now would leave it working on maps nothing reads. Stop "
		       "it first (systemctl stop imapguardd), or use 'imapguard unload "
		       "--force' to stop it and unload", pid, cli->pin);
		return -EBUSY;
	}
	if (kill(pid, SIGTERM) && errno != ESRCH) {
		ig_err("cannot stop process %d: %s", pid, strerror(errno));
		return -errno;
	}
	/* it lets go of the lock as it exits (the agent saves its state
	 * first); bounded: 10 s */
	for (int i = 0; i < 200; i++) {
		int fd = ig_events_lock(cli->pin);

		if (fd >= 0) {
			close(fd);
			return 0;
		}
		usleep(50000);
	}
	ig_err("process %d still holds the events of %s after 10 s", pid, cli->pin);
	return -ETIMEDOUT;
}

static int run(struct cli *cli, void *args, int argc, char **argv)
{
	const struct unload_args *a = args;
	int loaded, err;

	(void)argc, (void)argv;
	if (cli_need_root())
		return EXIT_FAIL;
	if (stop_consumer(cli, a->force))
		return EXIT_FAIL;
	err = ig_unload(cli->pin, &loaded);
	if (err)
		return EXIT_FAIL;
	if (cli->json) {
		json_object *o = json_object_new_object();

		json_object_object_add(o, "pin_path", json_object_new_string(cli->pin));
		json_object_object_add(o, "unloaded", json_object_new_boolean(loaded));
		cli_json_print(o);
	} else {
		printf(loaded ? "unloaded %s\n" : "nothing loaded under %s\n", cli->pin);
	}
	return EXIT_OK;
}

const struct cli_cmd cli_cmd_unload = {
	.name = "unload",
	.help = "detach everything and remove the pins",
	.doc = "Detach everything and remove the pins; exit 0 if nothing was loaded.\n"
	       "Refused (exit 1, naming the PID) while imapguardd or 'imapguard events'\n"
	       "consumes the events, unless --force.",
	.opts = opts,
	.args_size = sizeof(struct unload_args),
	.run = run,
};
