/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <dlfcn.h>
#include <string.h>

#include "dlopen-util.h"
#include "util.h"

static void symbols_clear(const DlopenSymbol *symbols) {
        for (const DlopenSymbol *s = symbols; s->name; s++)
                *(void (**)(void)) s->fn = NULL;
}

/* The one attempt: fills lib->detail on failure. Called with lib->lock held. */
static int library_load(DlopenLibrary *lib) {
        (void) dlerror(); /* per thread: drop what an earlier failure of anyone's left */
        void *h = dlopen(lib->soname, RTLD_NOW | RTLD_NODELETE);
        if (!h) {
                const char *e = dlerror();
                /* dlopen() sets no errno. A library that is not there shows as "SONAME: …: " followed
                 * by strerror(ENOENT), in the locale's language as ours is: compare with that rather
                 * than with English words. Anything else (a broken file, or a dependency of the
                 * library missing, which names that one) is quoted. */
                char buf[128];
                const char *enoent = strerror_r(ENOENT, buf, sizeof(buf));
                size_t l = strlen(lib->soname);
                if (!e || (strneq(e, lib->soname, l) && e[l] == ':' && endswith(e, enoent)))
                        snprintf(lib->detail, sizeof(lib->detail), "%s is not installed", lib->soname);
                else
                        snprintf(lib->detail, sizeof(lib->detail), "%s cannot be loaded: %s", lib->soname, e);
                return -ELIBACC;
        }
        for (const DlopenSymbol *s = lib->symbols; s->name; s++) {
                void *p = dlsym(h, s->name);
                if (!p) {
                        snprintf(lib->detail, sizeof(lib->detail), "%s lacks the symbol %s", lib->soname, s->name);
                        /* Nothing half-resolved stays behind for a caller that ignores the error. */
                        symbols_clear(lib->symbols);
                        (void) dlclose(h);
                        return -ELIBBAD;
                }
                /* POSIX guarantees that dlsym()'s object pointer converts to a function pointer. */
                *(void (**)(void)) s->fn = (void (*)(void)) p;
        }
        lib->handle = h; /* kept for the life of the process: the sym_ pointers point into it */
        return 0;
}

int dlopen_library(DlopenLibrary *lib, const char **ret_detail) {
        /* Double-checked: after the first load this is one acquire load. The pull code calls loaders
         * from several threads at once (the decoder thread, the importer thread, curl's caller). */
        if (!atomic_load_explicit(&lib->done, memory_order_acquire)) {
                pthread_mutex_lock(&lib->lock);
                if (!atomic_load_explicit(&lib->done, memory_order_relaxed)) {
                        lib->error = library_load(lib);
                        atomic_store_explicit(&lib->done, true, memory_order_release);
                }
                pthread_mutex_unlock(&lib->lock);
        }
        if (lib->error < 0 && ret_detail)
                *ret_detail = lib->detail;
        return lib->error;
}
