#include <cblas.h>
#include <dlfcn.h>

/* OpenBLAS's pthread build starts its worker threads when the library loads, and each spins (sched_yield) for
 * about 0.1 s before it sleeps, whether or not anything is ever multiplied: during a short run that is one of the
 * cores taken from the threads doing the work. This ends them; OpenBLAS starts them again on its next
 * multi-threaded call. A build without them (serial, OpenMP) has no such symbol, and nothing happens. */
static inline void unispeech_openblas_end_idle_threads(void) {
    int (*shutdown)(void) = (int (*)(void))dlsym((void *)0 /* RTLD_DEFAULT */, "blas_thread_shutdown_");
    if (shutdown) (void)shutdown();
}
