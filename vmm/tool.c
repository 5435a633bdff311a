#include "vmm/tool.h"

#include <stdio.h>
#include <string.h>

#include "tdx/tdx.h"
#include "vmm/err.h"
#include "vmm/kvm.h"

/* kvmrun -tdx-capabilities [json]: what this host offers for TDX. */
static int tdx_caps(struct config *cfg)
{
	struct kvm kvm;
	int r;

	err_clear();
	r = kvm_open(&kvm, NULL, cfg->kvm_device);
	if (r < 0) {
		if (cfg->tdx_json)
			printf("{\"usable\":false,\"error\":\"%s\"}\n", err_get());
		else
			printf("TDX: not usable: %s\n", err_get());
		return 1;
	}
	r = tdx_print_capabilities(&kvm, cfg->tdx_json, stdout);
	kvm_close(&kvm);
	if (r < 0) {
		fprintf(stderr, "kvmrun: -tdx-capabilities: %s\n", err_get());
		return 1;
	}
	return r;
}

/* kvmrun tdx-measure TDVF.fd: the MRTD kvmrun's sequence will produce. */
static int tdx_measure(struct config *cfg)
{
	err_clear();
	if (tdx_measure_file(cfg->tdx_measure_file, stdout) < 0) {
		fprintf(stderr, "kvmrun: tdx-measure: %s\n", err_get());
		return 1;
	}
	return 0;
}

int tool_run(struct config *cfg)
{
	switch (cfg->action) {
	case CLI_TDX_CAPS:
		return tdx_caps(cfg);
	case CLI_TDX_MEASURE:
		return tdx_measure(cfg);
	default:
		fprintf(stderr, "kvmrun: internal error: no such tool\n");
		return 1;
	}
}
