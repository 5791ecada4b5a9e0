#include "CKernels.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CK_X86 1
#else
#define CK_X86 0
#endif

int ck_has_avx2_f16c(void) {
#if CK_X86
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                 __builtin_cpu_supports("f16c");
    }
    return cached;
#else
    return 0;
#endif
}

unsigned ck_cpu_features(void) {
    unsigned bits = 0;
#if CK_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) bits |= CK_CPU_AVX2;
    if (__builtin_cpu_supports("fma")) bits |= CK_CPU_FMA;
    if (__builtin_cpu_supports("f16c")) bits |= CK_CPU_F16C;
    if (__builtin_cpu_supports("avx512f")) bits |= CK_CPU_AVX512F;
    if (__builtin_cpu_supports("avx512bw")) bits |= CK_CPU_AVX512BW;
    if (__builtin_cpu_supports("avx512vl")) bits |= CK_CPU_AVX512VL;
    if (__builtin_cpu_supports("avx512vnni")) bits |= CK_CPU_AVX512VNNI;
    if (__builtin_cpu_supports("avxvnni")) bits |= CK_CPU_AVXVNNI;
    if (__builtin_cpu_supports("avx512bf16")) bits |= CK_CPU_AVX512BF16;
    if (__builtin_cpu_supports("amx-tile")) bits |= CK_CPU_AMX;
#endif
    return bits;
}

/* ---- threads: the OpenMP team of the calling thread ---- */

/* libgomp's entry points (the ABI gcc's `#pragma omp parallel` compiles to), called directly so that this file
   needs no OpenMP compiler support and shares oneDNN's runtime. */
extern void GOMP_parallel(void (*fn)(void *), void *data, unsigned num_threads, unsigned flags);
extern int omp_get_thread_num(void);
extern int omp_get_num_threads(void);

struct parallel_job {
    void (*body)(void *context, int share);
    void *context;
    int shares;
};

static void run_shares(void *data) {
    const struct parallel_job *job = data;
    /* The team may be smaller than asked (thread limits): each thread then takes every n-th share. */
    for (int share = omp_get_thread_num(); share < job->shares; share += omp_get_num_threads()) job->body(job->context, share);
}

void ck_parallel(int shares, void (*body)(void *context, int share), void *context) {
    if (shares <= 1) {
        if (shares == 1) body(context, 0);
        return;
    }
    struct parallel_job job = {body, context, shares};
    GOMP_parallel(run_shares, &job, (unsigned)shares, 0);
}

/* ---- per-row u8 quantisation ---- */

static void quantize_row_params(float lo, float hi, int qmax, float *scale, int32_t *zero) {
    if (lo > 0) lo = 0;
    if (hi < 0) hi = 0;
    float s = (hi - lo) / (float)qmax;
    if (!(s > 0) || !isfinite(s)) {
        *scale = 1;
        *zero = 0;
        return;
    }
    long z = lrintf(-lo / s);
    *zero = (int32_t)(z < 0 ? 0 : (z > qmax ? qmax : z));
    *scale = s;
}

/* lo = min(0, min of the row), hi = max(0, max of the row). */
static void row_range_portable(const float *row, size_t cols, float *lo, float *hi) {
    float l = 0, h = 0;
    for (size_t c = 0; c < cols; c++) {
        l = row[c] < l ? row[c] : l;
        h = row[c] > h ? row[c] : h;
    }
    *lo = l;
    *hi = h;
}

/* out = clamp(rint(row * inverse) + zero, 0, qmax). */
static void quantize_row_portable(const float *row, size_t cols, float inverse, int32_t zero, int qmax, uint8_t *out) {
    for (size_t c = 0; c < cols; c++) {
        long v = lrintf(row[c] * inverse) + zero;
        out[c] = (uint8_t)(v < 0 ? 0 : (v > qmax ? qmax : v));
    }
}

#if CK_X86
__attribute__((target("avx2,fma")))
static void row_range_avx2(const float *row, size_t cols, float *lo, float *hi) {
    __m256 vlo = _mm256_setzero_ps(), vhi = _mm256_setzero_ps();
    size_t c = 0;
    for (; c + 8 <= cols; c += 8) {
        __m256 v = _mm256_loadu_ps(row + c);
        vlo = _mm256_min_ps(vlo, v);
        vhi = _mm256_max_ps(vhi, v);
    }
    float los[8], his[8];
    _mm256_storeu_ps(los, vlo);
    _mm256_storeu_ps(his, vhi);
    float l = 0, h = 0;
    for (int i = 0; i < 8; i++) {
        l = los[i] < l ? los[i] : l;
        h = his[i] > h ? his[i] : h;
    }
    for (; c < cols; c++) {
        l = row[c] < l ? row[c] : l;
        h = row[c] > h ? row[c] : h;
    }
    *lo = l;
    *hi = h;
}

__attribute__((target("avx2,fma")))
static void quantize_row_avx2(const float *row, size_t cols, float inverse, int32_t zero, int qmax, uint8_t *out) {
    __m256 vinv = _mm256_set1_ps(inverse);
    __m256i vzero = _mm256_set1_epi32(zero);
    __m256i vmax = _mm256_set1_epi32(qmax), vmin = _mm256_setzero_si256();
    size_t c = 0;
    for (; c + 8 <= cols; c += 8) {
        __m256i v = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(row + c), vinv));
        v = _mm256_min_epi32(_mm256_max_epi32(_mm256_add_epi32(v, vzero), vmin), vmax);
        __m128i packed16 = _mm_packus_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
        __m128i packed8 = _mm_packus_epi16(packed16, packed16);
        _mm_storel_epi64((__m128i *)(out + c), packed8);
    }
    quantize_row_portable(row + c, cols - c, inverse, zero, qmax, out + c);
}
#endif

static void row_range(const float *row, size_t cols, float *lo, float *hi) {
#if CK_X86
    if (ck_has_avx2_f16c()) {
        row_range_avx2(row, cols, lo, hi);
        return;
    }
#endif
    row_range_portable(row, cols, lo, hi);
}

static void quantize_row(const float *row, size_t cols, float inverse, int32_t zero, int qmax, uint8_t *out) {
#if CK_X86
    if (ck_has_avx2_f16c()) {
        quantize_row_avx2(row, cols, inverse, zero, qmax, out);
        return;
    }
#endif
    quantize_row_portable(row, cols, inverse, zero, qmax, out);
}

void ck_quantize_rows_u8(const float *x, size_t rows, size_t cols, size_t ld, int qmax,
                         uint8_t *q, float *scale, int32_t *zero_point) {
    for (size_t r = 0; r < rows; r++) {
        float lo, hi;
        row_range(x + r * ld, cols, &lo, &hi);
        quantize_row_params(lo, hi, qmax, &scale[r], &zero_point[r]);
        quantize_row(x + r * ld, cols, 1 / scale[r], zero_point[r], qmax, q + r * cols);
    }
}

void ck_row_ranges(const float *x, size_t rows, size_t cols, size_t ld, float *lo, float *hi) {
    for (size_t r = 0; r < rows; r++) row_range(x + r * ld, cols, &lo[r], &hi[r]);
}

/* The step of a row with range [lo, hi] (lo <= 0 <= hi) coded in [0, qmax] around zero point z: the smallest that
   keeps both ends in range; infinite when an end cannot be reached (z = 0 with lo < 0, z = qmax with hi > 0). */
static double step_around(float lo, float hi, int qmax, int z) {
    double below = lo < 0 ? (z > 0 ? -(double)lo / z : INFINITY) : 0;
    double above = hi > 0 ? (z < qmax ? (double)hi / (qmax - z) : INFINITY) : 0;
    return below > above ? below : above;
}

/* Sum over rows of (step with zero point z / the row's own best step)^2: the quantisation noise power added to each
   row relative to per-row asymmetric codes. Each term is convex in z, so the sum is too. */
static double common_zero_cost(const float *lo, const float *hi, size_t rows, int qmax, int z) {
    double cost = 0;
    for (size_t r = 0; r < rows; r++) {
        double range = (double)hi[r] - lo[r];
        if (!(range > 0)) continue;
        double ratio = step_around(lo[r], hi[r], qmax, z) * qmax / range;
        cost += ratio * ratio;
    }
    return cost;
}

int32_t ck_common_zero_point(const float *lo, const float *hi, size_t rows, int qmax) {
    int a = 0, b = qmax;  /* the cost is convex over integers in [a, b]: ternary search */
    while (b - a > 2) {
        int m1 = a + (b - a) / 3, m2 = b - (b - a) / 3;
        if (common_zero_cost(lo, hi, rows, qmax, m1) <= common_zero_cost(lo, hi, rows, qmax, m2)) b = m2;
        else a = m1;
    }
    int best = a;
    double best_cost = common_zero_cost(lo, hi, rows, qmax, a);
    for (int z = a + 1; z <= b; z++) {
        double cost = common_zero_cost(lo, hi, rows, qmax, z);
        if (cost < best_cost) { best = z; best_cost = cost; }
    }
    return best;
}

void ck_quantize_rows_common_zero(const float *x, size_t rows, size_t cols, size_t ld, int qmax, int32_t zero,
                                  const float *lo, const float *hi, uint8_t *q, float *scale) {
    for (size_t r = 0; r < rows; r++) {
        double step = step_around(lo[r], hi[r], qmax, zero);
        scale[r] = step > 0 && isfinite(step) ? (float)step : 1;
        quantize_row(x + r * ld, cols, 1 / scale[r], zero, qmax, q + r * cols);
    }
}

/* ---- s32 -> f32 with scales, zero points and bias ---- */

#define DEQUANTIZE_BODY                                                                  \
    for (size_t r = 0; r < rows; r++) {                                                  \
        const int32_t *a = acc + r * cols;                                               \
        float *o = out + r * ld_out;                                                     \
        const float rs = row_scale[r];                                                   \
        const int32_t rz = row_zero[r];                                                  \
        for (size_t n = 0; n < cols; n++) {                                              \
            float value = rs * col_scale[n] * (float)(a[n] - rz * col_sum[n]);           \
            if (bias) value += bias[n];                                                  \
            o[n] = accumulate ? o[n] + value : value;                                    \
        }                                                                                \
    }

static void dequantize_portable(const int32_t *acc, size_t rows, size_t cols, const float *row_scale,
                                const int32_t *row_zero, const float *col_scale, const int32_t *col_sum,
                                const float *bias, int accumulate, float *out, size_t ld_out) {
    DEQUANTIZE_BODY
}

#if CK_X86
/* Explicit vectors, and one copy of the loop per (bias, accumulate) case: per-element choices on a pointer that may
   be NULL compile to masked loads, which are microcoded and many times slower on some CPUs (AMD Zen). */
__attribute__((target("avx2,fma"), always_inline))
static inline void dequantize_rows_avx2(const int32_t *acc, size_t rows, size_t cols, const float *row_scale,
                                        const int32_t *row_zero, const float *col_scale, const int32_t *col_sum,
                                        const float *bias, int has_bias, int accumulate, float *out, size_t ld_out) {
    for (size_t r = 0; r < rows; r++) {
        const int32_t *a = acc + r * cols;
        float *o = out + r * ld_out;
        const __m256 rs = _mm256_set1_ps(row_scale[r]);
        const __m256i rz = _mm256_set1_epi32(row_zero[r]);
        for (size_t n = 0; n < cols; n += 8) {
            __m256i centred = _mm256_sub_epi32(_mm256_loadu_si256((const __m256i *)(a + n)),
                                               _mm256_mullo_epi32(rz, _mm256_loadu_si256((const __m256i *)(col_sum + n))));
            __m256 value = _mm256_mul_ps(_mm256_mul_ps(rs, _mm256_loadu_ps(col_scale + n)), _mm256_cvtepi32_ps(centred));
            if (has_bias) value = _mm256_add_ps(value, _mm256_loadu_ps(bias + n));
            if (accumulate) value = _mm256_add_ps(_mm256_loadu_ps(o + n), value);
            _mm256_storeu_ps(o + n, value);
        }
    }
}

__attribute__((target("avx2,fma")))
static void dequantize_avx2(const int32_t *acc, size_t rows, size_t cols, const float *row_scale,
                            const int32_t *row_zero, const float *col_scale, const int32_t *col_sum,
                            const float *bias, int accumulate, float *out, size_t ld_out) {
    if (cols % 8 != 0) {
        dequantize_portable(acc, rows, cols, row_scale, row_zero, col_scale, col_sum, bias, accumulate, out, ld_out);
    } else if (bias && accumulate) {
        dequantize_rows_avx2(acc, rows, cols, row_scale, row_zero, col_scale, col_sum, bias, 1, 1, out, ld_out);
    } else if (bias) {
        dequantize_rows_avx2(acc, rows, cols, row_scale, row_zero, col_scale, col_sum, bias, 1, 0, out, ld_out);
    } else if (accumulate) {
        dequantize_rows_avx2(acc, rows, cols, row_scale, row_zero, col_scale, col_sum, NULL, 0, 1, out, ld_out);
    } else {
        dequantize_rows_avx2(acc, rows, cols, row_scale, row_zero, col_scale, col_sum, NULL, 0, 0, out, ld_out);
    }
}
#endif

void ck_dequantize_s32(const int32_t *acc, size_t rows, size_t cols,
                       const float *row_scale, const int32_t *row_zero,
                       const float *col_scale, const int32_t *col_sum, const float *bias, int accumulate,
                       float *out, size_t ld_out) {
#if CK_X86
    if (ck_has_avx2_f16c()) {
        dequantize_avx2(acc, rows, cols, row_scale, row_zero, col_scale, col_sum, bias, accumulate, out, ld_out);
        return;
    }
#endif
    dequantize_portable(acc, rows, cols, row_scale, row_zero, col_scale, col_sum, bias, accumulate, out, ld_out);
}

/* ---- GELU (erf) and softmax ---- */

static void gelu_portable(const float *x, float *y, size_t count) {
    for (size_t i = 0; i < count; i++) y[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678118654752f));
}

static void softmax_rows_portable(float *s, size_t rows, size_t cols, size_t ld, float scale) {
    for (size_t r = 0; r < rows; r++) {
        float *row = s + r * ld;
        float largest = -INFINITY;
        for (size_t c = 0; c < cols; c++) largest = row[c] > largest ? row[c] : largest;
        float total = 0;
        for (size_t c = 0; c < cols; c++) {
            row[c] = expf((row[c] - largest) * scale);
            total += row[c];
        }
        float inverse = 1 / total;
        for (size_t c = 0; c < cols; c++) row[c] *= inverse;
    }
}

#if CK_X86
/* erf on [-4, 4] (clamped; |erf| rounds to 1 beyond) as a rational function of x: Eigen's
   generic_fast_erf_float coefficients, a few ulp from the true value. */
__attribute__((target("avx2,fma")))
static inline __m256 erf_avx2(__m256 x) {
    x = _mm256_max_ps(_mm256_min_ps(x, _mm256_set1_ps(4.f)), _mm256_set1_ps(-4.f));
    __m256 x2 = _mm256_mul_ps(x, x);
    __m256 p = _mm256_fmadd_ps(x2, _mm256_set1_ps(-2.72614225801306e-10f), _mm256_set1_ps(2.77068142495902e-08f));
    p = _mm256_fmadd_ps(x2, p, _mm256_set1_ps(-2.10102402082508e-06f));
    p = _mm256_fmadd_ps(x2, p, _mm256_set1_ps(-5.69250639462346e-05f));
    p = _mm256_fmadd_ps(x2, p, _mm256_set1_ps(-7.34990630326855e-04f));
    p = _mm256_fmadd_ps(x2, p, _mm256_set1_ps(-2.95459980854025e-03f));
    p = _mm256_fmadd_ps(x2, p, _mm256_set1_ps(-1.60960333262415e-02f));
    p = _mm256_mul_ps(x, p);
    __m256 q = _mm256_fmadd_ps(x2, _mm256_set1_ps(-1.45660718464996e-05f), _mm256_set1_ps(-2.13374055278905e-04f));
    q = _mm256_fmadd_ps(x2, q, _mm256_set1_ps(-1.68282697438203e-03f));
    q = _mm256_fmadd_ps(x2, q, _mm256_set1_ps(-7.37332916720468e-03f));
    q = _mm256_fmadd_ps(x2, q, _mm256_set1_ps(-1.42647390514189e-02f));
    return _mm256_div_ps(p, q);
}

/* exp(x) by range reduction to x = n ln2 + r and a degree-5 polynomial (Cephes), ~1-2 ulp. */
__attribute__((target("avx2,fma")))
static inline __m256 exp_avx2(__m256 x) {
    x = _mm256_max_ps(_mm256_min_ps(x, _mm256_set1_ps(88.3762626647949f)), _mm256_set1_ps(-87.3365447505531f));
    __m256 n = _mm256_floor_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f)));
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 r2 = _mm256_mul_ps(r, r);
    __m256 y = _mm256_fmadd_ps(_mm256_set1_ps(1.9875691500e-4f), r, _mm256_set1_ps(1.3981999507e-3f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(8.3334519073e-3f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(4.1665795894e-2f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(1.6666665459e-1f));
    y = _mm256_fmadd_ps(y, r, _mm256_set1_ps(5.0000001201e-1f));
    y = _mm256_add_ps(_mm256_fmadd_ps(y, r2, r), _mm256_set1_ps(1.f));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(y, _mm256_castsi256_ps(e));
}

__attribute__((target("avx2,fma")))
static void gelu_avx2(const float *x, float *y, size_t count) {
    size_t i = 0;
    const __m256 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.f), rsqrt2 = _mm256_set1_ps(0.70710678118654752f);
    for (; i + 8 <= count; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256 e = erf_avx2(_mm256_mul_ps(v, rsqrt2));
        _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_mul_ps(half, v), _mm256_add_ps(one, e)));
    }
    gelu_portable(x + i, y + i, count - i);
}

__attribute__((target("avx2,fma")))
static void softmax_rows_avx2(float *s, size_t rows, size_t cols, size_t ld, float scale) {
    const __m256 vscale = _mm256_set1_ps(scale);
    for (size_t r = 0; r < rows; r++) {
        float *row = s + r * ld;
        __m256 vmax = _mm256_set1_ps(-INFINITY);
        size_t c = 0;
        for (; c + 8 <= cols; c += 8) vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(row + c));
        float lanes[8];
        _mm256_storeu_ps(lanes, vmax);
        float largest = -INFINITY;
        for (int i = 0; i < 8; i++) largest = lanes[i] > largest ? lanes[i] : largest;
        for (; c < cols; c++) largest = row[c] > largest ? row[c] : largest;
        const __m256 shift = _mm256_set1_ps(largest);
        __m256 vtotal = _mm256_setzero_ps();
        c = 0;
        for (; c + 8 <= cols; c += 8) {
            __m256 e = exp_avx2(_mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(row + c), shift), vscale));
            _mm256_storeu_ps(row + c, e);
            vtotal = _mm256_add_ps(vtotal, e);
        }
        _mm256_storeu_ps(lanes, vtotal);
        float total = 0;
        for (int i = 0; i < 8; i++) total += lanes[i];
        for (; c < cols; c++) {
            row[c] = expf((row[c] - largest) * scale);
            total += row[c];
        }
        const __m256 inverse = _mm256_set1_ps(1 / total);
        c = 0;
        for (; c + 8 <= cols; c += 8) _mm256_storeu_ps(row + c, _mm256_mul_ps(_mm256_loadu_ps(row + c), inverse));
        for (; c < cols; c++) row[c] *= 1 / total;
    }
}
#endif

void ck_gelu(const float *x, float *y, size_t count) {
#if CK_X86
    if (ck_has_avx2_f16c()) {
        gelu_avx2(x, y, count);
        return;
    }
#endif
    gelu_portable(x, y, count);
}

void ck_softmax_rows(float *s, size_t rows, size_t cols, size_t ld, float scale) {
#if CK_X86
    if (ck_has_avx2_f16c()) {
        softmax_rows_avx2(s, rows, cols, ld, scale);
        return;
    }
#endif
    softmax_rows_portable(s, rows, cols, ld, scale);
}

/* ---- int8 row sums (plain loop: the compiler vectorises it at -O2) ---- */

void ck_row_sums_s8(const int8_t *w, size_t rows, size_t cols, int32_t *sums) {
    for (size_t r = 0; r < rows; r++) {
        const int8_t *row = w + r * cols;
        int32_t sum = 0;
        for (size_t c = 0; c < cols; c++) sum += row[c];
        sums[r] = sum;
    }
}

/* ---- single-channel conv (the first layer on raw audio) ---- */

static void conv1d_mono_portable(const float *x, size_t frames, size_t kernel, size_t stride, const float *w,
                                 const float *bias, size_t outputs, float *y) {
    for (size_t t = 0; t < frames; t++) {
        float *out = y + t * outputs;
        const float *in = x + t * stride;
        for (size_t o = 0; o < outputs; o++) out[o] = bias ? bias[o] : 0;
        for (size_t k = 0; k < kernel; k++)
            for (size_t o = 0; o < outputs; o++) out[o] += w[k * outputs + o] * in[k];
    }
}

#if CK_X86
/* Four frames share each weight load: four independent accumulator chains per output vector hide the FMA latency
   that one chain of `kernel` dependent FMAs would expose. */
__attribute__((target("avx2,fma"), always_inline))
static inline void conv1d_mono_frames_avx2(const float *x, size_t frames, size_t kernel, size_t stride, const float *w,
                                           const float *bias, int has_bias, size_t outputs, float *y) {
    size_t t = 0;
    for (; t + 4 <= frames; t += 4) {
        const float *in = x + t * stride;
        for (size_t o = 0; o < outputs; o += 8) {
            __m256 start = has_bias ? _mm256_loadu_ps(bias + o) : _mm256_setzero_ps();
            __m256 a0 = start, a1 = start, a2 = start, a3 = start;
            for (size_t k = 0; k < kernel; k++) {
                __m256 weight = _mm256_loadu_ps(w + k * outputs + o);
                a0 = _mm256_fmadd_ps(weight, _mm256_set1_ps(in[k]), a0);
                a1 = _mm256_fmadd_ps(weight, _mm256_set1_ps(in[stride + k]), a1);
                a2 = _mm256_fmadd_ps(weight, _mm256_set1_ps(in[2 * stride + k]), a2);
                a3 = _mm256_fmadd_ps(weight, _mm256_set1_ps(in[3 * stride + k]), a3);
            }
            _mm256_storeu_ps(y + t * outputs + o, a0);
            _mm256_storeu_ps(y + (t + 1) * outputs + o, a1);
            _mm256_storeu_ps(y + (t + 2) * outputs + o, a2);
            _mm256_storeu_ps(y + (t + 3) * outputs + o, a3);
        }
    }
    for (; t < frames; t++) {
        const float *in = x + t * stride;
        for (size_t o = 0; o < outputs; o += 8) {
            __m256 acc = has_bias ? _mm256_loadu_ps(bias + o) : _mm256_setzero_ps();
            for (size_t k = 0; k < kernel; k++)
                acc = _mm256_fmadd_ps(_mm256_loadu_ps(w + k * outputs + o), _mm256_set1_ps(in[k]), acc);
            _mm256_storeu_ps(y + t * outputs + o, acc);
        }
    }
}

/* One copy with a bias and one without (a choice on a possibly NULL pointer inside the loop compiles to masked
   loads, microcoded on some CPUs). */
__attribute__((target("avx2,fma")))
static void conv1d_mono_avx2(const float *x, size_t frames, size_t kernel, size_t stride, const float *w,
                             const float *bias, size_t outputs, float *y) {
    if (outputs % 8 != 0) {
        conv1d_mono_portable(x, frames, kernel, stride, w, bias, outputs, y);
    } else if (bias) {
        conv1d_mono_frames_avx2(x, frames, kernel, stride, w, bias, 1, outputs, y);
    } else {
        conv1d_mono_frames_avx2(x, frames, kernel, stride, w, NULL, 0, outputs, y);
    }
}
#endif

void ck_conv1d_mono(const float *x, size_t frames, size_t kernel, size_t stride, const float *w,
                    const float *bias, size_t outputs, float *y) {
#if CK_X86
    if (ck_has_avx2_f16c()) {
        conv1d_mono_avx2(x, frames, kernel, stride, w, bias, outputs, y);
        return;
    }
#endif
    conv1d_mono_portable(x, frames, kernel, stride, w, bias, outputs, y);
}

/* ---- layer norm over rows, per-channel moments over time, per-channel affine ---- */

static void layer_norm_portable(const float *x, float *y, size_t rows, size_t size, const float *gamma,
                                const float *beta, float eps) {
    for (size_t r = 0; r < rows; r++) {
        const float *in = x + r * size;
        float *out = y + r * size;
        double sum = 0, squares = 0;
        for (size_t i = 0; i < size; i++) sum += in[i];
        float mean = (float)(sum / (double)size);
        for (size_t i = 0; i < size; i++) { double d = (double)in[i] - mean; squares += d * d; }
        float inverse = (float)(1.0 / sqrt(squares / (double)size + eps));
        for (size_t i = 0; i < size; i++) out[i] = (in[i] - mean) * inverse * gamma[i] + beta[i];
    }
}

#if CK_X86
__attribute__((target("avx2,fma")))
static double horizontal_sum_pd(__m256d v) {
    double lanes[4];
    _mm256_storeu_pd(lanes, v);
    return (lanes[0] + lanes[1]) + (lanes[2] + lanes[3]);
}

/* Two passes over each row (mean, then squared deviations), accumulated in double lanes. */
__attribute__((target("avx2,fma")))
static void layer_norm_avx2(const float *x, float *y, size_t rows, size_t size, const float *gamma,
                            const float *beta, float eps) {
    if (size % 8 != 0) {
        layer_norm_portable(x, y, rows, size, gamma, beta, eps);
        return;
    }
    for (size_t r = 0; r < rows; r++) {
        const float *in = x + r * size;
        float *out = y + r * size;
        __m256d s0 = _mm256_setzero_pd(), s1 = _mm256_setzero_pd();
        for (size_t i = 0; i < size; i += 8) {
            __m256 v = _mm256_loadu_ps(in + i);
            s0 = _mm256_add_pd(s0, _mm256_cvtps_pd(_mm256_castps256_ps128(v)));
            s1 = _mm256_add_pd(s1, _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
        }
        double mean = horizontal_sum_pd(_mm256_add_pd(s0, s1)) / (double)size;
        __m256d m = _mm256_set1_pd(mean);
        __m256d q0 = _mm256_setzero_pd(), q1 = _mm256_setzero_pd();
        for (size_t i = 0; i < size; i += 8) {
            __m256 v = _mm256_loadu_ps(in + i);
            __m256d d0 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)), m);
            __m256d d1 = _mm256_sub_pd(_mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)), m);
            q0 = _mm256_fmadd_pd(d0, d0, q0);
            q1 = _mm256_fmadd_pd(d1, d1, q1);
        }
        double variance = horizontal_sum_pd(_mm256_add_pd(q0, q1)) / (double)size;
        __m256 vmean = _mm256_set1_ps((float)mean), vinverse = _mm256_set1_ps((float)(1.0 / sqrt(variance + eps)));
        for (size_t i = 0; i < size; i += 8) {
            __m256 normed = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(in + i), vmean), vinverse);
            _mm256_storeu_ps(out + i, _mm256_fmadd_ps(normed, _mm256_loadu_ps(gamma + i), _mm256_loadu_ps(beta + i)));
        }
    }
}
#endif

void ck_layer_norm(const float *x, float *y, size_t rows, size_t size, const float *gamma, const float *beta,
                   float eps) {
#if CK_X86
    if (ck_has_avx2_f16c()) {
        layer_norm_avx2(x, y, rows, size, gamma, beta, eps);
        return;
    }
#endif
    layer_norm_portable(x, y, rows, size, gamma, beta, eps);
}

/* Plain loops over contiguous channels: the compiler vectorises the float -> double sums at -O2. */
void ck_channel_moments(const float *x, size_t frames, size_t channels, double *sum, double *squares) {
    for (size_t t = 0; t < frames; t++) {
        const float *row = x + t * channels;
        for (size_t c = 0; c < channels; c++) {
            double v = row[c];
            sum[c] += v;
            squares[c] += v * v;
        }
    }
}

static void affine_channels_portable(float *x, size_t rows, size_t channels, const float *scale,
                                     const float *shift, int then_gelu) {
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * channels;
        for (size_t c = 0; c < channels; c++) row[c] = row[c] * scale[c] + shift[c];
        if (then_gelu) gelu_portable(row, row, channels);
    }
}

#if CK_X86
__attribute__((target("avx2,fma")))
static void affine_channels_avx2(float *x, size_t rows, size_t channels, const float *scale, const float *shift,
                                 int then_gelu) {
    if (channels % 8 != 0) {
        affine_channels_portable(x, rows, channels, scale, shift, then_gelu);
        return;
    }
    const __m256 half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.f), rsqrt2 = _mm256_set1_ps(0.70710678118654752f);
    for (size_t r = 0; r < rows; r++) {
        float *row = x + r * channels;
        for (size_t c = 0; c < channels; c += 8) {
            __m256 v = _mm256_fmadd_ps(_mm256_loadu_ps(row + c), _mm256_loadu_ps(scale + c), _mm256_loadu_ps(shift + c));
            if (then_gelu)
                v = _mm256_mul_ps(_mm256_mul_ps(half, v), _mm256_add_ps(one, erf_avx2(_mm256_mul_ps(v, rsqrt2))));
            _mm256_storeu_ps(row + c, v);
        }
    }
}
#endif

void ck_affine_channels(float *x, size_t rows, size_t channels, const float *scale, const float *shift,
                        int then_gelu) {
#if CK_X86
    if (ck_has_avx2_f16c()) {
        affine_channels_avx2(x, rows, channels, scale, shift, then_gelu);
        return;
    }
#endif
    affine_channels_portable(x, rows, channels, scale, shift, then_gelu);
}

/* ---- weight quantisation (convert time) ---- */

/* Rounding half away from zero, as Swift's rounded(): floor(|v|), plus one when the dropped part is >= 0.5
   (|v| - floor(|v|) is exact), with v's sign. */
static inline float round_half_away(float v) {
    float a = fabsf(v), f = floorf(a);
    if (a - f >= 0.5f) f += 1;
    return v < 0 ? -f : f;
}

static float row_max_abs(const float *row, size_t cols) {
    float max_abs = 0;
    for (size_t c = 0; c < cols; c++) {
        float a = fabsf(row[c]);
        max_abs = a > max_abs ? a : max_abs;
    }
    return max_abs;
}

static void quantize_row_s8_portable(const float *row, size_t cols, float scale, int8_t *out) {
    for (size_t c = 0; c < cols; c++) {
        float rounded = round_half_away(row[c] / scale);
        rounded = rounded > 127 ? 127 : (rounded < -127 ? -127 : rounded);
        out[c] = (int8_t)rounded;
    }
}

#if CK_X86
__attribute__((target("avx2,fma")))
static void quantize_row_s8_avx2(const float *row, size_t cols, float scale, int8_t *out) {
    const __m256 vscale = _mm256_set1_ps(scale), half = _mm256_set1_ps(0.5f), one = _mm256_set1_ps(1.f);
    const __m256 sign_mask = _mm256_set1_ps(-0.f), limit = _mm256_set1_ps(127.f);
    size_t c = 0;
    for (; c + 8 <= cols; c += 8) {
        __m256 v = _mm256_div_ps(_mm256_loadu_ps(row + c), vscale);
        __m256 a = _mm256_andnot_ps(sign_mask, v);
        __m256 f = _mm256_floor_ps(a);
        f = _mm256_add_ps(f, _mm256_and_ps(_mm256_cmp_ps(_mm256_sub_ps(a, f), half, _CMP_GE_OQ), one));
        f = _mm256_min_ps(f, limit);
        __m256i q = _mm256_cvtps_epi32(_mm256_or_ps(f, _mm256_and_ps(v, sign_mask)));
        __m128i words = _mm_packs_epi32(_mm256_castsi256_si128(q), _mm256_extracti128_si256(q, 1));
        _mm_storel_epi64((__m128i *)(out + c), _mm_packs_epi16(words, words));
    }
    quantize_row_s8_portable(row + c, cols - c, scale, out + c);
}
#endif

void ck_quantize_symmetric_s8(const float *w, size_t rows, size_t cols, int8_t *q, float *scales) {
    for (size_t r = 0; r < rows; r++) {
        const float *row = w + r * cols;
        int8_t *out = q + r * cols;
        float max_abs = row_max_abs(row, cols);
        if (!(max_abs > 0)) {
            scales[r] = 0;
            memset(out, 0, cols);
            continue;
        }
        scales[r] = max_abs / 127;
#if CK_X86
        if (ck_has_avx2_f16c()) {
            quantize_row_s8_avx2(row, cols, scales[r], out);
            continue;
        }
#endif
        quantize_row_s8_portable(row, cols, scales[r], out);
    }
}

void ck_error_moments(const float *original, const float *stored, size_t count, float *max_abs_error,
                      double *error_squares, double *value_squares) {
    float largest = 0;
    double errors = 0, values = 0;
    for (size_t i = 0; i < count; i++) {
        float difference = fabsf(original[i] - stored[i]);
        largest = difference > largest ? difference : largest;
        errors += (double)difference * difference;
        values += (double)original[i] * original[i];
    }
    *max_abs_error = largest;
    *error_squares = errors;
    *value_squares = values;
}

int ck_finite_max_abs(const float *x, size_t count, float *max_abs) {
    uint32_t not_finite = 0, largest = 0;
    for (size_t i = 0; i < count; i++) {
        uint32_t bits;
        memcpy(&bits, x + i, sizeof bits);
        uint32_t magnitude = bits & 0x7fffffffu;
        not_finite |= (magnitude >= 0x7f800000u);
        largest = magnitude > largest ? magnitude : largest;
    }
    memcpy(max_abs, &largest, sizeof largest);
    return !not_finite;
}
