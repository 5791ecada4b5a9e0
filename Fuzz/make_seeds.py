#!/usr/bin/env python3
"""Writes the fuzzers' seed corpora under Fuzz/Corpus/<harness>/ (small, committed).

Usage: make_seeds.py [HARNESS ...] (default: all of Safetensors, TorchZip, Unpickler, Config).

Safetensors seeds are written by hand with struct/json; PyTorch seeds come from torch.save
(run with the repository's venv: /work/venv/bin/python Fuzz/make_seeds.py); unpickler seeds are the
data.pkl members of those archives and of Tests/Fixtures/hostile. The Native seeds are made by the
`unispeech` binary (see docs/RELIABILITY.md) and are not rewritten here.
"""
import io
import json
import os
import shutil
import struct
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "Corpus")
HOSTILE = os.path.join(HERE, "..", "Tests", "Fixtures", "hostile")
VIEWS = os.path.join(HERE, "..", "Tests", "Fixtures", "checkpoints", "views.bin")
FAMILY = os.path.join(HERE, "..", "Tests", "Fixtures", "family")


def write(harness, name, data):
    os.makedirs(os.path.join(CORPUS, harness), exist_ok=True)
    with open(os.path.join(CORPUS, harness, name), "wb") as f:
        f.write(data)


def safetensors(tensors, metadata=None):
    header, data = {}, b""
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(text)) + text + data


def safetensors_seeds():
    write("Safetensors", "two_f32.safetensors", safetensors(
        {"a": ("F32", [2, 2], struct.pack("<4f", 1, 2, 3, 4)), "b": ("F32", [1], struct.pack("<f", 5))}, {"format": "pt"}))
    write("Safetensors", "mixed.safetensors", safetensors(
        {"h": ("F16", [3], b"\x00\x3c" * 3), "i": ("I64", [1], struct.pack("<q", 7)), "z": ("BF16", [0], b""),
         "s": ("F32", [], struct.pack("<f", 1.5))}))
    write("Safetensors", "empty.safetensors", safetensors({}))
    # Regression: two names that differ in bytes but are equal Swift strings (crashed the reader once).
    header = '{"\u00e9":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"e\u0301":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}'.encode()
    write("Safetensors", "regression-canonically-equal-names.safetensors", struct.pack("<Q", len(header)) + header + b"\0\0")


def torch_seeds():
    import torch
    shared = torch.arange(12, dtype=torch.float32)
    state = {
        "f32": torch.tensor([[1.0, 2.0], [3.0, 4.0]]),
        "f16": torch.tensor([0.5, -2.0], dtype=torch.float16),
        "bf16": torch.tensor([1.5], dtype=torch.bfloat16),
        "i64": torch.tensor([3], dtype=torch.int64),
        "view": shared[2:8].view(2, 3),
        "transposed": shared.view(3, 4).t(),
        "empty": torch.zeros(0, 3),
        "scalar": torch.tensor(7.0),
        "param": torch.nn.Parameter(torch.ones(2)),
    }
    buffer = io.BytesIO()
    torch.save(state, buffer)
    archive = buffer.getvalue()
    write("TorchZip", "small_state_dict.bin", archive)
    shutil.copy(VIEWS, os.path.join(CORPUS, "TorchZip", "views.bin"))
    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        pickle_name = next(n for n in z.namelist() if n.endswith("/data.pkl"))
        write("Unpickler", "small_state_dict.pkl", z.read(pickle_name))
    return torch.__version__


def hostile_seeds():
    for name in sorted(os.listdir(HOSTILE)):
        if not name.endswith(".bin"):
            continue
        path = os.path.join(HOSTILE, name)
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as z:
                write("Unpickler", "hostile-" + name.replace(".bin", ".pkl"), z.read("archive/data.pkl"))


def config_seeds():
    """One seed per family golden case: `<case>[ <language>]\n<config.json>\0<preprocessor_config.json>`, the JSON
    compact; the MMS case once more with its adapter's language."""
    def compact(path):
        with open(path) as f:
            return json.dumps(json.load(f), separators=(",", ":")).encode()

    for case in sorted(os.listdir(FAMILY)):
        directory = os.path.join(FAMILY, case)
        if not os.path.isfile(os.path.join(directory, "config.json")):
            continue
        files = compact(os.path.join(directory, "config.json")) + b"\0" + compact(os.path.join(directory, "preprocessor_config.json"))
        write("Config", case, case.encode() + b"\n" + files)
        for name in sorted(os.listdir(directory)):
            if name.startswith("adapter.") and name.endswith(".safetensors"):
                language = name[len("adapter."):-len(".safetensors")]
                write("Config", case + "-" + language, (case + " " + language).encode() + b"\n" + files)


def main():
    harnesses = sys.argv[1:] or ["Safetensors", "TorchZip", "Unpickler", "Config"]
    if "Safetensors" in harnesses:
        safetensors_seeds()
    if "TorchZip" in harnesses or "Unpickler" in harnesses:
        version = torch_seeds()
        hostile_seeds()
        with open(os.path.join(CORPUS, "versions.json"), "w") as f:
            json.dump({"torch": version, "generator": "Fuzz/make_seeds.py"}, f, indent=2)
            f.write("\n")
    if "Config" in harnesses:
        config_seeds()


if __name__ == "__main__":
    main()
