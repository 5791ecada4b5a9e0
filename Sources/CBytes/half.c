/* IEEE half <-> f32 conversion for stored tensors: F16C where the CPU has it, portable code elsewhere. */
#include "CBytes.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CB_X86 1
#else
#define CB_X86 0
#endif

static int has_f16c(void) {
#if CB_X86
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("f16c");
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

#if CB_X86
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

void cb_f16_to_f32(const uint16_t *src, float *dst, size_t count) {
#if CB_X86
    if (has_f16c()) {
        f16_to_f32_f16c(src, dst, count);
        return;
    }
#endif
    f16_to_f32_portable(src, dst, count);
}

/* ---- f32 -> f16 ---- */

static void f32_to_f16_portable(const float *src, uint16_t *dst, size_t count) {
    for (size_t i = 0; i < count; i++) {
        _Float16 h = (_Float16)src[i];
        memcpy(&dst[i], &h, sizeof h);
    }
}

#if CB_X86
__attribute__((target("avx2,f16c")))
static void f32_to_f16_f16c(const float *src, uint16_t *dst, size_t count) {
    size_t i = 0;
    for (; i + 8 <= count; i += 8)
        _mm_storeu_si128((__m128i *)(dst + i), _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
    f32_to_f16_portable(src + i, dst + i, count - i);
}
#endif

void cb_f32_to_f16(const float *src, uint16_t *dst, size_t count) {
#if CB_X86
    if (has_f16c()) {
        f32_to_f16_f16c(src, dst, count);
        return;
    }
#endif
    f32_to_f16_portable(src, dst, count);
}
