/* Small vector kernels the Swift code calls in hot loops, each with an AVX2/F16C
   path chosen at run time and a portable fallback. */
#ifndef CKERNELS_H
#define CKERNELS_H

#include <stddef.h>
#include <stdint.h>

/* True when the AVX2 + FMA + F16C paths are used on this CPU. */
int ck_has_avx2_f16c(void);

/* CPU features seen at run time, one bit each (0 on other architectures). */
enum {
    CK_CPU_AVX2 = 1 << 0, CK_CPU_FMA = 1 << 1, CK_CPU_F16C = 1 << 2, CK_CPU_AVX512F = 1 << 3,
    CK_CPU_AVX512BW = 1 << 4, CK_CPU_AVX512VL = 1 << 5, CK_CPU_AVX512VNNI = 1 << 6, CK_CPU_AVXVNNI = 1 << 7,
    CK_CPU_AVX512BF16 = 1 << 8, CK_CPU_AMX = 1 << 9
};
unsigned ck_cpu_features(void);

/* Runs body(context, share) for every share in 0..<shares on the calling thread's OpenMP team (libgomp, the
   runtime oneDNN runs on), so that these loops and oneDNN's matmuls use one set of threads instead of
   competing with each other's spinning workers. Returns when every share has run. */
void ck_parallel(int shares, void (*body)(void *context, int share), void *context);

/* Asymmetric per-row quantisation of x [rows, cols] (row stride ld) to q [rows, cols] in
   [0, qmax]: x ~ scale[r] * (q - zero_point[r]); the range always includes 0. */
void ck_quantize_rows_u8(const float *x, size_t rows, size_t cols, size_t ld, int qmax,
                         uint8_t *q, float *scale, int32_t *zero_point);

/* lo[r] = min(0, min of x[r, :]), hi[r] = max(0, max of x[r, :]) for x [rows, cols] with row stride ld. */
void ck_row_ranges(const float *x, size_t rows, size_t cols, size_t ld, float *lo, float *hi);

/* The zero point in [0, qmax] that rows with ranges [lo[r], hi[r]] share at least cost: the smallest total, over
   rows, of (the row's step with it / the row's step with a zero point of its own)^2. */
int32_t ck_common_zero_point(const float *lo, const float *hi, size_t rows, int qmax);

/* Per-row quantisation of x [rows, cols] (row stride ld) around one zero point: x ~ scale[r] * (q - zero), with
   scale[r] the smallest step that keeps [lo[r], hi[r]] (from ck_row_ranges) in [0, qmax]. */
void ck_quantize_rows_common_zero(const float *x, size_t rows, size_t cols, size_t ld, int qmax, int32_t zero,
                                  const float *lo, const float *hi, uint8_t *q, float *scale);

/* out[r, n] = row_scale[r] * col_scale[n] * (acc[r, n] - row_zero[r] * col_sum[n]) + bias[n]
   (+ out[r, n] itself when accumulate is non-zero) for the s32 products acc [rows, cols] of a quantised matmul;
   bias may be NULL. out has row stride ld_out. */
void ck_dequantize_s32(const int32_t *acc, size_t rows, size_t cols,
                       const float *row_scale, const int32_t *row_zero,
                       const float *col_scale, const int32_t *col_sum, const float *bias, int accumulate,
                       float *out, size_t ld_out);

/* Unpadded conv of a single-channel signal x: y[t, o] = bias[o] + sum_k w[k, o] x[t * stride + k] for
   t < frames, with w tap-major [kernel, outputs] and y time-major [frames, outputs]; bias may be NULL. */
void ck_conv1d_mono(const float *x, size_t frames, size_t kernel, size_t stride, const float *w,
                    const float *bias, size_t outputs, float *y);

/* sums[r] = sum of the int8 row w[r, 0..<cols] for rows of a row-major [rows, cols] matrix. */
void ck_row_sums_s8(const int8_t *w, size_t rows, size_t cols, int32_t *sums);

/* y[i] = x[i] * (1 + erf(x[i] / sqrt(2))) / 2, the exact-erf GELU; y may equal x. */
void ck_gelu(const float *x, float *y, size_t count);

/* Softmax of each row of s [rows, cols] (row stride ld) after multiplying by scale, in place. */
void ck_softmax_rows(float *s, size_t rows, size_t cols, size_t ld, float scale);

/* LayerNorm of each row of x [rows, size] into y (y may equal x):
   y = (x - mean) / sqrt(variance + eps) * gamma + beta, moments accumulated in double. */
void ck_layer_norm(const float *x, float *y, size_t rows, size_t size, const float *gamma, const float *beta,
                   float eps);

/* Adds the sums of x[t, c] and x[t, c]^2 over t to sum[c] and squares[c], for time-major x [frames, channels]. */
void ck_channel_moments(const float *x, size_t frames, size_t channels, double *sum, double *squares);

/* x[r, c] = x[r, c] * scale[c] + shift[c] in place, then the exact-erf GELU when then_gelu is non-zero. */
void ck_affine_channels(float *x, size_t rows, size_t channels, const float *scale, const float *shift,
                        int then_gelu);

/* Symmetric int8 per row of w [rows, cols]: scales[r] = max |row| / 127 (0 for an all-zero row, whose codes
   are 0), q = round(w / scale) half away from zero, clamped to [-127, 127]. */
void ck_quantize_symmetric_s8(const float *w, size_t rows, size_t cols, int8_t *q, float *scales);

/* The largest |original - stored| and the sums of squared errors and of squared original values. */
void ck_error_moments(const float *original, const float *stored, size_t count, float *max_abs_error,
                      double *error_squares, double *value_squares);

/* 1 when every value of x is finite, else 0; *max_abs = the largest |x| (meaningful when all are finite). */
int ck_finite_max_abs(const float *x, size_t count, float *max_abs);

#endif
