"""Full-size parity and timing check against PyTorch (not a fixture: the model is ~380 MB, keep it in /tmp).

  make DIR      a randomly initialised base UniSpeechModel (12 x 768, default config) saved into DIR, a 10 s
                input DIR/input.npy, transformers' last_hidden_state in DIR/reference.safetensors, and the
                PyTorch forward time with 2 threads (median of 3 runs after a warm-up) in DIR/torch_timing.json
  time DIR [THREADS]
                the PyTorch timing again on the saved model (run it next to `unispeech run` on a shared machine)
  compare DIR OUT.safetensors
                max |swift - torch| / max |torch| of last_hidden_state, from `unispeech run DIR DIR/input.npy --output OUT`
"""

import json
import pathlib
import sys
import time

import numpy as np
import safetensors.torch
import torch
import transformers
from transformers import UniSpeechConfig, UniSpeechModel, Wav2Vec2FeatureExtractor

SECONDS = 10
THREADS = 2


def make(directory):
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    model = UniSpeechModel(UniSpeechConfig()).eval()
    model.save_pretrained(directory, safe_serialization=True)
    extractor = Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, padding_value=0.0, do_normalize=True,
                                         return_attention_mask=False)
    extractor.save_pretrained(directory)
    generator = np.random.default_rng(0)
    t = np.arange(SECONDS * 16000) / 16000.0
    waveform = (0.3 * np.sin(2 * np.pi * 220 * t) + 0.05 * generator.standard_normal(t.size)).astype(np.float32)
    np.save(directory / "input.npy", waveform)
    batch = extractor([waveform], sampling_rate=16000, return_tensors="pt")
    with torch.inference_mode():
        output = model(**batch)
    safetensors.torch.save_file({"last_hidden_state": output.last_hidden_state.contiguous()},
                                directory / "reference.safetensors")
    time_torch(directory, model, batch)


def time_torch(directory, model=None, batch=None, threads=THREADS):
    directory = pathlib.Path(directory)
    if model is None:
        model = UniSpeechModel.from_pretrained(directory).eval()
        extractor = Wav2Vec2FeatureExtractor.from_pretrained(directory)
        batch = extractor([np.load(directory / "input.npy")], sampling_rate=16000, return_tensors="pt")
    torch.set_num_threads(threads)
    with torch.inference_mode():
        model(**batch)
        times = []
        for _ in range(3):
            start = time.perf_counter()
            model(**batch)
            times.append(time.perf_counter() - start)
    timing = {"torch_seconds_median": sorted(times)[1], "torch_seconds": times, "threads": threads,
              "audio_seconds": SECONDS, "torch": torch.__version__, "transformers": transformers.__version__}
    (directory / "torch_timing.json").write_text(json.dumps(timing, indent=2) + "\n")
    print(json.dumps(timing))


def compare(directory, output):
    reference = safetensors.torch.load_file(pathlib.Path(directory) / "reference.safetensors")["last_hidden_state"]
    swift = safetensors.torch.load_file(output)["last_hidden_state"]
    error = (swift - reference).abs().max().item() / reference.abs().max().item()
    print(json.dumps({"shape": list(swift.shape), "relative_max_error": error}))


if __name__ == "__main__":
    if sys.argv[1:2] == ["make"] and len(sys.argv) == 3:
        make(sys.argv[2])
    elif sys.argv[1:2] == ["time"] and len(sys.argv) in (3, 4):
        time_torch(sys.argv[2], threads=int(sys.argv[3]) if len(sys.argv) == 4 else THREADS)
    elif sys.argv[1:2] == ["compare"] and len(sys.argv) == 4:
        compare(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
