"""unispeech-swift vs PyTorch on this machine, side by side; appends the results to benchmarks/RESULTS.md.

Run with the venv that has torch + transformers (never in CI):
    /work/venv/bin/python benchmarks/run.py [--quick] [--work /tmp/unispeech-bench]
--quick: base only, 10 s audio, 3 repeats (about 10 minutes). Default: base and large, 1/10/30/60 s.
Checkpoints, audio and converted files live in --work, outside the repository.

Every timing runs twice: with the CPU's own instruction set ("native") and with AVX2 emulated on it ("avx2":
oneDNN held to AVX2 for unispeech; for PyTorch also ATen's and MKL's kernels), so that one machine measures both
kinds this project runs on. RESULTS.md gets one table per instruction set.
"""

import argparse
import datetime
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BIN = os.path.join(ROOT, ".build", "release", "unispeech")
TORCH_BENCH = os.path.join(HERE, "torch_bench.py")
DTYPES = ["f32", "f16", "int8"]
TIMING_PREFIX = "timing: "  # stderr line `unispeech run` prints when UNISPEECH_TIMINGS=1
# The environment of each instruction-set pass, for unispeech and for PyTorch.
ISA_MODES = {
    "native": ({}, {}),
    "avx2": ({"DNNL_MAX_CPU_ISA": "AVX2"},
             {"ATEN_CPU_CAPABILITY": "avx2", "DNNL_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"}),
}


def log(message):
    print(message, file=sys.stderr, flush=True)


def run_process(argv, env=None):
    """Runs argv; returns (stdout, stderr, wall seconds, child peak RSS in MB)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})})
    out, err = proc.communicate()
    wall = time.perf_counter() - start
    rss = 0.0
    try:
        _, _, usage = os.wait4(proc.pid, 0)
        rss = usage.ru_maxrss / 1024
    except ChildProcessError:
        pass
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}): {err.strip()[-2000:]}")
    return out, err, wall, rss


def run_measured(argv, env=None):
    """Like run_process but the peak RSS comes from /usr/bin/time -v (wait4 after communicate may miss it)."""
    out, err, wall, _ = run_process(["/usr/bin/time", "-v"] + argv, env)
    match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", err)
    return out, err, wall, int(match.group(1)) / 1024 if match else float("nan")


def engines():
    """What `unispeech --version` reports in each instruction-set pass: CPU features, oneDNN ISA, OpenBLAS core."""
    seen = {}
    for mode, (env, _) in ISA_MODES.items():
        out, _, _, _ = run_process([BIN, "--version"], env)
        seen[mode] = dict(line.split(": ", 1) for line in out.splitlines()[1:] if ": " in line)
    return seen


def machine():
    text = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
    flags = set(fields.get("Flags", "").split())
    wanted = ["avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "amx_int8"]
    return {
        "cpu": fields.get("Model name", "?").strip(),
        "cpus": fields.get("CPU(s)", "?").strip(),
        "flags": " ".join(f for f in wanted if f in flags),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "kernel": platform.release(),
    }


def versions():
    swift = subprocess.run(["swift", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    import torch
    import transformers
    return {"swift": swift, "commit": commit, "torch": torch.__version__, "transformers": transformers.__version__}


def gemm_peak(work, threads, env):
    probe = os.path.join(work, "gemm_probe")
    subprocess.run(["cc", "-O2", "-o", probe, os.path.join(HERE, "gemm_probe.c"), "-lopenblas", "-ldnnl", "-lgomp"], check=True)
    out, _, _, _ = run_process([probe, str(threads), "--json"], env)
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def ensure_checkpoint(work, size):
    hf = os.path.join(work, size, "hf")
    if not os.path.exists(os.path.join(hf, "model.safetensors")):
        log(f"making random {size} checkpoint in {hf}")
        run_process([sys.executable, TORCH_BENCH, "make", "--size", size, "--out", hf])
    return hf


def convert(work, size, hf, dtype):
    out = os.path.join(work, size, f"model-{dtype}.unispeech")
    _, _, wall, rss = run_measured([BIN, "convert", hf, "-o", out, "--dtype", dtype])
    source_bytes = os.path.getsize(os.path.join(hf, "model.safetensors"))
    return out, {"dtype": dtype, "seconds": wall, "input_mb": source_bytes / 1e6, "output_mb": os.path.getsize(out) / 1e6,
                 "mb_per_s": source_bytes / 1e6 / wall, "peak_rss_mb": rss}


def ensure_audio(work, seconds):
    path = os.path.join(work, f"audio-{seconds:g}s.npy")
    if not os.path.exists(path):
        run_process([sys.executable, TORCH_BENCH, "audio", "--seconds", str(seconds), "--out", path])
    return path


def read_logits(path):
    from safetensors.numpy import load_file
    return load_file(path)["logits"]


def time_torch(hf, audio, mode, threads, repeats, env):
    out, _, _, _ = run_process([sys.executable, TORCH_BENCH, "time", "--model", hf, "--audio", audio, "--mode", mode,
                                "--threads", str(threads), "--repeats", str(repeats)], env)
    result = json.loads(out.strip().splitlines()[-1])
    return {"engine": f"torch {mode}", "median_s": statistics.median(result["forward_s"]), "runs_s": result["forward_s"],
            "load_s": result["load_s"], "peak_rss_mb": result["peak_rss_mb"], "argmax": result["argmax"]}


def time_swift(model, audio, dtype, threads, repeats, work, env, gemm=None):
    """`unispeech run` on `model`; `gemm` names a backend other than the default (e.g. onednn-fused)."""
    output = os.path.join(work, f"logits-{dtype}{'-' + gemm if gemm else ''}.safetensors")
    walls, forwards, rss, phases = [], [], [], []
    for _ in range(repeats + 1):  # the first run warms the page cache
        _, err, wall, peak = run_measured([BIN, "run", model, audio, "--threads", str(threads), "--output", output] +
                                          (["--gemm", gemm] if gemm else []), env={**env, "UNISPEECH_TIMINGS": "1"})
        walls.append(wall)
        rss.append(peak)
        timing = [json.loads(line[len(TIMING_PREFIX):]) for line in err.splitlines() if line.startswith(TIMING_PREFIX)]
        if timing:
            phases.append(timing[-1])
            forwards.append(timing[-1]["forward_s"])
    walls, rss, forwards, phases = walls[1:], rss[1:], forwards[1:], phases[1:]
    result = {"engine": f"swift {dtype}{' ' + gemm if gemm else ''}", "process_median_s": statistics.median(walls), "runs_s": walls,
              "kernels": phases[-1].get("engine", "?") if phases else "?",
              "peak_rss_mb": max(rss), "argmax": read_logits(output)[0].argmax(-1).tolist()}
    result["median_s"] = statistics.median(forwards) if forwards else result["process_median_s"]
    if phases:
        result["phases"] = {key: statistics.median(p[key] for p in phases) for key in phases[0]
                            if isinstance(phases[0][key], (int, float))}
    return result


def agreement(a, b):
    n = min(len(a), len(b))
    return sum(x == y for x, y in zip(a[:n], b[:n])) / max(n, 1)


def benchmark(args):
    work = os.path.abspath(args.work)
    os.makedirs(work, exist_ok=True)
    log("building release")
    subprocess.run(["swift", "build", "-c", "release", "--package-path", ROOT], check=True, stdout=subprocess.DEVNULL)
    report = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
              "mode": "quick" if args.quick else "full", "machine": machine(), "versions": versions(),
              "engines": engines(), "load_before": os.getloadavg(), "isa": {}}
    thread_counts = [2, 1]
    sizes = args.sizes or (["base"] if args.quick else ["base", "large"])
    lengths = args.lengths or ([10] if args.quick else [1, 10, 30, 60])
    repeats = args.repeats or (3 if args.quick else 5)
    checkpoints, models = {}, {}
    for size in sizes:
        checkpoints[size] = ensure_checkpoint(work, size)
        report.setdefault("convert", {})[size] = []
        models[size] = {}
        for dtype in DTYPES:
            log(f"{size}: convert {dtype}")
            models[size][dtype], info = convert(work, size, checkpoints[size], dtype)
            report["convert"][size].append(info)
    for isa, (swift_env, torch_env) in ISA_MODES.items():
        if args.isa and isa not in args.isa:
            continue
        section = {"gemm": {t: gemm_peak(work, t, swift_env) for t in thread_counts}, "models": {}}
        for size in sizes:
            hf = checkpoints[size]
            entry = {"runs": []}
            tiny = ensure_audio(work, 0.1)
            log(f"{isa} {size}: load (run on 0.1 s)")
            entry["load"] = {}
            for dtype in DTYPES:
                result = time_swift(models[size][dtype], tiny, dtype, 1, repeats, work, swift_env)
                entry["load"][dtype] = {"load_s": result.get("phases", {}).get("load_s", float("nan")),
                                        "process_s": result["process_median_s"], "peak_rss_mb": result["peak_rss_mb"]}
            for seconds in lengths:
                if seconds != 10 and size not in (args.growth_sizes or sizes):
                    continue
                audio = ensure_audio(work, seconds)
                flops = json.loads(run_process([sys.executable, TORCH_BENCH, "flops", "--model", hf, "--seconds", str(seconds)])[0])
                for threads in (thread_counts if seconds == 10 else thread_counts[:1]):
                    log(f"{isa} {size}: {seconds} s audio, {threads} threads")
                    results = [time_torch(hf, audio, "fp32", threads, repeats, torch_env),
                               time_torch(hf, audio, "int8", threads, repeats, torch_env)]
                    results += [time_swift(models[size][d], audio, d, threads, repeats, work, swift_env) for d in DTYPES]
                    if seconds == 10:  # int8 scaled back inside oneDNN's matmul instead of in a pass of ours
                        results.append(time_swift(models[size]["int8"], audio, "int8", threads, repeats, work, swift_env,
                                                  gemm="onednn-fused"))
                    reference, swift32 = results[0], results[2]
                    for r in results:
                        r["ratio_to_torch_fp32"] = r["median_s"] / reference["median_s"]
                        r["process_ratio_to_torch_fp32"] = r.get("process_median_s", r["median_s"]) / reference["median_s"]
                        r["argmax_agreement_with_torch_fp32"] = agreement(r["argmax"], reference["argmax"])
                        r["argmax_agreement_with_swift_f32"] = agreement(r["argmax"], swift32["argmax"])
                        r["gflops"] = flops["flops"]["total"] / r["median_s"] / 1e9
                    for r in results:
                        del r["argmax"]
                    entry["runs"].append({"size": size, "seconds": seconds, "threads": threads, "frames": flops["frames"],
                                          "flops": flops["flops"], "results": results})
            section["models"][size] = entry
        report["isa"][isa] = section
    report["load_after"] = os.getloadavg()
    return report


def sgemm_peak(section, threads):
    rows = section["gemm"][threads]
    return statistics.median(r["sgemm_gflops"] for r in rows), statistics.median(r["u8s8_gops"] for r in rows)


def markdown(report):
    m, v = report["machine"], report["versions"]
    lines = [f"## {report['date']} ({report['mode']}, commit {v['commit']})", "",
             f"Machine: {m['cpu']}, {m['cpus']} CPUs, {m['memory_gib']} GiB, flags: {m['flags']}; kernel {m['kernel']}. "
             f"{v['swift']}; torch {v['torch']}, transformers {v['transformers']}. "
             f"Load average (1/5/15 min) before {tuple(round(x, 2) for x in report['load_before'])}, "
             f"after {tuple(round(x, 2) for x in report['load_after'])} (the machine is shared; see the ratios, "
             "which are measured in the same run).", ""]
    for size, converts in report["convert"].items():
        lines += [f"Convert ({size}): | to | seconds | input MB/s | output MB | peak RSS MB |", "|---|---|---|---|---|"]
        for c in converts:
            lines.append(f"| {c['dtype']} | {c['seconds']:.2f} | {c['mb_per_s']:.0f} | {c['output_mb']:.1f} | {c['peak_rss_mb']:.0f} |")
        lines.append("")
    for isa, section in report["isa"].items():
        seen = report["engines"][isa]
        lines += [f"### Instruction set: {isa} (oneDNN isa {seen.get('oneDNN isa', '?')}; OpenBLAS core "
                  f"{seen.get('OpenBLAS core', '?')}; cpu features {seen.get('cpu features', '?')})", "",
                  "GEMM probe at encoder shapes (M=499), median over shapes:", ""]
        for threads in section["gemm"]:
            sgemm, int8 = sgemm_peak(section, threads)
            lines.append(f"- {threads} thread(s): OpenBLAS sgemm {sgemm:.1f} GFLOP/s, oneDNN u8 x s8 {int8:.1f} GOP/s")
        for size, entry in section["models"].items():
            lines += ["", f"#### {size} ({isa})", "",
                      "Load (open + build the model; median of `run` on 0.1 s audio, 1 thread; whole process in brackets): " +
                      ", ".join(f"{d} {l['load_s'] * 1000:.0f} ms ({l['process_s'] * 1000:.0f} ms)" for d, l in entry["load"].items()), ""]
            lines += ["| audio | threads | engine | kernels | median s | x torch fp32 | whole process x torch fp32 | GFLOP/s | peak RSS MB | argmax = torch fp32 | argmax = swift f32 |",
                      "|---|---|---|---|---|---|---|---|---|---|---|"]
            for run in entry["runs"]:
                for r in run["results"]:
                    lines.append(f"| {run['seconds']:g} s | {run['threads']} | {r['engine']} | {r.get('kernels', 'torch')} | "
                                 f"{r['median_s']:.3f} | {r['ratio_to_torch_fp32']:.2f} | {r['process_ratio_to_torch_fp32']:.2f} | "
                                 f"{r['gflops']:.0f} | {r['peak_rss_mb']:.0f} | {100 * r['argmax_agreement_with_torch_fp32']:.1f}% | "
                                 f"{100 * r['argmax_agreement_with_swift_f32']:.1f}% |")
            phases = [(run, r) for run in entry["runs"] for r in run["results"] if "phases" in r]
            if phases:
                lines += ["", "Swift phases (median seconds; encoder = positional conv + transformer layers, "
                          "feature encoder = the conv stack on raw audio):", ""]
                for run, r in phases:
                    f = run["flops"]
                    encoder = (f["positional_conv"] + f["encoder_linear"] + f["attention"]) / r["phases"]["encoder_s"] / 1e9
                    convs = f["conv"] / r["phases"]["feature_encoder_s"] / 1e9
                    lines.append(f"- {run['seconds']:g} s, {run['threads']} thr, {r['engine']}: " +
                                 ", ".join(f"{k} {val:.3f}" for k, val in r["phases"].items()) +
                                 f"; encoder {encoder:.0f} GFLOP/s, feature encoder {convs:.0f} GFLOP/s")
        lines.append("")
    lines += [f"FLOPs: multiply-add = 2; swift median = forward time reported by `unispeech run` "
              f"(UNISPEECH_TIMINGS) when present, else the whole process; 'whole process' = the wall time of `unispeech run` "
              f"(load, audio, forward, output); torch median = forward only "
              f"(torch.inference_mode, dynamic int8 = quantize_dynamic on nn.Linear).", ""]
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--work", default="/tmp/unispeech-bench")
    parser.add_argument("--repeats", type=int, help="timed runs per engine (default 3 quick, 5 full)")
    parser.add_argument("--sizes", nargs="+", choices=["base", "large"], help="default: base (quick), base large")
    parser.add_argument("--lengths", nargs="+", type=float, help="audio seconds; default 10 (quick), 1 10 30 60")
    parser.add_argument("--growth-sizes", nargs="+", choices=["base", "large"],
                        help="sizes timed at every length (others at 10 s only); default: all")
    parser.add_argument("--isa", nargs="+", choices=list(ISA_MODES), help="instruction-set passes; default: all")
    parser.add_argument("--from-report", help="only format an earlier run's report.json as markdown (no append)")
    args = parser.parse_args()
    if args.from_report:
        with open(args.from_report) as f:
            report = json.load(f)
        for section in report["isa"].values():
            section["gemm"] = {int(k): v for k, v in section["gemm"].items()}
        print(markdown(report))
        return
    report = benchmark(args)
    with open(os.path.join(args.work, "report.json"), "w") as f:
        json.dump(report, f, indent=1)
    text = markdown(report)
    results = os.path.join(HERE, "RESULTS.md")
    if not os.path.exists(results):
        with open(results, "w") as f:
            f.write("# Benchmark results\n\nAppended by `benchmarks/run.sh`; newest last.\n\n")
    with open(results, "a") as f:
        f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
