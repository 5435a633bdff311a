/* Command-line parsing: the QEMU-compatible subset and its error messages. */
#include <errno.h>

#include "tests/unit/support.h"
#include "vmm/cli.h"
#include "vmm/err.h"

#define ARGV(...) ((char *[]){ "kvmrun", __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *[]){ "kvmrun", __VA_ARGS__ }) / sizeof(char *)))
#define PARSE(cfg, ...) cli_parse(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), cfg)

static void expect_error(int r, const char *needle)
{
	ck_assert_int_eq(r, -EINVAL);
	ck_assert_msg(strstr(err_get(), needle), "error '%s' lacks '%s'", err_get(), needle);
	ck_assert_ptr_null(strchr(err_get(), '\n'));
}

START_TEST(test_defaults_and_no_args)
{
	struct config cfg;
	char *argv[] = { "kvmrun", NULL };

	ck_assert_int_eq(cli_parse(1, argv, &cfg), 0);
	ck_assert(cfg.default_guest);
	ck_assert_uint_eq(cfg.ram_size, 128 * MiB);
	ck_assert_int_eq(cfg.smp_cpus, 1);
	ck_assert_int_eq(cfg.irqchip, IRQCHIP_KERNEL);
	cli_free(&cfg);
}
END_TEST

START_TEST(test_memory_sizes)
{
	struct config cfg;
	uint64_t v;

	ck_assert_int_eq(PARSE(&cfg, "-m", "256"), 0);
	ck_assert_uint_eq(cfg.ram_size, 256 * MiB);
	cli_free(&cfg);
	ck_assert_int_eq(PARSE(&cfg, "-m", "2G"), 0);
	ck_assert_uint_eq(cfg.ram_size, 2 * GiB);
	cli_free(&cfg);
	ck_assert_int_eq(PARSE(&cfg, "-m", "size=1536M"), 0);
	ck_assert_uint_eq(cfg.ram_size, 1536 * MiB);
	cli_free(&cfg);
	expect_error(PARSE(&cfg, "-m", "abc"), "-m: invalid RAM size 'abc'");
	cli_free(&cfg);
	expect_error(PARSE(&cfg, "-m", "1K"), "too small");
	cli_free(&cfg);
	expect_error(PARSE(&cfg, "-m", "99999999999999999999"), "invalid");
	cli_free(&cfg);
	expect_error(PARSE(&cfg, "-m", "-5"), "invalid");
	cli_free(&cfg);
	expect_error(PARSE(&cfg, "-m", "size=1G,bogus=1"), "bogus");
	cli_free(&cfg);
	ck_assert_int_eq(cli_parse_size("16E", MiB, &v), -EINVAL);
	ck_assert_int_eq(cli_parse_size("18446744073709551615T", MiB, &v), -EINVAL);
	ck_assert_int_eq(cli_parse_size("4KiB", MiB, &v), 0);
	ck_assert_uint_eq(v, 4096);
}
END_TEST

START_TEST(test_smp)
{
	struct config cfg;

	ck_assert_int_eq(PARSE(&cfg, "-smp", "4"), 0);
	ck_assert_int_eq(cfg.smp_cpus, 4);
	cli_free(&cfg);
	ck_assert_int_eq(PARSE(&cfg, "-smp", "2,sockets=1,cores=2,threads=1"), 0);
	ck_assert_int_eq(cfg.smp_cpus, 2);
	ck_assert_int_eq(cfg.cores, 2);
	cli_free(&cfg);
	ck_assert_int_eq(PARSE(&cfg, "-smp", "sockets=2,cores=2"), 0);
	ck_assert_int_eq(cfg.smp_cpus, 4);
	cli_free(&cfg);
	expect_error(PARSE(&cfg, "-smp", "0"), "-smp: invalid CPU count '0'");
	cli_free(&cfg);
	expect_error(PARSE(&cfg, "-smp", "two"), "-smp");
	cli_free(&cfg);
	expect_error(PARSE(&cfg, "-smp", "4,maxcpus=2"), "maxcpus");
	cli_free(&cfg);
}
END_TEST

START_TEST(test_machine)
{
	struct config cfg;

	ck_assert_int_eq(PARSE(&cfg, "-machine", "q35,smm=on,kernel-irqchip=off,accel=kvm"), 0);
	ck_assert_int_eq(cfg.machine, MACHINE_Q35);
	ck_assert_int_eq(cfg.smm, OOA_ON);
	ck_assert_int_eq(cfg.irqchip, IRQCHIP_USER);
	ck_assert(cfg.accel_kvm);
	cli_free(&cfg);
	ck_assert_int_eq(PARSE(&cfg, "-M", "pc-q35-7.2", "-machine", "kernel-irqchip=split"), 0);
	ck_assert_int_eq(cfg.machine, MACHINE_Q35);
	ck_assert_int_eq(cfg.irqchip, IRQCHIP_SPLIT);
	cli_free(&cfg);
	ck_assert_int_eq(PARSE(&cfg, "-machine", "type=pc,dumpdtb=/tmp/x.dtb,smm-backend=user"), 0);
	ck_assert_int_eq(cfg.machine, MACHINE_PC);
	ck_assert_str_eq(cfg.dumpdtb, "/tmp/x.dtb");
	ck_assert_int_eq(cfg.smm_backend, SMM_BACKEND_USER);
	cli_free(&cfg);
	expect_error(PARSE(&cfg, "-machine", "virt"), "-machine: unsupported machine type 'virt'");
	cli_free(&cfg);
	expect_error(PARSE(&cfg, "-machine", "q35,accel=tcg"), "accelerator 'tcg'");
	cli_free(&cfg);
	expect_error(PARSE(&cfg, "-machine", "q35,frobnicate=1"), "'frobnicate'");
	cli_free(&cfg);
	expect_error(PARSE(&cfg, "-machine", "q35,kernel-irqchip=maybe"), "kernel-irqchip");
	cli_free(&cfg);
	ck_assert_int_eq(PARSE(&cfg, "-accel", "kvm", "-enable-kvm", "-cpu", "host"), 0);
	cli_free(&cfg);
	expect_error(PARSE(&cfg, "-accel", "tcg"), "-accel");
	cli_free(&cfg);
	expect_error(PARSE(&cfg, "-cpu", "qemu64"), "-cpu: CPU model 'qemu64'");
	cli_free(&cfg);
	ck_assert_int_eq(PARSE(&cfg, "-machine", "help"), 0);
	ck_assert_int_eq(cfg.action, CLI_MACHINE_HELP);
	cli_free(&cfg);
}
END_TEST

START_TEST(test_drives_and_globals)
{
	struct config cfg;

	ck_assert_int_eq(PARSE(&cfg, "-drive",
			       "if=pflash,format=raw,unit=0,file=/x/code.fd,readonly=on", "-drive",
			       "if=pflash,format=raw,unit=1,file=vars.fd", "-global",
			       "driver=cfi.pflash01,property=secure,value=on", "-global",
			       "isa-debugcon.iobase=0x402"),
			 0);
	ck_assert_int_eq(cfg.ndrives, 2);
	ck_assert_int_eq(cfg.drives[0].iface, DRIVE_IF_PFLASH);
	ck_assert(cfg.drives[0].readonly);
	ck_assert_int_eq(cfg.drives[0].unit, 0);
	ck_assert_str_eq(cfg.drives[1].file, "vars.fd");
	ck_assert(!cfg.drives[1].readonly);
	ck_assert_str_eq(cfg_global(&cfg, "cfi.pflash01", "secure"), "on");
	ck_assert_str_eq(cfg_global(&cfg, "isa-debugcon", "iobase"), "0x402");
	ck_assert_ptr_null(cfg_global(&cfg, "isa-debugcon", "nope"));
	cli_free(&cfg);
	ck_assert_int_eq(PARSE(&cfg, "-drive",
			       "file=a,,b.img,if=virtio,cache=none,aio=io_uring,id=d0"), 0);
	ck_assert_str_eq(cfg.drives[0].file, "a,b.img");
	ck_assert_int_eq(cfg.drives[0].cache, DRIVE_CACHE_NONE);
	ck_assert_str_eq(cfg.drives[0].id, "d0");
	cli_free(&cfg);
	expect_error(PARSE(&cfg, "-drive", "file=x.img"), "needs if=pflash");
	cli_free(&cfg);
	expect_error(PARSE(&cfg, "-drive", "file=x,if=ide"), "interface 'ide'");
	cli_free(&cfg);
	expect_error(PARSE(&cfg, "-drive", "file=x,if=virtio,format=qcow2"), "format 'qcow2'");
	cli_free(&cfg);
	expect_error(PARSE(&cfg, "-drive", "if=virtio"), "missing file=");
	cli_free(&cfg);
	expect_error(PARSE(&cfg, "-drive", "file=x,if=virtio,unit=99"), "invalid unit");
	cli_free(&cfg);
	expect_error(PARSE(&cfg, "-drive", "file=x,if=virtio,readonly=perhaps"), "readonly");
	cli_free(&cfg);
	expect_error(PARSE(&cfg, "-global", "nodot=1"), "-global");
	cli_free(&cfg);
	expect_error(PARSE(&cfg, "-global", "driver=x,property=y"), "-global");
	cli_free(&cfg);
}
END_TEST

START_TEST(test_devices_objects_chardevs)
{
	struct config cfg;
	struct optlist *ol;

	ck_assert_int_eq(PARSE(&cfg, "-device", "isa-debug-exit,iobase=0xf4,iosize=0x4",
			       "-object", "tdx-guest,id=tdx0,sept-ve-disable=on",
			       "-chardev", "file,id=c0,path=/tmp/log", "-serial", "chardev:c0"),
			 0);
	ol = &cfg.devices[0];
	ck_assert_str_eq(ol->name, "isa-debug-exit");
	ck_assert_str_eq(optlist_get(ol, "iobase"), "0xf4");
	ck_assert_str_eq(optlist_get(ol, "iosize"), "0x4");
	ck_assert_ptr_null(optlist_unused(ol));
	ck_assert_str_eq(cfg.objects[0].name, "tdx-guest");
	ck_assert(optlist_has(&cfg.objects[0], "id"));
	ck_assert_str_eq(cfg.serial[0], "chardev:c0");
	cli_free(&cfg);
	ck_assert_int_eq(PARSE(&cfg, "-device", "help"), 0);
	ck_assert_int_eq(cfg.action, CLI_DEVICE_HELP);
	cli_free(&cfg);
	expect_error(PARSE(&cfg, "-chardev", "socket,id=x,path=/s"), "backend 'socket'");
	cli_free(&cfg);
	expect_error(PARSE(&cfg, "-chardev", "stdio"), "missing id=");
	cli_free(&cfg);
	expect_error(PARSE(&cfg, "-object", "tdx-guest"), "missing id=");
	cli_free(&cfg);
	expect_error(PARSE(&cfg, "-serial", "tcp:1.2.3.4:5"), "unsupported character device");
	cli_free(&cfg);
	expect_error(PARSE(&cfg, "-serial", "stdio", "-serial", "null", "-serial", "null",
			   "-serial", "null", "-serial", "null"), "too many serial");
	cli_free(&cfg);
}
END_TEST

START_TEST(test_misc_options)
{
	struct config cfg;

	ck_assert_int_eq(PARSE(&cfg, "-nographic", "-display", "none", "-nodefaults",
			       "-no-reboot", "-name", "guest=ci,debug-threads=on", "-net", "none",
			       "-no-user-config", "-serial", "stdio", "-debugcon", "file:/tmp/d",
			       "-kernel", "bz", "-initrd", "rd", "-append", "console=ttyS0",
			       "-v", "-v", "-trace", "smm", "-trace", "io", "--version"),
			 0);
	ck_assert(cfg.nographic && cfg.display_none && cfg.nodefaults && cfg.no_reboot);
	ck_assert_str_eq(cfg.name, "ci");
	ck_assert_str_eq(cfg.debugcon, "file:/tmp/d");
	ck_assert_int_eq(cfg.verbose, 2);
	ck_assert_str_eq(cfg.trace, "smm,io");
	ck_assert_int_eq(cfg.action, CLI_VERSION);
	cli_free(&cfg);
	expect_error(PARSE(&cfg, "-initrd", "rd"), "-initrd: only allowed together with -kernel");
	cli_free(&cfg);
	expect_error(PARSE(&cfg, "-net", "user"), "-net");
	cli_free(&cfg);
	expect_error(PARSE(&cfg, "-display", "gtk"), "display 'gtk'");
	cli_free(&cfg);
	expect_error(PARSE(&cfg, "-gdb", "tcp::1234"), "-gdb: not supported");
	cli_free(&cfg);
	expect_error(PARSE(&cfg, "-kernel"), "-kernel: requires an argument");
	cli_free(&cfg);
	expect_error(PARSE(&cfg, "stray"), "stray: unexpected argument");
	cli_free(&cfg);
	expect_error(PARSE(&cfg, "-smm-backend", "bios"), "-smm-backend");
	cli_free(&cfg);
	ck_assert_int_eq(PARSE(&cfg, "-tdx-capabilities", "json"), 0);
	ck_assert_int_eq(cfg.action, CLI_TDX_CAPS);
	ck_assert(cfg.tdx_json);
	cli_free(&cfg);
	{
		char *argv[] = { "kvmrun", "tdx-measure", "fw.fd", NULL };

		ck_assert_int_eq(cli_parse(3, argv, &cfg), 0);
		ck_assert_int_eq(cfg.action, CLI_TDX_MEASURE);
		ck_assert_str_eq(cfg.tdx_measure_file, "fw.fd");
		cli_free(&cfg);
	}
}
END_TEST

START_TEST(test_optlist_escapes)
{
	struct optlist ol;

	ck_assert_int_eq(cli_parse_optlist("name,a=1,,2,b,c=", true, &ol), 0);
	ck_assert_str_eq(ol.name, "name");
	ck_assert_str_eq(optlist_get(&ol, "a"), "1,2");
	ck_assert_str_eq(optlist_get(&ol, "b"), "on");
	ck_assert_str_eq(optlist_get(&ol, "c"), "");
	ck_assert_ptr_null(optlist_unused(&ol));
	optlist_free(&ol);
	ck_assert_int_eq(cli_parse_bool("yes"), 1);
	ck_assert_int_eq(cli_parse_bool("off"), 0);
	ck_assert_int_eq(cli_parse_bool("2"), -EINVAL);
	ck_assert_int_eq(cli_parse_bool(NULL), -EINVAL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cli");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, test_defaults_and_no_args);
	tcase_add_test(tc, test_memory_sizes);
	tcase_add_test(tc, test_smp);
	tcase_add_test(tc, test_machine);
	tcase_add_test(tc, test_drives_and_globals);
	tcase_add_test(tc, test_devices_objects_chardevs);
	tcase_add_test(tc, test_misc_options);
	tcase_add_test(tc, test_optlist_escapes);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
