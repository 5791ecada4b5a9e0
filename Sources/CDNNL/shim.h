#include <dnnl.h>

/* libdnnl is built on the GNU OpenMP runtime; its thread count is OpenMP's. */
void omp_set_num_threads(int num_threads);
int omp_get_max_threads(void);
