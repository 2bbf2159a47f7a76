/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* TEMPORARY stand-in for the import engineer's import-tar.c/import-raw.c, so that the pull side
 * can be built and tested before their branch lands. Delete this file when merging `import`
 * (the linker will complain about duplicate tar_import_* symbols otherwise). It extracts with
 * GNU tar in a subprocess and writes raw images unsparsely, uncompressed only. */
#include <fcntl.h>
#include <string.h>
#include <sys/wait.h>

#include "fd-util.h"
#include "import.h"
#include "util.h"

struct TarImport {
        ImageRoot *root;
        ImageTemp *temp;
        bool read_only;
};

struct RawImport {
        ImageRoot *root;
        ImageTemp *temp;
        bool read_only;
};

int tar_import_new(ImageRoot *root, const char *name, const ImportOptions *opts, TarImport **ret) {
        TarImport *t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        t->root = root;
        t->read_only = opts && opts->read_only;
        int r = image_temp_new(root, "tar", name, IMAGE_DIRECTORY, opts && opts->force ? IMAGE_TEMP_FORCE : 0, &t->temp);
        if (r < 0) {
                free(t);
                return r;
        }
        *ret = t;
        return 0;
}

static const char *compressor(const uint8_t *m, size_t n) {
        if (n >= 6 && memcmp(m, "\xfd" "7zXZ\0", 6) == 0)
                return "xz";
        if (n >= 2 && m[0] == 0x1f && m[1] == 0x8b)
                return "gzip";
        if (n >= 3 && memcmp(m, "BZh", 3) == 0)
                return "bzip2";
        if (n >= 4 && memcmp(m, "\x28\xb5\x2f\xfd", 4) == 0)
                return "zstd";
        return NULL;
}

int tar_import_run(TarImport *t, int fd, char **ret_error_entry) {
        uint8_t head[6];
        ssize_t hn = loop_read(fd, head, sizeof(head));
        if (hn < 0)
                return (int) hn;
        const char *comp = compressor(head, (size_t) hn);
        _cleanup_free_ char *dir = strjoin(t->root->path, "/", t->temp->temp_name);
        if (!dir)
                return -ENOMEM;
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
                return negative_errno();
        pid_t pid = fork();
        if (pid < 0)
                return negative_errno();
        if (pid == 0) {
                if (dup2(p[0], 0) < 0)
                        _exit(127);
                int null = open("/dev/null", O_WRONLY);
                if (null >= 0)
                        dup2(null, 1);
                if (comp)
                        execlp("tar", "tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "--acls", "-I", comp,
                               "-xpf", "-", "-C", dir, (char *) NULL);
                else
                        execlp("tar", "tar", "--numeric-owner", "--xattrs", "--xattrs-include=*", "--acls", "-xpf",
                               "-", "-C", dir, (char *) NULL);
                _exit(127);
        }
        close(p[0]);
        int r = loop_write(p[1], head, (size_t) hn);
        static uint8_t buf[1 << 20];
        while (r >= 0) {
                ssize_t n = read(fd, buf, sizeof(buf));
                if (n < 0 && errno == EINTR && !interrupted())
                        continue;
                if (n < 0) {
                        r = negative_errno();
                        break;
                }
                if (n == 0)
                        break;
                r = loop_write(p[1], buf, (size_t) n);
        }
        close(p[1]);
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                ;
        if (r < 0)
                return r;
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                if (ret_error_entry)
                        *ret_error_entry = strdup("(tar failed)");
                return -EBADMSG;
        }
        return 0;
}

int tar_import_publish(TarImport *t) {
        return image_temp_publish(t->temp, t->read_only);
}

TarImport *tar_import_free(TarImport *t) {
        if (!t)
                return NULL;
        image_temp_free(t->temp);
        free(t);
        return NULL;
}

int raw_import_new(ImageRoot *root, const char *name, const ImportOptions *opts, RawImport **ret) {
        RawImport *t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        t->root = root;
        t->read_only = opts && opts->read_only;
        int r = image_temp_new(root, "raw", name, IMAGE_RAW, opts && opts->force ? IMAGE_TEMP_FORCE : 0, &t->temp);
        if (r < 0) {
                free(t);
                return r;
        }
        *ret = t;
        return 0;
}

static int copy_fd(int in, int out) {
        static uint8_t buf[1 << 16];
        for (;;) {
                ssize_t n = read(in, buf, sizeof(buf));
                if (n < 0 && errno == EINTR && !interrupted())
                        continue;
                if (n < 0)
                        return negative_errno();
                if (n == 0)
                        return 0;
                int r = loop_write(out, buf, (size_t) n);
                if (r < 0)
                        return r;
        }
}

int raw_import_run(RawImport *t, int fd) {
        return copy_fd(fd, t->temp->fd);
}

int raw_import_add_sidecar(RawImport *t, const char *suffix, int fd) {
        int out;
        int r = image_temp_sidecar(t->temp, suffix, &out);
        if (r < 0)
                return r;
        r = copy_fd(fd, out);
        close(out);
        return r;
}

int raw_import_publish(RawImport *t) {
        return image_temp_publish(t->temp, t->read_only);
}

RawImport *raw_import_free(RawImport *t) {
        if (!t)
                return NULL;
        image_temp_free(t->temp);
        free(t);
        return NULL;
}
