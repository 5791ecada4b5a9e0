#!/usr/bin/env python3
"""Makes Tests/Fixtures/chunking/expected.json: transformers' ASR pipeline on a ~30 s recording, unchunked and
with several chunk_length_s / stride_length_s settings, for `unispeech run --chunk-length S --stride S`; plus
versions.json beside it.

Run by hand: /work/venv/bin/python scripts/make_chunk_golden.py

The recording is not committed; expected.json holds its recipe: the 16 kHz mono example wavs in RECIPE_FILES
order, each read with soundfile.read(dtype="float32") (int16 / 32768), the whole list repeated RECIPE_REPEATS
times, consecutive pieces separated by RECIPE_GAP zero samples (no gap before the first piece or after the
last). The float32 array goes to pipeline("automatic-speech-recognition", model=examples/unispeech-digits-ctc)
as a bare 1-D array (taken to be at the feature extractor's 16 kHz), batch size 1.

For every setting the fixture stores what the pipeline returned (text, and the word chunks of a second call
with return_timestamps="word") and, captured from inside that same call, the chunks it cut (sample strides
from preprocess, logit strides and logit frame counts from the model outputs) and the token ids its
postprocess joined and decoded: the argmax frame sequence after the strides were dropped.
"""

import itertools
import json
import platform
from pathlib import Path

import numpy as np
import soundfile
import torch
import transformers
from transformers import pipeline

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "examples" / "unispeech-digits-ctc"
OUT = ROOT / "Tests" / "Fixtures" / "chunking"
RECIPE_FILES = [
    "examples/audio/sequence-1-zero-three-zero-eight.wav",
    "examples/audio/sequence-2-two-one-one-eight.wav",
    "examples/audio/sequence-3-two-one-four.wav",
    "examples/audio/sequence-4-three-eight.wav",
    "examples/audio/word-5-seven.wav",
    "examples/audio/word-6-one.wav",
    "examples/audio/word-7-zero.wav",
]
RECIPE_REPEATS = 3
RECIPE_GAP = 4000

# name: (chunk_length_s, stride_length_s); None chunk = unchunked, None stride = the pipeline's chunk / 6.
SETTINGS = {
    "unchunked": (None, None),
    "chunk4_default": (4.0, None),
    "chunk3_stride0.5": (3.0, 0.5),
    "chunk6_stride1.0_0.5": (6.0, [1.0, 0.5]),
    "chunk3.01_stride0.25": (3.01, 0.25),
    "chunk4_stride0.5_0": (4.0, [0.5, 0.0]),
}


def build_recording():
    pieces = []
    for _ in range(RECIPE_REPEATS):
        for name in RECIPE_FILES:
            samples, rate = soundfile.read(str(ROOT / name), dtype="float32")
            assert rate == 16000 and samples.ndim == 1, (name, rate, samples.shape)
            if pieces:
                pieces.append(np.zeros(RECIPE_GAP, dtype=np.float32))
            pieces.append(samples)
    return np.concatenate(pieces)


class Capture:
    """Wraps one pipeline's preprocess, postprocess and decode to record what a call did inside."""

    def __init__(self, asr):
        self.sample_strides, self.logit_strides, self.logit_frames, self.decoded_ids = [], [], [], None
        self.logits = []
        asr.model.register_forward_hook(lambda module, args, output: self.logits.append(output.logits.detach()))
        preprocess, postprocess, decode = asr.preprocess, asr.postprocess, asr.tokenizer.decode

        def recording_preprocess(*args, **kwargs):
            for item in preprocess(*args, **kwargs):
                if "stride" in item:
                    self.sample_strides.append([int(v) for v in item["stride"]])
                yield item

        def recording_postprocess(model_outputs, **kwargs):
            for output in model_outputs:
                self.logit_frames.append(int(output["tokens"].shape[1]))
                if "stride" in output:
                    self.logit_strides.append([int(v) for v in output["stride"]])
            return postprocess(model_outputs, **kwargs)

        def recording_decode(token_ids, **kwargs):
            if self.decoded_ids is None:
                self.decoded_ids = [int(v) for v in token_ids]
            return decode(token_ids, **kwargs)

        asr.preprocess, asr.postprocess = recording_preprocess, recording_postprocess
        asr.tokenizer.decode = recording_decode

    def reset(self):
        self.sample_strides, self.logit_strides, self.logit_frames, self.decoded_ids = [], [], [], None
        self.logits = []


def min_top2_margin(capture):
    """Smallest top-1 minus top-2 logit over the frames the pipeline kept (how safe an argmax comparison is).

    Cuts each chunk's logits as the notes say postprocess does ([left : token_n - right] of the logit stride)
    and checks that the argmax of the cut logits is the id sequence the pipeline decoded."""
    kept = []
    for i, logits in enumerate(capture.logits):  # [1, T, V]
        if capture.logit_strides:
            token_n, left, right = capture.logit_strides[i]
            logits = logits[:, left:token_n - right]
        kept.append(logits[0])
    kept = torch.cat(kept)  # [frames, V]
    assert kept.argmax(-1).tolist() == capture.decoded_ids
    top2 = kept.topk(2, dim=-1).values  # [frames, 2]
    return float((top2[:, 0] - top2[:, 1]).min())


def replay(recording, chunk_length_s, stride_length_s, extractor, model, vocabulary, ratio):
    """The algorithm of /work/notes/asr-chunking.md written out with the feature extractor and model alone; the
    script asserts it gives the pipeline's ids and word timestamps, so the notes are checked, not just read."""
    rate = extractor.sampling_rate

    def argmax_ids(samples):
        inputs = extractor(samples, sampling_rate=rate, return_tensors="pt", return_attention_mask=True)
        with torch.no_grad():
            return model(inputs.input_values, attention_mask=inputs.attention_mask).logits.argmax(-1)[0].tolist()

    if not chunk_length_s:
        ids = argmax_ids(recording)
    else:
        stride = chunk_length_s / 6 if stride_length_s is None else stride_length_s
        stride = [stride, stride] if isinstance(stride, (int, float)) else stride
        chunk_len = int(round(chunk_length_s * rate / ratio) * ratio)
        stride_left = int(round(stride[0] * rate / ratio) * ratio)
        stride_right = int(round(stride[1] * rate / ratio) * ratio)
        ids = []
        for start in range(0, len(recording), chunk_len - stride_left - stride_right):
            chunk = recording[start:start + chunk_len]
            is_last = start + chunk_len >= len(recording)
            left, right = (0 if start == 0 else stride_left), (0 if is_last else stride_right)
            token_n = int(round(len(chunk) * (1 / ratio)))
            left, right = int(round(left / len(chunk) * token_n)), int(round(right / len(chunk) * token_n))
            ids += argmax_ids(chunk)[left:token_n - right]
            if is_last:
                break
    runs, frame = [], 0  # CTC runs over the joined ids: (token, first frame, frame after the last)
    for token_id, group in itertools.groupby(ids):
        length = len(list(group))
        runs.append((vocabulary[token_id], frame, frame + length))
        frame += length
    words, word = [], None
    for char, start, end in [run for run in runs if run[0] != "<pad>"] + [("|", None, None)]:
        if char == "|":
            if word is not None:
                words.append({"text": word[0], "timestamp": [word[1] * ratio / rate, word[2] * ratio / rate]})
            word = None
        else:
            word = [char, start, end] if word is None else [word[0] + char, word[1], end]
    return ids, words


def main():
    recording = build_recording()
    asr = pipeline("automatic-speech-recognition", model=str(MODEL), device="cpu")
    assert asr.type == "ctc" and asr.feature_extractor.sampling_rate == 16000
    capture = Capture(asr)
    results = {}
    for name, (chunk, stride) in SETTINGS.items():
        kwargs = {} if chunk is None else {"chunk_length_s": chunk}
        if stride is not None:
            kwargs["stride_length_s"] = stride
        capture.reset()
        plain = asr(recording.copy(), **kwargs)
        record = {
            "chunk_length_s": chunk,
            "stride_length_s": stride,
            "text": plain["text"],
            "chunks": [{"sample_stride": s, "logit_stride": l, "logit_frames": f} for s, l, f in
                       zip(capture.sample_strides, capture.logit_strides, capture.logit_frames)]
            if chunk is not None else [{"sample_stride": None, "logit_stride": None,
                                        "logit_frames": capture.logit_frames[0]}],
            "min_top2_margin": min_top2_margin(capture),
            "ids": capture.decoded_ids,
        }
        plain_ids = capture.decoded_ids
        capture.reset()
        timed = asr(recording.copy(), return_timestamps="word", **kwargs)
        assert timed["text"] == plain["text"] and capture.decoded_ids == plain_ids, name
        record["words"] = [{"text": c["text"], "timestamp": [float(t) for t in c["timestamp"]]}
                           for c in timed["chunks"]]
        record["joined_frames"] = len(plain_ids)
        replayed_ids, replayed_words = replay(recording, chunk, stride, asr.feature_extractor, asr.model,
                                              {v: k for k, v in asr.tokenizer.get_vocab().items()},
                                              asr.model.config.inputs_to_logits_ratio)
        assert replayed_ids == plain_ids and replayed_words == record["words"], name
        results[name] = record
        print(f"{name}: {len(record['chunks'])} chunks, {len(plain_ids)} frames, {plain['text']!r}")

    expected = {
        "made_by": "scripts/make_chunk_golden.py",
        "model": "examples/unispeech-digits-ctc",
        "inputs_to_logits_ratio": int(asr.model.config.inputs_to_logits_ratio),
        "sampling_rate": asr.feature_extractor.sampling_rate,
        "recording": {
            "files": RECIPE_FILES,
            "repeats": RECIPE_REPEATS,
            "gap_samples": RECIPE_GAP,
            "total_samples": int(recording.shape[0]),
            "sum": float(recording.astype(np.float64).sum()),
            "sum_abs": float(np.abs(recording.astype(np.float64)).sum()),
        },
        "settings": results,
    }
    (OUT / "expected.json").write_text(json.dumps(expected, separators=(",", ":")) + "\n")
    versions = {
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "soundfile": soundfile.__version__,
        "python": platform.python_version(),
    }
    (OUT / "versions.json").write_text(json.dumps(versions, indent=2) + "\n")


if __name__ == "__main__":
    main()
