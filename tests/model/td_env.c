#include "tests/model/td_env.h"

#include <dirent.h>
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tdx/tdx.h"
#include "tests/model/fake_tdvf.h"
#include "vmm/err.h"

#define MALLOC_TUNABLES "glibc.malloc.tcache_count=0:glibc.malloc.mmap_threshold=131072"

static struct td_env *current;

static void count_sleep(unsigned us)
{
	(void)us;
	if (current)
		current->sleeps++;
}

void td_env_tune_malloc(char **argv)
{
	if (getenv("KVMRUN_TD_ENV_TUNED"))
		return;
	setenv("KVMRUN_TD_ENV_TUNED", "1", 1);
	setenv("GLIBC_TUNABLES", MALLOC_TUNABLES, 1);
	execv("/proc/self/exe", argv);
	/* Without the re-exec the counts may be off by libc caches; keep going anyway. */
}

int td_env_count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;    /* the directory's own fd */
}

long td_env_mapped_kib(void)
{
	FILE *f = fopen("/proc/self/maps", "re");
	unsigned long lo, hi;
	char line[512];
	long kib = 0;

	if (!f)
		return -1;
	/*
	 * Sizes, not lines: the kernel merges and splits neighbouring VMAs, and
	 * in a forked test child a grown heap shows as a second [heap] line.
	 * The heap itself is left to the malloc accounting.
	 */
	while (fgets(line, sizeof(line), f))
		if (!strstr(line, "[heap]") && sscanf(line, "%lx-%lx", &lo, &hi) == 2)
			kib += (long)((hi - lo) >> 10);
	fclose(f);
	return kib;
}

size_t td_env_heap(void)
{
	return mallinfo2().uordblks;
}

static void write_fw(struct td_env *e)
{
	FILE *f = fopen(e->fw, "we");

	if (!f || fwrite(e->img, 1, e->img_size, f) != e->img_size) {
		fprintf(stderr, "cannot write %s\n", e->fw);
		abort();
	}
	fclose(f);
}

void td_env_init(struct td_env *e, const struct tdx_model_config *mc)
{
	struct tdx_tuning t = { .init_vm_attempts = 20, .busy_attempts = 100,
				.sleep_us = count_sleep };
	struct optlist *o;

	memset(e, 0, sizeof(*e));
	current = e;
	snprintf(e->dir, sizeof(e->dir), "/tmp/kvmrun-td-XXXXXX");
	if (!mkdtemp(e->dir))
		abort();
	snprintf(e->fw, sizeof(e->fw), "%s/tdvf.fd", e->dir);
	snprintf(e->log, sizeof(e->log), "%s/tdx.log", e->dir);
	t.sysfs_root = e->dir;               /* no module/kvm_intel: "unknown" */
	tdx_set_tuning(&t);
	e->img_size = FAKE_TDVF_CLEAN_SIZE;
	e->img = malloc(e->img_size);
	if (!e->img)
		abort();
	fake_tdvf_clean_example(e->img);
	write_fw(e);
	if (tdx_model_new(mc, &e->m) < 0)
		abort();
	e->cfg.machine = MACHINE_Q35;
	e->cfg.machine_set = true;
	e->cfg.irqchip = IRQCHIP_SPLIT;
	e->cfg.confidential_guest_support = (char *)"tdx0";
	e->cfg.bios = e->fw;
	e->cfg.ram_size = 256 * MiB;
	e->cfg.smp_cpus = 2;
	e->cfg.tdx_log = e->log;
	o = &e->cfg.objects[e->cfg.nobjects++];
	o->name = (char *)"tdx-guest";
	o->props[o->nprops].key = (char *)"id";
	o->props[o->nprops++].val = (char *)"tdx0";
	td_env_baseline(e);
}

void td_env_prop(struct td_env *e, const char *key, const char *val)
{
	struct optlist *o = &e->cfg.objects[0];
	int i;

	for (i = 0; i < o->nprops; i++) {
		if (!strcmp(o->props[i].key, key)) {
			o->props[i].val = (char *)val;
			return;
		}
	}
	o->props[o->nprops].key = (char *)key;
	o->props[o->nprops++].val = (char *)val;
}

void td_env_firmware(struct td_env *e, const uint8_t *img, size_t size)
{
	free(e->img);
	e->img = malloc(size);
	if (!e->img)
		abort();
	memcpy(e->img, img, size);
	e->img_size = size;
	write_fw(e);
	td_env_baseline(e);      /* the new image buffer is ours, not a leak */
}

void td_env_baseline(struct td_env *e)
{
	if (!e->kvm_open) {
		struct tdx_machine *td;
		char *bios = e->cfg.bios;

		if (kvm_open(&e->kvm, tdx_model_backend(e->m), NULL) < 0) {
			fprintf(stderr, "kvm_open on the model failed\n");
			abort();
		}
		e->kvm_open = true;
		/* Warm up libc's lazily created state (stdio) with a setup that stops early. */
		e->cfg.bios = NULL;
		if (tdx_machine_setup(&e->kvm, &e->cfg, NULL, &td) == 0)
			abort();
		e->cfg.bios = bios;
		err_clear();
	}
	e->fds = td_env_count_fds();
	e->heap = td_env_heap();
	e->maps = td_env_mapped_kib();
}

bool td_env_no_leaks(struct td_env *e, char *why, size_t len)
{
	int fds = td_env_count_fds();
	long maps = td_env_mapped_kib();
	size_t heap = td_env_heap();

	if (fds != e->fds) {
		snprintf(why, len, "fds %d -> %d", e->fds, fds);
		return false;
	}
#ifndef __SANITIZE_ADDRESS__
	/*
	 * Under AddressSanitizer its allocator maps memory of its own and
	 * mallinfo() no longer sees the heap: LeakSanitizer checks the heap at
	 * exit instead, and the fd and model checks below still apply.
	 */
	if (maps != e->maps) {
		snprintf(why, len, "mapped memory %ld -> %ld KiB", e->maps, maps);
		return false;
	}
	if (heap != e->heap) {
		snprintf(why, len, "heap %zu -> %zu bytes", e->heap, heap);
		return false;
	}
#else
	(void)maps;
	(void)heap;
#endif
	/* Only the /dev/kvm fd of e->kvm remains open in the model. */
	if (tdx_model_open_fds(e->m) != 1 || tdx_model_live_vms(e->m) != 0) {
		snprintf(why, len, "model: %d fds, %d VMs open", tdx_model_open_fds(e->m),
			 tdx_model_live_vms(e->m));
		return false;
	}
	if (tdx_model_live_allocs(e->m) != 0) {
		snprintf(why, len, "model: %ld allocations alive", tdx_model_live_allocs(e->m));
		return false;
	}
	return true;
}

char *td_env_read_log(struct td_env *e)
{
	FILE *f = fopen(e->log, "re");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

void td_env_fini(struct td_env *e)
{
	if (e->kvm_open)
		kvm_close(&e->kvm);
	e->kvm_open = false;
	tdx_model_free(e->m);
	unlink(e->fw);
	unlink(e->log);
	rmdir(e->dir);
	free(e->img);
	tdx_set_tuning(NULL);
	current = NULL;
}
