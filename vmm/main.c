/*
 * kvmrun: parse the command line, build the machine, run it, and turn the
 * outcome into an exit status. This is the only place that prints an
 * error from below and decides the exit code (see vmm/machine.h).
 */
#include <execinfo.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/chardev.h"
#include "vmm/cli.h"
#include "vmm/err.h"
#include "vmm/log.h"
#include "vmm/machine.h"
#include "vmm/vcpu.h"
#include "vmm/tool.h"

#ifndef KVMRUN_VERSION
#define KVMRUN_VERSION "0.1.0"
#endif

/*
 * A crash must still leave the terminal usable and say where it happened;
 * guest-owned files (flash, disks) are written through and stay consistent.
 */
static void crash_handler(int sig)
{
	static const char msg[] = "kvmrun: internal error: crashed with signal ";
	char num[4] = { (char)('0' + sig / 10), (char)('0' + sig % 10), '\n', 0 };
	void *frames[48];
	int n;

	chardev_restore_tty();
	if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0 || write(STDERR_FILENO, num, 3) < 0)
		_exit(128 + sig);
	n = backtrace(frames, 48);
	backtrace_symbols_fd(frames, n, STDERR_FILENO);
	signal(sig, SIG_DFL);
	raise(sig);
}

static void install_crash_handler(void)
{
	static char altstack[64 * 1024];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
	struct sigaction sa;

	sigaltstack(&ss, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = crash_handler;
	sa.sa_flags = SA_ONSTACK | SA_RESETHAND;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGFPE, &sa, NULL);
	sigaction(SIGILL, &sa, NULL);
	sigaction(SIGABRT, &sa, NULL);
}

static void block_signals(void)
{
	sigset_t set;

	/* The event loop reads these through a signalfd; vCPU threads unblock
	 * only the kick signal. Threads inherit this mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

int main(int argc, char **argv)
{
	struct config cfg;
	struct machine *m = NULL;
	int r, status;

	block_signals();
	install_crash_handler();
	r = cli_parse(argc, argv, &cfg);
	if (r < 0) {
		fprintf(stderr, "kvmrun: %s\n", err_get());
		cli_free(&cfg);
		return 1;
	}
	log_verbosity = cfg.verbose;
	if (cfg.trace && trace_parse(cfg.trace) < 0) {
		fprintf(stderr, "kvmrun: %s\n", err_get());
		cli_free(&cfg);
		return 1;
	}
	switch (cfg.action) {
	case CLI_HELP:
		fputs(cli_usage(), stdout);
		cli_free(&cfg);
		return 0;
	case CLI_VERSION:
		printf("kvmrun version %s\n", KVMRUN_VERSION);
		cli_free(&cfg);
		return 0;
	case CLI_DEVICE_HELP:
		machine_print_devices();
		cli_free(&cfg);
		return 0;
	case CLI_MACHINE_HELP:
		machine_print_machines();
		cli_free(&cfg);
		return 0;
	case CLI_TDX_CAPS:
	case CLI_TDX_MEASURE:
		status = tool_run(&cfg);
		cli_free(&cfg);
		return status;
	case CLI_RUN:
		break;
	}
	if (vcpu_signals_init() < 0) {
		fprintf(stderr, "kvmrun: cannot install the vCPU kick signal handler\n");
		cli_free(&cfg);
		return 1;
	}
	r = machine_create(&cfg, &m);
	if (r < 0) {
		fprintf(stderr, "kvmrun: %s\n", err_get()[0] ? err_get() : strerror(-r));
		cli_free(&cfg);
		return 1;
	}
	status = machine_run(m);
	machine_destroy(m);
	cli_free(&cfg);
	return status;
}
