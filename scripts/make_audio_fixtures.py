#!/usr/bin/env python3
"""Makes Tests/Fixtures/audio/: small audio files, broken files, and the resampling golden.

Run by hand: /work/venv/bin/python scripts/make_audio_fixtures.py

- chirp-44k-stereo.wav: 0.15 s, 16-bit, 44.1 kHz, two different channels.
  resample_golden.json holds its mono mix (mean of channels of the int16 / 32768 samples, what
  libsndfile returns) resampled to 16 kHz by python-soxr at quality "HQ" (libsoxr SOXR_HQ), the
  setting unispeech's Resampler asks soxr_oneshot for.
- chirp-16k-three-channels.wav: 3 channels, 16 kHz (no resampling), for the channel mean.
- chirp-16k.flac / chirp-16k.ogg: the first channel of the 16 kHz file as FLAC (lossless) and Vorbis.
- broken inputs: empty.wav (0 bytes), text.wav (not audio), truncated.wav (header cut),
  zero-rate.wav (a valid header with 0 Hz), no-samples.wav (a valid header, no frames).
"""

import json
import struct
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import soxr

OUT = Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "audio"


def chirp(rate, seconds, f0, f1, phase=0.0):
    t = np.arange(int(rate * seconds)) / rate
    return 0.5 * np.sin(phase + 2 * np.pi * (f0 * t + (f1 - f0) * t * t / (2 * seconds)))


def write_pcm16(path, channels, rate):
    """channels: list of float arrays of equal length."""
    frames = np.stack(channels, axis=1)  # [T, C]
    pcm = np.round(np.clip(frames, -1, 1) * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(len(channels))
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())
    return pcm.astype(np.float32) / 32768.0  # what libsndfile returns, [T, C]


def wav_header(channels, rate, frames):
    data = frames * channels * 2
    return (b"RIFF" + struct.pack("<I", 36 + data) + b"WAVE" + b"fmt " +
            struct.pack("<IHHIIHH", 16, 1, channels, rate, rate * channels * 2, channels * 2, 16) +
            b"data" + struct.pack("<I", data))


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    stereo = write_pcm16(OUT / "chirp-44k-stereo.wav",
                         [chirp(44100, 0.15, 200, 3000), 0.6 * chirp(44100, 0.15, 5000, 300, phase=1.0)], 44100)
    mono = stereo.mean(axis=1, dtype=np.float32)
    resampled = soxr.resample(mono, 44100, 16000, quality="HQ")
    assert np.array_equal(resampled, soxr._resample_oneshot(mono, 44100, 16000, "HQ"))

    three = write_pcm16(OUT / "chirp-16k-three-channels.wav",
                        [chirp(16000, 0.2, 300, 2000), chirp(16000, 0.2, 900, 400), chirp(16000, 0.2, 60, 70)], 16000)
    subprocess.run(["sox", str(OUT / "chirp-16k-three-channels.wav"), str(OUT / "chirp-16k.flac"), "remix", "1"],
                   check=True)
    subprocess.run(["sox", str(OUT / "chirp-16k-three-channels.wav"), "-C", "3", str(OUT / "chirp-16k.ogg"),
                    "remix", "1"], check=True)

    (OUT / "empty.wav").write_bytes(b"")
    (OUT / "text.wav").write_text("this is not audio, only text pretending to be a wav file\n")
    (OUT / "truncated.wav").write_bytes((OUT / "chirp-44k-stereo.wav").read_bytes()[:30])
    (OUT / "zero-rate.wav").write_bytes(wav_header(1, 0, 100) + bytes(200))
    (OUT / "no-samples.wav").write_bytes(wav_header(1, 16000, 0))

    golden = {
        "made_by": "scripts/make_audio_fixtures.py",
        "versions": {"python": sys.version.split()[0], "numpy": np.__version__, "soxr": soxr.__version__,
                     "libsoxr": getattr(soxr, "__libsoxr_version__", "bundled with python-soxr"),
                     "sox": subprocess.run(["sox", "--version"], capture_output=True, text=True).stdout.strip()},
        "stereo_file": "chirp-44k-stereo.wav",
        "stereo_rate": 44100,
        "stereo_frames": int(stereo.shape[0]),
        "mono_first_samples": [float(x) for x in mono[:16]],
        "target_rate": 16000,
        "resampled": [float(x) for x in resampled],
        "three_channel_file": "chirp-16k-three-channels.wav",
        "three_channel_mean_first_samples": [float(x) for x in three.mean(axis=1, dtype=np.float32)[:16]],
        "flac_first_channel_first_samples": [float(x) for x in three[:16, 0]],
        "three_channel_frames": int(three.shape[0]),
    }
    (OUT / "resample_golden.json").write_text(json.dumps(golden) + "\n")
    print("wrote", sorted(p.name for p in OUT.iterdir()))


if __name__ == "__main__":
    main()
