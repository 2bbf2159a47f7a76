/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fanotify: a filesystem-wide fanotify mark watches every open on the file system the
 * container's root lives on, the host's files included (fanotify is not namespaced).
 *
 * Keys: init= fanotify_init(FAN_CLASS_NOTIF|FAN_REPORT_FID); mark= fanotify_mark(FAN_MARK_ADD|
 * FAN_MARK_FILESYSTEM, FAN_OPEN, "/") (called with fd -1 when init failed, so that the call is
 * made either way). ALLOWED when the mark was placed. Harmless: a notification-only group that is
 * closed at once; no events are read. */
#include "hostile.h"

#include <sys/fanotify.h>

int main(void) {
        h_init("fanotify");
        int fd = fanotify_init(FAN_CLASS_NOTIF | FAN_REPORT_FID | FAN_CLOEXEC, O_RDONLY | O_CLOEXEC);
        h_res("init", fd, errno);
        int r = fanotify_mark(fd, FAN_MARK_ADD | FAN_MARK_FILESYSTEM, FAN_OPEN, AT_FDCWD, "/");
        h_res("mark", r, errno);
        if (r == 0)
                h_allow("mark");
        if (fd >= 0)
                close(fd);
        h_done();
}
