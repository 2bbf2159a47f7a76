/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* spawn-console.c: the parent's side of the container's console. */

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <termios.h>

#include "spawn.h"

typedef struct Console {
        ConsoleMode mode;
        int master, slave;
        char slave_path[64];
        bool raw;
        struct termios saved;
        char in_buf[4096], out_buf[16384];
        size_t in_len, out_len;
        bool in_eof, master_hup;
        unsigned escape_count;
        uint64_t escape_first_usec;
} Console;

int console_open(Console *c, ConsoleMode mode);
int console_start(Console *c);   /* raw mode on stdin when it is a terminal */
void console_winch(Console *c);
void console_close(Console *c);  /* restores the terminal, closes the pty */
size_t console_poll_fill(Console *c, struct pollfd *p);
/* Returns 1 when Ctrl-] was pressed three times within a second. */
int console_poll_handle(Console *c, const struct pollfd *p, size_t n);
void console_drain(Console *c);
