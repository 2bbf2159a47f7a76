/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "spawn-console.h"

/* The parent's side of the container's console: a pty whose slave becomes the payload's stdio
 * and /dev/console, with stdin in raw mode and the window size kept in sync. Pressing Ctrl-]
 * three times within a second asks to kill the container, as in systemd-nspawn.
 *
 * Untrusted input: the bytes the container writes, which are only copied to stdout. */

#define ESCAPE_CHAR 0x1d /* Ctrl-] */
#define ESCAPE_WINDOW_USEC 1000000ULL

static uint64_t now_usec(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000ULL;
}

int console_open(Console *c, ConsoleMode mode) {
        *c = (Console) { .mode = mode, .master = -EBADF, .slave = -EBADF };
        if (mode == CONSOLE_PIPE)
                return 0;
        c->master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
        if (c->master < 0)
                return negative_errno();
        if (grantpt(c->master) < 0 || unlockpt(c->master) < 0 || ptsname_r(c->master, c->slave_path, sizeof(c->slave_path)) != 0)
                goto fail;
        c->slave = open(c->slave_path, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (c->slave < 0)
                goto fail;
        console_winch(c);
        return 0;
fail:;
        int r = negative_errno();
        console_close(c);
        return r;
}

void console_winch(Console *c) {
        struct winsize ws;
        if (c->master < 0)
                return;
        if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) >= 0 || ioctl(STDIN_FILENO, TIOCGWINSZ, &ws) >= 0)
                (void) ioctl(c->master, TIOCSWINSZ, &ws);
}

int console_start(Console *c) {
        /* The parent needs no slave of its own: EIO on the master then means the container is done. */
        c->slave = safe_close(c->slave);
        if (c->mode != CONSOLE_INTERACTIVE || !isatty(STDIN_FILENO))
                return 0;
        if (tcgetattr(STDIN_FILENO, &c->saved) < 0)
                return negative_errno();
        struct termios raw = c->saved;
        cfmakeraw(&raw);
        if (tcsetattr(STDIN_FILENO, TCSANOW, &raw) < 0)
                return negative_errno();
        c->raw = true;
        return 0;
}

void console_close(Console *c) {
        if (c->raw)
                (void) tcsetattr(STDIN_FILENO, TCSANOW, &c->saved);
        c->raw = false;
        c->master = safe_close(c->master);
        c->slave = safe_close(c->slave);
}

/* pollfd slots: 0 stdin, 1 master, 2 stdout */
size_t console_poll_fill(Console *c, struct pollfd *p) {
        if (c->master < 0 || c->mode == CONSOLE_PASSIVE)
                return 0;
        bool want_in = c->mode == CONSOLE_INTERACTIVE && !c->in_eof && c->in_len == 0;
        p[0] = (struct pollfd) { .fd = want_in ? STDIN_FILENO : -1, .events = POLLIN };
        short me = 0;
        if (!c->master_hup && c->out_len == 0)
                me |= POLLIN;
        if (c->in_len > 0)
                me |= POLLOUT;
        p[1] = (struct pollfd) { .fd = me ? c->master : -1, .events = me };
        p[2] = (struct pollfd) { .fd = c->out_len > 0 ? STDOUT_FILENO : -1, .events = POLLOUT };
        return 3;
}

static bool escape_seen(Console *c, const char *buf, size_t n) {
        for (size_t i = 0; i < n; i++) {
                if ((unsigned char) buf[i] != ESCAPE_CHAR)
                        continue;
                uint64_t t = now_usec();
                if (c->escape_count == 0 || t - c->escape_first_usec > ESCAPE_WINDOW_USEC) {
                        c->escape_first_usec = t;
                        c->escape_count = 1;
                } else if (++c->escape_count >= 3)
                        return true;
        }
        return false;
}

static void write_out(Console *c) {
        ssize_t k = write(STDOUT_FILENO, c->out_buf, c->out_len);
        if (k > 0) {
                memmove(c->out_buf, c->out_buf + k, c->out_len - (size_t) k);
                c->out_len -= (size_t) k;
        } else if (k < 0 && errno != EAGAIN && errno != EINTR)
                c->out_len = 0; /* stdout is gone: drop what the container writes */
}

int console_poll_handle(Console *c, const struct pollfd *p, size_t n) {
        if (n < 3)
                return 0;
        if (p[0].fd >= 0 && p[0].revents) {
                ssize_t k = read(STDIN_FILENO, c->in_buf, sizeof(c->in_buf));
                if (k > 0) {
                        c->in_len = (size_t) k;
                        if (escape_seen(c, c->in_buf, c->in_len))
                                return 1;
                } else if (k == 0 || (errno != EAGAIN && errno != EINTR))
                        c->in_eof = true;
        }
        if (p[1].fd >= 0 && (p[1].revents & POLLOUT) && c->in_len > 0) {
                ssize_t k = write(c->master, c->in_buf, c->in_len);
                if (k > 0) {
                        memmove(c->in_buf, c->in_buf + k, c->in_len - (size_t) k);
                        c->in_len -= (size_t) k;
                } else if (k < 0 && errno != EAGAIN && errno != EINTR)
                        c->in_len = 0;
        }
        if (p[1].fd >= 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR)) && c->out_len == 0) {
                ssize_t k = read(c->master, c->out_buf, sizeof(c->out_buf));
                if (k > 0)
                        c->out_len = (size_t) k;
                else if (k == 0 || (errno != EAGAIN && errno != EINTR))
                        c->master_hup = true; /* EIO: every slave fd is closed */
        }
        if (p[2].fd >= 0 && (p[2].revents & (POLLOUT | POLLERR | POLLHUP)) && c->out_len > 0)
                write_out(c);
        return 0;
}

void console_drain(Console *c) {
        if (c->master < 0 || c->mode == CONSOLE_PASSIVE)
                return;
        for (;;) {
                while (c->out_len > 0) {
                        size_t before = c->out_len;
                        write_out(c);
                        if (c->out_len == before)
                                break;
                }
                if (c->out_len > 0 || c->master_hup)
                        return;
                ssize_t k = read(c->master, c->out_buf, sizeof(c->out_buf));
                if (k <= 0)
                        return;
                c->out_len = (size_t) k;
        }
}
