/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* reboot: reboot(2) outside a PID namespace acts on the host. In a PID namespace other than the
 * initial one the kernel answers everything but restart, power-off and halt (which only end that
 * namespace) with EINVAL, after its CAP_SYS_BOOT check.
 *
 * Keys: cad_on= reboot(LINUX_REBOOT_CMD_CAD_ON), made only when our PID is 1 or 2, which no
 * program of the host's PID namespace ever has (there, PID 1 is init and 2 kthreadd); otherwise
 * cad_on=skipped(pid>2) and bad_cmd= reboot() with an undefined command, which every PID
 * namespace rejects with EINVAL.
 * EINVAL or EPERM is refused; ok is ALLOWED. Harmless: NEVER restart, power-off or halt; CAD_ON
 * only inside a PID namespace, where it cannot reach the host. */
#include "hostile.h"

#include <linux/reboot.h>
#include <sys/syscall.h>

int main(void) {
        h_init("reboot");
        pid_t self = getpid();
        const char *key = "cad_on";
        long r;
        if (self == 1 || self == 2)
                r = h_ret(key,
                        syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, LINUX_REBOOT_CMD_CAD_ON, NULL));
        else {
                h_kv(key, "skipped(pid>2)");
                key = "bad_cmd";
                r = h_ret(key, syscall(SYS_reboot, LINUX_REBOOT_MAGIC1, LINUX_REBOOT_MAGIC2, 0x0badc0deU, NULL));
        }
        if (r >= 0)
                h_allow(key);
        h_done();
}
