// int8 matmul epilogues on oneDNN 2.6 as `--gemm onednn-fused` builds them: which implementation, how fast, how exact.
// u8 x s8 -> f32 on a 3-D {1, M, K} view, run-time source zero point, per-N and per-row scales and the bias as
// binary post-ops (one primitive per shape, shared by every layer), optionally the residual sum and GELU; against the
// per-layer form with the weights' scales as constant output scales, and against s32 output alone (what the default
// backend runs before its own pass). Best of 20 warm calls, 2 threads. Results: benchmarks/PROBES.md section 6.
//
// Build: gcc -O2 -fopenmp -o int8_epilogue_probe benchmarks/int8_epilogue_probe.c -ldnnl -lgomp -lm
// Run once as is and once with DNNL_MAX_CPU_ISA=AVX2.
#include <dnnl.h>
#include <dnnl_debug.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <math.h>
#include <time.h>
#define CHECK(x) do { dnnl_status_t s_ = (x); if (s_ != dnnl_success) { fprintf(stderr, "%s:%d %s -> %d\n", __FILE__, __LINE__, #x, s_); exit(1); } } while (0)
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static dnnl_engine_t eng; static dnnl_stream_t strm;
static dnnl_memory_desc_t md3(int64_t a, int64_t b, dnnl_data_type_t dt, dnnl_format_tag_t tag) { dnnl_memory_desc_t m; dnnl_dims_t d = {1, a, b}; CHECK(dnnl_memory_desc_init_by_tag(&m, 3, d, dt, tag)); return m; }
static dnnl_memory_t mem(const dnnl_memory_desc_t *md, void *h) { dnnl_memory_t m; CHECK(dnnl_memory_create(&m, md, eng, h)); return m; }
// variant: oscale 0 none / 2 const; mulN: per-N MUL post-op; sum; gelu
typedef struct { int oscale, mulN, sum, gelu, zp, s32; } V;
static double run(int M, int K, int N, V v, uint8_t *q, int8_t *w, float *sc, float *sr, float *b, float *y, int32_t z, const char **implname, int reps, double *cms) {
    dnnl_memory_desc_t s = md3(M, K, dnnl_u8, dnnl_abc), wd = md3(K, N, dnnl_s8, dnnl_acb), d = md3(M, N, v.s32 ? dnnl_s32 : dnnl_f32, dnnl_abc);
    dnnl_memory_desc_t nm = md3(1, N, dnnl_f32, dnnl_abc), rm = md3(M, 1, dnnl_f32, dnnl_abc);
    dnnl_primitive_attr_t a; CHECK(dnnl_primitive_attr_create(&a));
    int32_t rti = DNNL_RUNTIME_S32_VAL;
    if (v.oscale == 2) CHECK(dnnl_primitive_attr_set_output_scales(a, N, 1 << 2, sc));
    if (v.zp) CHECK(dnnl_primitive_attr_set_zero_points(a, DNNL_ARG_SRC, 1, 0, &rti));
    dnnl_post_ops_t po; CHECK(dnnl_post_ops_create(&po));
    int idx = 0, imulN = -1, imulR, iadd;
    if (!v.s32) {
        if (v.mulN) { imulN = idx++; CHECK(dnnl_post_ops_append_binary(po, dnnl_binary_mul, &nm)); }
        imulR = idx++; CHECK(dnnl_post_ops_append_binary(po, dnnl_binary_mul, &rm));
        iadd = idx++; CHECK(dnnl_post_ops_append_binary(po, dnnl_binary_add, &nm));
        if (v.sum) { idx++; CHECK(dnnl_post_ops_append_sum(po, 1.0f)); }
        if (v.gelu) { idx++; CHECK(dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_gelu_erf, 0, 0)); }
        CHECK(dnnl_primitive_attr_set_post_ops(a, po));
    }
    dnnl_post_ops_destroy(po);
    dnnl_matmul_desc_t md; CHECK(dnnl_matmul_desc_init(&md, &s, &wd, NULL, &d));
    dnnl_primitive_desc_t pd; double t0 = now();
    dnnl_status_t st = dnnl_primitive_desc_create(&pd, &md, a, eng, NULL);
    if (st) { *implname = "unimplemented"; return 0; }
    dnnl_primitive_t p; CHECK(dnnl_primitive_create(&p, pd)); *cms = (now() - t0) * 1e3;
    const char *in; CHECK(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &in)); *implname = in;
    dnnl_exec_arg_t args[10]; int n = 0;
#define ARG(k, m) do { args[n].arg = (k); args[n].memory = (m); n++; } while (0)
    ARG(DNNL_ARG_SRC, mem(&s, q)); ARG(DNNL_ARG_WEIGHTS, mem(&wd, w)); ARG(DNNL_ARG_DST, mem(&d, y));
    dnnl_memory_desc_t zd; dnnl_dims_t one = {1}; CHECK(dnnl_memory_desc_init_by_tag(&zd, 1, one, dnnl_s32, dnnl_a));
    static int32_t zz; zz = z; if (v.zp) ARG(DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC, mem(&zd, &zz));
    if (v.mulN) ARG(DNNL_ARG_ATTR_MULTIPLE_POST_OP(imulN) | DNNL_ARG_SRC_1, mem(&nm, sc));
    if (!v.s32) {
        ARG(DNNL_ARG_ATTR_MULTIPLE_POST_OP(imulR) | DNNL_ARG_SRC_1, mem(&rm, sr));
        ARG(DNNL_ARG_ATTR_MULTIPLE_POST_OP(iadd) | DNNL_ARG_SRC_1, mem(&nm, b));
    }
    double best = 1e9;
    if (strstr(in, "ref")) reps = 1;  // oneDNN's reference loops: seconds per call
    for (int r = 0; r < reps; r++) { double t = now(); CHECK(dnnl_primitive_execute(p, strm, n, args)); CHECK(dnnl_stream_wait(strm)); t = now() - t; if (t < best) best = t; }
    return best;
}
int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    CHECK(dnnl_engine_create(&eng, dnnl_cpu, 0)); CHECK(dnnl_stream_create(&strm, eng, dnnl_stream_default_flags));
    omp_set_num_threads(2);
    int shapes[][3] = {{499, 768, 768}, {499, 768, 3072}, {499, 3072, 768}, {2730, 1536, 512}, {2999, 768, 3072}};
    printf("oneDNN ISA %s, 2 threads\n\n| M x K x N | epilogue | implementation | GOP/s | ms | max rel. error |\n|---|---|---|---|---|---|\n",
           dnnl_cpu_isa2str(dnnl_get_effective_cpu_isa()));
    for (int si = 0; si < 5; si++) {
        int M = shapes[si][0], K = shapes[si][1], N = shapes[si][2];
        uint8_t *q = aligned_alloc(64, (size_t)M * K); int8_t *w = aligned_alloc(64, (size_t)N * K);
        float *sc = malloc(4 * N), *sr = malloc(4 * M), *b = malloc(4 * N), *y = aligned_alloc(64, 4 * (size_t)M * N), *ref = malloc(4 * (size_t)M * N);
        // 8-bit codes only with VNNI: AVX2's vpmaddubsw saturates pairs of 8-bit products (PROBES.md section 6).
        dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
        int vnni = (isa & dnnl_cpu_isa_avx512_core_vnni) == dnnl_cpu_isa_avx512_core_vnni || (isa & dnnl_cpu_isa_avx2_vnni) == dnnl_cpu_isa_avx2_vnni;
        for (size_t i = 0; i < (size_t)M * K; i++) q[i] = rand() % (vnni ? 256 : 128);
        for (size_t i = 0; i < (size_t)N * K; i++) w[i] = rand() % 256 - 128;
        for (int i = 0; i < N; i++) { sc[i] = 1e-3f * (1 + rand() % 100); b[i] = (rand() % 100) * 0.01f; }
        for (int i = 0; i < M; i++) sr[i] = 1e-3f * (1 + rand() % 100);
        int z = vnni ? 131 : 67;
        V vs[] = {{0, 0, 0, 0, 0, 1}, {2, 0, 0, 0, 1, 0}, {0, 1, 0, 0, 1, 0}, {0, 1, 1, 0, 1, 0}, {0, 1, 0, 1, 1, 0}, {0, 1, 1, 1, 1, 0}};
        const char *names[] = {"s32 only (default backend, before its pass)", "const oscale[N] + zp + MUL rows + ADD bias (per layer)",
                               "MUL cols + zp + MUL rows + ADD bias (onednn-fused)", "... + SUM", "... + GELU", "... + SUM + GELU"};
        for (int vi = 0; vi < 6; vi++) {
            const char *im; double cms = 0; static char rel[32];
            for (size_t i = 0; i < (size_t)M * N; i++) y[i] = 0.5f;
            double t = run(M, K, N, vs[vi], q, w, sc, sr, b, y, z, &im, 1, &cms);
            // check a few rows vs formula
            double err = 0, mx = 0;
            if (t > 0 && !vs[vi].s32) for (int m = 0; m < M; m += M / 7 + 1) for (int nn = 0; nn < N; nn++) {
                int64_t acc = 0; for (int k = 0; k < K; k++) acc += (int64_t)(q[(size_t)m * K + k] - (vs[vi].zp ? z : 0)) * w[(size_t)nn * K + k];
                double r = (double)sr[m] * sc[nn] * acc + b[nn]; if (vs[vi].sum) r += 0.5; if (vs[vi].gelu) r = 0.5 * r * (1 + erf(r / sqrt(2)));
                double e = fabs(r - y[(size_t)m * N + nn]); if (e > err) err = e; if (fabs(r) > mx) mx = fabs(r); }
            t = run(M, K, N, vs[vi], q, w, sc, sr, b, y, z, &im, 20, &cms);
            printf("| %d x %d x %d | %s | %s | %.0f | %.3f | %s |\n", M, K, N, names[vi], im, t > 0 ? 2.0 * M * K * N / t / 1e9 : 0, t * 1e3,
                   vs[vi].s32 ? "-" : (snprintf(rel, sizeof rel, "%.1e", mx > 0 ? err / mx : 0), rel));
        }
        free(q); free(w); free(sc); free(sr); free(b); free(y); free(ref);
    }
}
