#include <dnnl.h>

/* libdnnl is built on the GNU OpenMP runtime; its thread count is OpenMP's, per calling thread. */
void omp_set_num_threads(int num_threads);
int omp_get_max_threads(void);

/* Values of oneDNN macros that Swift cannot import. */
static inline int64_t unispeech_dnnl_runtime_dim(void) { return DNNL_RUNTIME_DIM_VAL; }
/* The execution argument of post-op `index`'s second operand (a binary post-op's tensor). */
static inline int unispeech_dnnl_arg_post_op_operand(int index) { return DNNL_ARG_ATTR_MULTIPLE_POST_OP(index) | DNNL_ARG_SRC_1; }
/* The execution argument of the source's zero points. */
static inline int unispeech_dnnl_arg_source_zero_points(void) { return DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC; }
/* oneDNN's placeholder for an s32 value (a zero point) given at execution. */
static inline int32_t unispeech_dnnl_runtime_s32(void) { return DNNL_RUNTIME_S32_VAL; }
