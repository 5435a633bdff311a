/*
 * A test environment for TD tests: a TDX ABI model, a struct kvm opened
 * on it, a struct config describing a TD (q35, split irqchip, tdx-guest
 * object, -bios with a generated TDVF image in a temporary file) and
 * leak accounting (open fds, heap bytes, mappings).
 */
#ifndef KVMRUN_TESTS_TD_ENV_H
#define KVMRUN_TESTS_TD_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tests/model/tdx_model.h"
#include "vmm/cli.h"
#include "vmm/kvm.h"

struct td_env {
	struct tdx_model *m;
	struct kvm kvm;
	bool kvm_open;
	struct config cfg;
	char dir[64];                /* temporary directory */
	char fw[96], log[96];
	uint8_t *img;                /* the firmware written to fw */
	size_t img_size;
	/* baselines */
	int fds;
	size_t heap;
	long maps;                   /* KiB mapped outside the heap */
	unsigned sleeps;             /* calls to the backoff sleep */
};

/* Model with @mc (NULL: defaults), CleanExample firmware, 256 MiB, 2 vCPUs. */
void td_env_init(struct td_env *e, const struct tdx_model_config *mc);
/* Add/replace a tdx-guest property. */
void td_env_prop(struct td_env *e, const char *key, const char *val);
/* Replace the firmware image (and retake the baselines). */
void td_env_firmware(struct td_env *e, const uint8_t *img, size_t size);
/* Open the struct kvm on the model (td_env_init does it) and take baselines. */
void td_env_baseline(struct td_env *e);
/* Close everything; returns true if fds, heap and mappings are back to the baseline. */
bool td_env_no_leaks(struct td_env *e, char *why, size_t len);
void td_env_fini(struct td_env *e);

/*
 * Call first in main(): re-executes the test with glibc's per-thread cache
 * off and a fixed mmap threshold, so heap and mapping counts are exact.
 */
void td_env_tune_malloc(char **argv);

int td_env_count_fds(void);
long td_env_mapped_kib(void);
size_t td_env_heap(void);
/* Read the whole -tdx-log file (malloc'd, NUL-terminated). */
char *td_env_read_log(struct td_env *e);

#endif
