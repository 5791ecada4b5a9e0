"""The demo's espeak-ng digit data, shared by train_demo.py and eval_demo.py (numpy + soxr, no torch).

The held-out set (voice "en-us-nyc", never trained on) is fixed by the seed: eval_demo.py can
re-synthesise it without the training cache, and gets the same utterances.
"""

import io
import random
import subprocess
import tempfile
import time
import wave
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import soxr

SAMPLING_RATE = 16_000
DIGITS = ["ZERO", "ONE", "TWO", "THREE", "FOUR", "FIVE", "SIX", "SEVEN", "EIGHT", "NINE"]
TRAIN_VOICES = ["en", "en-us", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp", "en-gb-x-gbcwmd", "en-029"]
HELD_OUT_VOICE = "en-us-nyc"
VARIANTS_PER_VOICE = 42  # 7 voices x 42 variants ~ 290 voice variants
TRAIN_UTTERANCES = 8000
HELD_OUT_UTTERANCES = 200
SINGLE_DIGIT_SHARE = 0.3  # single words also train the classifier
DATA_SEED = 1234
DEFAULT_WORK = "/tmp/unispeech-demo-data"  # synthesis cache directory
CACHE_NAME = "dataset.npz"


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def espeak_variants():
    out = subprocess.run(["espeak-ng", "--voices=variant"], capture_output=True, text=True, check=True).stdout
    return [line.split()[4].removeprefix("!v/") for line in out.splitlines()[1:] if line.strip()]


def read_wav(data):
    with wave.open(io.BytesIO(data)) as w:
        assert w.getnchannels() == 1 and w.getsampwidth() == 2
        rate = w.getframerate()
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0
    return pcm, rate


def write_wav(path, audio, rate=SAMPLING_RATE):
    pcm = (np.clip(audio, -1, 1) * 32767).round().astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


def synthesise(item):
    """espeak-ng -> float32 mono at 16 kHz."""
    with tempfile.NamedTemporaryFile(suffix=".wav") as f:
        subprocess.run(
            ["espeak-ng", "-w", f.name, "-v", item["voice"], "-s", str(item["speed"]), "-p", str(item["pitch"]),
             item["text"].lower()],
            check=True, capture_output=True)
        pcm, rate = read_wav(Path(f.name).read_bytes())
    return soxr.resample(pcm, rate, SAMPLING_RATE).astype(np.float32)


def make_items(rng, count, voices):
    items = []
    for _ in range(count):
        if rng.random() < SINGLE_DIGIT_SHARE:
            label = rng.randrange(10)
            text = DIGITS[label]
        else:
            label = None
            text = " ".join(DIGITS[rng.randrange(10)] for _ in range(rng.randint(1, 4)))
        items.append({"text": text, "label": label, "voice": rng.choice(voices),
                      "speed": rng.randint(120, 200), "pitch": rng.randint(20, 80)})
    return items


def plan_items():
    """(train, held_out) item lists without audio, fixed by DATA_SEED."""
    rng = random.Random(DATA_SEED)
    variants = espeak_variants()
    train_voices = [f"{v}+{x}" for v in TRAIN_VOICES for x in rng.sample(variants, VARIANTS_PER_VOICE)]
    held_out_voices = [f"{HELD_OUT_VOICE}+{x}" for x in rng.sample(variants, 12)]
    train = make_items(rng, TRAIN_UTTERANCES, train_voices)
    held_out = make_items(rng, HELD_OUT_UTTERANCES, held_out_voices)
    return train, held_out


def add_audio(items):
    with ThreadPoolExecutor(max_workers=2) as pool:
        for item, audio in zip(items, pool.map(synthesise, items)):
            item["audio"] = audio


def build_dataset(work):
    """(train, held_out) with audio, synthesised once and cached in work/dataset.npz."""
    cache = work / CACHE_NAME
    if cache.exists():
        log(f"using cached synthesis {cache}")
        blob = np.load(cache, allow_pickle=True)
        return list(blob["train"]), list(blob["held_out"])
    train, held_out = plan_items()
    log(f"synthesising {len(train)} + {len(held_out)} utterances")
    start = time.time()
    add_audio(train + held_out)
    log(f"synthesis done in {time.time() - start:.0f} s")
    np.savez(cache, train=np.array(train, dtype=object), held_out=np.array(held_out, dtype=object))
    return train, held_out


def held_out_set(work):
    """The held-out utterances: from the cache when there is one, else synthesised (200, a few seconds)."""
    cache = work / CACHE_NAME
    if cache.exists():
        return build_dataset(work)[1]
    _, held_out = plan_items()
    log(f"synthesising the {len(held_out)} held-out utterances")
    add_audio(held_out)
    return held_out


def edit_distance(a, b):
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def character_error_rate(hypotheses, references):
    """Edit distance summed over utterances / reference characters (spaces count)."""
    return sum(edit_distance(h, r) for h, r in zip(hypotheses, references)) / sum(len(r) for r in references)


def example_items(held_out):
    """The held-out utterances exported to examples/audio: the first 4 multi-digit sequences and the
    first 3 single digits, in held-out order (no choosing by result)."""
    singles = [it for it in held_out if it["label"] is not None]
    sequences = [it for it in held_out if it["label"] is None and " " in it["text"]]
    return [("sequence", it) for it in sequences[:4]] + [("word", it) for it in singles[:3]]
