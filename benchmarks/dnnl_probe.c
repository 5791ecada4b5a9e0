// oneDNN 2.6 probe (C API, GNU OpenMP runtime): the measured answers needed before the forward pass of
// unispeech-swift moves from OpenBLAS to oneDNN. Findings and recommendations: benchmarks/PROBES.md.
//
// Build: gcc -O2 -fopenmp -o dnnl_probe benchmarks/dnnl_probe.c -ldnnl -lgomp -lopenblas -lpthread -lm
// Usage: dnnl_probe [-t THREADS] [-r ROUNDS] [-q MAXWAIT] SECTION...
//   SECTION: info linear runtime bias attn conv int8 threads openblas (or all); int8speed = int8 without the numerics table. -t sets omp and OpenBLAS
//   threads for linear..int8 (threads/openblas choose their own). Run once as is and once with
//   DNNL_MAX_CPU_ISA=AVX2 in the environment (emulates an AVX2-only CPU).
// Every timing: the variants of one table row run interleaved (round robin), ROUNDS rounds after two
// warm-up calls each; tables give "best (median)". Output is markdown. The machine may be shared: before each timed row
// (and every 8 rounds) the probe waits up to MAXWAIT s (default 20) until other processes use < 10% CPU (0 = no waiting).
#define _GNU_SOURCE
#include <cblas.h>
#include <dnnl.h>
#include <dnnl_debug.h>
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include <dirent.h>

#define CHECK(call) do { dnnl_status_t s_ = (call); if (s_ != dnnl_success) { \
    fprintf(stderr, "%s:%d %s failed: %s\n", __FILE__, __LINE__, #call, dnnl_status2str(s_)); exit(1); } } while (0)
#define DIMS(...) ((const int64_t[DNNL_MAX_NDIMS]){__VA_ARGS__})
#define MAXR 64
#define RT DNNL_RUNTIME_DIM_VAL

static dnnl_engine_t eng;
static dnnl_stream_t strm;
static int g_threads = 2, g_rounds = 9;

// ---------------------------------------------------------------- small helpers
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static double cpu_now(void) { struct timespec t; clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static int cmpd(const void *a, const void *b) { double x = *(const double *)a, y = *(const double *)b; return x < y ? -1 : x > y; }
static void *xalloc(size_t n) { void *p = aligned_alloc(64, (n + 63) / 64 * 64 + 64); if (!p) { perror("alloc"); exit(1); } return p; }
static float *falloc(size_t n) { return xalloc(n * sizeof(float)); }
static uint64_t rs = 88172645463325252ULL;
static uint64_t xr(void) { rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17; return rs; }
static double urand(void) { return (xr() >> 11) * (1.0 / 9007199254740992.0); }
static void ffill(float *p, size_t n, float lo, float hi) { for (size_t i = 0; i < n; i++) p[i] = lo + (hi - lo) * (float)urand(); }
static const char *isa_name(void) { return dnnl_cpu_isa2str(dnnl_get_effective_cpu_isa()); }
static void set_threads(int n) { omp_set_num_threads(n); openblas_set_num_threads(n); }
static float maxdiff(const float *a, const float *b, size_t n) {
    float m = 0; for (size_t i = 0; i < n; i++) { float d = fabsf(a[i] - b[i]); if (d > m || d != d) m = d; } return m;
}
static float maxabs(const float *a, size_t n) { float m = 0; for (size_t i = 0; i < n; i++) if (fabsf(a[i]) > m) m = fabsf(a[i]); return m; }

// A rotating pool of formatted strings so several can appear in one printf.
static char *sbuf(void) { static char b[64][160]; static int i; return b[i++ & 63]; }
static const char *loadavg(void) {
    char *b = sbuf(); FILE *f = fopen("/proc/loadavg", "r"); b[0] = 0;
    if (f) { if (!fgets(b, 160, f)) b[0] = 0; fclose(f); }
    b[strcspn(b, "\n")] = 0; return b;
}

// ---------------------------------------------------------------- oneDNN helpers
static dnnl_memory_desc_t mdt(int nd, const int64_t *dims, dnnl_data_type_t dt, dnnl_format_tag_t tag) {
    dnnl_memory_desc_t md; CHECK(dnnl_memory_desc_init_by_tag(&md, nd, dims, dt, tag)); return md;
}
static dnnl_status_t mds(dnnl_memory_desc_t *md, int nd, const int64_t *dims, dnnl_data_type_t dt, const int64_t *strides) {
    return dnnl_memory_desc_init_by_strides(md, nd, dims, dt, strides);
}
static dnnl_memory_t mem(const dnnl_memory_desc_t *md, void *h) {
    dnnl_memory_t m; CHECK(dnnl_memory_create(&m, md, eng, h ? h : DNNL_MEMORY_ALLOCATE)); return m;
}
static void *mptr(dnnl_memory_t m) { void *p; CHECK(dnnl_memory_get_data_handle(m, &p)); return p; }
static const dnnl_memory_desc_t *mdesc(dnnl_memory_t m) { const dnnl_memory_desc_t *d; CHECK(dnnl_memory_get_memory_desc(m, &d)); return d; }
static const char *impl(const_dnnl_primitive_desc_t pd) {
    const char *s = "?"; dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &s); char *b = sbuf(); snprintf(b, 160, "%s", s); return b;
}
static dnnl_status_t mk_matmul(dnnl_primitive_desc_t *pd, const dnnl_memory_desc_t *s, const dnnl_memory_desc_t *w,
                               const dnnl_memory_desc_t *b, const dnnl_memory_desc_t *d, const_dnnl_primitive_attr_t attr) {
    dnnl_matmul_desc_t md; dnnl_status_t st = dnnl_matmul_desc_init(&md, s, w, b, d);
    if (st != dnnl_success) return st;
    return dnnl_primitive_desc_create(pd, &md, attr, eng, NULL);
}
static dnnl_primitive_t prim(const_dnnl_primitive_desc_t pd) { dnnl_primitive_t p; CHECK(dnnl_primitive_create(&p, pd)); return p; }
static const dnnl_memory_desc_t *qmd(const_dnnl_primitive_desc_t pd, dnnl_query_t q) { return dnnl_primitive_desc_query_md(pd, q, 0); }
// Blocked layout as text, e.g. "strides[64,3072] blocks[b16a64a4]" (for the layout a primitive chose).
static const char *layout(const dnnl_memory_desc_t *md) {
    char *b = sbuf(); int o = 0;
    if (md->format_kind != dnnl_blocked) { snprintf(b, 160, "%s", dnnl_fmt_kind2str(md->format_kind)); return b; }
    const dnnl_blocking_desc_t *bd = &md->format_desc.blocking;
    o += snprintf(b + o, 160 - o, "str[");
    for (int i = 0; i < md->ndims; i++) o += snprintf(b + o, 160 - o, "%s%ld", i ? "," : "", (long)bd->strides[i]);
    o += snprintf(b + o, 160 - o, "]");
    if (bd->inner_nblks) { o += snprintf(b + o, 160 - o, " blk["); for (int i = 0; i < bd->inner_nblks; i++) o += snprintf(b + o, 160 - o, "%ld%c", (long)bd->inner_blks[i], (int)('a' + bd->inner_idxs[i])); o += snprintf(b + o, 160 - o, "]"); }
    if (md->extra.flags) o += snprintf(b + o, 160 - o, " extra=0x%x", (unsigned)md->extra.flags);
    if (md->extra.flags & dnnl_memory_extra_flag_scale_adjust) snprintf(b + o, 160 - o, " scale_adjust=%g", md->extra.scale_adjust);
    return b;
}

typedef struct { dnnl_primitive_t p; dnnl_stream_t s; int n; dnnl_exec_arg_t a[16]; } run_t;
static void arg(run_t *r, int k, dnnl_memory_t m) { r->a[r->n].arg = k; r->a[r->n].memory = m; r->n++; }
static void run_exec(void *c) { run_t *r = c; CHECK(dnnl_primitive_execute(r->p, r->s ? r->s : strm, r->n, r->a)); CHECK(dnnl_stream_wait(r->s ? r->s : strm)); }
static run_t mkrun(dnnl_primitive_t p) { run_t r; memset(&r, 0, sizeof r); r.p = p; return r; }

// Reorder memory `from` into a new memory of descriptor `to_md` (allocated by oneDNN); returns it.
static dnnl_memory_t reorder_to(dnnl_memory_t from, const dnnl_memory_desc_t *to_md) {
    dnnl_memory_t to = mem(to_md, NULL);
    dnnl_primitive_desc_t rpd; CHECK(dnnl_reorder_primitive_desc_create(&rpd, mdesc(from), eng, to_md, eng, NULL));
    dnnl_primitive_t r = prim(rpd);
    run_t x = mkrun(r); arg(&x, DNNL_ARG_FROM, from); arg(&x, DNNL_ARG_TO, to); run_exec(&x);
    dnnl_primitive_destroy(r); dnnl_primitive_desc_destroy(rpd);
    return to;
}

// ---------------------------------------------------------------- waiting for a quiet machine
// The machine is shared. With -q SECONDS (default 20), every timed row first waits (up to SECONDS) until the CPU time
// used by OTHER processes over a 100 ms window is below 10% of the machine; the section footer reports the waits.
static double g_quiet_max = 20, g_waited = 0; static int g_waits = 0, g_timeouts = 0;
static void stat_cpu(double *busy, double *total) {
    FILE *f = fopen("/proc/stat", "r"); unsigned long long v[10] = {0};
    if (f) { if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) != 8) v[0] = 0; fclose(f); }
    double hz = (double)sysconf(_SC_CLK_TCK);
    *total = (v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7]) / hz; *busy = *total - (v[3] + v[4]) / hz;
}
static double others_busy(double secs) {  // fraction of all CPUs used by other processes
    double b0, t0, b1, t1, c0 = cpu_now(); stat_cpu(&b0, &t0);
    usleep((useconds_t)(secs * 1e6));
    double c1 = cpu_now(); stat_cpu(&b1, &t1);
    double f = ((b1 - b0) - (c1 - c0)) / (t1 - t0 > 0 ? t1 - t0 : 1);
    return f < 0 ? 0 : f;
}
static void wait_quiet(void) {
    if (g_quiet_max <= 0) return;
    double t0 = now();
    usleep(20000);  // our own spinning workers (GOMP, OpenBLAS) are not "others", but let them settle
    while (others_busy(0.1) > 0.10) { if (now() - t0 > g_quiet_max) { g_timeouts++; break; } usleep(150000); }
    g_waited += now() - t0; g_waits++;
}

// ---------------------------------------------------------------- interleaved timing
typedef struct { const char *name; void (*fn)(void *); void *ctx; double t[MAXR]; int n; } var_t;
static void bench(var_t *v, int nv, int rounds) {
    if (rounds > MAXR) rounds = MAXR;
    wait_quiet();
    for (int i = 0; i < nv; i++) { v[i].fn(v[i].ctx); v[i].fn(v[i].ctx); v[i].n = 0; }
    for (int r = 0; r < rounds; r++) {
        if (r && r % 8 == 0) wait_quiet();
        for (int i = 0; i < nv; i++) { double s = now(); v[i].fn(v[i].ctx); v[i].t[v[i].n++] = now() - s; }
    }
    for (int i = 0; i < nv; i++) qsort(v[i].t, v[i].n, sizeof(double), cmpd);
}
static double tbest(const var_t *v) { return v->t[0]; }
static double tmed(const var_t *v) { return v->t[v->n / 2]; }
static const char *rate(const var_t *v, double ops) { char *b = sbuf(); snprintf(b, 160, "%.0f (%.0f)", ops / tbest(v) / 1e9, ops / tmed(v) / 1e9); return b; }
static const char *msec(const var_t *v) { char *b = sbuf(); snprintf(b, 160, "%.3f (%.3f)", tbest(v) * 1e3, tmed(v) * 1e3); return b; }

// ---------------------------------------------------------------- OpenBLAS reference gemm
typedef struct { int M, N, K, lda, ldb; const float *x, *w; float *y; } sg_t;   // y = x * w^T (w is [N, K])
static void sg_run(void *c) { sg_t *g = c; cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, g->M, g->N, g->K, 1, g->x, g->lda, g->w, g->ldb, 0, g->y, g->N); }

// f32 matmul y[M,N] = x[M,K] W[N,K]^T with weights "ba" in place or reordered to "any". Fills *r.
typedef struct { dnnl_primitive_desc_t pd; dnnl_primitive_t p; run_t r; dnnl_memory_t w; } mm_t;
static mm_t mm_f32(int M, int K, int N, float *x, float *w, float *y, int any, const_dnnl_primitive_attr_t attr, const dnnl_memory_desc_t *bias) {
    mm_t m; memset(&m, 0, sizeof m);
    dnnl_memory_desc_t s = mdt(2, DIMS(M, K), dnnl_f32, dnnl_ab), wb = mdt(2, DIMS(K, N), dnnl_f32, dnnl_ba);
    dnnl_memory_desc_t wa = mdt(2, DIMS(K, N), dnnl_f32, dnnl_format_tag_any), d = mdt(2, DIMS(M, N), dnnl_f32, dnnl_ab);
    CHECK(mk_matmul(&m.pd, &s, any ? &wa : &wb, bias, &d, attr));
    m.p = prim(m.pd);
    dnnl_memory_t mw = mem(&wb, w);
    m.w = any ? reorder_to(mw, qmd(m.pd, dnnl_query_weights_md)) : mw;
    m.r = mkrun(m.p);
    arg(&m.r, DNNL_ARG_SRC, mem(&s, x)); arg(&m.r, DNNL_ARG_WEIGHTS, m.w); arg(&m.r, DNNL_ARG_DST, mem(&d, y));
    return m;
}

// ================================================================ info
static void sec_info(void) {
    char line[4096], model[256] = "?", flags[4096] = "";
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f && fgets(line, sizeof line, f)) {
        if (!strncmp(line, "model name", 10) && model[0] == '?') snprintf(model, sizeof model, "%s", strchr(line, ':') + 2);
        if (!strncmp(line, "flags", 5) && !flags[0]) snprintf(flags, sizeof flags, "%s", strchr(line, ':') + 1);
    }
    if (f) fclose(f);
    model[strcspn(model, "\n")] = 0;
    const char *want[] = {"avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "avx_vnni", "amx_tile", "amx_int8"};
    printf("## info\n\n- CPU: %s, %d online CPUs\n- flags: ", model, (int)sysconf(_SC_NPROCESSORS_ONLN));
    for (unsigned i = 0; i < sizeof want / sizeof *want; i++) {
        char pat[64]; snprintf(pat, sizeof pat, " %s ", want[i]);
        strcat(flags, " ");
        printf("%s%s ", strstr(flags, pat) ? "+" : "-", want[i]);
    }
    const dnnl_version_t *v = dnnl_version();
    printf("\n- OpenBLAS: %s, core %s\n", openblas_get_config(), openblas_get_corename());
    printf("- oneDNN %d.%d.%d (cpu runtime %s), effective ISA %s, DNNL_MAX_CPU_ISA=%s, omp_get_max_threads()=%d\n\n",
           v->major, v->minor, v->patch, dnnl_runtime2str(v->cpu_runtime), isa_name(),
           getenv("DNNL_MAX_CPU_ISA") ? getenv("DNNL_MAX_CPU_ISA") : "(unset)", omp_get_max_threads());
}

// ================================================================ 1. linear: ba in place vs any + reorder
static const int KN[6][2] = {{768, 768}, {768, 3072}, {3072, 768}, {1024, 1024}, {1024, 4096}, {4096, 1024}};

static void sec_linear(void) {
    printf("## 1. f32 linear, weights W[N,K] in place as `ba` vs reordered to `any` (ISA %s, %d threads)\n\n", isa_name(), g_threads);
    printf("GFLOP/s best (median) of %d interleaved rounds; reorder = one-off cost of W -> the `any` layout, ms.\n\n", g_rounds);
    printf("| M | K | N | OpenBLAS sgemm | oneDNN `ba` | oneDNN `any` | reorder ms | impl `ba` | impl `any` | `any` layout | max diff |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
    int Ms[] = {499, 2999};
    for (int mi = 0; mi < 2; mi++)
        for (int s = 0; s < 6; s++) {
            int M = Ms[mi], K = KN[s][0], N = KN[s][1];
            float *x = falloc((size_t)M * K), *w = falloc((size_t)N * K), *y0 = falloc((size_t)M * N), *y1 = falloc((size_t)M * N), *y2 = falloc((size_t)M * N);
            ffill(x, (size_t)M * K, -1, 1); ffill(w, (size_t)N * K, -0.05f, 0.05f);
            mm_t a = mm_f32(M, K, N, x, w, y1, 0, NULL, NULL), b = mm_f32(M, K, N, x, w, y2, 1, NULL, NULL);
            // reorder timing
            dnnl_memory_desc_t wb = mdt(2, DIMS(K, N), dnnl_f32, dnnl_ba);
            dnnl_primitive_desc_t rpd; CHECK(dnnl_reorder_primitive_desc_create(&rpd, &wb, eng, qmd(b.pd, dnnl_query_weights_md), eng, NULL));
            run_t rr = mkrun(prim(rpd)); arg(&rr, DNNL_ARG_FROM, mem(&wb, w)); arg(&rr, DNNL_ARG_TO, b.w);
            sg_t g = {M, N, K, K, K, x, w, y0};
            var_t v[4] = {{"openblas", sg_run, &g}, {"ba", run_exec, &a.r}, {"any", run_exec, &b.r}, {"reorder", run_exec, &rr}};
            bench(v, 4, g_rounds);
            double fl = 2.0 * M * N * K;
            float d = fmaxf(maxdiff(y0, y1, (size_t)M * N), maxdiff(y0, y2, (size_t)M * N));
            printf("| %d | %d | %d | %s | %s | %s | %s | %s | %s | %s | %.1e |\n", M, K, N, rate(&v[0], fl), rate(&v[1], fl), rate(&v[2], fl),
                   msec(&v[3]), impl(a.pd), impl(b.pd), layout(qmd(b.pd, dnnl_query_weights_md)), d);
            fflush(stdout);
            free(x); free(w); free(y0); free(y1); free(y2);
        }
    // Does the `any` weights layout depend on M? (if not, one reorder at load serves every input length)
    printf("\nDoes the `any` weights layout depend on M? Compared with the layout chosen at M=499 (dnnl_memory_desc_equal); "
           "f32, and u8 x s8 (3-D fused3 attributes as in section 6).\n\n| K | N | kind | M = 1, 7, 49, 99, 250, 499, 999, 2999, 9999 | layout at M=499 |\n|---|---|---|---|---|\n");
    int Mt[] = {1, 7, 49, 99, 250, 499, 999, 2999, 9999};
    for (int sh = 0; sh < 6; sh++)
        for (int kind = 0; kind < 2; kind++) {
            int K = KN[sh][0], N = KN[sh][1];
            dnnl_memory_desc_t ref, got; char line[256] = ""; int o = 0;
            for (int pass = 0; pass < 2; pass++)
                for (unsigned mi = 0; mi < sizeof Mt / sizeof *Mt; mi++) {
                    int M = Mt[mi];
                    if (pass == 0 && M != 499) continue;
                    dnnl_primitive_desc_t pd;
                    if (kind == 0) {
                        dnnl_memory_desc_t sd = mdt(2, DIMS(M, K), dnnl_f32, dnnl_ab), wa = mdt(2, DIMS(K, N), dnnl_f32, dnnl_format_tag_any), dd = mdt(2, DIMS(M, N), dnnl_f32, dnnl_ab);
                        CHECK(mk_matmul(&pd, &sd, &wa, NULL, &dd, NULL));
                    } else {
                        dnnl_memory_desc_t sd = mdt(3, DIMS(1, M, K), dnnl_u8, dnnl_abc), wa = mdt(3, DIMS(1, K, N), dnnl_s8, dnnl_format_tag_any), dd = mdt(3, DIMS(1, M, N), dnnl_f32, dnnl_abc);
                        dnnl_primitive_attr_t a; CHECK(dnnl_primitive_attr_create(&a));
                        float *sc = falloc(N); for (int n = 0; n < N; n++) sc[n] = 0.001f;
                        int32_t rti = DNNL_RUNTIME_S32_VAL;
                        CHECK(dnnl_primitive_attr_set_output_scales(a, N, 1 << 2, sc)); CHECK(dnnl_primitive_attr_set_zero_points(a, DNNL_ARG_SRC, 1, 0, &rti));
                        dnnl_post_ops_t po; CHECK(dnnl_post_ops_create(&po));
                        dnnl_memory_desc_t rm = mdt(3, DIMS(1, M, 1), dnnl_f32, dnnl_abc), bm = mdt(3, DIMS(1, 1, N), dnnl_f32, dnnl_abc);
                        CHECK(dnnl_post_ops_append_binary(po, dnnl_binary_mul, &rm)); CHECK(dnnl_post_ops_append_binary(po, dnnl_binary_add, &bm));
                        CHECK(dnnl_primitive_attr_set_post_ops(a, po)); dnnl_post_ops_destroy(po);
                        CHECK(mk_matmul(&pd, &sd, &wa, NULL, &dd, a)); dnnl_primitive_attr_destroy(a); free(sc);
                    }
                    if (pass == 0) ref = *qmd(pd, dnnl_query_weights_md);
                    else { got = *qmd(pd, dnnl_query_weights_md); o += snprintf(line + o, sizeof line - o, "%s%s", mi ? ", " : "", dnnl_memory_desc_equal(&ref, &got) ? "same" : "**differs**"); }
                    dnnl_primitive_desc_destroy(pd);
                }
            printf("| %d | %d | %s | %s | %s |\n", K, N, kind ? "u8 x s8 fused3" : "f32", line, layout(&ref));
        }
    printf("\n");
}

// ================================================================ 2. runtime M
// Creates one primitive; returns creation seconds (pd + primitive) or -1 with *st set.
static double create_time(dnnl_primitive_desc_t *pd, dnnl_primitive_t *p, const dnnl_memory_desc_t *s, const dnnl_memory_desc_t *w,
                          const dnnl_memory_desc_t *d, const_dnnl_primitive_attr_t attr, dnnl_status_t *st) {
    double t = now();
    *st = mk_matmul(pd, s, w, NULL, d, attr);
    if (*st != dnnl_success) return -1;
    *st = dnnl_primitive_create(p, *pd);
    if (*st != dnnl_success) return -1;
    return now() - t;
}

// Attributes for the int8 "fused" matmul: runtime per-N output scales, runtime per-tensor src zero point,
// then post-ops binary MUL by a [M,1] (per-row scale) and binary ADD of a [1,N] bias.
static dnnl_status_t i8_attr_st(dnnl_primitive_attr_t *out, int oscale, int zp, int zp_mask, int mul_row, int add_bias, int64_t M, int64_t N) {
    dnnl_primitive_attr_t a; CHECK(dnnl_primitive_attr_create(&a)); *out = a;
    dnnl_status_t st = dnnl_success;
    if (oscale) { float rt = DNNL_RUNTIME_F32_VAL; st = dnnl_primitive_attr_set_output_scales(a, 1, 1 << 1, &rt); if (st) return st; }
    if (zp) { int32_t rt = DNNL_RUNTIME_S32_VAL; st = dnnl_primitive_attr_set_zero_points(a, DNNL_ARG_SRC, 1, zp_mask, &rt); if (st) return st; }
    if (mul_row || add_bias) {
        dnnl_post_ops_t po; CHECK(dnnl_post_ops_create(&po));
        if (mul_row) { dnnl_memory_desc_t m = mdt(2, DIMS(M, 1), dnnl_f32, dnnl_ab); st = dnnl_post_ops_append_binary(po, dnnl_binary_mul, &m); }
        if (add_bias && !st) { dnnl_memory_desc_t b = mdt(2, DIMS(1, N), dnnl_f32, dnnl_ab); st = dnnl_post_ops_append_binary(po, dnnl_binary_add, &b); }
        if (!st) st = dnnl_primitive_attr_set_post_ops(a, po);
        dnnl_post_ops_destroy(po);
    }
    return st;
}
static dnnl_primitive_attr_t i8_attr(int oscale, int zp, int zp_mask, int mul_row, int add_bias, int64_t M, int64_t N) {
    dnnl_primitive_attr_t a; CHECK(i8_attr_st(&a, oscale, zp, zp_mask, mul_row, add_bias, M, N)); return a;
}

static void sec_runtime(void) {
    printf("## 2. Runtime M (DNNL_RUNTIME_DIM_VAL) vs M fixed at creation (ISA %s, %d threads)\n\n", isa_name(), g_threads);
    int cap; dnnl_get_primitive_cache_capacity(&cap);
    // (a) which descriptor variants are accepted
    printf("Acceptance (weights `ba` in place unless noted; rt = runtime):\n\n| variant | status | impl |\n|---|---|---|\n");
    struct { const char *name; dnnl_data_type_t st, wt, dt; int strides_rt, oscale, zp, mul, add, wany; } acc[] = {
        {"f32, M rt (strides from tag)", dnnl_f32, dnnl_f32, dnnl_f32, 0, 0, 0, 0, 0, 0},
        {"f32, M rt + row strides rt", dnnl_f32, dnnl_f32, dnnl_f32, 1, 0, 0, 0, 0, 0},
        {"f32, M rt, weights `any`", dnnl_f32, dnnl_f32, dnnl_f32, 0, 0, 0, 0, 0, 1},
        {"u8 x s8 -> s32, M rt", dnnl_u8, dnnl_s8, dnnl_s32, 0, 0, 0, 0, 0, 0},
        {"u8 x s8 -> s32, M rt + strides rt", dnnl_u8, dnnl_s8, dnnl_s32, 1, 0, 0, 0, 0, 0},
        {"u8 x s8 -> f32, M rt, oscale[N] rt + zp rt", dnnl_u8, dnnl_s8, dnnl_f32, 0, 1, 1, 0, 0, 0},
        {"u8 x s8 -> f32, M rt, oscale + zp + ADD[1,N]", dnnl_u8, dnnl_s8, dnnl_f32, 0, 1, 1, 0, 1, 0},
        {"u8 x s8 -> f32, M rt, oscale + zp + MUL[rt,1] + ADD[1,N]", dnnl_u8, dnnl_s8, dnnl_f32, 0, 1, 1, 1, 1, 0},
        {"u8 x s8 -> f32, M rt, oscale + zp, weights `any`", dnnl_u8, dnnl_s8, dnnl_f32, 0, 1, 1, 0, 0, 1},
        {"s8 x s8 -> f32, M rt, oscale + ADD[1,N]", dnnl_s8, dnnl_s8, dnnl_f32, 0, 1, 0, 0, 1, 0},
    };
    int K = 768, N = 3072;
    for (unsigned i = 0; i < sizeof acc / sizeof *acc; i++) {
        dnnl_memory_desc_t s, w, d; dnnl_status_t st = dnnl_success;
        if (acc[i].strides_rt) {
            st = mds(&s, 2, DIMS(RT, K), acc[i].st, DIMS(RT, 1));
            if (st == dnnl_success) st = mds(&d, 2, DIMS(RT, N), acc[i].dt, DIMS(RT, 1));
        } else { s = mdt(2, DIMS(RT, K), acc[i].st, dnnl_ab); d = mdt(2, DIMS(RT, N), acc[i].dt, dnnl_ab); }
        w = mdt(2, DIMS(K, N), acc[i].wt, acc[i].wany ? dnnl_format_tag_any : dnnl_ba);
        dnnl_primitive_attr_t a; dnnl_status_t sa = i8_attr_st(&a, acc[i].oscale, acc[i].zp, 0, acc[i].mul, acc[i].add, RT, N);
        dnnl_primitive_desc_t pd = NULL;
        if (sa != dnnl_success) { printf("| %s | building the attributes: %s | - |\n", acc[i].name, dnnl_status2str(sa)); dnnl_primitive_attr_destroy(a); continue; }
        if (st == dnnl_success) st = mk_matmul(&pd, &s, &w, NULL, &d, a);
        printf("| %s | %s | %s |\n", acc[i].name, dnnl_status2str(st), st == dnnl_success ? impl(pd) : "-");
        if (pd) dnnl_primitive_desc_destroy(pd);
        dnnl_primitive_attr_destroy(a);
    }
    // (b) creation time, primitive cache off (a new input length = a new primitive) and on (hit)
    double warm[4][4];
    printf("\nCreation time, ms best (median) of 5 (pd + primitive). Cache off = capacity 0, each fixed-M creation uses a new M. "
           "First-call overhead = first execute of a just-created primitive minus its second execute (buffers pre-touched, process warm).\n\n");
    printf("| kind | K | N | fixed M, cache off | runtime M, cache off | fixed M, cache hit | first-call overhead fixed M | first-call overhead runtime M |\n|---|---|---|---|---|---|---|---|\n");
    for (int kind = 0; kind < 2; kind++)
        for (int sh = 0; sh < 2; sh++) {
            int K2 = sh ? 3072 : 768, N2 = sh ? 768 : 3072, MX = 700;
            dnnl_data_type_t st_ = kind ? dnnl_u8 : dnnl_f32, wt = kind ? dnnl_s8 : dnnl_f32, dt = kind ? dnnl_s32 : dnnl_f32;
            dnnl_memory_desc_t w = mdt(2, DIMS(K2, N2), wt, dnnl_ba);
            void *x = xalloc((size_t)MX * K2 * 4), *wb = xalloc((size_t)K2 * N2 * 4), *y = xalloc((size_t)MX * N2 * 4);
            memset(x, 1, (size_t)MX * K2 * 4); memset(wb, 1, (size_t)K2 * N2 * 4); memset(y, 0, (size_t)MX * N2 * 4);
            double tf[5], tr[5], th[5], ff[5], fr[5], w1[4];
            for (int r = -1; r < 5; r++) {   // r = -1: warm-up (process-wide one-off JIT of gemm kernels etc.)
                int M = 499 + 17 * (r + 1) + kind * 7 + sh * 3;
                dnnl_memory_desc_t s = mdt(2, DIMS(M, K2), st_, dnnl_ab), d = mdt(2, DIMS(M, N2), dt, dnnl_ab);
                dnnl_memory_desc_t sr = mdt(2, DIMS(RT, K2), st_, dnnl_ab), dr = mdt(2, DIMS(RT, N2), dt, dnnl_ab);
                dnnl_primitive_desc_t pd; dnnl_primitive_t p; dnnl_status_t st;
                dnnl_set_primitive_cache_capacity(0);
                double c1 = create_time(&pd, &p, &s, &w, &d, NULL, &st) * 1e3; CHECK(st);
                run_t rr = mkrun(p); arg(&rr, DNNL_ARG_SRC, mem(&s, x)); arg(&rr, DNNL_ARG_WEIGHTS, mem(&w, wb)); arg(&rr, DNNL_ARG_DST, mem(&d, y));
                double t0 = now(); run_exec(&rr); double e1 = now() - t0; t0 = now(); run_exec(&rr); double e2 = now() - t0;
                dnnl_primitive_destroy(p); dnnl_primitive_desc_destroy(pd);
                double c2 = create_time(&pd, &p, &sr, &w, &dr, NULL, &st) * 1e3; CHECK(st);
                rr.p = p; t0 = now(); run_exec(&rr); double e3 = now() - t0; t0 = now(); run_exec(&rr); double e4 = now() - t0;
                dnnl_primitive_destroy(p); dnnl_primitive_desc_destroy(pd);
                dnnl_set_primitive_cache_capacity(cap);
                create_time(&pd, &p, &s, &w, &d, NULL, &st); dnnl_primitive_destroy(p); dnnl_primitive_desc_destroy(pd);
                double c3 = create_time(&pd, &p, &s, &w, &d, NULL, &st) * 1e3;
                dnnl_primitive_destroy(p); dnnl_primitive_desc_destroy(pd);
                if (r < 0) { w1[0] = e1 * 1e3; w1[1] = e2 * 1e3; w1[2] = e3 * 1e3; w1[3] = e4 * 1e3; }
                if (r >= 0) { tf[r] = c1; tr[r] = c2; th[r] = c3; ff[r] = (e1 - e2) * 1e3; fr[r] = (e3 - e4) * 1e3; }
            }
            qsort(tf, 5, sizeof(double), cmpd); qsort(tr, 5, sizeof(double), cmpd); qsort(th, 5, sizeof(double), cmpd);
            qsort(ff, 5, sizeof(double), cmpd); qsort(fr, 5, sizeof(double), cmpd);
            printf("| %s | %d | %d | %.3f (%.3f) | %.3f (%.3f) | %.4f (%.4f) | %.2f (%.2f) | %.2f (%.2f) |\n", kind ? "u8 x s8 -> s32" : "f32", K2, N2,
                   tf[0], tf[2], tr[0], tr[2], th[0], th[2], ff[0], ff[2], fr[0], fr[2]);
            warm[kind * 2 + sh][0] = w1[0]; warm[kind * 2 + sh][1] = w1[1]; warm[kind * 2 + sh][2] = w1[2]; warm[kind * 2 + sh][3] = w1[3];
            free(x); free(wb); free(y);
        }
    printf("\nWarm-up row (the first primitive of each kind in this section; meaningful when the section runs first in a fresh process), "
           "first / second execute, ms, fixed M then runtime M: f32 768x3072 %.2f/%.2f, %.2f/%.2f; f32 3072x768 %.2f/%.2f, %.2f/%.2f; "
           "u8s8 768x3072 %.2f/%.2f, %.2f/%.2f; u8s8 3072x768 %.2f/%.2f, %.2f/%.2f.\n",
           warm[0][0], warm[0][1], warm[0][2], warm[0][3], warm[1][0], warm[1][1], warm[1][2], warm[1][3],
           warm[2][0], warm[2][1], warm[2][2], warm[2][3], warm[3][0], warm[3][1], warm[3][2], warm[3][3]);
    dnnl_set_primitive_cache_capacity(cap);
    // (c) throughput fixed vs runtime M
    printf("\nThroughput, GFLOP/s or GOP/s best (median), interleaved; weights `ba`.\n\n| kind | M | K | N | fixed M | runtime M | impl fixed | impl runtime | max rel diff |\n|---|---|---|---|---|---|---|---|---|\n");
    for (int kind = 0; kind < 2; kind++)
        for (int mi = 0; mi < 2; mi++)
            for (int sh = 0; sh < 3; sh++) {
                int M = mi ? 2999 : 499, K2 = sh == 0 ? 768 : sh == 1 ? 768 : 3072, N2 = sh == 0 ? 768 : sh == 1 ? 3072 : 768;
                dnnl_data_type_t st_ = kind ? dnnl_u8 : dnnl_f32, wt = kind ? dnnl_s8 : dnnl_f32, dt = kind ? dnnl_s32 : dnnl_f32;
                dnnl_memory_desc_t s = mdt(2, DIMS(M, K2), st_, dnnl_ab), d = mdt(2, DIMS(M, N2), dt, dnnl_ab), w = mdt(2, DIMS(K2, N2), wt, dnnl_ba);
                dnnl_memory_desc_t sr = mdt(2, DIMS(RT, K2), st_, dnnl_ab), dr = mdt(2, DIMS(RT, N2), dt, dnnl_ab);
                dnnl_primitive_desc_t pf, pr; dnnl_primitive_t qf, qr; dnnl_status_t st;
                create_time(&pf, &qf, &s, &w, &d, NULL, &st); CHECK(st);
                create_time(&pr, &qr, &sr, &w, &dr, NULL, &st); CHECK(st);
                void *x = xalloc((size_t)M * K2 * 4), *wb = xalloc((size_t)K2 * N2 * 4), *y0 = xalloc((size_t)M * N2 * 4), *y1 = xalloc((size_t)M * N2 * 4);
                if (kind) { for (size_t i = 0; i < (size_t)M * K2; i++) ((uint8_t *)x)[i] = xr(); for (size_t i = 0; i < (size_t)K2 * N2; i++) ((int8_t *)wb)[i] = xr(); }
                else { ffill(x, (size_t)M * K2, -1, 1); ffill(wb, (size_t)K2 * N2, -1, 1); }
                dnnl_memory_t ms = mem(&s, x), mw = mem(&w, wb);
                run_t a = mkrun(qf), b = mkrun(qr);
                arg(&a, DNNL_ARG_SRC, ms); arg(&a, DNNL_ARG_WEIGHTS, mw); arg(&a, DNNL_ARG_DST, mem(&d, y0));
                arg(&b, DNNL_ARG_SRC, ms); arg(&b, DNNL_ARG_WEIGHTS, mw); arg(&b, DNNL_ARG_DST, mem(&d, y1));
                var_t v[2] = {{"fixed", run_exec, &a}, {"rt", run_exec, &b}};
                bench(v, 2, g_rounds);
                double fl = 2.0 * M * N2 * K2;
                double md = 0, mx = 0;
                for (size_t i = 0; i < (size_t)M * N2; i++) {
                    double a0 = kind ? ((int32_t *)y0)[i] : ((float *)y0)[i], a1 = kind ? ((int32_t *)y1)[i] : ((float *)y1)[i];
                    if (fabs(a0 - a1) > md) md = fabs(a0 - a1);
                    if (fabs(a0) > mx) mx = fabs(a0);
                }
                printf("| %s | %d | %d | %d | %s | %s | %s | %s | %.1e |\n", kind ? "u8 x s8 -> s32" : "f32", M, K2, N2, rate(&v[0], fl), rate(&v[1], fl),
                       impl(pf), impl(pr), md / mx);
                fflush(stdout);
                dnnl_primitive_destroy(qf); dnnl_primitive_destroy(qr); dnnl_primitive_desc_destroy(pf); dnnl_primitive_desc_destroy(pr);
                free(x); free(wb); free(y0); free(y1);
            }
    printf("\n");
}

// ================================================================ 3. bias
typedef struct { run_t *r; float *y; const float *b; int M, N; } biaspass_t;
static void bias_pass(void *c) {
    biaspass_t *p = c; run_exec(p->r);
    for (int m = 0; m < p->M; m++) { float *row = p->y + (size_t)m * p->N; for (int n = 0; n < p->N; n++) row[n] += p->b[n]; }
}
static void sec_bias(void) {
    printf("## 3. f32 bias: matmul bias argument vs binary ADD post-op vs separate pass (ISA %s, %d threads)\n\n", isa_name(), g_threads);
    printf("GFLOP/s best (median); weights `any` (reordered). Impl is the same string for all four unless noted.\n\n");
    printf("| M | K | N | no bias | bias arg | ADD post-op [1,N] | matmul + C loop | impl (bias arg / post-op) | max diff |\n|---|---|---|---|---|---|---|---|---|\n");
    int Ms[] = {499, 2999};
    for (int mi = 0; mi < 2; mi++)
        for (int sh = 0; sh < 3; sh++) {
            int M = Ms[mi], K = sh == 2 ? 3072 : 768, N = sh == 1 ? 3072 : 768;
            float *x = falloc((size_t)M * K), *w = falloc((size_t)N * K), *bias = falloc(N);
            float *y[4]; for (int i = 0; i < 4; i++) y[i] = falloc((size_t)M * N);
            ffill(x, (size_t)M * K, -1, 1); ffill(w, (size_t)N * K, -0.05f, 0.05f); ffill(bias, N, -1, 1);
            dnnl_memory_desc_t bmd = mdt(2, DIMS(1, N), dnnl_f32, dnnl_ab);
            mm_t a = mm_f32(M, K, N, x, w, y[0], 1, NULL, NULL);
            mm_t b = mm_f32(M, K, N, x, w, y[1], 1, NULL, &bmd); arg(&b.r, DNNL_ARG_BIAS, mem(&bmd, bias));
            dnnl_primitive_attr_t at = i8_attr(0, 0, 0, 0, 1, M, N);
            mm_t c = mm_f32(M, K, N, x, w, y[2], 1, at, NULL); arg(&c.r, DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, mem(&bmd, bias));
            mm_t d = mm_f32(M, K, N, x, w, y[3], 1, NULL, NULL);
            biaspass_t bp = {&d.r, y[3], bias, M, N};
            var_t v[4] = {{"none", run_exec, &a.r}, {"arg", run_exec, &b.r}, {"postop", run_exec, &c.r}, {"loop", bias_pass, &bp}};
            bench(v, 4, g_rounds);
            bias_pass(&bp); // y[3] was accumulated many times: recompute once from scratch
            run_exec(&d.r); for (int m = 0; m < M; m++) for (int n = 0; n < N; n++) y[3][(size_t)m * N + n] += bias[n];
            double fl = 2.0 * M * N * K;
            float df = fmaxf(maxdiff(y[1], y[2], (size_t)M * N), maxdiff(y[1], y[3], (size_t)M * N));
            printf("| %d | %d | %d | %s | %s | %s | %s | %s / %s | %.1e |\n", M, K, N, rate(&v[0], fl), rate(&v[1], fl), rate(&v[2], fl), rate(&v[3], fl),
                   impl(b.pd), impl(c.pd), df);
            fflush(stdout);
            dnnl_primitive_attr_destroy(at);
            free(x); free(w); free(bias); for (int i = 0; i < 4; i++) free(y[i]);
        }
    printf("\n");
}

// ================================================================ 4. attention
typedef struct { run_t *r; int n; } multi_t;
static void multi_run(void *c) { multi_t *m = c; for (int i = 0; i < m->n; i++) run_exec(&m->r[i]); }
typedef struct { run_t *r; int n; dnnl_stream_t s[2]; } par_t;
static void par_run(void *c) {
    par_t *m = c;
#pragma omp parallel num_threads(2)
    {
        int t = omp_get_thread_num(), nt = omp_get_num_threads();
        for (int i = t; i < m->n; i += nt) {
            CHECK(dnnl_primitive_execute(m->r[i].p, m->s[t], m->r[i].n, m->r[i].a));
            CHECK(dnnl_stream_wait(m->s[t]));
        }
    }
}
static void sec_attn(void) {
    const int T = 499, d = 64, H = 12, HD = H * d;
    printf("## 4. Attention matmuls, T=%d, d=%d, %d heads, Q/K/V stored [T, heads*d] (ISA %s, %d threads)\n\n", T, d, H, isa_name(), g_threads);
    float *q = falloc((size_t)T * HD), *k = falloc((size_t)T * HD), *v = falloc((size_t)T * HD);
    float *p = falloc((size_t)H * T * T);
    float *S[4], *O[4];
    for (int i = 0; i < 4; i++) { S[i] = falloc((size_t)H * T * T); O[i] = falloc((size_t)T * HD); }
    ffill(q, (size_t)T * HD, -1, 1); ffill(k, (size_t)T * HD, -1, 1); ffill(v, (size_t)T * HD, -1, 1); ffill(p, (size_t)H * T * T, 0, 2.0f / T);
    float *qc = falloc((size_t)T * HD), *kc = falloc((size_t)T * HD), *vc = falloc((size_t)T * HD);  // head-major copies [H, T, d]
    for (int h = 0; h < H; h++) for (int t = 0; t < T; t++) for (int j = 0; j < d; j++) {
        size_t a = ((size_t)h * T + t) * d + j, b = (size_t)t * HD + h * d + j; qc[a] = q[b]; kc[a] = k[b]; vc[a] = v[b]; }
    // --- batched, strided views
    dnnl_memory_desc_t qs, kts, ss, vs, os; dnnl_status_t st1, st2, st3;
    st1 = mds(&qs, 3, DIMS(H, T, d), dnnl_f32, DIMS(d, HD, 1));
    st2 = mds(&kts, 3, DIMS(H, d, T), dnnl_f32, DIMS(d, 1, HD));
    ss = mdt(3, DIMS(H, T, T), dnnl_f32, dnnl_abc);
    st3 = mds(&vs, 3, DIMS(H, T, d), dnnl_f32, DIMS(d, HD, 1));
    CHECK(st1); CHECK(st2); CHECK(st3);
    CHECK(mds(&os, 3, DIMS(H, T, d), dnnl_f32, DIMS(d, HD, 1)));
    dnnl_primitive_desc_t pq, pv; dnnl_status_t sq = mk_matmul(&pq, &qs, &kts, NULL, &ss, NULL), sv = mk_matmul(&pv, &ss, &vs, NULL, &os, NULL);
    printf("Batched 3-D matmul with strided views: QK^T %s, PV %s.\n\n", dnnl_status2str(sq), dnnl_status2str(sv));
    run_t bq = mkrun(prim(pq)), bv = mkrun(prim(pv));
    arg(&bq, DNNL_ARG_SRC, mem(&qs, q)); arg(&bq, DNNL_ARG_WEIGHTS, mem(&kts, k)); arg(&bq, DNNL_ARG_DST, mem(&ss, S[0]));
    arg(&bv, DNNL_ARG_SRC, mem(&ss, p)); arg(&bv, DNNL_ARG_WEIGHTS, mem(&vs, v)); arg(&bv, DNNL_ARG_DST, mem(&os, O[0]));
    // --- batched, contiguous head-major (what it costs when no strides: needs copies in a real engine)
    dnnl_memory_desc_t qcm = mdt(3, DIMS(H, T, d), dnnl_f32, dnnl_abc), ktc = mdt(3, DIMS(H, d, T), dnnl_f32, dnnl_acb), oc = mdt(3, DIMS(H, T, d), dnnl_f32, dnnl_abc);
    dnnl_primitive_desc_t pqc, pvc; CHECK(mk_matmul(&pqc, &qcm, &ktc, NULL, &ss, NULL)); CHECK(mk_matmul(&pvc, &ss, &qcm, NULL, &oc, NULL));
    float *ocb = falloc((size_t)T * HD);
    run_t cq = mkrun(prim(pqc)), cv = mkrun(prim(pvc));
    arg(&cq, DNNL_ARG_SRC, mem(&qcm, qc)); arg(&cq, DNNL_ARG_WEIGHTS, mem(&ktc, kc)); arg(&cq, DNNL_ARG_DST, mem(&ss, S[3]));
    arg(&cv, DNNL_ARG_SRC, mem(&ss, p)); arg(&cv, DNNL_ARG_WEIGHTS, mem(&qcm, vc)); arg(&cv, DNNL_ARG_DST, mem(&oc, ocb));
    // --- per head 2-D, ld = H*d; primitives made with the current thread count (hq/hv) and with 1 thread (tq/tv)
    dnnl_memory_desc_t q2, kt2, s2, v2, o2;
    CHECK(mds(&q2, 2, DIMS(T, d), dnnl_f32, DIMS(HD, 1))); CHECK(mds(&kt2, 2, DIMS(d, T), dnnl_f32, DIMS(1, HD)));
    s2 = mdt(2, DIMS(T, T), dnnl_f32, dnnl_ab);
    CHECK(mds(&v2, 2, DIMS(T, d), dnnl_f32, DIMS(HD, 1))); CHECK(mds(&o2, 2, DIMS(T, d), dnnl_f32, DIMS(HD, 1)));
    dnnl_primitive_desc_t hpq, hpv, tpq, tpv;
    CHECK(mk_matmul(&hpq, &q2, &kt2, NULL, &s2, NULL)); CHECK(mk_matmul(&hpv, &s2, &v2, NULL, &o2, NULL));
    omp_set_num_threads(1);
    CHECK(mk_matmul(&tpq, &q2, &kt2, NULL, &s2, NULL)); CHECK(mk_matmul(&tpv, &s2, &v2, NULL, &o2, NULL));
    dnnl_primitive_t tq = prim(tpq), tv = prim(tpv);
    omp_set_num_threads(g_threads);
    dnnl_primitive_t hq = prim(hpq), hv = prim(hpv);
    run_t rq[12], rv[12], rtq[12], rtv[12];
    for (int h = 0; h < H; h++) {
        rq[h] = mkrun(hq); rv[h] = mkrun(hv); rtq[h] = mkrun(tq); rtv[h] = mkrun(tv);
        dnnl_memory_t mq = mem(&q2, q + h * d), mk = mem(&kt2, k + h * d), mv = mem(&v2, v + h * d), mp = mem(&s2, p + (size_t)h * T * T);
        arg(&rq[h], DNNL_ARG_SRC, mq); arg(&rq[h], DNNL_ARG_WEIGHTS, mk); arg(&rq[h], DNNL_ARG_DST, mem(&s2, S[1] + (size_t)h * T * T));
        arg(&rv[h], DNNL_ARG_SRC, mp); arg(&rv[h], DNNL_ARG_WEIGHTS, mv); arg(&rv[h], DNNL_ARG_DST, mem(&o2, O[1] + h * d));
        arg(&rtq[h], DNNL_ARG_SRC, mq); arg(&rtq[h], DNNL_ARG_WEIGHTS, mk); arg(&rtq[h], DNNL_ARG_DST, mem(&s2, S[2] + (size_t)h * T * T));
        arg(&rtv[h], DNNL_ARG_SRC, mp); arg(&rtv[h], DNNL_ARG_WEIGHTS, mv); arg(&rtv[h], DNNL_ARG_DST, mem(&o2, O[2] + h * d));
    }
    multi_t mq_ = {rq, H}, mv_ = {rv, H};
    par_t pq_ = {rtq, H}, pv_ = {rtv, H};
    for (int i = 0; i < 2; i++) { CHECK(dnnl_stream_create(&pq_.s[i], eng, dnnl_stream_default_flags)); pv_.s[i] = pq_.s[i]; }
    var_t vv[8] = {{"bq", run_exec, &bq}, {"hq", multi_run, &mq_}, {"tq", par_run, &pq_}, {"cq", run_exec, &cq},
                   {"bv", run_exec, &bv}, {"hv", multi_run, &mv_}, {"tv", par_run, &pv_}, {"cv", run_exec, &cv}};
    bench(vv, 8, g_rounds * 2);
    // correctness: sampled double reference for S and O
    double eS = 0, eO = 0, mS = 0, mO = 0;
    for (int h = 0; h < H; h++) for (int i = 0; i < T; i += 37) for (int j = 0; j < T; j += 5) {
        double r = 0; for (int c = 0; c < d; c++) r += (double)q[(size_t)i * HD + h * d + c] * k[(size_t)j * HD + h * d + c];
        for (int vi = 0; vi < 4; vi++) { double e = fabs(S[vi][((size_t)h * T + i) * T + j] - r); if (e > eS) eS = e; }
        if (fabs(r) > mS) mS = fabs(r);
    }
    for (int h = 0; h < H; h++) for (int i = 0; i < T; i += 13) for (int c = 0; c < d; c++) {
        double r = 0; for (int j = 0; j < T; j++) r += (double)p[((size_t)h * T + i) * T + j] * v[(size_t)j * HD + h * d + c];
        for (int vi = 0; vi < 3; vi++) { double e = fabs(O[vi][(size_t)i * HD + h * d + c] - r); if (e > eO) eO = e; }
        double e = fabs(ocb[((size_t)h * T + i) * d + c] - r); if (e > eO) eO = e;
        if (fabs(r) > mO) mO = fabs(r);
    }
    double fl = 2.0 * H * T * T * d;
    printf("GFLOP/s best (median) of %d interleaved rounds, all 12 heads per call. Max abs error vs double reference (sampled): "
           "scores %.1e (max |S| %.1f), context %.1e (max |O| %.2f).\n\n", g_rounds * 2, eS, mS, eO, mO);
    printf("| variant | QK^T | PV | impl QK^T | impl PV |\n|---|---|---|---|---|\n");
    printf("| one batched 3-D matmul, strided views of [T, H*d] | %s | %s | %s | %s |\n", rate(&vv[0], fl), rate(&vv[4], fl), impl(pq), impl(pv));
    printf("| 12 x 2-D matmul (ld = H*d), %d threads each | %s | %s | %s | %s |\n", g_threads, rate(&vv[1], fl), rate(&vv[5], fl), impl(hpq), impl(hpv));
    printf("| 12 x 2-D, heads split over 2 omp threads, 1-thread primitives | %s | %s | %s | %s |\n", rate(&vv[2], fl), rate(&vv[6], fl), impl(tpq), impl(tpv));
    printf("| batched 3-D, contiguous head-major copies (no strides; copy not timed) | %s | %s | %s | %s |\n\n", rate(&vv[3], fl), rate(&vv[7], fl), impl(pqc), impl(pvc));
    printf("Time per call, ms: batched %s / %s, per-head %s / %s, per-head threaded %s / %s.\n\n", msec(&vv[0]), msec(&vv[4]), msec(&vv[1]), msec(&vv[5]), msec(&vv[2]), msec(&vv[6]));
    fflush(stdout);
}

// ================================================================ 5. convolution as GEMM
typedef struct { const float *x; float *a; int M, kc, sc; } im2col_t;
static void im2col_run(void *c) { im2col_t *g = c; for (int m = 0; m < g->M; m++) memcpy(g->a + (size_t)m * g->kc, g->x + (size_t)m * g->sc, (size_t)g->kc * 4); }
typedef struct { im2col_t i; run_t *r; } im2mm_t;
static void im2mm_run(void *c) { im2mm_t *g = c; im2col_run(&g->i); run_exec(g->r); }

// Positional conv per group: im2col of group g into a[TO, KW*CG], then that group's matmul.
typedef struct { const float *xp; float *a; run_t *r; int n, TO, KW, CG, CH; } pg_t;
static void pg_run(void *c) {
    pg_t *z = c; int KG = z->KW * z->CG;
    for (int g = 0; g < z->n; g++) {
        for (int t = 0; t < z->TO; t++) for (int j = 0; j < z->KW; j++) memcpy(z->a + (size_t)t * KG + j * z->CG, z->xp + (size_t)(t + j) * z->CH + g * z->CG, z->CG * 4);
        run_exec(&z->r[g]);
    }
}

static void sec_conv(void) {
    const int C = 512, N = 512;
    printf("## 5. Feature-encoder convs as GEMM, x[L, C=512] time-major, N=512 (ISA %s, %d threads)\n\n", isa_name(), g_threads);
    printf("Window matrix: M rows, row stride s*C, row length k*C (rows overlap when k > s).\n\n");
    // acceptance of the overlapping-window descriptor
    {
        dnnl_memory_desc_t w; dnnl_status_t st = mds(&w, 2, DIMS(7999, 3 * C), dnnl_f32, DIMS(2 * C, 1));
        printf("- dnnl_memory_desc_init_by_strides(dims {7999, 1536}, strides {1024, 1}) (overlapping rows): **%s**\n", dnnl_status2str(st));
        if (st == dnnl_success) {
            dnnl_memory_desc_t wt = mdt(2, DIMS(3 * C, N), dnnl_f32, dnnl_format_tag_any), d = mdt(2, DIMS(7999, N), dnnl_f32, dnnl_ab);
            dnnl_primitive_desc_t pd; st = mk_matmul(&pd, &w, &wt, NULL, &d, NULL);
            printf("- matmul with that src: **%s**%s%s\n", dnnl_status2str(st), st == dnnl_success ? ", impl " : "", st == dnnl_success ? impl(pd) : "");
        }
        dnnl_memory_desc_t w3; st = mds(&w3, 3, DIMS(1, 7999, 3 * C), dnnl_f32, DIMS(7999 * 2 * C, 2 * C, 1));
        printf("- the same as 3-D {1, 7999, 1536}: **%s**\n", dnnl_status2str(st));
        // what dnnl_sgemm (the BLAS-like API) says about lda < K
        float *A = falloc((size_t)(7999 * 2 + 1) * C), *B = falloc((size_t)3 * C * N), *Cc = falloc((size_t)7999 * N);
        memset(A, 0, (size_t)(7999 * 2 + 1) * C * 4); memset(B, 0, (size_t)3 * C * N * 4);
        st = dnnl_sgemm('N', 'N', 7999, N, 3 * C, 1, A, 2 * C, B, N, 0, Cc, N);
        printf("- dnnl_sgemm('N','N', M=7999, N=512, K=1536, lda=1024): **%s**; OpenBLAS cblas_sgemm checks lda >= K (row-major, NoTrans) and rejects the same call.\n\n", dnnl_status2str(st));
        free(A); free(B); free(Cc);
    }
    printf("GFLOP/s best (median). `im2col+mm` includes the copy; `tap-sum` = k matmuls over [M, C] views (row stride s*C, offset j*C) with a sum post-op; "
           "`conv nwc`/`conv ncw` = dnnl_convolution_forward (weights `any`); im2col copy alone in ms.\n\n");
    printf("| M | k | s | im2col+mm | mm on im2col (no copy) | tap-sum | conv nwc | conv ncw | im2col ms | impl mm | impl tap | impl conv nwc | impl conv ncw | max diff |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    int layers[][3] = {{15999, 3, 2}, {7999, 3, 2}, {3999, 3, 2}, {1999, 3, 2}, {999, 2, 2}, {499, 2, 2}};
    for (int li = 0; li < 6; li++) {
        int M = layers[li][0], k = layers[li][1], s = layers[li][2], L = (M - 1) * s + k, KC = k * C;
        float *x = falloc((size_t)L * C), *w = falloc((size_t)N * KC), *a = falloc((size_t)M * KC), *xcw = falloc((size_t)L * C);
        float *y[5]; for (int i = 0; i < 5; i++) y[i] = falloc((size_t)M * N);
        ffill(x, (size_t)L * C, -1, 1); ffill(w, (size_t)N * KC, -0.03f, 0.03f);
        for (int t = 0; t < L; t++) for (int c = 0; c < C; c++) xcw[(size_t)c * L + t] = x[(size_t)t * C + c];
        // w is W'[n, j*C + c] (window order). oneDNN conv wants oiw: w_oiw[n][c][j].
        float *woiw = falloc((size_t)N * KC);
        for (int n = 0; n < N; n++) for (int j = 0; j < k; j++) for (int c = 0; c < C; c++) woiw[((size_t)n * C + c) * k + j] = w[(size_t)n * KC + j * C + c];
        mm_t mm = mm_f32(M, KC, N, a, w, y[0], 1, NULL, NULL);
        im2col_t ic = {x, a, M, KC, s * C};
        im2mm_t imm = {ic, &mm.r};
        // tap-sum
        dnnl_memory_desc_t xs, wt = mdt(2, DIMS(C, N), dnnl_f32, dnnl_format_tag_any), dd = mdt(2, DIMS(M, N), dnnl_f32, dnnl_ab);
        CHECK(mds(&xs, 2, DIMS(M, C), dnnl_f32, DIMS((int64_t)s * C, 1)));
        dnnl_primitive_attr_t sa; CHECK(dnnl_primitive_attr_create(&sa));
        dnnl_post_ops_t po; CHECK(dnnl_post_ops_create(&po)); CHECK(dnnl_post_ops_append_sum(po, 1.0f)); CHECK(dnnl_primitive_attr_set_post_ops(sa, po));
        dnnl_primitive_desc_t tp0, tp1; CHECK(mk_matmul(&tp0, &xs, &wt, NULL, &dd, NULL)); CHECK(mk_matmul(&tp1, &xs, &wt, NULL, &dd, sa));
        dnnl_primitive_t t0p = prim(tp0), t1p = prim(tp1);
        run_t tr[3]; dnnl_memory_t md = mem(&dd, y[1]);
        dnnl_memory_desc_t wjb; CHECK(mds(&wjb, 2, DIMS(C, N), dnnl_f32, DIMS(1, KC)));  // W_j[c, n] = w[n, j*C + c]
        for (int j = 0; j < k; j++) {
            tr[j] = mkrun(j ? t1p : t0p);
            dnnl_memory_t wj = reorder_to(mem(&wjb, w + j * C), qmd(j ? tp1 : tp0, dnnl_query_weights_md));
            arg(&tr[j], DNNL_ARG_SRC, mem(&xs, x + j * C)); arg(&tr[j], DNNL_ARG_WEIGHTS, wj); arg(&tr[j], DNNL_ARG_DST, md);
        }
        multi_t tsum = {tr, k};
        // oneDNN convolution, nwc and ncw
        run_t cr[2]; dnnl_primitive_desc_t cpd[2];
        for (int f = 0; f < 2; f++) {
            dnnl_format_tag_t tag = f ? dnnl_abc : dnnl_acb;
            dnnl_memory_desc_t cs = mdt(3, DIMS(1, C, L), dnnl_f32, tag), cd = mdt(3, DIMS(1, N, M), dnnl_f32, tag);
            dnnl_memory_desc_t cw = mdt(3, DIMS(N, C, k), dnnl_f32, dnnl_format_tag_any), cwo = mdt(3, DIMS(N, C, k), dnnl_f32, dnnl_abc);
            dnnl_convolution_desc_t cdsc;
            CHECK(dnnl_convolution_forward_desc_init(&cdsc, dnnl_forward_inference, dnnl_convolution_direct, &cs, &cw, NULL, &cd, DIMS(s), DIMS(0), DIMS(0)));
            CHECK(dnnl_primitive_desc_create(&cpd[f], &cdsc, NULL, eng, NULL));
            cr[f] = mkrun(prim(cpd[f]));
            arg(&cr[f], DNNL_ARG_SRC, mem(&cs, f ? xcw : x));
            arg(&cr[f], DNNL_ARG_WEIGHTS, reorder_to(mem(&cwo, woiw), qmd(cpd[f], dnnl_query_weights_md)));
            arg(&cr[f], DNNL_ARG_DST, mem(&cd, y[2 + f]));
        }
        var_t v[6] = {{"im2mm", im2mm_run, &imm}, {"mm", run_exec, &mm.r}, {"tap", multi_run, &tsum}, {"nwc", run_exec, &cr[0]}, {"ncw", run_exec, &cr[1]}, {"im2col", im2col_run, &ic}};
        bench(v, 6, g_rounds);
        float *yt = falloc((size_t)M * N);  // ncw result to time-major
        for (int n = 0; n < N; n++) for (int m = 0; m < M; m++) yt[(size_t)m * N + n] = y[3][(size_t)n * M + m];
        float df = fmaxf(fmaxf(maxdiff(y[0], y[1], (size_t)M * N), maxdiff(y[0], y[2], (size_t)M * N)), maxdiff(y[0], yt, (size_t)M * N));
        double fl = 2.0 * M * N * KC;
        printf("| %d | %d | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %.1e |\n", M, k, s, rate(&v[0], fl), rate(&v[1], fl), rate(&v[2], fl), rate(&v[3], fl), rate(&v[4], fl),
               msec(&v[5]), impl(mm.pd), impl(tp1), impl(cpd[0]), impl(cpd[1]), df);
        fflush(stdout);
        dnnl_post_ops_destroy(po); dnnl_primitive_attr_destroy(sa);
        free(x); free(w); free(a); free(xcw); free(woiw); free(yt); for (int i = 0; i < 5; i++) free(y[i]);
    }
    // ---- positional conv: grouped, 16 groups of 48 channels, kernel 128, padding 64, T = 499 -> 500 outputs
    {
        const int T = 499, G = 16, CG = 48, KW = 128, P = 64, CH = G * CG, TO = T + 2 * P - KW + 1, KG = KW * CG, LP = T + 2 * P;
        printf("\nPositional conv: grouped conv, %d groups x %d channels, kernel %d, padding %d, T=%d -> %d outputs; %.2f GFLOP.\n\n", G, CG, KW, P, T, TO, 2.0 * TO * CH * KG / 1e9);
        float *x = falloc((size_t)T * CH), *w = falloc((size_t)G * CG * CG * KW), *y0 = falloc((size_t)TO * CH), *y1 = falloc((size_t)TO * CH), *y2 = falloc((size_t)TO * CH);
        ffill(x, (size_t)T * CH, -1, 1); ffill(w, (size_t)G * CG * CG * KW, -0.02f, 0.02f);
        // overlapping-window acceptance for a group-major padded copy xg[g][LP][CG]: rows of KW*CG, row stride CG
        dnnl_memory_desc_t wv; dnnl_status_t st = mds(&wv, 3, DIMS(G, TO, KG), dnnl_f32, DIMS((int64_t)LP * CG, CG, 1));
        printf("- window view of a group-major padded copy, dims {16, 500, 6144} strides {%d, 48, 1}: **%s**\n", LP * CG, dnnl_status2str(st));
        // conv primitive, nwc
        dnnl_memory_desc_t cs = mdt(3, DIMS(1, CH, T), dnnl_f32, dnnl_acb), cd = mdt(3, DIMS(1, CH, TO), dnnl_f32, dnnl_acb);
        dnnl_memory_desc_t cw = mdt(4, DIMS(G, CG, CG, KW), dnnl_f32, dnnl_format_tag_any), cwo = mdt(4, DIMS(G, CG, CG, KW), dnnl_f32, dnnl_abcd);
        dnnl_convolution_desc_t cdsc; dnnl_primitive_desc_t cpd;
        CHECK(dnnl_convolution_forward_desc_init(&cdsc, dnnl_forward_inference, dnnl_convolution_direct, &cs, &cw, NULL, &cd, DIMS(1), DIMS(P), DIMS(P)));
        CHECK(dnnl_primitive_desc_create(&cpd, &cdsc, NULL, eng, NULL));
        run_t cr = mkrun(prim(cpd));
        arg(&cr, DNNL_ARG_SRC, mem(&cs, x)); arg(&cr, DNNL_ARG_WEIGHTS, reorder_to(mem(&cwo, w), qmd(cpd, dnnl_query_weights_md))); arg(&cr, DNNL_ARG_DST, mem(&cd, y0));
        // im2col per group into one buffer [TO, KG] + 2-D matmul per group (dst view [TO, CG] with ld CH); weights per group W_g[n, j*CG + c]
        float *a = falloc((size_t)TO * KG), *wg = falloc((size_t)G * CG * KG), *xp = falloc((size_t)LP * CH);
        memset(xp, 0, (size_t)LP * CH * 4); memcpy(xp + (size_t)P * CH, x, (size_t)T * CH * 4);
        for (int g = 0; g < G; g++) for (int n = 0; n < CG; n++) for (int c = 0; c < CG; c++) for (int j = 0; j < KW; j++)
            wg[((size_t)g * CG + n) * KG + j * CG + c] = w[(((size_t)g * CG + n) * CG + c) * KW + j];
        dnnl_memory_desc_t as = mdt(2, DIMS(TO, KG), dnnl_f32, dnnl_ab), wa = mdt(2, DIMS(KG, CG), dnnl_f32, dnnl_format_tag_any), wb = mdt(2, DIMS(KG, CG), dnnl_f32, dnnl_ba), ds;
        CHECK(mds(&ds, 2, DIMS(TO, CG), dnnl_f32, DIMS(CH, 1)));
        dnnl_primitive_desc_t gpd; CHECK(mk_matmul(&gpd, &as, &wa, NULL, &ds, NULL));
        dnnl_primitive_t gp = prim(gpd);
        run_t gr[16]; dnnl_memory_t am = mem(&as, a);
        for (int g = 0; g < G; g++) {
            gr[g] = mkrun(gp);
            arg(&gr[g], DNNL_ARG_SRC, am); arg(&gr[g], DNNL_ARG_WEIGHTS, reorder_to(mem(&wb, wg + (size_t)g * CG * KG), qmd(gpd, dnnl_query_weights_md)));
            arg(&gr[g], DNNL_ARG_DST, mem(&ds, y1 + g * CG));
        }
        pg_t pg = {xp, a, gr, G, TO, KW, CG, CH};
        // one batched 3-D matmul over groups on a full im2col [G, TO, KG] (196 MB!)
        float *a3 = falloc((size_t)G * TO * KG), *wg3 = falloc((size_t)G * CG * KG);
        memcpy(wg3, wg, (size_t)G * CG * KG * 4);
        for (int g = 0; g < G; g++) for (int t = 0; t < TO; t++) for (int j = 0; j < KW; j++) memcpy(a3 + ((size_t)g * TO + t) * KG + j * CG, xp + (size_t)(t + j) * CH + g * CG, CG * 4);
        dnnl_memory_desc_t a3d = mdt(3, DIMS(G, TO, KG), dnnl_f32, dnnl_abc), w3a = mdt(3, DIMS(G, KG, CG), dnnl_f32, dnnl_format_tag_any), w3b = mdt(3, DIMS(G, KG, CG), dnnl_f32, dnnl_acb), d3;
        CHECK(mds(&d3, 3, DIMS(G, TO, CG), dnnl_f32, DIMS(CG, CH, 1)));
        dnnl_primitive_desc_t bpd; CHECK(mk_matmul(&bpd, &a3d, &w3a, NULL, &d3, NULL));
        run_t br = mkrun(prim(bpd));
        arg(&br, DNNL_ARG_SRC, mem(&a3d, a3)); arg(&br, DNNL_ARG_WEIGHTS, reorder_to(mem(&w3b, wg3), qmd(bpd, dnnl_query_weights_md))); arg(&br, DNNL_ARG_DST, mem(&d3, y2));
        var_t v[3] = {{"conv", run_exec, &cr}, {"pergroup", pg_run, &pg}, {"batched", run_exec, &br}};
        bench(v, 3, g_rounds);
        double fl = 2.0 * TO * CH * KG;
        printf("\n| variant | GFLOP/s | ms | impl | max diff vs conv |\n|---|---|---|---|---|\n");
        printf("| dnnl conv, nwc, groups=16, pad 64 | %s | %s | %s | - |\n", rate(&v[0], fl), msec(&v[0]), impl(cpd));
        printf("| per group: im2col [500, 6144] + 2-D matmul (incl. copy) | %s | %s | %s | %.1e |\n", rate(&v[1], fl), msec(&v[1]), impl(gpd), maxdiff(y0, y1, (size_t)TO * CH));
        printf("| one 3-D matmul over groups on a full im2col (196 MB, copy not timed) | %s | %s | %s | %.1e |\n\n", rate(&v[2], fl), msec(&v[2]), impl(bpd), maxdiff(y0, y2, (size_t)TO * CH));
        free(x); free(w); free(y0); free(y1); free(y2); free(a); free(wg); free(xp); free(a3); free(wg3);
    }
    fflush(stdout);
}

// ================================================================ 6. int8
// Data for one int8 linear: q[M,K] u8 (qs: s8), w[N,K] s8, per-row scale sr[M], per-column scale sc[N], bias[N],
// per-tensor zero point z and per-tensor activation scale sx[0].
typedef struct { int M, K, N; uint8_t *q; int8_t *qs, *w; float *sr, *sc, *bias, *sx; int32_t z; } i8_t;
// How to build the int8 matmul. oscale: 0 none, 1 runtime per N, 2 constant per N (given at creation);
// mul: 0 none, 1 per-row binary MUL by sr ([M,1] or {1,M,1}), 2 scalar binary MUL by sx; nd3: use a 3-D {1, M, K} view.
typedef struct { int s8src, wany, s32dst, oscale, zp, zp_mask, mul, add, biasarg, nd3, user_scratch; } i8o_t;
typedef struct { dnnl_primitive_desc_t pd; run_t r; dnnl_status_t st; } i8m_t;
static dnnl_memory_desc_t md_n(int nd3, int64_t a, int64_t b, dnnl_data_type_t dt, int trans) {
    return nd3 ? mdt(3, DIMS(1, a, b), dt, trans ? dnnl_acb : dnnl_abc) : mdt(2, DIMS(a, b), dt, trans ? dnnl_ba : dnnl_ab);
}
static i8m_t mk_i8(const i8_t *D, i8o_t o, void *y) {
    i8m_t m; memset(&m, 0, sizeof m);
    int M = D->M, K = D->K, N = D->N, nd = o.nd3 ? 3 : 2;
    dnnl_memory_desc_t s = md_n(o.nd3, M, K, o.s8src ? dnnl_s8 : dnnl_u8, 0), wb = md_n(o.nd3, K, N, dnnl_s8, 1);
    dnnl_memory_desc_t wa = o.nd3 ? mdt(3, DIMS(1, K, N), dnnl_s8, dnnl_format_tag_any) : mdt(2, DIMS(K, N), dnnl_s8, dnnl_format_tag_any);
    dnnl_memory_desc_t d = md_n(o.nd3, M, N, o.s32dst ? dnnl_s32 : dnnl_f32, 0);
    dnnl_memory_desc_t bm = md_n(o.nd3, 1, N, dnnl_f32, 0), rm = md_n(o.nd3, M, 1, dnnl_f32, 0), sm = md_n(o.nd3, 1, 1, dnnl_f32, 0);
    dnnl_primitive_attr_t a; CHECK(dnnl_primitive_attr_create(&a));
    int nmask = 1 << (nd - 1);
    float rtf = DNNL_RUNTIME_F32_VAL; int32_t rti = DNNL_RUNTIME_S32_VAL;
    if (o.oscale == 1) CHECK(dnnl_primitive_attr_set_output_scales(a, 1, nmask, &rtf));
    if (o.oscale == 2) CHECK(dnnl_primitive_attr_set_output_scales(a, N, nmask, D->sc));
    if (o.zp) CHECK(dnnl_primitive_attr_set_zero_points(a, DNNL_ARG_SRC, 1, o.zp_mask, &rti));
    if (o.user_scratch) CHECK(dnnl_primitive_attr_set_scratchpad_mode(a, dnnl_scratchpad_mode_user));
    if (o.mul || o.add) {
        dnnl_post_ops_t po; CHECK(dnnl_post_ops_create(&po));
        if (o.mul) CHECK(dnnl_post_ops_append_binary(po, dnnl_binary_mul, o.mul == 1 ? &rm : &sm));
        if (o.add) CHECK(dnnl_post_ops_append_binary(po, dnnl_binary_add, &bm));
        CHECK(dnnl_primitive_attr_set_post_ops(a, po)); dnnl_post_ops_destroy(po);
    }
    m.st = mk_matmul(&m.pd, &s, o.wany ? &wa : &wb, o.biasarg ? &bm : NULL, &d, a);
    dnnl_primitive_attr_destroy(a);
    if (m.st != dnnl_success) return m;
    m.r = mkrun(prim(m.pd));
    dnnl_memory_t mw = mem(&wb, D->w);
    arg(&m.r, DNNL_ARG_SRC, mem(&s, o.s8src ? (void *)D->qs : (void *)D->q));
    arg(&m.r, DNNL_ARG_WEIGHTS, o.wany ? reorder_to(mw, qmd(m.pd, dnnl_query_weights_md)) : mw);
    arg(&m.r, DNNL_ARG_DST, mem(&d, y));
    if (o.biasarg) arg(&m.r, DNNL_ARG_BIAS, mem(&bm, D->bias));
    if (o.oscale == 1) { dnnl_memory_desc_t sd = mdt(1, DIMS(N), dnnl_f32, dnnl_a); arg(&m.r, DNNL_ARG_ATTR_OUTPUT_SCALES, mem(&sd, D->sc)); }
    if (o.zp) { dnnl_memory_desc_t zd = mdt(1, DIMS(o.zp_mask ? M : 1), dnnl_s32, dnnl_a); int32_t *zz = xalloc(4 * (size_t)M); for (int i = 0; i < M; i++) zz[i] = D->z; arg(&m.r, DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC, mem(&zd, zz)); }
    int idx = 0;
    if (o.mul) arg(&m.r, DNNL_ARG_ATTR_MULTIPLE_POST_OP(idx++) | DNNL_ARG_SRC_1, o.mul == 1 ? mem(&rm, D->sr) : mem(&sm, D->sx));
    if (o.add) arg(&m.r, DNNL_ARG_ATTR_MULTIPLE_POST_OP(idx++) | DNNL_ARG_SRC_1, mem(&bm, D->bias));
    return m;
}
// Checks an f32 result against formulas on sampled rows (all columns): per formula, max |y - ref| / max |ref| over the row.
static const char *FORMULA[] = {"sr*sc*sum((q-z)w) + b", "sc*sum((q-z)w) + b", "sc*(sum((q-z)w) + b)", "sr*(sc*sum((q-z)w) + b)",
                                "sr*sc*(sum((q-z)w) + b)", "sr*sc*sum(q w) + b (zp ignored)", "sc*sum((q-z)w)", "sr*sc*sum((q-z)w)"};
enum { NF = 8 };
static void check_f32(const i8_t *D, int s8src, const float *y, double err[NF]) {
    for (int f = 0; f < NF; f++) err[f] = 0;
    int M = D->M, K = D->K, N = D->N, z = s8src ? 0 : D->z;
    double (*row)[N] = malloc(sizeof(double) * NF * N);
    for (int m = 0; m < M; m += M / 23 + 1) {
        double rmax[NF] = {0};
        for (int n = 0; n < N; n++) {
            int64_t az = 0, a0 = 0;
            for (int kk = 0; kk < K; kk++) { int qv = s8src ? D->qs[(size_t)m * K + kk] : D->q[(size_t)m * K + kk]; int wv = D->w[(size_t)n * K + kk]; az += (int64_t)(qv - z) * wv; a0 += (int64_t)qv * wv; }
            double sr = D->sr[m], sc = D->sc[n], b = D->bias[n];
            double v[NF] = {sr * sc * az + b, sc * az + b, sc * (az + b), sr * (sc * az + b), sr * sc * (az + b), sr * sc * a0 + b, sc * az, sr * sc * az};
            for (int f = 0; f < NF; f++) { row[f][n] = v[f]; if (fabs(v[f]) > rmax[f]) rmax[f] = fabs(v[f]); }
        }
        for (int f = 0; f < NF; f++) for (int n = 0; n < N; n++) { double e = fabs(y[(size_t)m * N + n] - row[f][n]) / rmax[f]; if (e > err[f] || e != e) err[f] = e; }
    }
    free(row);
}
static const char *verdict(const i8_t *D, int s8src, const float *y, int want) {
    double e[NF]; check_f32(D, s8src, y, e);
    int best = 0; for (int f = 1; f < NF; f++) if (e[f] < e[best]) best = f;
    char *b = sbuf();
    if (e[best] > 1e-5) snprintf(b, 160, "**wrong values**: no formula matches (closest %s, rel err %.1e)", FORMULA[best], e[best]);
    else if (e[want] <= e[best] || e[want] < 1e-6) snprintf(b, 160, "= %s (rel err %.1e)", FORMULA[want], e[want]);
    else snprintf(b, 160, "**%s** (rel err %.1e; %s would be off by %.1e)", FORMULA[best], e[best], FORMULA[want], e[want]);
    return b;
}
// s32 exactness: counts entries on sampled rows that differ from the exact sum((q - zz) w).
static long check_s32(const i8_t *D, int s8src, int zz, const int32_t *y, long *checked) {
    long bad = 0; *checked = 0;
    for (int m = 0; m < D->M; m += D->M / 31 + 1)
        for (int n = 0; n < D->N; n++) {
            int64_t a = 0;
            for (int k = 0; k < D->K; k++) a += (int64_t)((s8src ? D->qs[(size_t)m * D->K + k] : D->q[(size_t)m * D->K + k]) - zz) * D->w[(size_t)n * D->K + k];
            bad += a != y[(size_t)m * D->N + n]; (*checked)++;
        }
    return bad;
}
static i8_t mk_data(int M, int K, int N) {
    i8_t D = {M, K, N, xalloc((size_t)M * K), xalloc((size_t)M * K), xalloc((size_t)N * K), falloc(M), falloc(N), falloc(N), falloc(1), 131};
    for (size_t i = 0; i < (size_t)M * K; i++) { D.q[i] = (uint8_t)xr(); D.qs[i] = (int8_t)xr(); }
    for (size_t i = 0; i < (size_t)N * K; i++) D.w[i] = (int8_t)xr();
    ffill(D.sr, M, 0.01f, 0.02f); ffill(D.sc, N, 0.001f, 0.002f); ffill(D.bias, N, -1, 1); D.sx[0] = 0.015f;
    return D;
}
// The current scheme's separate pass: y = sr*sc*(acc - zr*colsum) + b, per-row zero point zr.
typedef struct { run_t *r; const int32_t *acc; float *y; const float *sr, *sc, *b; const int32_t *zr, *colsum; int M, N; } deq_t;
static void deq_only(void *c) {
    deq_t *d = c;
    for (int m = 0; m < d->M; m++) {
        const int32_t *a = d->acc + (size_t)m * d->N; float *y = d->y + (size_t)m * d->N; float s = d->sr[m]; int32_t z = d->zr[m];
        for (int n = 0; n < d->N; n++) y[n] = s * d->sc[n] * (float)(a[n] - z * d->colsum[n]) + d->b[n];
    }
}
static void deq_run(void *c) { deq_t *d = c; run_exec(d->r); deq_only(c); }

// Activation quantisation in C: per tensor (scale + zero point only), per row asymmetric, per row with a fixed zero point 128.
typedef struct { const float *x; uint8_t *q; float *sr; int32_t *zr; int M, K; float scale; int32_t zp; } quant_t;
static void minmax_run(void *c) {
    quant_t *g = c; float lo = 0, hi = 0; size_t n = (size_t)g->M * g->K;
    for (size_t i = 0; i < n; i++) { float v = g->x[i]; lo = v < lo ? v : lo; hi = v > hi ? v : hi; }
    g->scale = (hi - lo) / 255.0f; if (g->scale == 0) g->scale = 1; g->zp = (int32_t)lrintf(-lo / g->scale);
}
static void rowquant_run(void *c) {
    quant_t *g = c;
    for (int m = 0; m < g->M; m++) {
        const float *x = g->x + (size_t)m * g->K; uint8_t *q = g->q + (size_t)m * g->K; float lo = 0, hi = 0;
        for (int k = 0; k < g->K; k++) { lo = x[k] < lo ? x[k] : lo; hi = x[k] > hi ? x[k] : hi; }
        float s = (hi - lo) / 255.0f; if (s == 0) s = 1; float inv = 1 / s; float z = nearbyintf(-lo * inv);
        for (int k = 0; k < g->K; k++) { float v = nearbyintf(x[k] * inv) + z; q[k] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v); }
        g->sr[m] = s; g->zr[m] = (int32_t)z;
    }
}
static void rowquant128_run(void *c) {
    quant_t *g = c;
    for (int m = 0; m < g->M; m++) {
        const float *x = g->x + (size_t)m * g->K; uint8_t *q = g->q + (size_t)m * g->K; float a = 0;
        for (int k = 0; k < g->K; k++) a = fabsf(x[k]) > a ? fabsf(x[k]) : a;
        float s = a / 127.0f; if (s == 0) s = 1; float inv = 1 / s;
        for (int k = 0; k < g->K; k++) { float v = nearbyintf(x[k] * inv) + 128; q[k] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v); }
        g->sr[m] = s;
    }
}
typedef struct { quant_t *q; run_t *r; } pt_t;   // reorder f32 -> u8 with runtime scale (1/scale) and dst zero point
static void ptreorder_run(void *c) {
    pt_t *p = c;
    *(float *)mptr(p->r->a[2].memory) = 1.0f / p->q->scale; *(int32_t *)mptr(p->r->a[3].memory) = p->q->zp;
    run_exec(p->r);
}

static void sec_int8(int accept) {
    printf("## 6. int8: u8 x s8 with dequantisation inside oneDNN (ISA %s, %d threads)\n\n", isa_name(), g_threads);
    // ---- acceptance and numerics at M=499, K=768, N=3072; saturation checks
    if (accept) {
        int M = 499, K = 768, N = 3072;
        i8_t D = mk_data(M, K, N);
        float *y = falloc((size_t)M * N); int32_t *yi = xalloc((size_t)M * N * 4);
        struct { const char *name; i8o_t o; int want; } cs[] = {
            {"u8 x s8 -> s32, weights `ba`", {.s32dst = 1}, -1},
            {"u8 x s8 -> s32, zp rt, `ba`", {.s32dst = 1, .zp = 1}, -2},
            {"u8 x s8 -> s32, zp rt, `any`", {.s32dst = 1, .zp = 1, .wany = 1}, -2},
            {"s8 x s8 -> s32, `ba`", {.s8src = 1, .s32dst = 1}, -1},
            {"2-D: oscale[N] rt + zp rt", {.oscale = 1, .zp = 1}, 6},
            {"2-D: oscale[N] const + zp rt", {.oscale = 2, .zp = 1}, 6},
            {"2-D: oscale[N] rt + zp rt + bias argument", {.oscale = 1, .zp = 1, .biasarg = 1}, 1},
            {"2-D: oscale[N] const + zp rt + bias argument", {.oscale = 2, .zp = 1, .biasarg = 1}, 1},
            {"2-D: oscale[N] rt + zp rt + ADD[1,N]", {.oscale = 1, .zp = 1, .add = 1}, 1},
            {"2-D: oscale[N] const + zp rt + ADD[1,N]", {.oscale = 2, .zp = 1, .add = 1}, 1},
            {"2-D: oscale[N] rt + zp rt + MUL[M,1] + ADD[1,N]", {.oscale = 1, .zp = 1, .mul = 1, .add = 1}, 0},
            {"2-D: oscale[N] const + zp rt + MUL[M,1] + ADD[1,N]", {.oscale = 2, .zp = 1, .mul = 1, .add = 1}, 0},
            {"2-D: oscale + zp per ROW (mask 1<<0) + ADD", {.oscale = 2, .zp = 1, .zp_mask = 1, .add = 1}, 1},
            {"3-D {1,M,K}: oscale[N] rt + zp rt + MUL{1,M,1} + ADD{1,1,N}", {.nd3 = 1, .oscale = 1, .zp = 1, .mul = 1, .add = 1}, 0},
            {"3-D: oscale[N] const + zp rt + MUL{1,M,1} + ADD (`ba`)", {.nd3 = 1, .oscale = 2, .zp = 1, .mul = 1, .add = 1}, 0},
            {"3-D: oscale[N] const + zp rt + MUL{1,M,1} + ADD (`any`)", {.nd3 = 1, .oscale = 2, .zp = 1, .mul = 1, .add = 1, .wany = 1}, 0},
            {"3-D: oscale[N] const + zp rt + MUL{1,M,1} + bias argument", {.nd3 = 1, .oscale = 2, .zp = 1, .mul = 1, .biasarg = 1}, 0},
            {"3-D: s8 x s8, oscale[N] const + MUL{1,M,1} + ADD (`ba`)", {.nd3 = 1, .s8src = 1, .oscale = 2, .mul = 1, .add = 1}, 0},
            {"3-D: s8 x s8, oscale[N] const + MUL{1,M,1} + ADD (`any`)", {.nd3 = 1, .s8src = 1, .oscale = 2, .mul = 1, .add = 1, .wany = 1}, 0},
            {"2-D: s8 x s8, oscale[N] rt + MUL[M,1] + ADD", {.s8src = 1, .oscale = 1, .mul = 1, .add = 1}, 0},
        };
        printf("Acceptance and numerics, M=%d K=%d N=%d, q uniform 0..255 (s8 src: -128..127), w uniform -128..127, z=%d; "
               "reference in double on 23 sampled rows (s32: 17 rows, exact compare). `rel err` = max |y - ref| / max |ref| per row. "
               "oscale const = per-N scales given at creation (the weights' scales); rt = DNNL_RUNTIME_*_VAL, passed at execution.\n\n", M, K, N, D.z);
        // the same data with 7-bit activations: q in 0..127 (z = 64), s8 src in -64..63
        i8_t D7 = D; D7.q = xalloc((size_t)M * K); D7.qs = xalloc((size_t)M * K); D7.z = 64;
        for (size_t i = 0; i < (size_t)M * K; i++) { D7.q[i] = D.q[i] & 127; D7.qs[i] = (int8_t)(D.qs[i] >> 1); }
        printf("| variant | status | impl | result, 8-bit activations | result, 7-bit activations (q 0..127, z=64; s8 src -64..63) |\n|---|---|---|---|---|\n");
        for (unsigned i = 0; i < sizeof cs / sizeof *cs; i++) {
            const char *res[2] = {"", ""}; const char *im = "-"; dnnl_status_t st0 = dnnl_success;
            for (int b7 = 0; b7 < 2; b7++) {
                const i8_t *Dd = b7 ? &D7 : &D;
                i8m_t m = mk_i8(Dd, cs[i].o, cs[i].o.s32dst ? (void *)yi : (void *)y);
                st0 = m.st;
                if (m.st != dnnl_success) break;
                im = impl(m.pd);
                memset(y, 0, (size_t)M * N * 4); memset(yi, 0, (size_t)M * N * 4);
                run_exec(&m.r);
                if (cs[i].o.s32dst) {
                    long chk, bad = check_s32(Dd, cs[i].o.s8src, cs[i].want == -2 ? Dd->z : 0, yi, &chk);
                    char *b = sbuf(); snprintf(b, 160, "%s: %ld of %ld differ from exact %s", bad ? "**NOT exact**" : "exact", bad, chk, cs[i].want == -2 ? "sum((q-z)w)" : "sum(q w)"); res[b7] = b;
                } else res[b7] = verdict(Dd, cs[i].o.s8src, y, cs[i].want);  // (per-row zero points are all z)
                dnnl_primitive_destroy(m.r.p); dnnl_primitive_desc_destroy(m.pd);
            }
            if (st0 != dnnl_success) printf("| %s | **%s** | - | - | - |\n", cs[i].name, dnnl_status2str(st0));
            else printf("| %s | ok | %s | %s | %s |\n", cs[i].name, im, res[0], res[1]);
            fflush(stdout);
        }
        // saturation: all q = 255 with all w = 127 / all w = -128; then 7-bit activations
        printf("\nSaturation, u8 x s8 -> s32: ");
        int pat[][2] = {{255, 127}, {255, -128}};
        for (int pi = 0; pi < 2; pi++) {
            memset(D.q, pat[pi][0], (size_t)M * K); memset(D.w, pat[pi][1], (size_t)N * K);
            for (int wa = 0; wa < 2; wa++) {
                i8m_t m = mk_i8(&D, (i8o_t){.s32dst = 1, .wany = wa}, yi); run_exec(&m.r);
                long chk, bad = check_s32(&D, 0, 0, yi, &chk);
                printf("q=%d w=%d `%s`: %s (y[0]=%d, exact %d); ", pat[pi][0], pat[pi][1], wa ? "any" : "ba", bad ? "**NOT exact**" : "exact", yi[0], pat[pi][0] * pat[pi][1] * K);
            }
        }
        for (size_t i = 0; i < (size_t)M * K; i++) D.q[i] = (uint8_t)(xr() & 127);
        for (size_t i = 0; i < (size_t)N * K; i++) D.w[i] = (int8_t)xr();
        { i8m_t m = mk_i8(&D, (i8o_t){.s32dst = 1}, yi); run_exec(&m.r); long chk, bad = check_s32(&D, 0, 0, yi, &chk);
          printf("7-bit q (0..127), random w: %s (%ld of %ld differ).\n\n", bad ? "**NOT exact**" : "exact", bad, chk); }
    }
    // ---- speed
    printf("Speed, GOP/s best (median), interleaved, %d rounds. current = u8 x s8 -> s32 (`ba`) then a C pass y = sr*sc*(acc - zr*colsum) + b (the pass alone in ms). "
           "fused3 = 3-D view, oscale[N] const + zp rt + MUL{1,M,1} + ADD bias. fused2rt = 2-D, oscale[N] rt + zp rt + ADD (per-tensor activation scale folded into the runtime oscale). "
           "s8s8 = 3-D, oscale const + MUL + ADD. f32 = oneDNN f32 `any`, same shape.\n\n", g_rounds);
    printf("| M | K | N | s32 only | current | pass ms | fused3 `ba` | fused3 `any` | fused2rt `ba` | s8s8 `ba` | s8s8 `any` | f32 | impl fused3 ba / any | impl fused2rt | impl s8s8 ba / any |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    int shp[][3] = {{499, 768, 768}, {499, 768, 3072}, {499, 3072, 768}, {499, 1024, 1024}, {499, 1024, 4096}, {499, 4096, 1024}, {2999, 768, 3072}, {2999, 3072, 768}};
    for (int si = 0; si < 8; si++) {
        int M = shp[si][0], K = shp[si][1], N = shp[si][2];
        i8_t D = mk_data(M, K, N);
        int32_t *acc = xalloc((size_t)M * N * 4), *zr = xalloc(4 * (size_t)M), *colsum = xalloc(4 * (size_t)N);
        float *y[7]; for (int i = 0; i < 7; i++) y[i] = falloc((size_t)M * N);
        for (int m = 0; m < M; m++) zr[m] = D.z;
        for (int n = 0; n < N; n++) { int32_t s = 0; for (int k = 0; k < K; k++) s += D.w[(size_t)n * K + k]; colsum[n] = s; }
        i8m_t raw = mk_i8(&D, (i8o_t){.s32dst = 1}, acc);
        i8m_t fb = mk_i8(&D, (i8o_t){.nd3 = 1, .oscale = 2, .zp = 1, .mul = 1, .add = 1}, y[1]), fa = mk_i8(&D, (i8o_t){.nd3 = 1, .oscale = 2, .zp = 1, .mul = 1, .add = 1, .wany = 1}, y[2]);
        i8m_t f2 = mk_i8(&D, (i8o_t){.oscale = 1, .zp = 1, .add = 1}, y[6]);
        i8m_t sb = mk_i8(&D, (i8o_t){.nd3 = 1, .s8src = 1, .oscale = 2, .mul = 1, .add = 1}, y[3]), sa = mk_i8(&D, (i8o_t){.nd3 = 1, .s8src = 1, .oscale = 2, .mul = 1, .add = 1, .wany = 1}, y[4]);
        CHECK(raw.st); CHECK(fb.st); CHECK(fa.st); CHECK(f2.st); CHECK(sb.st); CHECK(sa.st);
        float *xf = falloc((size_t)M * K), *wf = falloc((size_t)N * K);
        ffill(xf, (size_t)M * K, -1, 1); ffill(wf, (size_t)N * K, -1, 1);
        mm_t f32 = mm_f32(M, K, N, xf, wf, y[5], 1, NULL, NULL);
        deq_t dq = {&raw.r, acc, y[0], D.sr, D.sc, D.bias, zr, colsum, M, N};
        var_t v[9] = {{"raw", run_exec, &raw.r}, {"cur", deq_run, &dq}, {"pass", deq_only, &dq}, {"fb", run_exec, &fb.r}, {"fa", run_exec, &fa.r},
                      {"f2", run_exec, &f2.r}, {"sb", run_exec, &sb.r}, {"sa", run_exec, &sa.r}, {"f32", run_exec, &f32.r}};
        bench(v, 9, g_rounds);
        double op = 2.0 * M * N * K;
        float d = fmaxf(maxdiff(y[0], y[1], (size_t)M * N), maxdiff(y[0], y[2], (size_t)M * N)) / maxabs(y[0], (size_t)M * N);
        printf("| %d | %d | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s / %s | %s | %s / %s |%s\n", M, K, N, rate(&v[0], op), rate(&v[1], op), msec(&v[2]), rate(&v[3], op), rate(&v[4], op),
               rate(&v[5], op), rate(&v[6], op), rate(&v[7], op), rate(&v[8], op), impl(fb.pd), impl(fa.pd), impl(f2.pd), impl(sb.pd), impl(sa.pd), d > 1e-5 ? " fused != current!" : "");
        fflush(stdout);
        free(acc); free(zr); free(colsum); free(xf); free(wf); for (int i = 0; i < 7; i++) free(y[i]);
    }
    // ---- activation quantisation pipelines
    printf("\nActivation quantisation pipelines, ms best (median), interleaved. **per tensor** (all in oneDNN except the scan): C min/max scan; "
           "oneDNN reorder f32 -> u8 with runtime output scale (1/scale) and runtime dst zero point; fused3 matmul with a scalar MUL by the activation scale "
           "(oscale[N] const + zp rt + MUL{1,1,1} + ADD). **per row, fused**: C quantiser with per-row scale and a fixed zero point 128, then fused3 "
           "(MUL{1,M,1} by the row scales). **current**: C per-row asymmetric quantiser, then s32 matmul + C pass.\n\n");
    printf("| M | K | N | scan | reorder | matmul | per-tensor total | row quant z=128 | fused3 | per-row fused total | row quant asym | s32 + pass | current total | reorder impl | reorder check |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    int qs[][3] = {{499, 768, 3072}, {499, 3072, 768}, {2999, 768, 3072}};
    for (int si = 0; si < 3; si++) {
        int M = qs[si][0], K = qs[si][1], N = qs[si][2];
        i8_t D = mk_data(M, K, N);
        float *x = falloc((size_t)M * K); ffill(x, (size_t)M * K, -3, 5);
        quant_t qt = {x, xalloc((size_t)M * K), falloc(M), xalloc(4 * (size_t)M), M, K, 1, 0};
        quant_t qr = {x, xalloc((size_t)M * K), falloc(M), xalloc(4 * (size_t)M), M, K, 1, 0};
        quant_t q8 = {x, xalloc((size_t)M * K), falloc(M), xalloc(4 * (size_t)M), M, K, 1, 0};
        minmax_run(&qt); rowquant_run(&qr); rowquant128_run(&q8);
        dnnl_memory_desc_t xf = mdt(2, DIMS(M, K), dnnl_f32, dnnl_ab), xq = mdt(2, DIMS(M, K), dnnl_u8, dnnl_ab);
        dnnl_primitive_attr_t ra; CHECK(dnnl_primitive_attr_create(&ra));
        float rtf = DNNL_RUNTIME_F32_VAL; int32_t rti = DNNL_RUNTIME_S32_VAL;
        CHECK(dnnl_primitive_attr_set_output_scales(ra, 1, 0, &rtf)); CHECK(dnnl_primitive_attr_set_zero_points(ra, DNNL_ARG_DST, 1, 0, &rti));
        dnnl_primitive_desc_t rpd; dnnl_status_t st = dnnl_reorder_primitive_desc_create(&rpd, &xf, eng, &xq, eng, ra);
        if (st != dnnl_success) { printf("| %d | %d | %d | reorder with runtime scale + zp: **%s** |\n", M, K, N, dnnl_status2str(st)); continue; }
        dnnl_memory_desc_t one = mdt(1, DIMS(1), dnnl_f32, dnnl_a), onei = mdt(1, DIMS(1), dnnl_s32, dnnl_a);
        run_t rr = mkrun(prim(rpd));
        arg(&rr, DNNL_ARG_FROM, mem(&xf, x)); arg(&rr, DNNL_ARG_TO, mem(&xq, qt.q)); arg(&rr, DNNL_ARG_ATTR_OUTPUT_SCALES, mem(&one, NULL));
        arg(&rr, DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_DST, mem(&onei, NULL));
        pt_t pt = {&qt, &rr};
        ptreorder_run(&pt);
        long bad = 0, off1 = 0; float inv = 1.0f / qt.scale;
        for (size_t i = 0; i < (size_t)M * K; i++) {
            float r = nearbyintf(x[i] * inv) + qt.zp; int e = r < 0 ? 0 : r > 255 ? 255 : (int)r;
            if (e != qt.q[i]) { bad++; if (abs(e - qt.q[i]) == 1) off1++; }
        }
        char *chk = sbuf(); snprintf(chk, 160, "q = sat(rint(x * (1/scale)) + zp): %ld of %ld differ (%ld by 1)", bad, (long)M * K, off1);
        float *y = falloc((size_t)M * N), *y2 = falloc((size_t)M * N), *y3 = falloc((size_t)M * N);
        // per tensor: fused3 with scalar MUL by the activation scale
        i8_t Dt = D; Dt.q = qt.q; Dt.z = qt.zp; Dt.sx = &qt.scale;
        i8m_t mt = mk_i8(&Dt, (i8o_t){.nd3 = 1, .oscale = 2, .zp = 1, .mul = 2, .add = 1}, y); CHECK(mt.st);
        // per row fused: z = 128, MUL by q8.sr
        i8_t Dr = D; Dr.q = q8.q; Dr.z = 128; Dr.sr = q8.sr;
        i8m_t mr = mk_i8(&Dr, (i8o_t){.nd3 = 1, .oscale = 2, .zp = 1, .mul = 1, .add = 1}, y3); CHECK(mr.st);
        // current
        int32_t *acc = xalloc((size_t)M * N * 4), *colsum = xalloc(4 * (size_t)N);
        for (int n = 0; n < N; n++) { int32_t s = 0; for (int k = 0; k < K; k++) s += D.w[(size_t)n * K + k]; colsum[n] = s; }
        i8_t Dc = D; Dc.q = qr.q;
        i8m_t raw = mk_i8(&Dc, (i8o_t){.s32dst = 1}, acc);
        deq_t dq = {&raw.r, acc, y2, qr.sr, D.sc, D.bias, qr.zr, colsum, M, N};
        var_t v[7] = {{"minmax", minmax_run, &qt}, {"reorder", ptreorder_run, &pt}, {"mm", run_exec, &mt.r}, {"row128", rowquant128_run, &q8}, {"mmr", run_exec, &mr.r},
                      {"rowq", rowquant_run, &qr}, {"cur", deq_run, &dq}};
        bench(v, 7, g_rounds);
        printf("| %d | %d | %d | %s | %s | %s | %.3f | %s | %s | %.3f | %s | %s | %.3f | %s | %s |\n", M, K, N, msec(&v[0]), msec(&v[1]), msec(&v[2]),
               (tbest(&v[0]) + tbest(&v[1]) + tbest(&v[2])) * 1e3, msec(&v[3]), msec(&v[4]), (tbest(&v[3]) + tbest(&v[4])) * 1e3,
               msec(&v[5]), msec(&v[6]), (tbest(&v[5]) + tbest(&v[6])) * 1e3, impl(rpd), chk);
        fflush(stdout);
        dnnl_primitive_attr_destroy(ra);
    }
    printf("\n");
}

// ================================================================ 7. threads
// Per-thread CPU time (ns) from /proc/self/task/*/schedstat; fills tids/ns, returns the count.
static int thread_cpu(int *tids, double *ns, int max) {
    int n = 0; DIR *d = opendir("/proc/self/task"); struct dirent *e;
    while (d && n < max && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char sp[320]; snprintf(sp, sizeof sp, "/proc/self/task/%s/schedstat", e->d_name);
        FILE *f = fopen(sp, "r"); unsigned long long c = 0;
        if (f) { if (fscanf(f, "%llu", &c) == 1) { tids[n] = atoi(e->d_name); ns[n] = (double)c; n++; } fclose(f); }
    }
    if (d) closedir(d);
    return n;
}
// CPU ns consumed per thread between two snapshots; returns text "main a ms, others b ms (c threads > 10% busy)".
typedef struct { int n, tid[64]; double ns[64]; } tsnap_t;
static tsnap_t tsnap(void) { tsnap_t s; s.n = thread_cpu(s.tid, s.ns, 64); return s; }
static const char *tdelta(const tsnap_t *a, const tsnap_t *b, double wall, int *busy) {
    char *o = sbuf(); double mainms = 0, other = 0; int nb = 0;
    for (int i = 0; i < b->n; i++) {
        double prev = 0; for (int j = 0; j < a->n; j++) if (a->tid[j] == b->tid[i]) prev = a->ns[j];
        double d = (b->ns[i] - prev) / 1e6;
        if (b->tid[i] == (int)getpid()) mainms = d; else other += d;
        if (d > 0.1 * wall * 1e3) nb++;
    }
    if (busy) *busy = nb;
    snprintf(o, 160, "main %.1f ms, other threads %.1f ms; %d thread(s) busy > 10%% of wall", mainms, other, nb);
    return o;
}

static double util_of(run_t *r, int reps, double *best, int *busy, const char **txt) {
    tsnap_t a = tsnap(); double w0 = now(), c0 = cpu_now(); *best = 1e9;
    for (int i = 0; i < reps; i++) { double t = now(); run_exec(r); t = now() - t; if (t < *best) *best = t; }
    double wall = now() - w0, u = (cpu_now() - c0) / wall; tsnap_t b = tsnap();
    *txt = tdelta(&a, &b, wall, busy);
    return u;
}
// One worker of the concurrency test: runs `iters` executions of a matmul on its own stream and memory objects,
// comparing each output bitwise with `ref`. Either uses the shared primitive in `proto` (replacing SRC and DST) or,
// with own = 1, creates its own primitive in this thread.
typedef struct {
    int kind, M, K, N, omp, iters, user, own, any;
    run_t proto; dnnl_primitive_desc_t pd;
    const void *src, *data; const float *ref;
    long bad; double secs;
} conc_t;
static run_t conc_build(int kind, int M, int K, int N, const void *data, const void *src, float *y, int user, int any, dnnl_primitive_desc_t *pd) {
    if (kind == 0) {
        dnnl_primitive_attr_t a; CHECK(dnnl_primitive_attr_create(&a));
        if (user) CHECK(dnnl_primitive_attr_set_scratchpad_mode(a, dnnl_scratchpad_mode_user));
        mm_t m = mm_f32(M, K, N, (float *)src, (float *)data, y, any, a, NULL);
        dnnl_primitive_attr_destroy(a); *pd = m.pd; return m.r;
    }
    i8_t D = *(const i8_t *)data; D.q = (uint8_t *)src;
    i8m_t m = mk_i8(&D, (i8o_t){.nd3 = 1, .oscale = 2, .zp = 1, .mul = 1, .add = 1, .wany = any, .user_scratch = user}, y); CHECK(m.st);
    *pd = m.pd; return m.r;
}
static size_t scratch_size(const_dnnl_primitive_desc_t pd) { return dnnl_memory_desc_get_size(qmd(pd, dnnl_query_scratchpad_md)); }
static void *conc_thread(void *c) {
    conc_t *t = c;
    omp_set_num_threads(t->omp);
    dnnl_stream_t s; CHECK(dnnl_stream_create(&s, eng, dnnl_stream_default_flags));
    float *y = falloc((size_t)t->M * t->N);
    run_t r; dnnl_primitive_desc_t pd;
    if (t->own) r = conc_build(t->kind, t->M, t->K, t->N, t->data, t->src, y, t->user, t->any, &pd);
    else {
        r = t->proto; pd = t->pd;
        r.a[0].memory = mem(mdesc(t->proto.a[0].memory), (void *)t->src); r.a[2].memory = mem(mdesc(t->proto.a[2].memory), y);
    }
    if (t->user && scratch_size(pd)) arg(&r, DNNL_ARG_SCRATCHPAD, mem(qmd(pd, dnnl_query_scratchpad_md), NULL));
    r.s = s;
    double t0 = now();
    for (int i = 0; i < t->iters; i++) {
        memset(y, 0xff, (size_t)t->M * t->N * 4);
        run_exec(&r);
        if (memcmp(y, t->ref, (size_t)t->M * t->N * 4)) t->bad++;
    }
    t->secs = now() - t0;
    free(y); dnnl_stream_destroy(s);
    return NULL;
}
static void *conc_seq(void *c) { conc_t *t = c; conc_thread(&t[0]); conc_thread(&t[1]); return NULL; }
// Runs a scenario in a forked child (a crash must not end the probe): first sequentially on one fresh pthread, then on two pthreads.
static void conc_scenario(const char *kind, const char *scen, conc_t t[2]) {
    wait_quiet();
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        pthread_t th[2];
        pthread_create(&th[0], NULL, conc_seq, t); pthread_join(th[0], NULL);
        double seq = t[0].secs + t[1].secs; long seqbad = t[0].bad + t[1].bad; t[0].bad = t[1].bad = 0;
        double s0 = now();
        for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, conc_thread, &t[i]);
        for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
        double par = now() - s0;
        printf("| %s | %s | %d | %.3f | %.3f | %ld of %d | %ld |\n", kind, scen, t[0].omp, par, seq, t[0].bad + t[1].bad, t[0].iters + t[1].iters, seqbad);
        fflush(stdout);
        _exit(0);
    }
    int st; waitpid(pid, &st, 0);
    if (WIFSIGNALED(st)) printf("| %s | %s | %d | **crashed: %s** | | | |\n", kind, scen, t[0].omp, strsignal(WTERMSIG(st)));
    else if (!WIFEXITED(st) || WEXITSTATUS(st)) printf("| %s | %s | %d | **failed, exit %d** | | | |\n", kind, scen, t[0].omp, WEXITSTATUS(st));
}
static void sec_threads(void) {
    printf("## 7. Threads: creation vs execution thread count, concurrent execution (ISA %s)\n\n", isa_name());
    int M = 499, K = 768, N = 3072;
    float *x = falloc((size_t)M * K), *x2 = falloc((size_t)M * K), *w = falloc((size_t)N * K), *y = falloc((size_t)M * N), *yref = falloc((size_t)M * N);
    ffill(x, (size_t)M * K, -1, 1); ffill(x2, (size_t)M * K, -1, 1); ffill(w, (size_t)N * K, -0.05f, 0.05f);
    { sg_t g = {M, N, K, K, K, x, w, yref}; openblas_set_num_threads(2); sg_run(&g); }
    printf("f32 M=%d K=%d N=%d, weights `any`. `util` = process CPU time / wall time over 60 executions "
           "(about 1 = one thread busy, about 2 = two; unreliable when the machine is shared, hence the per-thread column); max diff vs the OpenBLAS result. Primitive cache on (default) unless noted.\n\n", M, K, N);
    printf("| created with | executed with | ms best | util | threads that did the work (CPU per thread from schedstat) | max diff | impl |\n|---|---|---|---|---|---|---|\n");
    int cap; dnnl_get_primitive_cache_capacity(&cap);
    int cases[][3] = {{2, 2, 1}, {1, 1, 1}, {2, 1, 1}, {1, 2, 1}, {2, 1, 0}, {1, 2, 0}};
    for (int c = 0; c < 6; c++) {
        dnnl_set_primitive_cache_capacity(cases[c][2] ? cap : 0);
        omp_set_num_threads(cases[c][0]);
        memset(y, 0, (size_t)M * N * 4);
        mm_t m = mm_f32(M, K, N, x, w, y, 1, NULL, NULL);
        omp_set_num_threads(cases[c][1]);
        double best; int busy; const char *txt; usleep(200000); wait_quiet();  // let GOMP workers fall asleep
        double u = util_of(&m.r, 60, &best, &busy, &txt);
        printf("| %d thr%s | %d thr | %.3f | %.2f | %s | %.1e | %s |\n", cases[c][0], cases[c][2] ? "" : " (cache off)", cases[c][1], best * 1e3, u, txt, maxdiff(y, yref, (size_t)M * N), impl(m.pd));
        dnnl_primitive_destroy(m.p); dnnl_primitive_desc_destroy(m.pd);
    }
    dnnl_set_primitive_cache_capacity(cap);
    // scratchpad sizes
    i8_t D = mk_data(M, K, N); uint8_t *q2 = xalloc((size_t)M * K); for (size_t i = 0; i < (size_t)M * K; i++) q2[i] = (uint8_t)xr();
    {
        dnnl_primitive_desc_t pd; float *yy = falloc((size_t)M * N); size_t sz[2][2][2];
        for (int t = 1; t <= 2; t++) for (int k = 0; k < 2; k++) for (int a = 0; a < 2; a++) {
            omp_set_num_threads(t); conc_build(k, M, K, N, k ? (const void *)&D : (const void *)w, k ? (const void *)D.q : (const void *)x, yy, 1, a, &pd);
            sz[t - 1][k][a] = scratch_size(pd);
        }
        printf("\nScratchpad size (bytes, as reported in user mode), 1 thread / 2 threads: f32 `any` %zu / %zu, f32 `ba` %zu / %zu, "
               "int8 fused3 `any` %zu / %zu, int8 fused3 `ba` %zu / %zu.\n", sz[0][0][1], sz[1][0][1], sz[0][0][0], sz[1][0][0], sz[0][1][1], sz[1][1][1], sz[0][1][0], sz[1][1][0]);
        free(yy);
    }
    // concurrent execution from two POSIX threads
    printf("\nConcurrent execution from two pthreads, each with its own stream and memory objects and different inputs; every output is compared "
           "bitwise with the result of the same primitive run alone (80 executions per thread). Each scenario runs in a forked child process. "
           "Scenarios: A = ONE primitive created on the main thread, default (library) scratchpad; B = the same with scratchpad_mode user and one "
           "scratchpad memory per pthread; C = two DIFFERENT primitives (`any` and `ba` weights) both created on the main thread (library scratchpad), one per pthread; "
           "D = each pthread creates its own primitive (library scratchpad). `omp` = omp_set_num_threads in each pthread and at creation.\n\n");
    printf("| kind | scenario | omp | 2 pthreads wall s | same work on one thread s | wrong outputs (concurrent) | wrong outputs (sequential) |\n|---|---|---|---|---|---|---|\n");
    for (int kind = 0; kind < 2; kind++)
        for (int omp = 1; omp <= 2; omp++)
            for (int sc = 0; sc < 4; sc++) {
                if (omp == 2 && sc != 1) continue;
                omp_set_num_threads(omp);
                const void *data = kind ? (const void *)&D : (const void *)w;
                const void *src[2] = {kind ? (const void *)D.q : (const void *)x, kind ? (const void *)q2 : (const void *)x2};
                float *ref[2] = {falloc((size_t)M * N), falloc((size_t)M * N)};
                conc_t t[2]; memset(t, 0, sizeof t);
                for (int i = 0; i < 2; i++) {
                    t[i] = (conc_t){.kind = kind, .M = M, .K = K, .N = N, .omp = omp, .iters = 80, .user = sc == 1, .own = sc == 3, .any = !(sc == 2 && i == 1),
                                    .src = src[i], .data = data, .ref = ref[i]};
                    // reference: the primitive of this pthread (same descriptor) run alone on the main thread
                    dnnl_primitive_desc_t pd; float *yy = ref[i];
                    run_t r = conc_build(kind, M, K, N, data, src[i], yy, sc == 1, t[i].any, &pd);
                    if (sc == 1 && scratch_size(pd)) arg(&r, DNNL_ARG_SCRATCHPAD, mem(qmd(pd, dnnl_query_scratchpad_md), NULL));
                    run_exec(&r);
                    if (r.a[r.n - 1].arg == DNNL_ARG_SCRATCHPAD) r.n--;  // each pthread adds its own
                    if (sc == 0 || sc == 1) { if (i == 0) { t[0].proto = r; t[0].pd = pd; } t[i].proto = t[0].proto; t[i].pd = t[0].pd; }
                    if (sc == 2) { t[i].proto = r; t[i].pd = pd; }
                }
                const char *names[] = {"A: one primitive, library scratchpad", "B: one primitive, user scratchpad per pthread", "C: two primitives made on main thread", "D: each pthread makes its own"};
                conc_scenario(kind ? "int8 fused3" : "f32", names[sc], t);
            }
    omp_set_num_threads(2);
    printf("\n");
}

// ================================================================ 8. OpenBLAS spinning threads
typedef struct { sg_t *g; run_t *r; int pre_sleep_us; int blas_threads; double t_dnnl; } ob_t;
static void ob_case(void *c) {
    ob_t *o = c;
    if (o->blas_threads) { openblas_set_num_threads(o->blas_threads); sg_run(o->g); }
    if (o->pre_sleep_us) usleep(o->pre_sleep_us);
    double t = now(); run_exec(o->r); o->t_dnnl = now() - t;
}
static void sec_openblas(void) {
    printf("## 8. oneDNN right after a multi-threaded OpenBLAS sgemm (ISA %s, 2 omp threads)\n\n", isa_name());
    int M = 499, K = 768, N = 3072;
    float *x = falloc((size_t)M * K), *w = falloc((size_t)N * K), *y = falloc((size_t)M * N), *y2 = falloc((size_t)M * N);
    ffill(x, (size_t)M * K, -1, 1); ffill(w, (size_t)N * K, -0.05f, 0.05f);
    omp_set_num_threads(2);
    mm_t m = mm_f32(M, K, N, x, w, y, 1, NULL, NULL);
    sg_t g = {M, N, K, K, K, x, w, y2};
    struct { const char *name; int sleep_us, bt; } cs[] = {
        {"oneDNN alone (no sgemm before)", 0, 0}, {"2-thread sgemm, then oneDNN at once", 0, 2}, {"2-thread sgemm, 1 ms pause, oneDNN", 1000, 2},
        {"2-thread sgemm, 10 ms pause, oneDNN", 10000, 2}, {"2-thread sgemm, 100 ms pause, oneDNN", 100000, 2}, {"1-thread sgemm (openblas_set_num_threads(1)), then oneDNN", 0, 1},
        {"oneDNN alone, 100 ms pause before", 100000, 0}};
    enum { NC = 7, R = 41 };
    ob_t o[NC]; double t[NC][R];
    for (int i = 0; i < NC; i++) { o[i] = (ob_t){&g, &m.r, cs[i].sleep_us, cs[i].bt, 0}; ob_case(&o[i]); }
    for (int r = 0; r < R; r++) { wait_quiet(); for (int i = 0; i < NC; i++) { ob_case(&o[i]); t[i][r] = o[i].t_dnnl; } }
    printf("f32 M=%d K=%d N=%d; time of the oneDNN matmul (brgemm, 2 threads) only, ms best / median / worst of %d interleaved rounds.\n\n| case | ms |\n|---|---|\n", M, K, N, R);
    for (int i = 0; i < NC; i++) { qsort(t[i], R, sizeof(double), cmpd); printf("| %s | %.3f / %.3f / %.3f |\n", cs[i].name, t[i][0] * 1e3, t[i][R / 2] * 1e3, t[i][R - 1] * 1e3); }
    // reverse: sgemm right after oneDNN (GOMP workers spinning)
    double ts[2][R];
    for (int r = 0; r < R; r++) for (int i = 0; i < 2; i++) {
        if (i == 0) wait_quiet();
        openblas_set_num_threads(2); run_exec(&m.r); if (i) usleep(100000);
        double s = now(); sg_run(&g); ts[i][r] = now() - s;
    }
    qsort(ts[0], R, sizeof(double), cmpd); qsort(ts[1], R, sizeof(double), cmpd);
    printf("| reverse: 2-thread OpenBLAS sgemm right after oneDNN | %.3f / %.3f / %.3f |\n", ts[0][0] * 1e3, ts[0][R / 2] * 1e3, ts[0][R - 1] * 1e3);
    printf("| reverse: 2-thread OpenBLAS sgemm 100 ms after oneDNN | %.3f / %.3f / %.3f |\n\n", ts[1][0] * 1e3, ts[1][R / 2] * 1e3, ts[1][R - 1] * 1e3);
    // How long do idle workers keep burning CPU? Other threads' CPU time sampled every 2 ms for 300 ms right after each call.
    printf("\nCPU burnt by the other threads (per-thread schedstat, sampled every 2 ms) during a 300 ms sleep right after a call; "
           "`until` = time after the call of the last sample in which they still consumed CPU. Best (smallest) and median of 5.\n\n"
           "| call before the sleep | ms of CPU in other threads | until, ms |\n|---|---|---|\n");
    const char *what[] = {"nothing (baseline)", "2-thread OpenBLAS sgemm", "1-thread OpenBLAS sgemm", "oneDNN matmul, 2 omp threads"};
    for (int c = 0; c < 4; c++) {
        double v[5], u[5];
        for (int r = 0; r < 5; r++) {
            usleep(400000); wait_quiet();
            if (c == 1) { openblas_set_num_threads(2); sg_run(&g); }
            if (c == 2) { openblas_set_num_threads(1); sg_run(&g); }
            if (c == 3) run_exec(&m.r);
            double t0 = now(), last = 0, other0 = -1, prev = 0, total = 0;
            while (now() - t0 < 0.3) {
                tsnap_t b = tsnap(); double other = 0;
                for (int i = 0; i < b.n; i++) if (b.tid[i] != (int)getpid()) other += b.ns[i] / 1e6;
                if (other0 < 0) other0 = prev = other;
                if (other - prev > 0.05) last = now() - t0;
                prev = other; total = other - other0;
                usleep(2000);
            }
            v[r] = total; u[r] = last * 1e3;
        }
        qsort(v, 5, sizeof(double), cmpd); qsort(u, 5, sizeof(double), cmpd);
        printf("| %s | %.1f (%.1f) | %.0f (%.0f) |\n", what[c], v[0], v[2], u[0], u[2]);
    }
    openblas_set_num_threads(2);
    printf("\n(OpenBLAS %s, core %s; OMP_WAIT_POLICY=%s, GOMP_SPINCOUNT=%s)\n\n", openblas_get_config(), openblas_get_corename(),
           getenv("OMP_WAIT_POLICY") ? getenv("OMP_WAIT_POLICY") : "(unset)", getenv("GOMP_SPINCOUNT") ? getenv("GOMP_SPINCOUNT") : "(unset)");
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "-t") && i + 1 < argc) g_threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-r") && i + 1 < argc) g_rounds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "-q") && i + 1 < argc) g_quiet_max = atof(argv[++i]);
        else { fprintf(stderr, "usage: %s [-t THREADS] [-r ROUNDS] [-q MAXWAIT] SECTION...\n", argv[0]); return 2; }
    }
    set_threads(g_threads);
    CHECK(dnnl_engine_create(&eng, dnnl_cpu, 0));
    CHECK(dnnl_stream_create(&strm, eng, dnnl_stream_default_flags));
    if (i == argc) { fprintf(stderr, "sections: info linear runtime bias attn conv int8 int8speed threads openblas all\n"); return 2; }
    for (; i < argc; i++) {
        int all = !strcmp(argv[i], "all");
        set_threads(g_threads);
        printf("_(load average before: %s)_\n\n", loadavg());
        if (all || !strcmp(argv[i], "info")) sec_info();
        if (all || !strcmp(argv[i], "linear")) sec_linear();
        if (all || !strcmp(argv[i], "runtime")) sec_runtime();
        if (all || !strcmp(argv[i], "bias")) sec_bias();
        if (all || !strcmp(argv[i], "attn")) sec_attn();
        if (all || !strcmp(argv[i], "conv")) sec_conv();
        if (all || !strcmp(argv[i], "int8")) sec_int8(1);
        if (!strcmp(argv[i], "int8speed")) sec_int8(0);
        if (all || !strcmp(argv[i], "threads")) sec_threads();
        if (all || !strcmp(argv[i], "openblas")) sec_openblas();
        printf("_(load average after this section: %s; waited %.0f s in %d waits for other processes to use < 10%% CPU, %d waits gave up after %.0f s)_\n\n",
               loadavg(), g_waited, g_waits, g_timeouts, g_quiet_max);
        g_waited = 0; g_waits = g_timeouts = 0;
        fflush(stdout);
    }
    return 0;
}
