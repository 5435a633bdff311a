/*
 * Unit tests for tdx/tdx.c (with tdx_cfg.c, tdx_log.c): the TD lifecycle
 * against the KVM TDX ABI model, configuration and host checks, every
 * error path with its message, and leak accounting after each failure.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tdx/hob.h"
#include "tdx/sha384.h"
#include "tdx/tdvf.h"
#include "tdx/tdx.h"
#include "tdx/tdx_cfg.h"
#include "tdx/tdx_err.h"
#include "tests/model/fake_tdvf.h"
#include "tests/model/td_env.h"
#include "tests/unit/support.h"
#include "vmm/err.h"
#include "vmm/vcpu.h"

/* 48 bytes 0x00..0x2f in base64 */
#define DIGEST_B64 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4v"

static void assert_no_leaks(struct td_env *e)
{
	char why[128];

	if (!td_env_no_leaks(e, why, sizeof(why)))
		ck_abort_msg("leak: %s", why);
}

/* Setup must fail with a message containing @what, and leave nothing behind. */
static void expect_setup_fail(struct td_env *e, const char *what)
{
	struct tdx_machine *td = (void *)1;
	int r;

	err_clear();
	r = tdx_machine_setup(&e->kvm, &e->cfg, NULL, &td);
	if (r >= 0 || !strstr(err_get(), what))
		ck_abort_msg("expected failure with \"%s\", got %d: \"%s\"", what, r, err_get());
	ck_assert_ptr_null(td);
	assert_no_leaks(e);
}

static struct tdx_machine *setup_ok(struct td_env *e)
{
	struct tdx_machine *td = NULL;
	int r;

	err_clear();
	r = tdx_machine_setup(&e->kvm, &e->cfg, NULL, &td);
	if (r < 0)
		ck_abort_msg("setup failed: %d %s", r, err_get());
	ck_assert_ptr_nonnull(td);
	return td;
}

static void hex48(const uint8_t *d, char out[97])
{
	sha384_hex(d, out);
}

START_TEST(test_happy_path)
{
	static const enum tdx_model_op want[] = {
		TM_OP_CREATE_VM, TM_OP_ENABLE_CAP_SPLIT_IRQCHIP, TM_OP_TDX_CAPABILITIES,
		TM_OP_TDX_CAPABILITIES, TM_OP_TDX_CAPABILITIES, TM_OP_ENABLE_CAP_APIC_BUS,
		TM_OP_ENABLE_CAP_HYPERCALL, TM_OP_TDX_INIT_VM,
		TM_OP_CREATE_VCPU, TM_OP_MMAP_RUN, TM_OP_SET_CPUID2, TM_OP_TDX_INIT_VCPU,
		TM_OP_CREATE_VCPU, TM_OP_MMAP_RUN, TM_OP_SET_CPUID2, TM_OP_TDX_INIT_VCPU,
		TM_OP_CREATE_GUEST_MEMFD, TM_OP_SET_MEMORY_REGION2, TM_OP_SET_MEMORY_ATTRIBUTES,
		TM_OP_CREATE_GUEST_MEMFD, TM_OP_SET_MEMORY_REGION2, TM_OP_SET_MEMORY_ATTRIBUTES,
		TM_OP_TDX_INIT_MEM_REGION, TM_OP_TDX_INIT_MEM_REGION, TM_OP_TDX_INIT_MEM_REGION,
		TM_OP_TDX_INIT_MEM_REGION, TM_OP_TDX_INIT_MEM_REGION, TM_OP_TDX_INIT_MEM_REGION,
		TM_OP_TDX_FINALIZE_VM,
	};
	enum tdx_model_op trace[256], ops[256];
	struct tdx_model_td_info info;
	uint8_t model_mrtd[48];
	char a[97], b[97];
	struct td_env e;
	struct tdx_machine *td;
	const uint8_t *page;
	size_t n, i, k = 0;
	uint64_t gpa;

	td_env_init(&e, NULL);
	td_env_prop(&e, "mrconfigid", DIGEST_B64);
	td = setup_ok(&e);
	/* The model saw the kernel's order and ends RUNNABLE with what we asked for. */
	ck_assert(tdx_model_td_info(e.m, &info));
	ck_assert_int_eq(info.state, 2);
	ck_assert(!info.bugged);
	ck_assert(info.split_irqchip);
	ck_assert_uint_eq(info.ioapic_pins, 24);
	ck_assert_uint_eq(info.apic_bus_ns, 40);
	ck_assert_uint_eq(info.hypercall_mask, BIT(12));
	ck_assert_uint_eq(info.attributes, TDX_ATTR_SEPT_VE_DISABLE);
	ck_assert_uint_eq(info.xfam, 0x2e7);
	ck_assert_int_eq(info.nvcpus, 2);
	ck_assert_int_eq(info.init_vcpus, 2);
	for (i = 0; i < 48; i++)
		ck_assert_uint_eq(info.mrconfigid[i], i);
	ck_assert_uint_eq(info.mrowner[0] | info.mrowner[47], 0);
	ck_assert_uint_eq(tdx_model_vcpu_rcx(e.m, 0), 0x809000);
	ck_assert_uint_eq(tdx_model_vcpu_rcx(e.m, 1), 0x809000);
	/* 0x1e0+0x20+0x10+0x2+0x2+0x6 pages */
	ck_assert_uint_eq(info.pages_added, 0x200 + 0x10 + 2 + 2 + 6);
	n = tdx_model_trace(e.m, trace, ARRAY_SIZE(trace));
	for (i = 0; i < n && i < ARRAY_SIZE(trace); i++)
		if (trace[i] != TM_OP_CHECK_EXTENSION && trace[i] != TM_OP_OTHER)
			ops[k++] = trace[i];
	ck_assert_uint_eq(k, ARRAY_SIZE(want));
	for (i = 0; i < k; i++)
		if (ops[i] != want[i])
			ck_abort_msg("op %zu: %s, expected %s", i, tdx_model_op_name(ops[i]),
				     tdx_model_op_name(want[i]));
	/* MRTD: model == prediction == the published vector. */
	ck_assert(tdx_model_last_mrtd(e.m, model_mrtd));
	hex48(model_mrtd, a);
	hex48(tdx_machine_mrtd(td), b);
	ck_assert_str_eq(a, b);
	ck_assert_str_eq(a, FAKE_TDVF_CLEAN_MRTD);
	/* Private memory holds the sections: the BFV from the file, the HOB we built. */
	page = tdx_model_private_page(e.m, 0xffe20000);
	ck_assert_ptr_nonnull(page);
	ck_assert_mem_eq(page, e.img + 0x20000, 4096);
	page = tdx_model_private_page(e.m, 0xfffff000);
	ck_assert_mem_eq(page, e.img + 0x1ff000, 4096);
	page = tdx_model_private_page(e.m, 0x809000);
	ck_assert_ptr_nonnull(page);
	ck_assert_uint_eq(ld_le16(page), HOB_TYPE_HANDOFF);
	ck_assert_uint_eq(ld_le16(page + 56), HOB_TYPE_RESOURCE_DESCRIPTOR);
	ck_assert_uint_eq(ld_le64(page + 56 + 32), 0);           /* RAM below the sections */
	ck_assert_uint_eq(ld_le32(page + 56 + 24), HOB_RESOURCE_MEMORY_UNACCEPTED);
	ck_assert_uint_eq(ld_le64(page + 104 + 32), 0x800000);   /* TEMP_MEM: added */
	ck_assert_uint_eq(ld_le32(page + 104 + 24), HOB_RESOURCE_SYSTEM_MEMORY);
	ck_assert_ptr_null(tdx_model_private_page(e.m, 0x100000));  /* not added */
	for (gpa = 0; gpa < 256 * MiB; gpa += 16 * MiB)
		ck_assert(tdx_model_is_private(e.m, gpa));
	ck_assert(tdx_model_is_private(e.m, 0xfff00000));
	ck_assert_int_eq(tdx_model_hkids_in_use(e.m), 1);
	tdx_machine_destroy(td);
	/* Teardown order inside the "kernel". */
	ck_assert_str_eq(tdx_model_destroy_log(e.m),
			 "TDH.MNG.VPFLUSHDONE TDH.PHYMEM.CACHE.WB(pkg0) TDH.PHYMEM.CACHE.WB(pkg1) "
			 "TDH.MNG.KEY.FREEID TDH.PHYMEM.PAGE.RECLAIM(TDVPR,vcpu0) "
			 "TDH.PHYMEM.PAGE.RECLAIM(TDVPR,vcpu1) TDH.PHYMEM.PAGE.RECLAIM(TDCS) "
			 "TDH.PHYMEM.PAGE.RECLAIM(TDR)");
	ck_assert_int_eq(tdx_model_hkids_in_use(e.m), 0);
	ck_assert_uint_eq(tdx_model_calls(e.m, TM_OP_SET_MEMORY_REGION2), 4);  /* 2 + 2 deletes */
	assert_no_leaks(&e);
	td_env_fini(&e);
}
END_TEST

START_TEST(test_lifecycle_log)
{
	static const char *const steps[] = {
		"\"step\":\"config\"", "\"step\":\"discovery\"", "\"step\":\"firmware\"",
		"\"step\":\"KVM_CREATE_VM\"", "\"step\":\"KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP)\"",
		"\"step\":\"KVM_TDX_CAPABILITIES\"", "\"step\":\"KVM_TDX_INIT_VM\"",
		"\"step\":\"KVM_CREATE_VCPU\"", "\"step\":\"KVM_SET_CPUID2\"",
		"\"step\":\"KVM_TDX_INIT_VCPU\"", "\"step\":\"KVM_CREATE_GUEST_MEMFD\"",
		"\"step\":\"KVM_SET_USER_MEMORY_REGION2\"", "\"step\":\"KVM_SET_MEMORY_ATTRIBUTES\"",
		"\"step\":\"KVM_TDX_INIT_MEM_REGION\"", "\"step\":\"KVM_TDX_FINALIZE_VM\"",
		"\"step\":\"teardown\"",
	};
	struct td_env e;
	char *log, *p, *line;
	size_t i;
	unsigned lines = 0, seq = 0;

	td_env_init(&e, NULL);
	tdx_model_faults(e.m)->create_no_entropy = 2;
	tdx_machine_destroy(setup_ok(&e));
	log = td_env_read_log(&e);
	ck_assert_ptr_nonnull(log);
	for (i = 0; i < ARRAY_SIZE(steps); i++)
		if (!strstr(log, steps[i]))
			ck_abort_msg("log lacks %s", steps[i]);
	/* The retried INIT_VM: attempts 1..3, the first two EAGAIN. */
	ck_assert_ptr_nonnull(strstr(log, "\"step\":\"KVM_TDX_INIT_VM\","
					  "\"ioctl\":\"KVM_MEMORY_ENCRYPT_OP\","
					  "\"target\":\"vm\",\"vcpu\":-1,\"attempt\":2"));
	ck_assert_ptr_nonnull(strstr(log, "\"errname\":\"EAGAIN\""));
	ck_assert_ptr_nonnull(strstr(log, "\"predicted_mrtd\":\"" FAKE_TDVF_CLEAN_MRTD "\""));
	ck_assert_ptr_nonnull(strstr(log, "\"hw_error\":\"0x0000000000000000\",\"hw_error_text\":"
					  "\"TDX_SUCCESS\""));
	/* One JSON object per line, seq counting up from 1. */
	for (p = log; (line = strsep(&p, "\n")) && *line;) {
		unsigned s;

		lines++;
		ck_assert_int_eq(line[0], '{');
		ck_assert_int_eq(line[strlen(line) - 1], '}');
		ck_assert_int_eq(sscanf(line, "{\"seq\":%u,", &s), 1);
		ck_assert_uint_eq(s, ++seq);
	}
	ck_assert_uint_gt(lines, 30);
	free(log);
	td_env_fini(&e);
}
END_TEST

START_TEST(test_measure_file)
{
	struct td_env e;
	char out[256] = "";
	FILE *f;

	td_env_init(&e, NULL);
	f = fmemopen(out, sizeof(out), "w");
	ck_assert_int_eq(tdx_measure_file(e.fw, f), 0);
	fclose(f);
	ck_assert_str_eq(out, FAKE_TDVF_CLEAN_MRTD "\n");
	err_clear();
	f = fmemopen(out, sizeof(out), "w");
	ck_assert_int_eq(tdx_measure_file("/nonexistent/x.fd", f), -ENOENT);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(err_get(), "firmware /nonexistent/x.fd: cannot open"));
	ck_assert_int_eq(tdx_measure_file("/usr/share/OVMF/OVMF_CODE_4M.fd", stdout) < 0 ||
				 access("/usr/share/OVMF/OVMF_CODE_4M.fd", R_OK) != 0, 1);
	td_env_fini(&e);
}
END_TEST

START_TEST(test_host_without_tdx)
{
	struct tdx_model_config mc;
	struct td_env e;
	char path[160];
	FILE *f;

	tdx_model_default_config(&mc);
	mc.vm_types = BIT(0);
	td_env_init(&e, &mc);
	expect_setup_fail(&e, "kernel without TDX support (KVM_CAP_VM_TYPES lacks KVM_X86_TDX_VM)");
	ck_assert_uint_eq(tdx_model_calls(e.m, TM_OP_CREATE_VM), 0);
	/* The kvm_intel module says tdx=N: the TDX module is the culprit. */
	snprintf(path, sizeof(path), "%s/module", e.dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/module/kvm_intel", e.dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/module/kvm_intel/parameters", e.dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/module/kvm_intel/parameters/tdx", e.dir);
	f = fopen(path, "w");
	fputs("N\n", f);
	fclose(f);
	td_env_baseline(&e);
	expect_setup_fail(&e, "TDX module not loaded/initialised (kvm_intel.tdx=N");
	unlink(path);
	snprintf(path, sizeof(path), "%s/module/kvm_intel/parameters", e.dir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/module/kvm_intel", e.dir);
	rmdir(path);
	snprintf(path, sizeof(path), "%s/module", e.dir);
	rmdir(path);
	td_env_fini(&e);
}
END_TEST

START_TEST(test_missing_components)
{
	static const struct {
		size_t off;
		const char *msg;
	} cases[] = {
		{ offsetof(struct tdx_model_config, no_split_irqchip), "KVM_CAP_SPLIT_IRQCHIP" },
		{ offsetof(struct tdx_model_config, no_apic_bus_cycles),
		  "KVM_CAP_X86_APIC_BUS_CYCLES_NS" },
		{ offsetof(struct tdx_model_config, no_exit_hypercall),
		  "KVM_CAP_EXIT_HYPERCALL lacks KVM_HC_MAP_GPA_RANGE" },
		{ offsetof(struct tdx_model_config, no_guest_memfd), "KVM_CAP_GUEST_MEMFD" },
		{ offsetof(struct tdx_model_config, no_mem_attributes),
		  "KVM_CAP_MEMORY_ATTRIBUTES lacks KVM_MEMORY_ATTRIBUTE_PRIVATE" },
		{ offsetof(struct tdx_model_config, no_user_memory2), "KVM_CAP_USER_MEMORY2" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct tdx_model_config mc;
		struct td_env e;

		tdx_model_default_config(&mc);
		*(bool *)((char *)&mc + cases[i].off) = true;
		td_env_init(&e, &mc);
		expect_setup_fail(&e, cases[i].msg);
		ck_assert_uint_eq(tdx_model_calls(e.m, TM_OP_CREATE_VM), 0);
		td_env_fini(&e);
	}
}
END_TEST

START_TEST(test_capabilities_report)
{
	struct tdx_model_config mc;
	struct td_env e;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	td_env_init(&e, NULL);
	f = open_memstream(&buf, &len);
	ck_assert_int_eq(tdx_print_capabilities(&e.kvm, false, f), 0);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "KVM_X86_TDX_VM"));
	ck_assert_ptr_nonnull(strstr(buf, "supported attributes  0x0000000010000000  SEPT_VE_DISABLE"));
	ck_assert_ptr_nonnull(strstr(buf, "configurable CPUID leaves: 12"));
	ck_assert_ptr_nonnull(strstr(buf, "TDX usable: yes"));
	free(buf);
	f = open_memstream(&buf, &len);
	ck_assert_int_eq(tdx_print_capabilities(&e.kvm, true, f), 0);
	fclose(f);
	ck_assert_int_eq(buf[0], '{');
	ck_assert_ptr_nonnull(strstr(buf, "\"tdx_vm_type\":true"));
	ck_assert_ptr_nonnull(strstr(buf, "\"supported_attrs_names\":[\"SEPT_VE_DISABLE\"]"));
	ck_assert_ptr_nonnull(strstr(buf, "\"supported_xfam_names\":[\"X87\",\"SSE\",\"AVX\""));
	ck_assert_ptr_nonnull(strstr(buf, "{\"function\":\"0x80000008\",\"index\":0,"
					  "\"eax\":\"0xff0000\""));
	ck_assert_ptr_nonnull(strstr(buf, "\"usable\":true,\"problem\":null}"));
	free(buf);
	assert_no_leaks(&e);
	td_env_fini(&e);

	tdx_model_default_config(&mc);
	mc.no_apic_bus_cycles = true;
	td_env_init(&e, &mc);
	f = open_memstream(&buf, &len);
	ck_assert_int_eq(tdx_print_capabilities(&e.kvm, true, f), 1);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "\"apic_bus_cycles_ns\":false"));
	ck_assert_ptr_nonnull(strstr(buf, "\"usable\":false,\"problem\":\"kernel without "
					  "KVM_CAP_X86_APIC_BUS_CYCLES_NS"));
	free(buf);
	td_env_fini(&e);

	tdx_model_default_config(&mc);
	mc.vm_types = 1;
	td_env_init(&e, &mc);
	f = open_memstream(&buf, &len);
	ck_assert_int_eq(tdx_print_capabilities(&e.kvm, false, f), 1);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "TDX usable: no: kernel without TDX support"));
	ck_assert_ptr_null(strstr(buf, "TDX module (KVM_TDX_CAPABILITIES)"));
	free(buf);
	td_env_fini(&e);
}
END_TEST

START_TEST(test_config_errors)
{
	static const struct {
		const char *key, *val, *msg;
	} props[] = {
		{ "foo", "1", "-object tdx-guest,id=tdx0: unknown property 'foo'" },
		{ "mrconfigid", "not*base64", "mrconfigid is not valid base64 (at character 4)" },
		{ "mrowner", "AAAA", "mrowner decodes to 3 bytes; a SHA-384 digest is 48" },
		{ "mrownerconfig", DIGEST_B64 "AAAA", "mrownerconfig decodes to 51 bytes" },
		{ "mrownerconfig", DIGEST_B64 DIGEST_B64,
		  "mrownerconfig decodes to more than 48 bytes" },
		{ "mrconfigid", "AAA", "mrconfigid is not valid base64" },
		{ "attributes", "0x1", "the DEBUG attribute (bit 0) is not supported" },
		{ "attributes", "0x40000010", "bit 4 (HGS_PLUS) is not supported by kvmrun" },
		{ "attributes", "zz", "attributes=zz is not a number" },
		{ "attributes", "-1", "attributes=-1 is not a number" },
		{ "sept-ve-disable", "maybe", "sept-ve-disable=maybe: expected on or off" },
		{ "quote-generation-socket", "/run/qgs", "quote-generation-socket is not supported" },
	};
	struct td_env e;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(props); i++) {
		td_env_init(&e, NULL);
		td_env_prop(&e, props[i].key, props[i].val);
		expect_setup_fail(&e, props[i].msg);
		ck_assert_uint_eq(tdx_model_calls(e.m, TM_OP_CREATE_VM), 0);
		td_env_fini(&e);
	}
	/* Attributes the host's TDX module does not offer (PKS: allowed, not supported). */
	td_env_init(&e, NULL);
	td_env_prop(&e, "attributes", "0x40000000");
	expect_setup_fail(&e, "bit 30 (PKS) is not supported by this host's TDX module "
			      "(supported_attrs 0x10000000)");
	ck_assert_uint_eq(tdx_model_calls(e.m, TM_OP_TDX_INIT_VM), 0);
	td_env_fini(&e);

	td_env_init(&e, NULL);
	e.cfg.confidential_guest_support = (char *)"sev0";
	expect_setup_fail(&e, "confidential-guest-support=sev0: no -object with id=sev0");
	e.cfg.confidential_guest_support = (char *)"tdx0";
	e.cfg.objects[0].name = (char *)"sev-guest";
	expect_setup_fail(&e, "confidential guest type 'sev-guest' is not supported");
	e.cfg.objects[0].name = (char *)"tdx-guest";
	e.cfg.machine = MACHINE_PC;
	expect_setup_fail(&e, "TDX needs -machine q35");
	e.cfg.machine = MACHINE_Q35;
	e.cfg.irqchip = IRQCHIP_KERNEL;
	expect_setup_fail(&e, "TDX requires kernel-irqchip=split");
	e.cfg.irqchip = IRQCHIP_SPLIT;
	e.cfg.smm = OOA_ON;
	expect_setup_fail(&e, "smm=on: TDX guests cannot use SMM");
	e.cfg.smm = OOA_AUTO;
	e.cfg.drives[0].iface = DRIVE_IF_PFLASH;
	e.cfg.ndrives = 1;
	expect_setup_fail(&e, "-drive if=pflash: a TD cannot use flash");
	e.cfg.ndrives = 0;
	e.cfg.bios = NULL;
	expect_setup_fail(&e, "TDX needs its firmware: -bios");
	e.cfg.bios = e.fw;
	e.cfg.tdx_log = (char *)"/nonexistent/dir/log";
	expect_setup_fail(&e, "-tdx-log /nonexistent/dir/log: cannot open");
	e.cfg.tdx_log = e.log;
	ck_assert_uint_eq(tdx_model_calls(e.m, TM_OP_CREATE_VM), 0);
	/* sept-ve-disable=off clears bit 28 even when attributes= sets it; on sets it. */
	td_env_prop(&e, "attributes", "0x10000000");
	td_env_prop(&e, "sept-ve-disable", "off");
	{
		struct tdx_model_td_info info;

		tdx_machine_destroy(setup_ok(&e));
		ck_assert_int_eq(tdx_model_live_vms(e.m), 0);
		td_env_prop(&e, "attributes", "0");
		td_env_prop(&e, "sept-ve-disable", "on");
		{
			struct tdx_machine *td = setup_ok(&e);

			ck_assert(tdx_model_td_info(e.m, &info));
			ck_assert_uint_eq(info.attributes, TDX_ATTR_SEPT_VE_DISABLE);
			tdx_machine_destroy(td);
		}
	}
	assert_no_leaks(&e);
	td_env_fini(&e);
}
END_TEST

START_TEST(test_base64)
{
	uint8_t out[8];
	size_t bad;

	ck_assert_int_eq(tdx_cfg_base64_decode("", out, sizeof(out), &bad), 0);
	ck_assert_int_eq(tdx_cfg_base64_decode("TWFu", out, sizeof(out), &bad), 3);
	ck_assert_mem_eq(out, "Man", 3);
	ck_assert_int_eq(tdx_cfg_base64_decode("TWE=", out, sizeof(out), &bad), 2);
	ck_assert_int_eq(tdx_cfg_base64_decode("TQ==", out, sizeof(out), &bad), 1);
	ck_assert_int_eq(out[0], 'M');
	ck_assert_int_eq(tdx_cfg_base64_decode("+/+/", out, sizeof(out), &bad), 3);
	ck_assert_int_eq(out[0], 0xfb);
	ck_assert_int_eq(tdx_cfg_base64_decode("TQ=", out, sizeof(out), &bad), -EINVAL);
	ck_assert_int_eq(tdx_cfg_base64_decode("T===", out, sizeof(out), &bad), -EINVAL);
	ck_assert_int_eq(tdx_cfg_base64_decode("TW=u", out, sizeof(out), &bad), -EINVAL);
	ck_assert_uint_eq(bad, 2);
	ck_assert_int_eq(tdx_cfg_base64_decode("TR==", out, sizeof(out), &bad), -EINVAL);
	ck_assert_int_eq(tdx_cfg_base64_decode("TW u", out, sizeof(out), &bad), -EINVAL);
	ck_assert_int_eq(tdx_cfg_base64_decode("TWFuTWFuTWFu", out, sizeof(out), &bad), -E2BIG);
}
END_TEST

START_TEST(test_firmware_errors)
{
	struct fake_tdvf_sec s[4];
	struct td_env e;
	uint8_t *img = malloc(FAKE_TDVF_CLEAN_SIZE);   /* before the baselines */

	td_env_init(&e, NULL);
	e.cfg.bios = (char *)"/nonexistent.fd";
	expect_setup_fail(&e, "firmware /nonexistent.fd: cannot open");
	e.cfg.bios = e.fw;
	/* The split CODE half of a unified image (Debian's OVMF_CODE.fd case). */
	memcpy(img, e.img, FAKE_TDVF_CLEAN_SIZE);
	{
		struct fake_tdvf_sec cs[4] = {
			{ 0x20000, 0x1e0000, 0xffe20000, 0x1e0000, TDVF_SEC_BFV, TDVF_ATTR_MR_EXTEND },
			{ 0, 0x20000, 0xffe00000, 0x20000, TDVF_SEC_CFV, 0 },
			{ 0, 0, 0x809000, 0x2000, TDVF_SEC_TD_HOB, 0 },
			{ 0, 0, 0x800000, 0x6000, TDVF_SEC_TEMP_MEM, 0 },
		};

		fake_tdvf_build(img, FAKE_TDVF_CLEAN_SIZE, FAKE_TDVF_CLEAN_SIZE - 0x840, cs, 4);
	}
	td_env_firmware(&e, img + 0x20000, 0x1e0000);
	expect_setup_fail(&e, "past the end of the 0x1e0000-byte file (a split OVMF_CODE image?");
	memset(img, 0, 4096);
	td_env_firmware(&e, img, 4096);
	expect_setup_fail(&e, "has no TDX metadata");
	ck_assert_uint_eq(tdx_model_calls(e.m, TM_OP_CREATE_VM), 0);
	/* Sections that do not fit the RAM layout. */
	fake_tdvf_small(img, 0x10000, s);
	td_env_firmware(&e, img, 0x10000);
	e.cfg.ram_size = 4 * MiB;
	expect_setup_fail(&e, "section 2 (TD_HOB, 0x800000+0x2000) is not inside guest RAM (4 MiB");
	e.cfg.ram_size = 8 * MiB + 0x2000;     /* TD_HOB fits, TEMP_MEM does not */
	expect_setup_fail(&e, "section 3 (TEMP_MEM, 0x810000+0x4000) is not inside guest RAM");
	e.cfg.ram_size = 256 * MiB;
	s[0].addr = 256 * MiB - 0x4000;        /* BFV across the end of RAM */
	fake_tdvf_build(img, 0x10000, 0x100, s, 4);
	td_env_firmware(&e, img, 0x10000);
	expect_setup_fail(&e, "section 0 (BFV, 0xfffc000+0x8000) straddles the end of guest RAM");
	s[0].addr = 0x800000000000ULL;         /* above the private GPA space */
	fake_tdvf_build(img, 0x10000, 0x100, s, 4);
	td_env_firmware(&e, img, 0x10000);
	expect_setup_fail(&e, "lies beyond the TD's private address space");
	/* A BFV inside RAM is fine: it is added there and reported as accepted. */
	s[0].addr = 0x1000000;
	fake_tdvf_build(img, 0x10000, 0x100, s, 4);
	td_env_firmware(&e, img, 0x10000);
	tdx_machine_destroy(setup_ok(&e));
	ck_assert_uint_eq(tdx_model_calls(e.m, TM_OP_CREATE_GUEST_MEMFD), 2);   /* RAM + CFV window */
	assert_no_leaks(&e);
	td_env_fini(&e);
	free(img);
}
END_TEST

START_TEST(test_vcpu_limits)
{
	struct tdx_model_config mc;
	struct td_env e;

	tdx_model_default_config(&mc);
	mc.max_vcpus = 4;
	td_env_init(&e, &mc);
	e.cfg.smp_cpus = 5;
	expect_setup_fail(&e, "-smp 5: this host supports at most 4 vCPUs per TD");
	e.cfg.smp_cpus = 4;
	tdx_machine_destroy(setup_ok(&e));
	assert_no_leaks(&e);
	td_env_fini(&e);

	tdx_model_default_config(&mc);
	mc.no_x2apic = true;
	td_env_init(&e, &mc);
	expect_setup_fail(&e, "host KVM does not offer x2APIC");
	td_env_fini(&e);
}
END_TEST

START_TEST(test_entropy_retry)
{
	struct td_env e;

	td_env_init(&e, NULL);
	tdx_model_faults(e.m)->create_no_entropy = 3;
	tdx_machine_destroy(setup_ok(&e));
	ck_assert_uint_eq(tdx_model_calls(e.m, TM_OP_TDX_INIT_VM), 4);
	ck_assert_uint_eq(e.sleeps, 3);
	ck_assert_int_eq(tdx_model_hkids_in_use(e.m), 0);
	assert_no_leaks(&e);
	td_env_fini(&e);

	/* ADDCX without entropy is the same story for userspace. */
	td_env_init(&e, NULL);
	tdx_model_faults(e.m)->addcx_no_entropy = 1;
	tdx_machine_destroy(setup_ok(&e));
	ck_assert_uint_eq(tdx_model_calls(e.m, TM_OP_TDX_INIT_VM), 2);
	td_env_fini(&e);

	/* Never any entropy: bounded, with a clear final message. */
	td_env_init(&e, NULL);
	tdx_model_faults(e.m)->create_no_entropy = 1000;
	expect_setup_fail(&e, "KVM_TDX_INIT_VM failed with EAGAIN 20 times: the CPU's random number "
			      "generator is out of entropy");
	ck_assert_uint_eq(tdx_model_calls(e.m, TM_OP_TDX_INIT_VM), 20);
	ck_assert_uint_eq(e.sleeps, 19);
	ck_assert_int_eq(tdx_model_hkids_in_use(e.m), 0);
	td_env_fini(&e);
}
END_TEST

START_TEST(test_hkid_exhaustion)
{
	struct tdx_model_config mc;
	struct tdx_machine *td1;
	struct kvm kvm2;
	struct td_env e;

	tdx_model_default_config(&mc);
	mc.hkids = 1;
	td_env_init(&e, &mc);
	td1 = setup_ok(&e);
	ck_assert_int_eq(kvm_open(&kvm2, tdx_model_backend(e.m), NULL), 0);
	{
		struct tdx_machine *td2 = NULL;

		err_clear();
		ck_assert_int_eq(tdx_machine_setup(&kvm2, &e.cfg, NULL, &td2), -ENOSPC);
		ck_assert_str_eq(err_get(), "KVM_TDX_INIT_VM: no free TDX key IDs (too many TDs "
					    "running)");
		ck_assert_ptr_null(td2);
	}
	ck_assert_int_eq(tdx_model_live_vms(e.m), 1);
	kvm_close(&kvm2);
	tdx_machine_destroy(td1);
	/* With the first TD gone, its key is free again. */
	tdx_machine_destroy(setup_ok(&e));
	assert_no_leaks(&e);
	td_env_fini(&e);
}
END_TEST

START_TEST(test_init_vm_errors)
{
	struct td_env e;

	td_env_init(&e, NULL);
	tdx_model_faults(e.m)->package_offline = true;
	expect_setup_fail(&e, "KVM_TDX_INIT_VM failed: Input/output error: TDX needs an online CPU "
			      "in every CPU package");
	tdx_model_faults(e.m)->package_offline = false;
	tdx_model_faults(e.m)->mng_init_status = TDX_OPERAND_INVALID | TDX_OPERAND_ID_TDR;
	expect_setup_fail(&e, "KVM_TDX_INIT_VM: the TDX module rejected the TD parameters: "
			      "TDX_OPERAND_INVALID, operand 0x80 (TDR) (hw_error "
			      "0xc000010000000080)");
	tdx_model_faults(e.m)->misc_cg_busy = true;
	expect_setup_fail(&e, "KVM_TDX_INIT_VM: busy");
	tdx_model_faults(e.m)->create_busy = true;
	expect_setup_fail(&e, "every CPU package");   /* a plain EIO from KVM, VM alive */
	ck_assert_int_eq(tdx_model_hkids_in_use(e.m), 0);
	td_env_fini(&e);
}
END_TEST

START_TEST(test_dead_vm)
{
	static const struct {
		size_t off;
		const char *step;
	} cases[] = {
		{ offsetof(struct tdx_model_faults, key_config_fail), "KVM_TDX_INIT_VM failed" },
		{ offsetof(struct tdx_model_faults, vp_init_fail), "KVM_TDX_INIT_VCPU(vCPU 0" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct td_env e;
		char *log;

		td_env_init(&e, NULL);
		*(bool *)((char *)tdx_model_faults(e.m) + cases[i].off) = true;
		expect_setup_fail(&e, "KVM has marked the TD dead (a SEAMCALL failed, see the kernel "
				      "log): giving up");
		ck_assert_ptr_nonnull(strstr(err_get(), cases[i].step));
		/* No more ioctls on a dead VM: no memslot deletes in the teardown. */
		ck_assert_uint_eq(tdx_model_calls(e.m, TM_OP_SET_MEMORY_REGION2), 0);
		log = td_env_read_log(&e);
		ck_assert_ptr_nonnull(strstr(log, "\"step\":\"vm-dead-check\""));
		free(log);
		td_env_fini(&e);
	}
}
END_TEST

START_TEST(test_finalize_errors)
{
	struct td_env e;

	td_env_init(&e, NULL);
	tdx_model_faults(e.m)->finalize_busy = 2;
	tdx_machine_destroy(setup_ok(&e));
	ck_assert_uint_eq(tdx_model_calls(e.m, TM_OP_TDX_FINALIZE_VM), 3);
	assert_no_leaks(&e);
	tdx_model_faults(e.m)->finalize_status = TDX_NO_VCPUS;
	expect_setup_fail(&e, "KVM_TDX_FINALIZE_VM failed (TDX_NO_VCPUS): Input/output error; KVM "
			      "has marked the TD dead");
	td_env_fini(&e);
}
END_TEST

START_TEST(test_mem_region_resume)
{
	uint8_t model_mrtd[48];
	char a[97];
	struct td_env e;
	struct tdx_model_faults *f;
	char *log;

	td_env_init(&e, NULL);
	f = tdx_model_faults(e.m);
	f->eintr_after_pages = 5;
	f->eintr_count = 4;
	f->page_add_busy = 2;
	tdx_machine_destroy(setup_ok(&e));
	ck_assert(tdx_model_last_mrtd(e.m, model_mrtd));
	hex48(model_mrtd, a);
	ck_assert_str_eq(a, FAKE_TDVF_CLEAN_MRTD);
	/* 6 sections + 4 interruptions + 2 busy */
	ck_assert_uint_eq(tdx_model_calls(e.m, TM_OP_TDX_INIT_MEM_REGION), 12);
	log = td_env_read_log(&e);
	ck_assert_ptr_nonnull(strstr(log, "\"errname\":\"EINTR\""));
	ck_assert_ptr_nonnull(strstr(log, "\"errname\":\"EBUSY\""));
	/* The resumed call starts where the kernel stopped: 5 pages into the BFV. */
	ck_assert_ptr_nonnull(strstr(log, "\"section\":0,\"type\":\"BFV\",\"gpa\":\"0xffe25000\","
					  "\"pages\":475"));
	free(log);
	assert_no_leaks(&e);
	td_env_fini(&e);
}
END_TEST

START_TEST(test_mem_region_failures)
{
	struct td_env e;

	td_env_init(&e, NULL);
	tdx_model_faults(e.m)->page_add_fail_after = 100;
	expect_setup_fail(&e, "KVM_TDX_INIT_MEM_REGION(section 0 BFV, gpa 0xffe20000, 480 pages) "
			      "failed: Input/output error");
	tdx_model_faults(e.m)->mr_extend_fail_after = 3;
	expect_setup_fail(&e, "KVM_TDX_INIT_MEM_REGION(section 0 BFV");
	/* Busy forever: bounded. */
	tdx_model_faults(e.m)->page_add_busy = 100000;
	expect_setup_fail(&e, "made no progress in 100 attempts");
	tdx_model_faults(e.m)->page_add_busy = 0;
	td_env_fini(&e);
}
END_TEST

/* Which errors kvmrun recovers from at each step, as the kernel's contract says. */
static bool retryable(enum tdx_model_op op, int err)
{
	if (op == TM_OP_TDX_INIT_VM && err == -EAGAIN)
		return true;
	if (op == TM_OP_TDX_INIT_MEM_REGION &&
	    (err == -EINTR || err == -EAGAIN || err == -EBUSY))
		return true;
	if (op == TM_OP_TDX_FINALIZE_VM && err == -EBUSY)
		return true;
	return false;
}

START_TEST(test_fault_matrix)
{
	static const struct {
		enum tdx_model_op op;
		const char *name;       /* what the message must name */
		int max_nth;            /* calls of this op in a setup */
	} steps[] = {
		{ TM_OP_CREATE_VM, "KVM_CREATE_VM", 1 },
		{ TM_OP_ENABLE_CAP_SPLIT_IRQCHIP, "KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP)", 1 },
		{ TM_OP_TDX_CAPABILITIES, "KVM_TDX_CAPABILITIES", 3 },
		{ TM_OP_ENABLE_CAP_APIC_BUS, "KVM_ENABLE_CAP(KVM_CAP_X86_APIC_BUS_CYCLES_NS)", 1 },
		{ TM_OP_ENABLE_CAP_HYPERCALL, "KVM_ENABLE_CAP(KVM_CAP_EXIT_HYPERCALL)", 1 },
		{ TM_OP_TDX_INIT_VM, "KVM_TDX_INIT_VM", 1 },
		{ TM_OP_CREATE_VCPU, "KVM_CREATE_VCPU", 2 },
		{ TM_OP_MMAP_RUN, "cannot map kvm_run", 2 },
		{ TM_OP_SET_CPUID2, "KVM_SET_CPUID2", 2 },
		{ TM_OP_TDX_INIT_VCPU, "KVM_TDX_INIT_VCPU", 2 },
		{ TM_OP_CREATE_GUEST_MEMFD, "KVM_CREATE_GUEST_MEMFD", 2 },
		{ TM_OP_SET_MEMORY_REGION2, "KVM_SET_USER_MEMORY_REGION2", 2 },
		{ TM_OP_SET_MEMORY_ATTRIBUTES, "KVM_SET_MEMORY_ATTRIBUTES", 2 },
		{ TM_OP_TDX_INIT_MEM_REGION, "KVM_TDX_INIT_MEM_REGION", 6 },
		{ TM_OP_TDX_FINALIZE_VM, "KVM_TDX_FINALIZE_VM", 1 },
	};
	static const int errs[] = { -EIO, -ENOMEM, -EINVAL, -EFAULT, -EBUSY, -EAGAIN, -EINTR };
	unsigned pairs = 0, recovered = 0;
	size_t i, j;
	int nth;

	for (i = 0; i < ARRAY_SIZE(steps); i++) {
		for (j = 0; j < ARRAY_SIZE(errs); j++) {
			for (nth = 1; nth <= steps[i].max_nth; nth += steps[i].max_nth > 2 ? 2 : 1) {
				struct tdx_machine *td = NULL;
				struct tdx_model_faults *f;
				struct td_env e;
				char why[128];
				int r;

				td_env_init(&e, NULL);
				e.cfg.tdx_log = NULL;
				f = tdx_model_faults(e.m);
				f->fail_op = steps[i].op;
				f->fail_nth = nth;
				f->fail_err = errs[j];
				err_clear();
				r = tdx_machine_setup(&e.kvm, &e.cfg, NULL, &td);
				pairs++;
				if (retryable(steps[i].op, errs[j])) {
					if (r < 0)
						ck_abort_msg("%s nth %d err %d: not recovered: %s",
							     steps[i].name, nth, errs[j], err_get());
					recovered++;
					tdx_machine_destroy(td);
				} else {
					if (r >= 0)
						ck_abort_msg("%s nth %d err %d: setup succeeded",
							     steps[i].name, nth, errs[j]);
					if (r != errs[j] && !(steps[i].op == TM_OP_MMAP_RUN))
						ck_abort_msg("%s: returned %d, injected %d (%s)",
							     steps[i].name, r, errs[j], err_get());
					if (!strstr(err_get(), steps[i].name) &&
					    !strstr(err_get(), "TDX module not loaded"))
						ck_abort_msg("%s nth %d err %d: message \"%s\"",
							     steps[i].name, nth, errs[j], err_get());
					ck_assert_ptr_null(td);
				}
				if (!td_env_no_leaks(&e, why, sizeof(why)))
					ck_abort_msg("%s nth %d err %d: leak: %s", steps[i].name, nth,
						     errs[j], why);
				td_env_fini(&e);
			}
		}
	}
	ck_assert_uint_gt(pairs, 150);
	ck_assert_uint_gt(recovered, 5);
}
END_TEST

START_TEST(test_layout)
{
	struct tdx_layout l;

	ck_assert_int_eq(tdx_layout_q35(256 * MiB, &l), 0);
	ck_assert_int_eq(l.nram, 1);
	ck_assert_uint_eq(l.ram[0].size, 256 * MiB);
	ck_assert_int_eq(tdx_layout_q35(4 * GiB, &l), 0);
	ck_assert_int_eq(l.nram, 2);
	ck_assert_uint_eq(l.ram[0].size, 2 * GiB);
	ck_assert_uint_eq(l.ram[1].gpa, 4 * GiB);
	ck_assert_uint_eq(l.ram[1].size, 2 * GiB);
	ck_assert_int_eq(tdx_layout_q35(0, &l), -EINVAL);
	ck_assert_int_eq(tdx_layout_q35(4097, &l), -EINVAL);
}
END_TEST

START_TEST(test_custom_layout)
{
	struct tdx_layout l = { .nram = 2, .ram = { { 0, 64 * MiB }, { 4 * GiB, 64 * MiB } } };
	struct tdx_machine *td = NULL;
	struct td_env e;
	const uint8_t *hob;

	td_env_init(&e, NULL);
	ck_assert_int_eq(tdx_machine_setup(&e.kvm, &e.cfg, &l, &td), 0);
	ck_assert(tdx_model_is_private(e.m, 4 * GiB + 0x1000));
	ck_assert(!tdx_model_is_private(e.m, 64 * MiB));
	hob = tdx_model_private_page(e.m, 0x809000);
	ck_assert_ptr_nonnull(hob);
	/* PHIT, 5 RAM entries (3 unaccepted pieces, 2 added... ) and the high block last. */
	{
		size_t off = 56;
		uint64_t last = 0;

		while (ld_le16(hob + off) == HOB_TYPE_RESOURCE_DESCRIPTOR) {
			last = ld_le64(hob + off + 32);
			off += 48;
		}
		ck_assert_uint_eq(ld_le16(hob + off), HOB_TYPE_END_OF_LIST);
		ck_assert_uint_eq(last, 4 * GiB);
	}
	tdx_machine_destroy(td);
	assert_no_leaks(&e);
	td_env_fini(&e);
}
END_TEST

START_TEST(test_err_format)
{
	char b[96];

	ck_assert_str_eq(tdx_err_format(TDX_OPERAND_INVALID | 0x80, b, sizeof(b)),
			 "TDX_OPERAND_INVALID, operand 0x80 (TDR)");
	ck_assert_str_eq(tdx_err_format(TDX_OPERAND_BUSY | 0x77, b, sizeof(b)),
			 "TDX_OPERAND_BUSY, operand 0x77");
	ck_assert_str_eq(tdx_err_format(TDX_RND_NO_ENTROPY, b, sizeof(b)), "TDX_RND_NO_ENTROPY");
	ck_assert_str_eq(tdx_err_format(TDX_NO_VCPUS | 5, b, sizeof(b)), "TDX_NO_VCPUS, detail 0x5");
	ck_assert_str_eq(tdx_err_format(0x1234000000000000ULL, b, sizeof(b)),
			 "unknown TDX status 0x1234000000000000");
	ck_assert_str_eq(tdx_err_format(TDX_SEAMCALL_VMFAILINVALID, b, sizeof(b)),
			 "TDX_SW_ERROR (SEAMCALL faulted), detail 0xffff0000");
	ck_assert_str_eq(tdx_err_format(TDX_OPERAND_INVALID, b, 4), "TDX");
}
END_TEST

int main(int argc, char **argv)
{
	Suite *s = suite_create("tdx");
	TCase *tc = tcase_create("lifecycle");
	TCase *tm = tcase_create("matrix");

	(void)argc;
	td_env_tune_malloc(argv);
	tcase_set_timeout(tc, 120);
	tcase_set_timeout(tm, 300);
	tcase_add_test(tc, test_happy_path);
	tcase_add_test(tc, test_lifecycle_log);
	tcase_add_test(tc, test_measure_file);
	tcase_add_test(tc, test_host_without_tdx);
	tcase_add_test(tc, test_missing_components);
	tcase_add_test(tc, test_capabilities_report);
	tcase_add_test(tc, test_config_errors);
	tcase_add_test(tc, test_base64);
	tcase_add_test(tc, test_firmware_errors);
	tcase_add_test(tc, test_vcpu_limits);
	tcase_add_test(tc, test_entropy_retry);
	tcase_add_test(tc, test_hkid_exhaustion);
	tcase_add_test(tc, test_init_vm_errors);
	tcase_add_test(tc, test_dead_vm);
	tcase_add_test(tc, test_finalize_errors);
	tcase_add_test(tc, test_mem_region_resume);
	tcase_add_test(tc, test_mem_region_failures);
	tcase_add_test(tc, test_layout);
	tcase_add_test(tc, test_custom_layout);
	tcase_add_test(tc, test_err_format);
	tcase_add_test(tm, test_fault_matrix);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, tm);
	return run_suite(s);
}
