// GEMM throughput probe at UniSpeech encoder shapes: OpenBLAS sgemm (f32) and
// oneDNN u8 x s8 -> s32 matmul, y[M,N] = x[M,K] * W[N,K]^T as in nn.Linear.
// Build: cc -O2 -o gemm_probe gemm_probe.c -lopenblas -ldnnl -lgomp
// Usage: gemm_probe THREADS [--json]   (prints one line per shape)
#include <cblas.h>
#include <dnnl.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void openblas_set_num_threads(int);

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

#define CHECK(call) do { dnnl_status_t s_ = (call); if (s_ != dnnl_success) { \
    fprintf(stderr, "%s failed: %d\n", #call, s_); exit(1); } } while (0)

enum { REPEATS = 9 };

static double median(double *t, int n) { qsort(t, n, sizeof *t, cmp); return t[n / 2]; }

static double time_sgemm(int M, int N, int K) {
    float *x = aligned_alloc(64, sizeof(float) * M * K), *w = aligned_alloc(64, sizeof(float) * N * K);
    float *y = aligned_alloc(64, sizeof(float) * M * N);
    for (long i = 0; i < (long)M * K; i++) x[i] = (float)(i % 17) * 0.01f;
    for (long i = 0; i < (long)N * K; i++) w[i] = (float)(i % 13) * 0.01f;
    double t[REPEATS];
    for (int r = -2; r < REPEATS; r++) {
        double s = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1, x, K, w, K, 0, y, N);
        if (r >= 0) t[r] = now() - s;
    }
    free(x); free(w); free(y);
    return 2.0 * M * N * K / median(t, REPEATS) / 1e9;
}

static double time_int8(dnnl_engine_t engine, dnnl_stream_t stream, int M, int N, int K, int packed) {
    dnnl_memory_desc_t src_md, w_md, w_any, dst_md;
    dnnl_dims_t sd = {M, K}, wd = {K, N}, dd = {M, N};
    CHECK(dnnl_memory_desc_init_by_tag(&src_md, 2, sd, dnnl_u8, dnnl_ab));
    CHECK(dnnl_memory_desc_init_by_tag(&w_md, 2, wd, dnnl_s8, dnnl_ba));
    CHECK(dnnl_memory_desc_init_by_tag(&w_any, 2, wd, dnnl_s8, dnnl_format_tag_any));
    CHECK(dnnl_memory_desc_init_by_tag(&dst_md, 2, dd, dnnl_s32, dnnl_ab));
    dnnl_matmul_desc_t desc;
    CHECK(dnnl_matmul_desc_init(&desc, &src_md, packed ? &w_any : &w_md, NULL, &dst_md));
    dnnl_primitive_desc_t pd;
    CHECK(dnnl_primitive_desc_create(&pd, &desc, NULL, engine, NULL));
    const char *impl;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    const dnnl_memory_desc_t *w_real = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    dnnl_primitive_t prim;
    CHECK(dnnl_primitive_create(&prim, pd));
    uint8_t *x = aligned_alloc(64, (size_t)M * K);
    int8_t *w = aligned_alloc(64, (size_t)N * K);
    int32_t *y = aligned_alloc(64, sizeof(int32_t) * M * N);
    for (long i = 0; i < (long)M * K; i++) x[i] = (uint8_t)(i * 7);
    for (long i = 0; i < (long)N * K; i++) w[i] = (int8_t)(i * 5);
    dnnl_memory_t ms, mw, mwp, md;
    CHECK(dnnl_memory_create(&ms, &src_md, engine, x));
    CHECK(dnnl_memory_create(&mw, &w_md, engine, w));
    CHECK(dnnl_memory_create(&md, &dst_md, engine, y));
    mwp = mw;
    if (packed) {
        CHECK(dnnl_memory_create(&mwp, w_real, engine, DNNL_MEMORY_ALLOCATE));
        dnnl_primitive_desc_t rpd;
        CHECK(dnnl_reorder_primitive_desc_create(&rpd, &w_md, engine, w_real, engine, NULL));
        dnnl_primitive_t reorder;
        CHECK(dnnl_primitive_create(&reorder, rpd));
        dnnl_exec_arg_t rargs[] = {{DNNL_ARG_FROM, mw}, {DNNL_ARG_TO, mwp}};
        CHECK(dnnl_primitive_execute(reorder, stream, 2, rargs));
        CHECK(dnnl_stream_wait(stream));
    }
    dnnl_exec_arg_t args[] = {{DNNL_ARG_SRC, ms}, {DNNL_ARG_WEIGHTS, mwp}, {DNNL_ARG_DST, md}};
    double t[REPEATS];
    for (int r = -2; r < REPEATS; r++) {
        double s = now();
        CHECK(dnnl_primitive_execute(prim, stream, 3, args));
        CHECK(dnnl_stream_wait(stream));
        if (r >= 0) t[r] = now() - s;
    }
    // Saturation check: all-255 activations against all-127 weights must give exactly 255*127*K.
    memset(x, 255, (size_t)M * K);
    memset(w, 127, (size_t)N * K);
    if (packed) {
        dnnl_primitive_desc_t rpd; dnnl_primitive_t reorder;
        CHECK(dnnl_reorder_primitive_desc_create(&rpd, &w_md, engine, w_real, engine, NULL));
        CHECK(dnnl_primitive_create(&reorder, rpd));
        dnnl_exec_arg_t rargs[] = {{DNNL_ARG_FROM, mw}, {DNNL_ARG_TO, mwp}};
        CHECK(dnnl_primitive_execute(reorder, stream, 2, rargs));
    }
    CHECK(dnnl_primitive_execute(prim, stream, 3, args));
    CHECK(dnnl_stream_wait(stream));
    int exact = y[0] == 255 * 127 * K;
    fprintf(stderr, "  int8 %s impl=%s exact=%d (got %d want %d)\n", packed ? "packed" : "plain", impl, exact, y[0], 255 * 127 * K);
    free(x); free(w); free(y);
    return 2.0 * M * N * K / median(t, REPEATS) / 1e9;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    int json = argc > 2 && strcmp(argv[2], "--json") == 0;
    openblas_set_num_threads(threads);
    omp_set_num_threads(threads);
    dnnl_engine_t engine; dnnl_stream_t stream;
    CHECK(dnnl_engine_create(&engine, dnnl_cpu, 0));
    CHECK(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags));
    // M = frames of 10 s audio; (N, K) of the encoder's linear layers, base then large.
    int shapes[][3] = {{499, 768, 768}, {499, 3072, 768}, {499, 768, 3072},
                       {499, 1024, 1024}, {499, 4096, 1024}, {499, 1024, 4096}};
    for (unsigned i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        int M = shapes[i][0], N = shapes[i][1], K = shapes[i][2];
        double f = time_sgemm(M, N, K);
        double q = time_int8(engine, stream, M, N, K, 0);
        double qp = time_int8(engine, stream, M, N, K, 1);
        if (json)
            printf("{\"M\":%d,\"N\":%d,\"K\":%d,\"threads\":%d,\"sgemm_gflops\":%.1f,\"u8s8_gops\":%.1f,\"u8s8_packed_gops\":%.1f}\n",
                   M, N, K, threads, f, q, qp);
        else
            printf("M=%d N=%d K=%d threads=%d  sgemm %.1f GFLOP/s  u8s8 %.1f GOP/s  u8s8 packed %.1f GOP/s\n",
                   M, N, K, threads, f, q, qp);
    }
    return 0;
}
