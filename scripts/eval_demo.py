#!/usr/bin/env python3
"""Evaluates the demo models through the Swift tool, f32 and int8, on the 200 held-out utterances.

Run by hand after `swift build -c release` (numpy + soxr + espeak-ng, no torch):

    /work/venv/bin/python scripts/eval_demo.py

Converts examples/unispeech-digits-{ctc,classifier} to .unispeech at f32 and int8, runs
`unispeech run FILE.unispeech UTTERANCE.npy --json` one utterance at a time (the float32 samples the
Python evaluation in train_demo.py feeds transformers, so both see the same input), and computes the
character error rate, the exact-transcript rate and the classifier accuracy. The results go into
examples/metrics.json under "swift" (the f32 PyTorch numbers there come from train_demo.py --stage eval).
The held-out set comes from the training cache when there is one, else it is re-synthesised.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from demo_data import DEFAULT_WORK, character_error_rate, held_out_set, log

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
MODELS = {"ctc": EXAMPLES / "unispeech-digits-ctc", "classifier": EXAMPLES / "unispeech-digits-classifier"}
DTYPES = ["f32", "int8"]


def run_one(binary, model, npy, threads, logits_path=None):
    """One `unispeech run --json` on one utterance -> its input report (and the logits in `logits_path`)."""
    argv = [str(binary), "run", str(model), str(npy), "--json", "--threads", str(threads)]
    if logits_path is not None:
        argv += ["--output", str(logits_path)]
    out = subprocess.run(argv, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{binary} run {model} {npy} failed ({out.returncode}): {out.stderr.strip()}")
    report = json.loads(out.stdout)
    return report["inputs"][0], report["seconds"]


def read_f32_tensor(path, name):
    """One F32 tensor of a safetensors file (8-byte header length, JSON header, data), without torch."""
    data = Path(path).read_bytes()
    header_length = int.from_bytes(data[:8], "little")
    entry = json.loads(data[8:8 + header_length])[name]
    begin, end = entry["data_offsets"]
    start = 8 + header_length
    return np.frombuffer(data[start + begin:start + end], dtype="<f4").reshape(entry["shape"])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default=str(ROOT / ".build" / "release" / "unispeech"))
    parser.add_argument("--work", default=DEFAULT_WORK, help="synthesis cache directory of train_demo.py")
    parser.add_argument("--out", default=str(ROOT / ".build" / "demo-eval"), help="where the .unispeech files go")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--metrics", default=str(EXAMPLES / "metrics.json"))
    args = parser.parse_args()

    binary, out_dir = Path(args.binary), Path(args.out)
    if not binary.exists():
        sys.exit(f"{binary}: not found (swift build -c release)")
    out_dir.mkdir(parents=True, exist_ok=True)
    held_out = held_out_set(Path(args.work))
    singles = [it for it in held_out if it["label"] is not None]
    references = [it["text"].lower() for it in held_out]

    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for index, item in enumerate(held_out):
            paths.append(Path(tmp) / f"{index:03d}.npy")
            np.save(paths[-1], item["audio"].astype(np.float32))
        single_paths = [p for p, it in zip(paths, held_out) if it["label"] is not None]
        frame_argmax = {}  # dtype -> the CTC argmax of every frame of every utterance
        for dtype in DTYPES:
            files = {}
            for name, source in MODELS.items():
                files[name] = out_dir / f"digits-{name}-{dtype}.unispeech"
                subprocess.run([str(binary), "convert", str(source), "-o", str(files[name]), "--dtype", dtype],
                               check=True, capture_output=True)
            start = time.time()
            logits = [Path(tmp) / f"logits-{dtype}-{i:03d}.safetensors" for i in range(len(paths))]
            runs = [run_one(binary, files["ctc"], p, args.threads, q) for p, q in zip(paths, logits)]
            frame_argmax[dtype] = np.concatenate([read_f32_tensor(q, "logits")[0].argmax(-1) for q in logits])
            hypotheses = [report["transcript"] for report, _ in runs]
            labels = [run_one(binary, files["classifier"], p, args.threads)[0]["label"] for p in single_paths]
            cer = character_error_rate(hypotheses, references)
            exact = sum(h == r for h, r in zip(hypotheses, references)) / len(references)
            accuracy = sum(label == it["text"].lower() for label, it in zip(labels, singles)) / len(singles)
            results[dtype] = {
                "ctc_character_error_rate": round(cer, 5),
                "ctc_exact_transcripts": round(exact, 4),
                "classifier_accuracy": round(accuracy, 4),
                "ctc_file_bytes": files["ctc"].stat().st_size,
                "classifier_file_bytes": files["classifier"].stat().st_size,
            }
            log(f"swift {dtype}: CER {cer:.4f}, exact {exact:.3f}, digit accuracy {accuracy:.3f} on {len(singles)} "
                f"({time.time() - start:.0f} s, mean forward {np.mean([s for _, s in runs]) * 1000:.0f} ms)")
            wrong = [(r, h) for r, h in zip(references, hypotheses) if r != h]
            log(f"  {len(wrong)} wrong transcripts, e.g. {wrong[:5]}")
        agreement = float(np.mean(frame_argmax["int8"] == frame_argmax["f32"]))
        results["int8"]["ctc_frame_argmax_agreement_with_f32"] = round(agreement, 5)
        results["int8"]["ctc_frames"] = int(frame_argmax["f32"].size)
        log(f"int8 CTC argmax = f32 argmax on {agreement:.4%} of {frame_argmax['f32'].size} frames")

    metrics_path = Path(args.metrics)
    metrics = json.loads(metrics_path.read_text())
    metrics["swift"] = {
        "how": "unispeech convert --dtype DTYPE, then unispeech run FILE.unispeech UTTERANCE.npy --json, "
               "one utterance at a time (scripts/eval_demo.py)",
        "threads": args.threads,
        **results,
    }
    temporary = metrics_path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(metrics, indent=2) + "\n")
    os.replace(temporary, metrics_path)
    log(f"wrote {metrics_path}")


if __name__ == "__main__":
    main()
