#include "CKernels.h"

#include <math.h>

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

/* ---- f16 -> f32 ---- */

static float half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
    uint32_t bits;
    if (exponent == 0x1f) {
        bits = sign | 0x7f800000u | (mantissa << 13);
    } else if (exponent != 0) {
        bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
    } else if (mantissa == 0) {
        bits = sign;
    } else {
        /* subnormal: value = mantissa * 2^-24 */
        float value = (float)mantissa * 5.9604644775390625e-8f;
        union { float f; uint32_t u; } v = {value};
        bits = sign | v.u;
    }
    union { uint32_t u; float f; } out = {bits};
    return out.f;
}

static void f16_to_f32_portable(const uint16_t *src, float *dst, size_t count) {
    for (size_t i = 0; i < count; i++) dst[i] = half_to_float(src[i]);
}

#if CK_X86
__attribute__((target("avx2,f16c")))
static void f16_to_f32_f16c(const uint16_t *src, float *dst, size_t count) {
    size_t i = 0;
    for (; i + 16 <= count; i += 16) {
        __m128i a = _mm_loadu_si128((const __m128i *)(src + i));
        __m128i b = _mm_loadu_si128((const __m128i *)(src + i + 8));
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(a));
        _mm256_storeu_ps(dst + i + 8, _mm256_cvtph_ps(b));
    }
    for (; i < count; i++) dst[i] = _cvtsh_ss(src[i]);
}
#endif

void ck_f16_to_f32(const uint16_t *src, float *dst, size_t count) {
#if CK_X86
    if (ck_has_avx2_f16c()) {
        f16_to_f32_f16c(src, dst, count);
        return;
    }
#endif
    f16_to_f32_portable(src, dst, count);
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

static void quantize_rows_portable(const float *x, size_t rows, size_t cols, size_t ld, int qmax,
                                   uint8_t *q, float *scale, int32_t *zero_point) {
    for (size_t r = 0; r < rows; r++) {
        const float *row = x + r * ld;
        float lo = 0, hi = 0;
        for (size_t c = 0; c < cols; c++) {
            lo = row[c] < lo ? row[c] : lo;
            hi = row[c] > hi ? row[c] : hi;
        }
        quantize_row_params(lo, hi, qmax, &scale[r], &zero_point[r]);
        float inv = 1 / scale[r];
        uint8_t *out = q + r * cols;
        for (size_t c = 0; c < cols; c++) {
            long v = lrintf(row[c] * inv) + zero_point[r];
            out[c] = (uint8_t)(v < 0 ? 0 : (v > qmax ? qmax : v));
        }
    }
}

#if CK_X86
__attribute__((target("avx2,fma")))
static void quantize_rows_avx2(const float *x, size_t rows, size_t cols, size_t ld, int qmax,
                               uint8_t *q, float *scale, int32_t *zero_point) {
    for (size_t r = 0; r < rows; r++) {
        const float *row = x + r * ld;
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
        float lo = 0, hi = 0;
        for (int i = 0; i < 8; i++) {
            lo = los[i] < lo ? los[i] : lo;
            hi = his[i] > hi ? his[i] : hi;
        }
        for (; c < cols; c++) {
            lo = row[c] < lo ? row[c] : lo;
            hi = row[c] > hi ? row[c] : hi;
        }
        quantize_row_params(lo, hi, qmax, &scale[r], &zero_point[r]);
        float inv = 1 / scale[r];
        __m256 vinv = _mm256_set1_ps(inv);
        __m256i vzero = _mm256_set1_epi32(zero_point[r]);
        __m256i vmax = _mm256_set1_epi32(qmax), vmin = _mm256_setzero_si256();
        uint8_t *out = q + r * cols;
        c = 0;
        for (; c + 8 <= cols; c += 8) {
            __m256i v = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(row + c), vinv));
            v = _mm256_min_epi32(_mm256_max_epi32(_mm256_add_epi32(v, vzero), vmin), vmax);
            __m128i packed16 = _mm_packus_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
            __m128i packed8 = _mm_packus_epi16(packed16, packed16);
            _mm_storel_epi64((__m128i *)(out + c), packed8);
        }
        for (; c < cols; c++) {
            long v = lrintf(row[c] * inv) + zero_point[r];
            out[c] = (uint8_t)(v < 0 ? 0 : (v > qmax ? qmax : v));
        }
    }
}
#endif

void ck_quantize_rows_u8(const float *x, size_t rows, size_t cols, size_t ld, int qmax,
                         uint8_t *q, float *scale, int32_t *zero_point) {
#if CK_X86
    if (ck_has_avx2_f16c()) {
        quantize_rows_avx2(x, rows, cols, ld, qmax, q, scale, zero_point);
        return;
    }
#endif
    quantize_rows_portable(x, rows, cols, ld, qmax, q, scale, zero_point);
}

/* ---- s32 -> f32 with scales, zero points and bias ---- */

#define DEQUANTIZE_BODY                                                                  \
    for (size_t r = 0; r < rows; r++) {                                                  \
        const int32_t *a = acc + r * cols;                                               \
        float *o = out + r * ld_out;                                                     \
        const float rs = row_scale[r];                                                   \
        const int32_t rz = row_zero[r];                                                  \
        if (bias)                                                                        \
            for (size_t n = 0; n < cols; n++)                                            \
                o[n] = rs * col_scale[n] * (float)(a[n] - rz * col_sum[n]) + bias[n];    \
        else                                                                             \
            for (size_t n = 0; n < cols; n++)                                            \
                o[n] = rs * col_scale[n] * (float)(a[n] - rz * col_sum[n]);              \
    }

static void dequantize_portable(const int32_t *acc, size_t rows, size_t cols, const float *row_scale,
                                const int32_t *row_zero, const float *col_scale, const int32_t *col_sum,
                                const float *bias, float *out, size_t ld_out) {
    DEQUANTIZE_BODY
}

#if CK_X86
__attribute__((target("avx2,fma")))
static void dequantize_avx2(const int32_t *acc, size_t rows, size_t cols, const float *row_scale,
                            const int32_t *row_zero, const float *col_scale, const int32_t *col_sum,
                            const float *bias, float *out, size_t ld_out) {
    DEQUANTIZE_BODY
}
#endif

void ck_dequantize_s32(const int32_t *acc, size_t rows, size_t cols,
                       const float *row_scale, const int32_t *row_zero,
                       const float *col_scale, const int32_t *col_sum, const float *bias,
                       float *out, size_t ld_out) {
#if CK_X86
    if (ck_has_avx2_f16c()) {
        dequantize_avx2(acc, rows, cols, row_scale, row_zero, col_scale, col_sum, bias, out, ld_out);
        return;
    }
#endif
    dequantize_portable(acc, rows, cols, row_scale, row_zero, col_scale, col_sum, bias, out, ld_out);
}
