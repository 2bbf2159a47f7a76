/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Libraries loaded with dlopen() when a verb first needs them, the way systemd loads
 * libcryptsetup. The one file that wraps a library includes its header for the types only,
 * declares a pointer per function it calls,
 *
 *         static typeof(archive_read_new) *sym_archive_read_new;
 *
 * lists them in a table of DLSYM(archive_read_new) entries, and has a dlopen_xxx() loader that
 * calls dlopen_library() before the first use. So `cowpen run` and the image verbs map none of
 * the transfer and verity libraries (nor the ~45 libraries they pull in), and a verb whose library
 * is missing fails with one line saying which, instead of cowpen not starting at all.
 *
 * The errors: -ELIBACC when the library cannot be loaded (not installed, or not loadable), and
 * -ELIBBAD when it lacks a symbol (a version too old for us). Neither is used for anything else,
 * so layers above can tell them from every other failure (dlopen_error_is_library()). */

#include <pthread.h>
#include <stdatomic.h>

#include "macro.h"

typedef struct DlopenSymbol {
        void *fn; /* the address of the sym_ pointer to set (a pointer to a function pointer) */
        const char *name;
} DlopenSymbol;

/* 0 as an integer constant expression that does not compile ("size of unnamed array is negative")
 * unless sym_F has the type of &F. */
#define DLSYM_TYPE_CHECK(f) (0 * sizeof(char[__builtin_types_compatible_p(typeof(sym_##f), typeof(&(f))) ? 1 : -1]))

/* A table entry for function F, whose pointer must be declared as "typeof(F) *sym_F". Usable in
 * static initializers. */
#define DLSYM(f)                                                                                                      \
        { .fn = &sym_##f, .name = &(#f)[DLSYM_TYPE_CHECK(f)] }

/* The longest detail kept: the SONAME, the symbol and dlerror()'s text. */
#define DLOPEN_DETAIL_MAX 512

typedef struct DlopenLibrary {
        const char *soname;          /* "libarchive.so.13" */
        const DlopenSymbol *symbols; /* terminated by an entry with name NULL */
        /* The one load attempt; written under lock, published by done (release). */
        pthread_mutex_t lock;
        atomic_bool done;
        int error;
        void *handle;
        char detail[DLOPEN_DETAIL_MAX];
} DlopenLibrary;

#define DLOPEN_LIBRARY_INIT(_soname, _symbols)                                                                        \
        { .soname = (_soname), .symbols = (_symbols), .lock = PTHREAD_MUTEX_INITIALIZER, }

/* Loads lib (RTLD_NOW|RTLD_NODELETE: every symbol of it and its dependencies is bound now, and it
 * is never unmapped, so the sym_ pointers stay valid for the life of the process) and sets every
 * sym_ pointer of its table. Thread-safe; the first caller loads, concurrent callers wait for it,
 * later ones only read the result. The result is final: a library that failed is not tried again,
 * and every later call returns the same error and detail, so a caller several layers up can ask
 * for the detail of an error it was handed.
 *
 * Returns 0, or -ELIBACC / -ELIBBAD with *ret_detail (may be NULL; written only on failure, valid
 * for the life of the process) set to one phrase: "libfoo.so.1 is not installed", "libfoo.so.1
 * cannot be loaded: DLERROR" or "libfoo.so.1 lacks the symbol foo_bar". On failure every pointer of
 * the table is NULL. */
int dlopen_library(DlopenLibrary *lib, const char **ret_detail);

/* Whether r is one of dlopen_library()'s errors. */
static inline bool dlopen_error_is_library(int r) {
        return r == -ELIBACC || r == -ELIBBAD;
}
