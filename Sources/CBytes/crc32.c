#include "CBytes.h"

#include <zlib.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define CF_X86 1
#else
#define CF_X86 0
#endif

#if CF_X86
/* CRC-32 (zlib's, bit-reflected) of len bytes, len >= 64 and a multiple of 16, by carry-less multiply
   folding: four 128-bit lanes folded 64 bytes at a time, then into one lane, then a Barrett reduction
   (Gopal et al., "Fast CRC Computation for Generic Polynomials Using PCLMULQDQ", Intel 2009; reflected
   constants as in Chromium's zlib). crc is the running register, already inverted. */
__attribute__((target("pclmul,sse4.1")))
static uint32_t crc32_fold(const uint8_t *buf, size_t len, uint32_t crc) {
    const __m128i k1k2 = _mm_set_epi64x(0x01c6e41596LL, 0x0154442bd4LL); /* x^(4*128+-32) mod P */
    const __m128i k3k4 = _mm_set_epi64x(0x00ccaa009eLL, 0x01751997d0LL); /* x^(128+-32) mod P */
    const __m128i k5 = _mm_set_epi64x(0, 0x0163cd6124LL);
    const __m128i poly = _mm_set_epi64x(0x01f7011641LL, 0x01db710641LL); /* P and its Barrett quotient */
    const __m128i low32 = _mm_setr_epi32(~0, 0, ~0, 0);

    __m128i a = _mm_loadu_si128((const __m128i *)(buf + 0));
    __m128i b = _mm_loadu_si128((const __m128i *)(buf + 16));
    __m128i c = _mm_loadu_si128((const __m128i *)(buf + 32));
    __m128i d = _mm_loadu_si128((const __m128i *)(buf + 48));
    a = _mm_xor_si128(a, _mm_cvtsi32_si128((int)crc));
    buf += 64;
    len -= 64;
    for (; len >= 64; buf += 64, len -= 64) {
        __m128i a0 = _mm_clmulepi64_si128(a, k1k2, 0x00), b0 = _mm_clmulepi64_si128(b, k1k2, 0x00);
        __m128i c0 = _mm_clmulepi64_si128(c, k1k2, 0x00), d0 = _mm_clmulepi64_si128(d, k1k2, 0x00);
        a = _mm_clmulepi64_si128(a, k1k2, 0x11);
        b = _mm_clmulepi64_si128(b, k1k2, 0x11);
        c = _mm_clmulepi64_si128(c, k1k2, 0x11);
        d = _mm_clmulepi64_si128(d, k1k2, 0x11);
        a = _mm_xor_si128(_mm_xor_si128(a, a0), _mm_loadu_si128((const __m128i *)(buf + 0)));
        b = _mm_xor_si128(_mm_xor_si128(b, b0), _mm_loadu_si128((const __m128i *)(buf + 16)));
        c = _mm_xor_si128(_mm_xor_si128(c, c0), _mm_loadu_si128((const __m128i *)(buf + 32)));
        d = _mm_xor_si128(_mm_xor_si128(d, d0), _mm_loadu_si128((const __m128i *)(buf + 48)));
    }
    /* four lanes -> one */
    __m128i x = a, t;
    t = _mm_clmulepi64_si128(x, k3k4, 0x00);
    x = _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x, k3k4, 0x11), b), t);
    t = _mm_clmulepi64_si128(x, k3k4, 0x00);
    x = _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x, k3k4, 0x11), c), t);
    t = _mm_clmulepi64_si128(x, k3k4, 0x00);
    x = _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x, k3k4, 0x11), d), t);
    for (; len >= 16; buf += 16, len -= 16) {
        t = _mm_clmulepi64_si128(x, k3k4, 0x00);
        x = _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x, k3k4, 0x11), _mm_loadu_si128((const __m128i *)buf)), t);
    }
    /* 128 -> 64 bits */
    t = _mm_clmulepi64_si128(x, k3k4, 0x10);
    x = _mm_xor_si128(_mm_srli_si128(x, 8), t);
    t = _mm_srli_si128(x, 4);
    x = _mm_xor_si128(_mm_clmulepi64_si128(_mm_and_si128(x, low32), k5, 0x00), t);
    /* Barrett reduction to 32 bits */
    t = _mm_clmulepi64_si128(_mm_and_si128(x, low32), poly, 0x10);
    t = _mm_clmulepi64_si128(_mm_and_si128(t, low32), poly, 0x00);
    x = _mm_xor_si128(x, t);
    return (uint32_t)_mm_extract_epi32(x, 1);
}

static int has_pclmul(void) {
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
    }
    return cached;
}
#endif

uint32_t cb_crc32(uint32_t crc, const void *data, size_t count) {
    const uint8_t *bytes = data;
#if CF_X86
    if (count >= 64 && has_pclmul()) {
        size_t whole = count & ~(size_t)15;
        crc = ~crc32_fold(bytes, whole, ~crc);
        bytes += whole;
        count -= whole;
    }
#endif
    return count ? (uint32_t)crc32_z(crc, bytes, count) : crc;
}
