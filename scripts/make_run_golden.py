#!/usr/bin/env python3
"""Makes Tests/Fixtures/audio/run_golden_44k_stereo.json: transformers' CTC logits and transcript for the
demo's 44.1 kHz stereo example, fed the way `unispeech run` feeds it.

Run by hand after scripts/train_demo.py: /work/venv/bin/python scripts/make_run_golden.py

The wav is read as libsndfile reads it (int16 / 32768), mixed to mono by the mean of its channels in
f32, and resampled to the model's sampling_rate by python-soxr at quality "HQ" (libsoxr SOXR_HQ, the
setting unispeech's Resampler passes to soxr_oneshot). Wav2Vec2FeatureExtractor and UniSpeechForCTC
then give the logits; Wav2Vec2CTCTokenizer gives the transcript and word offsets.
"""

import json
import sys
import wave
from pathlib import Path

import numpy as np
import soxr
import torch
import transformers
from transformers import UniSpeechForCTC, Wav2Vec2CTCTokenizer, Wav2Vec2FeatureExtractor

ROOT = Path(__file__).resolve().parent.parent
MODEL = ROOT / "examples" / "unispeech-digits-ctc"
OUT = ROOT / "Tests" / "Fixtures" / "audio" / "run_golden_44k_stereo.json"


def main():
    metrics = json.loads((ROOT / "examples" / "metrics.json").read_text())
    audio_file = next(e["file"] for e in metrics["examples"] if e["file"].endswith("-44k-stereo.wav"))
    with wave.open(str(ROOT / "examples" / audio_file)) as w:
        channels, rate = w.getnchannels(), w.getframerate()
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").reshape(-1, channels)
    assert channels == 2 and rate == 44100, (channels, rate)
    mono = (pcm.astype(np.float32) / 32768.0).mean(axis=1, dtype=np.float32)

    extractor = Wav2Vec2FeatureExtractor.from_pretrained(MODEL)
    samples = soxr.resample(mono, rate, extractor.sampling_rate, quality="HQ")
    model = UniSpeechForCTC.from_pretrained(MODEL).eval()
    tokenizer = Wav2Vec2CTCTokenizer.from_pretrained(MODEL)
    inputs = extractor(samples, sampling_rate=extractor.sampling_rate, return_tensors="pt")
    with torch.no_grad():
        logits = model(inputs.input_values, attention_mask=inputs.get("attention_mask")).logits  # [1, T, V]
    ids = logits.argmax(-1)[0]
    decoded = tokenizer.decode(ids, output_word_offsets=True)
    golden = {
        "made_by": "scripts/make_run_golden.py",
        "versions": {"python": sys.version.split()[0], "torch": torch.__version__,
                     "transformers": transformers.__version__, "numpy": np.__version__, "soxr": soxr.__version__},
        "model": "examples/unispeech-digits-ctc",
        "audio": f"examples/{audio_file}",
        "resampled_samples": int(samples.shape[0]),
        "logits_shape": list(logits.shape),
        "logits": [float(x) for x in logits.flatten()],
        "transcript": decoded.text,
        "word_offsets": [{"word": w["word"], "start_offset": int(w["start_offset"]), "end_offset": int(w["end_offset"])}
                         for w in decoded.word_offsets],
    }
    OUT.write_text(json.dumps(golden) + "\n")
    print(f"wrote {OUT}: {golden['transcript']!r}, logits {golden['logits_shape']}")


if __name__ == "__main__":
    main()
