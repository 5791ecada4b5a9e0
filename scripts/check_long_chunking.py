#!/usr/bin/env python3
"""Checks `unispeech run MODEL FILE --chunk-length S [--stride ...] --json` against transformers' ASR pipeline with
chunk_length_s / stride_length_s on the same file: the transcript and every word with its timestamps must be equal.

Run by hand (benchmarks/many_files.sh calls it on its one-hour file):
    /work/venv/bin/python scripts/check_long_chunking.py --model examples/unispeech-digits-ctc --audio long.wav \
        --chunk-length 30 --unispeech-json long-chunked.json

The audio must already be at the model's sampling rate and mono (soundfile.read(dtype="float32") gives the samples
libsndfile gives unispeech). Prints one line per check and exits 1 when they differ.
"""

import argparse
import json
import sys
import time

import soundfile
import transformers
from transformers import pipeline


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--audio", required=True)
    parser.add_argument("--chunk-length", type=float, required=True)
    parser.add_argument("--stride", type=float, nargs="*", help="one value or LEFT RIGHT; default chunk / 6")
    parser.add_argument("--unispeech-json", required=True, help="the output of unispeech run ... --json")
    args = parser.parse_args()

    samples, rate = soundfile.read(args.audio, dtype="float32")
    asr = pipeline("automatic-speech-recognition", model=args.model, device="cpu")
    assert samples.ndim == 1 and rate == asr.feature_extractor.sampling_rate, (samples.shape, rate)
    kwargs = {"chunk_length_s": args.chunk_length}
    if args.stride:
        kwargs["stride_length_s"] = args.stride[0] if len(args.stride) == 1 else list(args.stride)
    start = time.time()
    result = asr(samples, return_timestamps="word", **kwargs)
    seconds = time.time() - start
    words = [{"text": c["text"], "timestamp": [float(t) for t in c["timestamp"]]} for c in result["chunks"]]

    with open(args.unispeech_json) as file:
        ours = json.load(file)["inputs"][0]
    our_words = [{"text": w["word"], "timestamp": [w["start_time"], w["end_time"]]} for w in ours["words"]]
    print(f"transformers {transformers.__version__}: {len(samples) / rate:.1f} s of audio in {seconds:.1f} s, "
          f"{len(words)} words, {len(result['text'])} characters")
    same_text = result["text"] == ours["transcript"]
    print(f"transcript: {'equal' if same_text else 'DIFFERENT'}")
    first_difference = next((i for i, (a, b) in enumerate(zip(words, our_words)) if a != b), None)
    if first_difference is None and len(words) != len(our_words):
        first_difference = min(len(words), len(our_words))
    if first_difference is None:
        print(f"words and timestamps: equal ({len(words)} words)")
    else:
        print(f"words and timestamps: DIFFERENT from word {first_difference}: "
              f"transformers {words[first_difference:first_difference + 3]}, "
              f"unispeech {our_words[first_difference:first_difference + 3]}")
    sys.exit(0 if same_text and first_difference is None else 1)


if __name__ == "__main__":
    main()
