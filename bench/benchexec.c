/*
 * benchexec: run one VMM command for a benchmark and measure it from the
 * outside, the same way for kvmrun and for QEMU.
 *
 *   benchexec [options] -- COMMAND [ARGS...]
 *
 * COMMAND runs with stdin from /dev/null (or this program's stdin with -I)
 * and its stdout+stderr on a pipe that benchexec reads. Times are seconds
 * since just before COMMAND was started.
 *
 *   -t SEC      kill COMMAND after SEC seconds (default 600); status 124
 *   -o FILE     copy COMMAND's output to FILE
 *   -e REGEX    report when the output first matches REGEX (extended
 *               regex, matched per line; a prompt without a newline counts
 *               too); repeatable, reported in order as e0=, e1=, ... (-1:
 *               never)
 *   -a REGEX    like -e, but only lines after the one that matched the
 *               previous -e/-a count ("the next line of this kind")
 *   -x REGEX    when a line matches, end COMMAND (SIGTERM, SIGKILL 5 s
 *               later) and report the status it then exits with
 *
 * COMMAND runs in a process group of its own: a timeout or -x ends
 * everything it started.
 *   -M REGEX    for every line that matches, print a MARK line with the
 *               time and COMMAND's CPU time so far (/proc/PID/stat
 *               utime+stime, all threads), and with -r a fresh sample
 *   -r MIB      sample /proc/PID/smaps every -i ms and split the resident
 *               memory into guest RAM (mappings of MIB .. MIB+4 MiB) and
 *               everything else (the VMM's own overhead)
 *   -i MS       sampling period for -r (default 100)
 *   -v          with -r: list the largest non-guest mappings at the peak
 *
 * Prints (stdout), after COMMAND ended:
 *   MARK t=SEC cpu=SEC [rss_other_kb=N rss_guest_kb=N] line=TEXT
 *                                             (for -M, as they happen)
 *   MAP rss_kb=N size_kb=N name=TEXT          (for -v)
 *   BENCHEXEC rc=N wall=SEC user=SEC sys=SEC e0=SEC ... [rss_* fields]
 * and exits with COMMAND's status (128+N for a signal, 124 on timeout,
 * 126 on usage errors).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_EXPECT 16
#define MAX_TOP 8
#define GUEST_SLACK_KB (4 * 1024)    /* VMMs may round a RAM block up a little */

struct expect {
	regex_t re;
	bool after_prev;             /* -a: armed once the previous one matched */
	double t;                    /* -1 until matched */
	unsigned long line;          /* the line it matched (1-based) */
};

struct top_map {
	unsigned long rss_kb, size_kb;
	char name[96];
};

struct rss_stats {
	unsigned long guest_ram_kb;   /* -r, in kB; 0: no sampling */
	int samples;
	int guest_maps;               /* guest RAM mappings seen in the last sample */
	unsigned long other_max_kb, other_last_kb, guest_last_kb, other_anon_at_max_kb;
	unsigned long guest_max_kb, total_max_kb;
	double t_other_max;
	struct top_map top[MAX_TOP];  /* at the peak of "other" */
	int nr_top;
};

static struct expect expects[MAX_EXPECT];
static int nr_expect;
static regex_t quit_re, mark_re;
static bool have_quit, have_mark, verbose;
static pid_t child;
static double t_start;
static FILE *log_file;
static struct rss_stats rss;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: benchexec [options] -- COMMAND [ARGS...]\n"
		"  -t SEC    time limit (default 600; then status 124)\n"
		"  -o FILE   copy COMMAND's output to FILE\n"
		"  -e REGEX  time of the first output line matching REGEX (e0=, e1=, ...)\n"
		"  -a REGEX  the same, counting only lines after the previous -e/-a match\n"
		"  -x REGEX  end COMMAND when a line matches\n"
		"  -M REGEX  MARK line (time, CPU time, RSS with -r) for every matching line\n"
		"  -r MIB    sample smaps: guest RAM of MIB vs the rest (-i MS period, -v maps)\n"
		"  -I        COMMAND reads this program's stdin (default /dev/null)\n");
	exit(126);
}

static void compile(regex_t *re, const char *s)
{
	if (regcomp(re, s, REG_EXTENDED | REG_NOSUB)) {
		fprintf(stderr, "benchexec: bad regex '%s'\n", s);
		exit(126);
	}
}

/* utime+stime of the whole process, in seconds; -1 if unreadable. */
static double proc_cpu(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long ut, st;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = 0;
	/* The command name may contain blanks and parentheses: skip past the last ')'. */
	p = strrchr(buf, ')');
	if (!p)
		return -1;
	/*
	 * After ')': state (field 3), ppid, pgrp, session, tty, tpgid, flags,
	 * minflt, cminflt, majflt, cmajflt, then utime (14) and stime (15).
	 */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void top_insert(struct top_map *top, int *nr, unsigned long rss_kb, unsigned long size_kb,
		       const char *name)
{
	int i, pos = *nr;

	while (pos > 0 && top[pos - 1].rss_kb < rss_kb)
		pos--;
	if (pos >= MAX_TOP)
		return;
	if (*nr < MAX_TOP)
		(*nr)++;
	for (i = *nr - 1; i > pos; i--)
		top[i] = top[i - 1];
	top[pos].rss_kb = rss_kb;
	top[pos].size_kb = size_kb;
	snprintf(top[pos].name, sizeof(top[pos].name), "%s", *name ? name : "[anon]");
}

/* The path of an smaps header line "range perms offset dev inode [path]", or "". */
static const char *map_name(char *line)
{
	char *p = line;
	int field;

	line[strcspn(line, "\n")] = 0;
	for (field = 0; field < 5; field++) {
		p += strcspn(p, " \t");
		p += strspn(p, " \t");
	}
	return p;
}

/*
 * One pass over /proc/PID/smaps. A mapping is guest RAM when its size is
 * the guest RAM size (up to GUEST_SLACK_KB more): both VMMs allocate the
 * RAM of a small guest as one anonymous mapping, which nothing else in
 * either process comes close to.
 */
static void sample_rss(void)
{
	char path[64], line[512], name[96] = "";
	unsigned long start, end, size_kb = 0, v;
	unsigned long guest = 0, other = 0, other_anon = 0;
	struct top_map top[MAX_TOP];
	int nr_top = 0, maps = 0;
	bool is_guest = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)child);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char perms[8];

		if (sscanf(line, "%lx-%lx %7s", &start, &end, perms) == 3) {
			size_kb = (end - start) / 1024;
			is_guest = size_kb >= rss.guest_ram_kb &&
				   size_kb <= rss.guest_ram_kb + GUEST_SLACK_KB;
			maps += is_guest;
			snprintf(name, sizeof(name), "%s", map_name(line));
		} else if (sscanf(line, "Rss: %lu kB", &v) == 1) {
			if (is_guest) {
				guest += v;
			} else {
				other += v;
				if (v)
					top_insert(top, &nr_top, v, size_kb, name);
			}
		} else if (sscanf(line, "Anonymous: %lu kB", &v) == 1 && !is_guest) {
			other_anon += v;
		}
	}
	fclose(f);
	if (!maps && !other)
		return;                  /* the process is gone (or a zombie) */
	rss.samples++;
	rss.guest_maps = maps;
	rss.other_last_kb = other;
	rss.guest_last_kb = guest;
	if (guest > rss.guest_max_kb)
		rss.guest_max_kb = guest;
	if (guest + other > rss.total_max_kb)
		rss.total_max_kb = guest + other;
	if (other > rss.other_max_kb) {
		rss.other_max_kb = other;
		rss.other_anon_at_max_kb = other_anon;
		rss.t_other_max = now() - t_start;
		memcpy(rss.top, top, sizeof(top));
		rss.nr_top = nr_top;
	}
}

static double t_term;             /* when -x sent SIGTERM (0: not yet) */

static void end_child(void)
{
	if (!t_term) {
		kill(-child, SIGTERM);
		t_term = now();
	}
}

static unsigned long lineno = 1;   /* the line being scanned */

/* A complete line (@final) or the partial line seen so far. */
static void scan_line(const char *s, bool final)
{
	int i;

	for (i = 0; i < nr_expect; i++) {
		struct expect *e = &expects[i];

		if (e->t >= 0)
			continue;
		if (e->after_prev && (i == 0 || expects[i - 1].t < 0 ||
				      expects[i - 1].line >= lineno))
			continue;
		if (regexec(&e->re, s, 0, NULL, 0) == 0) {
			e->t = now() - t_start;
			e->line = lineno;
		}
	}
	if (!final)
		return;
	lineno++;
	if (have_mark && regexec(&mark_re, s, 0, NULL, 0) == 0) {
		printf("MARK t=%.6f cpu=%.2f", now() - t_start, proc_cpu(child));
		if (rss.guest_ram_kb) {
			sample_rss();
			printf(" rss_other_kb=%lu rss_guest_kb=%lu", rss.other_last_kb,
			       rss.guest_last_kb);
		}
		printf(" line=%s\n", s);
	}
	if (have_quit && regexec(&quit_re, s, 0, NULL, 0) == 0)
		end_child();
}

static char linebuf[8192];
static size_t linelen;

static void consume(const char *buf, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char c = buf[i];

		if (c == '\n' || linelen == sizeof(linebuf) - 1) {
			linebuf[linelen] = 0;
			if (linelen && linebuf[linelen - 1] == '\r')
				linebuf[linelen - 1] = 0;
			scan_line(linebuf, true);
			linelen = 0;
			if (c == '\n')
				continue;
		}
		if (c != 0)
			linebuf[linelen++] = c;
	}
	if (linelen) {
		linebuf[linelen] = 0;
		scan_line(linebuf, false);
	}
}

int main(int argc, char **argv)
{
	double timeout = 600, deadline, next_sample = 0, period = 0.1, wall;
	const char *logpath = NULL;
	bool inherit_stdin = false, timed_out = false, eof = false;
	int out_pipe[2], opt, status = 0, rc, i;
	struct rusage ru;

	while ((opt = getopt(argc, argv, "+t:o:e:a:x:M:r:i:vI")) != -1) {
		switch (opt) {
		case 't': timeout = atof(optarg); break;
		case 'o': logpath = optarg; break;
		case 'e':
		case 'a':
			if (nr_expect == MAX_EXPECT)
				usage();
			compile(&expects[nr_expect].re, optarg);
			expects[nr_expect].after_prev = opt == 'a';
			expects[nr_expect++].t = -1;
			break;
		case 'x': compile(&quit_re, optarg); have_quit = true; break;
		case 'M': compile(&mark_re, optarg); have_mark = true; break;
		case 'r': rss.guest_ram_kb = strtoul(optarg, NULL, 0) * 1024; break;
		case 'i': period = atof(optarg) / 1000.0; break;
		case 'v': verbose = true; break;
		case 'I': inherit_stdin = true; break;
		default: usage();
		}
	}
	if (optind >= argc || timeout <= 0 || period <= 0)
		usage();
	if (logpath && !(log_file = fopen(logpath, "w"))) {
		fprintf(stderr, "benchexec: cannot open %s: %s\n", logpath, strerror(errno));
		return 126;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	if (pipe(out_pipe) < 0)
		return 126;
	t_start = now();
	child = fork();
	if (child < 0)
		return 126;
	if (child == 0) {
		/* Its own process group: a timeout or -x also ends what it started (chat's VMM). */
		setpgid(0, 0);
		if (!inherit_stdin) {
			int null = open("/dev/null", O_RDONLY);

			if (null >= 0)
				dup2(null, 0);
		}
		dup2(out_pipe[1], 1);
		dup2(out_pipe[1], 2);
		close(out_pipe[0]);
		close(out_pipe[1]);
		execvp(argv[optind], &argv[optind]);
		fprintf(stderr, "benchexec: cannot run %s: %s\n", argv[optind], strerror(errno));
		_exit(127);
	}
	setpgid(child, child);            /* as the child does: whichever runs first */
	close(out_pipe[1]);
	deadline = t_start + timeout;

	/* Read until EOF (every holder of the pipe is gone), sampling on the way. */
	while (!eof) {
		struct pollfd p = { .fd = out_pipe[0], .events = POLLIN };
		double t = now(), wait_s = deadline - t;
		char buf[4096];
		ssize_t n;

		if (t >= deadline) {
			kill(-child, SIGKILL);
			timed_out = true;
			break;
		}
		if (t_term && t - t_term > 5)
			kill(-child, SIGKILL);
		if (rss.guest_ram_kb) {
			if (t >= next_sample) {
				sample_rss();
				next_sample = t + period;
			}
			if (next_sample - t < wait_s)
				wait_s = next_sample - t;
		}
		if (poll(&p, 1, (int)(wait_s * 1000) + 1) <= 0)
			continue;
		n = read(out_pipe[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			eof = true;
			break;
		}
		if (log_file)
			fwrite(buf, 1, (size_t)n, log_file);
		consume(buf, (size_t)n);
	}
	/* The pipe can close before the process exits (or never, on timeout). */
	while ((rc = wait4(child, &status, timed_out ? 0 : WNOHANG, &ru)) == 0) {
		if (now() >= deadline || (t_term && now() - t_term > 5)) {
			kill(-child, SIGKILL);
			timed_out = now() >= deadline;
		}
		if (rss.guest_ram_kb)
			sample_rss();
		usleep(10000);
	}
	wall = now() - t_start;
	if (log_file)
		fclose(log_file);
	if (rc < 0) {
		fprintf(stderr, "benchexec: wait: %s\n", strerror(errno));
		return 126;
	}
	if (timed_out)
		rc = 124;
	else if (WIFEXITED(status))
		rc = WEXITSTATUS(status);
	else
		rc = 128 + WTERMSIG(status);

	for (i = 0; verbose && i < rss.nr_top; i++)
		printf("MAP rss_kb=%lu size_kb=%lu name=%s\n", rss.top[i].rss_kb,
		       rss.top[i].size_kb, rss.top[i].name);
	printf("BENCHEXEC rc=%d wall=%.6f user=%.3f sys=%.3f", rc, wall,
	       (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
	for (i = 0; i < nr_expect; i++)
		printf(" e%d=%.6f", i, expects[i].t);
	if (rss.guest_ram_kb)
		printf(" rss_samples=%d rss_guest_maps=%d rss_other_max_kb=%lu"
		       " rss_other_last_kb=%lu rss_other_anon_at_max_kb=%lu rss_guest_max_kb=%lu"
		       " rss_total_max_kb=%lu rss_t_other_max=%.3f", rss.samples, rss.guest_maps,
		       rss.other_max_kb, rss.other_last_kb, rss.other_anon_at_max_kb,
		       rss.guest_max_kb, rss.total_max_kb, rss.t_other_max);
	printf("\n");
	return rc;
}
