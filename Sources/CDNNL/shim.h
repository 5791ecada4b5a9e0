#include <dnnl.h>

/* libdnnl is built on the GNU OpenMP runtime; its thread count is OpenMP's, per calling thread. */
void omp_set_num_threads(int num_threads);
int omp_get_max_threads(void);

/* Values of oneDNN macros that Swift cannot import. */
static inline int64_t unispeech_dnnl_runtime_dim(void) { return DNNL_RUNTIME_DIM_VAL; }
