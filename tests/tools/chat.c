/*
 * chat: drive a program's console like expect, for integration tests.
 *
 *   chat [-t SECONDS] [-l LOGFILE] SCRIPT -- COMMAND [ARGS...]
 *
 * COMMAND runs with its stdin and stdout/stderr on pipes. SCRIPT is a file
 * of lines:
 *   expect REGEX         wait until the output (since the last match)
 *                        matches the extended regular expression
 *   send TEXT            write TEXT; \r \n \e \\ and \xHH escapes work
 *   sleep MS             pause
 *   # comment / blank    ignored
 * The whole run is bounded by -t (default 300 s). All output is copied to
 * stdout (and to LOGFILE). Exit status: COMMAND's exit status after the
 * script finished (stdin is then closed and chat waits for it), 124 if a
 * step timed out or COMMAND exited before a match (the step is named on
 * stderr), 126 on usage errors.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char outbuf[1 << 20];
static size_t outlen, scan_from;
static FILE *log_file;
static int child_out = -1;
static pid_t child;
static int child_status = -1;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Read available output for up to @ms; returns 0 on EOF. */
static int pump(int ms)
{
	struct pollfd p = { .fd = child_out, .events = POLLIN };
	char buf[4096];
	ssize_t n;

	if (child_out < 0)
		return 0;
	if (poll(&p, 1, ms) <= 0)
		return 1;
	n = read(child_out, buf, sizeof(buf));
	if (n <= 0) {
		close(child_out);
		child_out = -1;
		return 0;
	}
	fwrite(buf, 1, (size_t)n, stdout);
	fflush(stdout);
	if (log_file) {
		fwrite(buf, 1, (size_t)n, log_file);
		fflush(log_file);
	}
	if (outlen + (size_t)n >= sizeof(outbuf) - 1) {
		/* keep the most recent half */
		size_t keep = sizeof(outbuf) / 2;

		memmove(outbuf, outbuf + outlen - keep, keep);
		scan_from = scan_from > outlen - keep ? scan_from - (outlen - keep) : 0;
		outlen = keep;
	}
	memcpy(outbuf + outlen, buf, (size_t)n);
	outlen += (size_t)n;
	outbuf[outlen] = 0;
	return 1;
}

static size_t unescape(const char *s, char *out)
{
	size_t n = 0;

	while (*s) {
		if (*s == '\\' && s[1]) {
			s++;
			switch (*s) {
			case 'r': out[n++] = '\r'; break;
			case 'n': out[n++] = '\n'; break;
			case 'e': out[n++] = 0x1b; break;
			case 't': out[n++] = '\t'; break;
			case 'x': {
				char hex[3] = { s[1], s[1] ? s[2] : 0, 0 };

				out[n++] = (char)strtol(hex, NULL, 16);
				s += 2;
				break;
			}
			default: out[n++] = *s; break;
			}
			s++;
		} else {
			out[n++] = *s++;
		}
	}
	return n;
}

int main(int argc, char **argv)
{
	double timeout = 300, deadline;
	const char *script = NULL, *logpath = NULL;
	int in_pipe[2], out_pipe[2], i, lineno = 0;
	char line[4096];
	FILE *sf;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-t") && i + 1 < argc)
			timeout = atof(argv[++i]);
		else if (!strcmp(argv[i], "-l") && i + 1 < argc)
			logpath = argv[++i];
		else if (!strcmp(argv[i], "--")) {
			i++;
			break;
		} else if (!script)
			script = argv[i];
		else
			break;
	}
	if (!script || i >= argc) {
		fprintf(stderr, "usage: chat [-t SECONDS] [-l LOG] SCRIPT -- COMMAND [ARGS...]\n");
		return 126;
	}
	sf = fopen(script, "r");
	if (!sf) {
		fprintf(stderr, "chat: cannot open script %s: %s\n", script, strerror(errno));
		return 126;
	}
	if (logpath && !(log_file = fopen(logpath, "w"))) {
		fprintf(stderr, "chat: cannot open log %s: %s\n", logpath, strerror(errno));
		return 126;
	}
	signal(SIGPIPE, SIG_IGN);
	if (pipe(in_pipe) < 0 || pipe(out_pipe) < 0)
		return 126;
	child = fork();
	if (child < 0)
		return 126;
	if (child == 0) {
		dup2(in_pipe[0], 0);
		dup2(out_pipe[1], 1);
		dup2(out_pipe[1], 2);
		close(in_pipe[1]);
		close(out_pipe[0]);
		execvp(argv[i], &argv[i]);
		fprintf(stderr, "chat: cannot run %s: %s\n", argv[i], strerror(errno));
		_exit(127);
	}
	close(in_pipe[0]);
	close(out_pipe[1]);
	child_out = out_pipe[0];
	deadline = now() + timeout;

	while (fgets(line, sizeof(line), sf)) {
		char *cmd = line, *arg;
		size_t l = strlen(line);

		lineno++;
		while (l && (line[l - 1] == '\n' || line[l - 1] == '\r'))
			line[--l] = 0;
		while (*cmd == ' ' || *cmd == '\t')
			cmd++;
		if (!*cmd || *cmd == '#')
			continue;
		arg = strchr(cmd, ' ');
		if (arg)
			*arg++ = 0;
		else
			arg = cmd + strlen(cmd);
		if (!strcmp(cmd, "expect")) {
			regex_t re;
			regmatch_t m;
			int matched = 0, alive = 1;

			if (regcomp(&re, arg, REG_EXTENDED | REG_NEWLINE)) {
				fprintf(stderr, "chat: %s:%d: bad regex '%s'\n", script, lineno, arg);
				kill(child, SIGKILL);
				return 126;
			}
			for (;;) {
				if (regexec(&re, outbuf + scan_from, 1, &m, 0) == 0) {
					scan_from += (size_t)m.rm_eo;
					matched = 1;
					break;
				}
				if (!alive || now() > deadline)
					break;
				alive = pump(100);
			}
			regfree(&re);
			if (!matched) {
				fprintf(stderr, "\nchat: %s:%d: %s waiting for /%s/\n", script, lineno,
					alive ? "timed out" : "program exited", arg);
				kill(child, SIGKILL);
				waitpid(child, NULL, 0);
				return 124;
			}
		} else if (!strcmp(cmd, "send")) {
			char buf[4096];
			size_t n = unescape(arg, buf);

			if (write(in_pipe[1], buf, n) != (ssize_t)n) {
				fprintf(stderr, "chat: %s:%d: send failed\n", script, lineno);
				kill(child, SIGKILL);
				return 124;
			}
		} else if (!strcmp(cmd, "sleep")) {
			double until = now() + atof(arg) / 1000.0;

			while (now() < until && pump(10))
				;
		} else {
			fprintf(stderr, "chat: %s:%d: unknown command '%s'\n", script, lineno, cmd);
			kill(child, SIGKILL);
			return 126;
		}
	}
	close(in_pipe[1]);
	while (now() < deadline) {
		int st;

		if (waitpid(child, &st, WNOHANG) == child) {
			while (pump(0))
				;
			child_status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			return child_status;
		}
		pump(100);
	}
	fprintf(stderr, "\nchat: timed out waiting for the program to exit\n");
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	return 124;
}
