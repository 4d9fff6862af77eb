// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/membarrier.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "log.h"
#include "pins.h"

#define IG__MAP_NAME(id, name, cap) [IG_M_##id] = #name,
const char *const ig_map_names[IG_NR_MAPS] = { IG_MAPS(IG__MAP_NAME) };

#define IG_LOCK_WAIT_MS 10000

uint64_t ig_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void ig_pin_file(const char *pin, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", pin, name);
}

static int is_bpffs(const char *path)
{
	struct statfs st;

	return statfs(path, &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

static int mkdir_p(const char *path)
{
	char tmp[PATH_MAX];

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

int ig_pin_prepare(const char *pin)
{
	int err = mkdir_p(pin);

	/* /sys/fs/bpf is a sysfs directory until a bpffs is mounted on it,
	 * and sysfs refuses mkdir: mount the conventional bpffs first. */
	if (err && !strncmp(pin, "/sys/fs/bpf/", 12) && !is_bpffs("/sys/fs/bpf")) {
		if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700"))
			return -errno;
		ig_debug("mounted bpffs on /sys/fs/bpf");
		err = mkdir_p(pin);
	}
	if (err)
		return err;
	if (!is_bpffs(pin)) {
		if (mount("bpf", pin, "bpf", 0, "mode=0700"))
			return -errno;
		ig_debug("mounted bpffs on %s", pin);
	}
	return 0;
}

int ig_lock(const char *pin, int *fd)
{
	int waited = 0;

	*fd = open(pin, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*fd < 0)
		return -errno;
	while (flock(*fd, LOCK_EX | LOCK_NB)) {
		if (errno != EWOULDBLOCK || waited >= IG_LOCK_WAIT_MS) {
			int err = errno == EWOULDBLOCK ? -EBUSY : -errno;

			close(*fd);
			*fd = -1;
			return err;
		}
		if (waited == 0)
			ig_debug("waiting for another imapguard holding %s", pin);
		usleep(20000);
		waited += 20;
	}
	return 0;
}

int ig_trylock(const char *pin, int *fd)
{
	int err;

	*fd = open(pin, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*fd < 0)
		return -errno;
	if (!flock(*fd, LOCK_EX | LOCK_NB))
		return 0;
	err = errno == EWOULDBLOCK ? -EBUSY : -errno;
	close(*fd);
	*fd = -1;
	return err;
}

void ig_unlock(int *fd)
{
	if (*fd >= 0) {
		flock(*fd, LOCK_UN);
		close(*fd);
	}
	*fd = -1;
}

uint64_t ig_netns_ino(void)
{
	struct stat st;

	return stat("/proc/self/ns/net", &st) ? 0 : (uint64_t)st.st_ino;
}

int ig_boot_id(uint8_t id[16])
{
	char text[64];
	FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
	int n = 0;

	if (!f)
		return -errno;
	if (!fgets(text, sizeof(text), f)) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	for (const char *c = text; *c && *c != '\n' && n < 32; c++) {
		unsigned int v;

		if (*c == '-')
			continue;
		if (sscanf(c, "%1x", &v) != 1)
			return -EINVAL;
		id[n / 2] = (uint8_t)(n % 2 ? id[n / 2] | v : v << 4);
		n++;
	}
	return n == 32 ? 0 : -EINVAL;
}

void ig_boot_id_str(const uint8_t id[16], char buf[37])
{
	char *p = buf;

	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*p++ = '-';
		p += sprintf(p, "%02x", id[i]);
	}
}

/*
 * Test builds only: tests/bpf/test_sync.c compiles this file itself with
 * IG_TEST_HOOKS to fail a mechanism on purpose and see which one ran. The
 * shipped library has no such switch.
 */
#ifdef IG_TEST_HOOKS
int ig_test_sync_fail; /* bit 0: the map-in-map update fails, bit 1: membarrier */
int ig_test_sync_used; /* 1: map-in-map, 2: membarrier, 0: none */
#define IG_TEST_FAIL(bit) (ig_test_sync_fail & (bit))
#define IG_TEST_USED(n) (ig_test_sync_used = (n))
#else
#define IG_TEST_FAIL(bit) 0
#define IG_TEST_USED(n) ((void)0)
#endif

/*
 * Replacing the inner map of an ARRAY_OF_MAPS returns only after the
 * kernel's synchronize_rcu() (kernel/bpf/syscall.c, map_update_elem ->
 * maybe_wait_bpf_programs, since 4.19; still so in 6.18), and XDP and tc
 * programs run inside RCU read-side sections: a grace period, on every
 * kernel with BPF, nohz_full included. A throwaway pair of maps costs two
 * small allocations per call; callers are rare (a policy switch).
 */
static int sync_map_in_map(void)
{
	LIBBPF_OPTS(bpf_map_create_opts, o);
	int inner, outer, err = 0;
	__u32 key = 0;

	if (IG_TEST_FAIL(1))
		return -ENOSYS;
	inner = bpf_map_create(BPF_MAP_TYPE_ARRAY, "igsync_inner", 4, 4, 1, NULL);
	if (inner < 0)
		return -errno;
	o.inner_map_fd = inner;
	outer = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "igsync_outer", 4, 4, 1, &o);
	/* the kernel waits only after a successful update */
	if (outer < 0 || bpf_map_update_elem(outer, &key, &inner, BPF_ANY))
		err = -errno;
	if (outer >= 0)
		close(outer);
	close(inner);
	return err;
}

int ig_sync_programs(void)
{
	int err = sync_map_in_map();

	if (!err) {
		IG_TEST_USED(1);
		return 0;
	}
	/* Fallback (the maps could not be made, e.g. out of memory):
	 * MEMBARRIER_CMD_GLOBAL calls synchronize_rcu() too; nohz_full
	 * kernels refuse it, and then there is no grace period to offer. */
	ig_debug("map-in-map grace period failed (%s); trying membarrier", strerror(-err));
	if (!IG_TEST_FAIL(2) && syscall(SYS_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0) == 0) {
		IG_TEST_USED(2);
		return 0;
	}
	IG_TEST_USED(0);
	return IG_TEST_FAIL(2) ? -EINVAL : -errno;
}

int ig_meta_read(struct ig_handle *h, struct ig_meta *out)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info), key = 0;
	struct ig_meta *m;
	int err = 0;

	if (bpf_obj_get_info_by_fd(h->fd[IG_M_META], &info, &len))
		return -errno;
	/* magic and schema are the first 8 bytes of every version */
	if (info.value_size < 8 || info.value_size > 65536)
		goto foreign;
	m = calloc(1, info.value_size);
	if (!m)
		return -ENOMEM;
	if (bpf_map_lookup_elem(h->fd[IG_M_META], &key, m)) {
		err = -errno;
	} else if (m->magic != IG_META_MAGIC) {
		free(m);
		goto foreign;
	} else if (m->schema != IG_SCHEMA_VERSION || info.value_size != sizeof(h->meta)) {
		ig_err("pins in %s were made by schema %u; this imapguard speaks "
		       "schema %u. Unload with the matching binary (or remove %s) "
		       "before applying with this one",
		       h->pin, m->schema, IG_SCHEMA_VERSION, h->pin);
		err = -EPROTO;
	} else {
		memcpy(out, m, sizeof(*out));
	}
	free(m);
	return err;
foreign:
	ig_err("%s/%s is not an imapguard metadata map", h->pin, ig_map_names[IG_M_META]);
	return -EPROTO;
}

int ig_handle_open(struct ig_handle *h, const char *pin)
{
	char path[PATH_MAX];
	int err;

	memset(h, 0, sizeof(*h));
	h->lock_fd = -1;
	for (int i = 0; i < IG_NR_MAPS; i++)
		h->fd[i] = -1;
	snprintf(h->pin, sizeof(h->pin), "%s", pin);

	ig_pin_file(pin, ig_map_names[IG_M_META], path, sizeof(path));
	h->fd[IG_M_META] = bpf_obj_get(path);
	if (h->fd[IG_M_META] < 0) {
		err = errno == ENOENT || errno == ENOTDIR ? -ENOENT : -errno;
		goto fail;
	}
	err = ig_meta_read(h, &h->meta);
	if (err)
		goto fail;
	for (int i = 0; i < IG_NR_MAPS; i++) {
		if (h->fd[i] >= 0)
			continue;
		ig_pin_file(pin, ig_map_names[i], path, sizeof(path));
		h->fd[i] = bpf_obj_get(path);
		if (h->fd[i] < 0) {
			err = -errno;
			ig_err("%s is missing (%s): the pins are incomplete; run "
			       "'imapguard unload' and apply again", path, strerror(errno));
			goto fail;
		}
	}
	h->cfg = mmap(NULL, sizeof(*h->cfg), PROT_READ | PROT_WRITE, MAP_SHARED,
		      h->fd[IG_M_CFG], 0);
	if (h->cfg == MAP_FAILED) {
		err = -errno;
		goto fail;
	}
	h->cnt = mmap(NULL, IG_SUMCNT_ENTRIES * sizeof(*h->cnt), PROT_READ | PROT_WRITE,
		      MAP_SHARED, h->fd[IG_M_SUMCNT], 0);
	if (h->cnt == MAP_FAILED) {
		err = -errno;
		goto fail;
	}
	return 0;
fail:
	ig_handle_close(h);
	return err;
}

void ig_handle_close(struct ig_handle *h)
{
	if (h->cfg && h->cfg != MAP_FAILED)
		munmap(h->cfg, sizeof(*h->cfg));
	h->cfg = NULL;
	if (h->cnt && h->cnt != MAP_FAILED)
		munmap(h->cnt, IG_SUMCNT_ENTRIES * sizeof(*h->cnt));
	h->cnt = NULL;
	for (int i = 0; i < IG_NR_MAPS; i++) {
		if (h->fd[i] >= 0)
			close(h->fd[i]);
		h->fd[i] = -1;
	}
	ig_unlock(&h->lock_fd);
}

int ig_meta_write(struct ig_handle *h)
{
	__u32 key = 0;

	return bpf_map_update_elem(h->fd[IG_M_META], &key, &h->meta, BPF_ANY) ? -errno : 0;
}
