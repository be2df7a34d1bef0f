#include <git2.h>
#include <git2/sys/odb_backend.h>
#include <zlib.h>

/* git_libgit2_opts is variadic, which Swift cannot call: one non-variadic helper per option used. */

/* Trust the certificates in `file` (PEM) for TLS; process-global. Returns 0 or a libgit2 error code. */
static inline int manifestor_git_set_ssl_cert_file(const char *file) {
    return git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, file, NULL);
}

/* Cache objects of `type` up to `size` bytes (libgit2 caches no tree over 4 KB by default). */
static inline int manifestor_git_set_cache_object_limit(git_object_t type, size_t size) {
    return git_libgit2_opts(GIT_OPT_SET_CACHE_OBJECT_LIMIT, type, size);
}

/* Upper bound, in bytes, on what libgit2's object cache holds in all (default 256 MiB). */
static inline int manifestor_git_set_cache_max_size(ssize_t bytes) {
    return git_libgit2_opts(GIT_OPT_SET_CACHE_MAX_SIZE, bytes);
}

/* Size of one mapped window of a pack file (default 1 GiB on 64-bit). */
static inline int manifestor_git_set_mwindow_size(size_t bytes) {
    return git_libgit2_opts(GIT_OPT_SET_MWINDOW_SIZE, bytes);
}

/* Bound on the pack bytes mapped at once; least recently used windows are unmapped beyond it. */
static inline int manifestor_git_set_mwindow_mapped_limit(size_t bytes) {
    return git_libgit2_opts(GIT_OPT_SET_MWINDOW_MAPPED_LIMIT, bytes);
}

/* Whether objects read from disk are hashed again to check their id (default on). */
static inline int manifestor_git_enable_strict_hash_verification(int enabled) {
    return git_libgit2_opts(GIT_OPT_ENABLE_STRICT_HASH_VERIFICATION, enabled);
}

#include <malloc.h>

/* Gives the C allocator's free memory back to the system (glibc); 1 if some was released. */
static inline int manifestor_malloc_trim(void) {
    return malloc_trim(0);
}

/* zlib's Adler-32 (the checksum of a zlib stream), over `length` bytes. */
static inline unsigned long manifestor_adler32(unsigned long adler, const void *bytes, size_t length) {
    return adler32_z(adler, (const Bytef *)bytes, length);
}
