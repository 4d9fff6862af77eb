// SPDX-License-Identifier: GPL-2.0-only
/* One agent per state_dir (statelock.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "statelock.h"

int state_lock(const char *state_dir, const char *pin, int *holder)
{
	char path[PATH_MAX], line[PATH_MAX + 32];
	ssize_t n;
	int fd, len;

	*holder = 0;
	if (mkdir(state_dir, 0700) && errno != EEXIST)
		return -errno;
	snprintf(path, sizeof(path), "%s/" STATE_LOCK_FILE, state_dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		int err = errno == EWOULDBLOCK ? -EBUSY : -errno;

		n = pread(fd, line, sizeof(line) - 1, 0);
		if (err == -EBUSY && n > 0) {
			line[n] = '\0';
			*holder = atoi(line);
		}
		close(fd);
		return err;
	}
	/* who holds it, for the refusal of the next one; best effort */
	len = snprintf(line, sizeof(line), "%d %s\n", (int)getpid(), pin);
	if (ftruncate(fd, 0) == 0 && len > 0)
		n = pwrite(fd, line, (size_t)len, 0);
	(void)n;
	return fd;
}
