"""Transformers' outputs of the family golden models with the weights an f16 native file stores as f16 rounded to f16,
for the Swift f16 tests (run after scripts/make_family_golden.py).

A `--dtype f16` .unispeech file stores the tensors QuantizationRule.table marks f16 as IEEE half and computes in f32.
On the family fixtures (hidden size 8, conv layers of 6 to 8 channels) that rounding alone moves some outputs by more
than 2e-3 of their largest value: the first conv layers have a few dozen weights each and feed norms over six to
eight channels, so single rounding errors do not average out. This script runs transformers itself on every case with
exactly that rounding (each rounded tensor goes f32 -> f16 -> f32; the forward is transformers' own, in f32) and
records in Tests/Fixtures/family/f16.json, per case and reference file, the tensors it rounded and how far the
rounding alone moved the outputs (max |f16 - f32| / max |f32| over each output, the largest of them). Where that
exceeds 2e-3, it also writes reference.f16.safetensors (reference.<lang>.f16.safetensors for the MMS adapter case):
transformers' outputs with the rounded weights, which the Swift f16 file must then match within 1e-4, the f32 parity
target. The other cases are held to 2e-3 of the f32 reference.

The f16 tensor patterns below copy QuantizationRule.table (Sources/UniSpeechFormat/QuantizationRule.swift); the Swift
test checks that the rounded tensors are exactly the f16 tensors of the converted file.

Run by hand (never in CI): /work/venv/bin/python scripts/make_family_f16_golden.py
"""

import fnmatch
import json
import pathlib
import platform
import re
import warnings

import numpy as np
import safetensors
import safetensors.torch
import torch
import transformers

ROOT = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "family"
SCRIPT = "scripts/make_family_f16_golden.py"
BOUND = 2e-3
# Canonical names (the base-model prefix stripped, weight norm as weight_g / weight_v) stored f16 by --dtype f16.
F16_PATTERNS = [
    "encoder.layers.*.attention.[qkv]_proj.weight", "encoder.layers.*.attention.out_proj.weight",
    "encoder.layers.*.feed_forward.intermediate_dense.weight", "encoder.layers.*.feed_forward.output_dense.weight",
    "feature_projection.projection.weight",
    "project_hid.weight", "project_q.weight", "projector.weight", "feature_extractor.weight",
    "adapter.proj.weight", "adapter.layers.*.conv.weight",
    "tdnn.*.kernel.weight",
    "encoder.layers.*.adapter_layer.linear_[12].weight",
    "feature_extractor.conv_layers.0.conv.weight",
    "feature_extractor.conv_layers.*.conv.weight",
    "encoder.pos_conv_embed.conv.weight_v", "encoder.pos_conv_embed.conv.weight", "encoder.pos_conv_embed.layers.*.conv.weight",
]
RENAMES = [("parametrizations.weight.original0", "weight_g"), ("parametrizations.weight.original1", "weight_v")]


def canonical(name, prefix):
    if name.startswith(prefix + "."):
        name = name[len(prefix) + 1:]
    for old, new in RENAMES:
        if name.endswith(old):
            name = name[: -len(old)] + new
    return name


def round_to_f16(model):
    """Rounds every parameter an f16 file stores as f16; returns their canonical names, sorted."""
    rounded = []
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            name = canonical(name, model.base_model_prefix)
            if any(fnmatch.fnmatchcase(name, pattern) for pattern in F16_PATTERNS):
                parameter.copy_(parameter.half().float())
                rounded.append(name)
    return sorted(rounded)


def outputs(model, reference):
    """The model's outputs on the reference inputs, under the reference file's tensor names."""
    batch = {"input_values": reference["input_values"]}
    if "attention_mask" in reference:
        batch["attention_mask"] = reference["attention_mask"].long()
    with torch.no_grad():
        result = model(**batch, output_hidden_states=True)
    tensors = {}
    for name, value in result.items():
        if name == "hidden_states":
            for index, state in enumerate(value):
                tensors[f"hidden_states.{index}"] = state.float().clone(memory_format=torch.contiguous_format)
        else:
            value = value.float().clone(memory_format=torch.contiguous_format)
            tensors[name] = value.reshape(1) if value.dim() == 0 else value
    return tensors


def main():
    transformers.utils.logging.disable_progress_bar()
    warnings.filterwarnings("ignore", message="Support for mismatched key_padding_mask and attn_mask is deprecated")
    entries = json.loads((ROOT / "cases.json").read_text())
    report = {}
    for entry in entries:
        directory = ROOT / entry["name"]
        model_class = getattr(transformers, entry["transformers_class"])
        files = [("reference.safetensors", None)]
        if "adapter" in entry:
            files.append((entry["adapter"]["reference"], entry["adapter"]["lang"]))
        case = {}
        for file, language in files:
            for stale in directory.glob(file.replace(".safetensors", ".f16.safetensors")):
                stale.unlink()
            model = model_class.from_pretrained(directory).eval()
            if language is not None:
                model.load_adapter(language)
            rounded = round_to_f16(model)
            reference = safetensors.torch.load_file(directory / file)
            moved = outputs(model, reference)
            changes = {}
            for name, value in moved.items():
                expected = reference[name].float()
                changes[name] = ((value - expected).abs().max() / expected.abs().max()).item()
            worst = max(changes, key=changes.get)
            record = {"rounded": rounded, "max_relative_change": changes[worst], "output": worst, "f16_reference": None}
            if changes[worst] > BOUND:
                name = file.replace(".safetensors", ".f16.safetensors")
                safetensors.torch.save_file(moved, directory / name, metadata={"format": "pt"})
                record["f16_reference"] = name
            case[file] = record
            print(f"{entry['name']} {file}: {changes[worst]:.2e} ({worst})")
        report[entry["name"]] = case
    versions = {"transformers": transformers.__version__, "torch": torch.__version__, "numpy": np.__version__,
                "safetensors": safetensors.__version__, "python": platform.python_version(), "script": SCRIPT}
    text = json.dumps({"bound": BOUND, "versions": versions, "cases": report}, indent=1)
    # Every list of names on one line.
    text = re.sub(r"\[\n\s*([^\[\]{}]*?)\n\s*\]", lambda m: "[" + re.sub(r",\n\s*", ", ", m.group(1)) + "]", text)
    (ROOT / "f16.json").write_text(text + "\n")


if __name__ == "__main__":
    main()
