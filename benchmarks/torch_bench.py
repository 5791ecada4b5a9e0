"""PyTorch side of the unispeech-swift benchmark (needs torch + transformers: /work/venv).

  torch_bench.py make --size base|large --out DIR     random-weight full-size UniSpeechForCTC checkpoint
  torch_bench.py audio --seconds S --out FILE.npy     the deterministic benchmark signal (16 kHz f32)
  torch_bench.py time --model DIR --audio FILE.npy --mode fp32|int8 --threads N --repeats R
        prints one JSON line: load seconds, forward seconds (each repeat), peak RSS, CTC argmax
  torch_bench.py flops --model DIR --seconds S        forward FLOPs (multiply-add = 2) by part

Each `time` call is its own process so that its peak RSS is its own.
"""

import argparse
import json
import resource
import sys
import time

SAMPLE_RATE = 16000

# Full-size shapes; everything else is transformers' UniSpeechConfig default (base).
SIZES = {
    "base": dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                 feat_extract_norm="group", do_stable_layer_norm=False, conv_bias=False),
    "large": dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096,
                  feat_extract_norm="layer", do_stable_layer_norm=True, conv_bias=True),
}
VOCAB = ["<pad>", "<s>", "</s>", "<unk>", "|"] + list("ETAONIHSRDLUMWCFGYPBVKXJQZ'")


def make(args):
    import os
    import torch
    from transformers import UniSpeechConfig, UniSpeechForCTC, Wav2Vec2FeatureExtractor

    torch.manual_seed(args.seed)
    config = UniSpeechConfig(vocab_size=len(VOCAB), pad_token_id=0, **SIZES[args.size])
    model = UniSpeechForCTC(config).eval()
    # Random init leaves the output near uniform; spread lm_head so CTC argmax is not a near tie everywhere.
    with torch.no_grad():
        model.lm_head.weight.normal_(0, 0.5)
    os.makedirs(args.out, exist_ok=True)
    model.save_pretrained(args.out, safe_serialization=True)
    Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=SAMPLE_RATE, padding_value=0.0, do_normalize=True,
                             return_attention_mask=config.feat_extract_norm == "layer").save_pretrained(args.out)
    with open(os.path.join(args.out, "vocab.json"), "w") as f:
        json.dump({token: i for i, token in enumerate(VOCAB)}, f)
    print(json.dumps({"size": args.size, "parameters": sum(p.numel() for p in model.parameters())}))


def signal(seconds, seed=7):
    """Speech-like test signal: gliding harmonics with a syllable envelope plus noise."""
    import numpy as np

    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    pitch = 120 + 30 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(pitch) / SAMPLE_RATE
    voice = sum(np.sin(h * phase) / h for h in range(1, 8))
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3.1 * t) ** 2
    return (0.3 * voice * envelope + 0.02 * rng.standard_normal(t.size)).astype(np.float32)


def audio(args):
    import numpy as np

    np.save(args.out, signal(args.seconds))


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def time_forward(args):
    import numpy as np
    import torch
    from transformers import UniSpeechForCTC, Wav2Vec2FeatureExtractor

    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    model = UniSpeechForCTC.from_pretrained(args.model).eval()
    if args.mode == "int8":
        model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, dtype=torch.qint8)
    load = time.perf_counter() - start
    samples = np.load(args.audio)
    extractor = Wav2Vec2FeatureExtractor.from_pretrained(args.model)
    inputs = extractor(samples, sampling_rate=SAMPLE_RATE, return_tensors="pt")
    times = []
    with torch.inference_mode():
        for repeat in range(args.warmup + args.repeats):
            start = time.perf_counter()
            logits = model(**inputs).logits
            if repeat >= args.warmup:
                times.append(time.perf_counter() - start)
    print(json.dumps({
        "engine": f"torch-{args.mode}", "threads": args.threads, "load_s": load, "forward_s": times,
        "peak_rss_mb": peak_rss_mb(), "frames": int(logits.shape[1]),
        "argmax": logits[0].argmax(-1).tolist(), "torch": torch.__version__,
    }))


def flops(args):
    from transformers import UniSpeechConfig

    config = UniSpeechConfig.from_pretrained(args.model)
    length = int(args.seconds * SAMPLE_RATE)
    conv, channels = 0, 1
    for dim, kernel, stride in zip(config.conv_dim, config.conv_kernel, config.conv_stride):
        length = (length - kernel) // stride + 1
        conv += 2 * length * dim * channels * kernel
        channels = dim
    frames, hidden = length, config.hidden_size
    projection = 2 * frames * channels * hidden
    positional = 2 * frames * hidden * (hidden // config.num_conv_pos_embedding_groups) * config.num_conv_pos_embeddings
    linear = config.num_hidden_layers * 2 * frames * hidden * (4 * hidden + 2 * config.intermediate_size)
    attention = config.num_hidden_layers * 2 * 2 * frames * frames * hidden
    head = 2 * frames * hidden * config.vocab_size
    parts = {"conv": conv, "projection": projection, "positional_conv": positional,
             "encoder_linear": linear, "attention": attention, "lm_head": head}
    parts["total"] = sum(parts.values())
    print(json.dumps({"frames": frames, "flops": parts}))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("make")
    p.add_argument("--size", choices=SIZES, required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=0)
    p = sub.add_parser("audio")
    p.add_argument("--seconds", type=float, required=True)
    p.add_argument("--out", required=True)
    p = sub.add_parser("time")
    p.add_argument("--model", required=True)
    p.add_argument("--audio", required=True)
    p.add_argument("--mode", choices=["fp32", "int8"], required=True)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--warmup", type=int, default=1)
    p = sub.add_parser("flops")
    p.add_argument("--model", required=True)
    p.add_argument("--seconds", type=float, required=True)
    args = parser.parse_args()
    {"make": make, "audio": audio, "time": time_forward, "flops": flops}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
