#include <git2.h>

/* git_libgit2_opts is variadic, which Swift cannot call: one non-variadic helper per option used. */

/* Trust the certificates in `file` (PEM) for TLS; process-global. Returns 0 or a libgit2 error code. */
static inline int manifestor_git_set_ssl_cert_file(const char *file) {
    return git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, file, NULL);
}
