/*
 * QEMU-compatible command line -> struct config. Pure: no I/O beyond
 * reading the arguments; errors come back as -EINVAL with a one-line
 * message (naming the option) in err_get().
 */
#ifndef KVMRUN_CLI_H
#define KVMRUN_CLI_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/util.h"

#define CFG_MAX_SERIAL 4
#define CFG_MAX_DRIVES 16
#define CFG_MAX_DEVICES 32
#define CFG_MAX_GLOBALS 32
#define CFG_MAX_OBJECTS 8
#define CFG_MAX_CHARDEVS 8
#define CFG_MAX_PROPS 16

enum machine_type { MACHINE_PC = 0, MACHINE_Q35 };
enum irqchip_mode { IRQCHIP_KERNEL = 0, IRQCHIP_USER, IRQCHIP_SPLIT };
enum onoffauto { OOA_AUTO = 0, OOA_ON, OOA_OFF };
enum smm_backend_sel { SMM_BACKEND_AUTO = 0, SMM_BACKEND_KVM, SMM_BACKEND_USER };
enum cli_action { CLI_RUN = 0, CLI_HELP, CLI_VERSION, CLI_DEVICE_HELP, CLI_MACHINE_HELP,
		  CLI_TDX_CAPS, CLI_TDX_MEASURE };

enum drive_if { DRIVE_IF_NONE = 0, DRIVE_IF_PFLASH, DRIVE_IF_VIRTIO };
enum drive_cache { DRIVE_CACHE_WRITEBACK = 0, DRIVE_CACHE_NONE, DRIVE_CACHE_UNSAFE,
		   DRIVE_CACHE_WRITETHROUGH, DRIVE_CACHE_DIRECTSYNC };
enum drive_aio { DRIVE_AIO_IO_URING = 0, DRIVE_AIO_THREADS, DRIVE_AIO_NATIVE };

struct kv {
	char *key;
	char *val;
};

/* One comma-separated option list, e.g. "virtio-blk-pci,drive=d0,id=x". */
struct optlist {
	char *name;                    /* the leading word without '=' (driver/type) */
	struct kv props[CFG_MAX_PROPS];
	int nprops;
	bool used[CFG_MAX_PROPS];      /* set by consumers to catch unknown props */
};

struct drive_cfg {
	char *file;
	char *id;
	char *format;                  /* only "raw" is supported */
	enum drive_if iface;
	int unit;                      /* -1 = next free */
	int index;
	bool readonly;
	bool discard_unmap;
	enum drive_cache cache;
	enum drive_aio aio;
	bool used;                     /* claimed by a device */
	char *spec;                    /* the original text, for messages */
};

struct global_cfg {
	char *driver;
	char *property;
	char *value;
	bool used;
};

struct config {
	enum cli_action action;
	const char *argv0;
	bool default_guest;                /* no arguments: boot the built-in demo */

	/* machine */
	enum machine_type machine;
	bool machine_set;
	enum irqchip_mode irqchip;
	bool irqchip_set;                  /* given explicitly (else kvmrun chooses) */
	enum onoffauto smm;
	enum smm_backend_sel smm_backend;
	char *dumpdtb;
	char *confidential_guest_support;   /* id of a tdx-guest object */
	bool accel_kvm;                    /* -accel kvm / accel=kvm (the only one) */

	/* resources */
	uint64_t ram_size;                 /* bytes */
	int smp_cpus, smp_maxcpus, sockets, cores, threads;
	char *cpu_model;                   /* only "host"/"max" accepted */

	/* boot */
	char *kernel, *initrd, *append, *bios;

	/* console and debug */
	char *serial[CFG_MAX_SERIAL];      /* "stdio", "file:PATH", "null", "none" */
	int nserial;
	bool serial_given;
	char *debugcon;                    /* "stdio", "file:PATH", ... or NULL */
	bool nographic, display_none, nodefaults, no_reboot, no_shutdown;
	char *name;
	bool daemonize;

	struct drive_cfg drives[CFG_MAX_DRIVES];
	int ndrives;
	struct optlist devices[CFG_MAX_DEVICES];
	int ndevices;
	struct global_cfg globals[CFG_MAX_GLOBALS];
	int nglobals;
	struct optlist objects[CFG_MAX_OBJECTS];
	int nobjects;
	struct optlist chardevs[CFG_MAX_CHARDEVS];   /* -chardev BACKEND,id=ID,... */
	int nchardevs;
	char *boot_order;                  /* -boot order=... (informational) */
	bool boot_menu;
	bool rtc_localtime;

	int verbose;                       /* -v count */
	char *trace;                       /* -trace spec */
	char *tdx_log;                     /* -tdx-log FILE (JSON lines) */
	bool tdx_json;                     /* -tdx-capabilities json */
	char *tdx_measure_file;            /* tdx-measure FILE */
	bool force_event_fallback;         /* -no-io-uring (tests) */
	char *kvm_device;                  /* -kvm-device PATH (default /dev/kvm) */
	bool net_none;                     /* -net none accepted and ignored */
};

/* Parse argv into *cfg (zeroed first). Returns 0 or -EINVAL (err_get()). */
int cli_parse(int argc, char **argv, struct config *cfg) __must_check;
void cli_free(struct config *cfg);

/* Parse "key=val,key2=val2" (with "name" or "name,..." first if
 * @first_is_name) into @ol. Handles ",," as a literal comma. */
int cli_parse_optlist(const char *s, bool first_is_name, struct optlist *ol) __must_check;
const char *optlist_get(struct optlist *ol, const char *key);   /* marks it used */
bool optlist_has(const struct optlist *ol, const char *key);
void optlist_free(struct optlist *ol);
/* First key that no consumer looked at, or NULL. */
const char *optlist_unused(const struct optlist *ol);

/* "on"/"off"/"yes"/"no"/"true"/"false" -> 0/1, else -EINVAL. */
int cli_parse_bool(const char *s);
/* "256", "256M", "2G", "1048576K": default unit MiB like -m. */
int cli_parse_size(const char *s, uint64_t default_unit, uint64_t *out);

/* A -global value for driver.property, or NULL; marks it used. */
const char *cfg_global(struct config *cfg, const char *driver, const char *prop);

/* The help text printed by -h. */
const char *cli_usage(void);

#endif
