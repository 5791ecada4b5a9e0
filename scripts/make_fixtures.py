#!/usr/bin/env python3
"""Makes the checkpoint fixtures under Tests/Fixtures/checkpoints/ (run once by hand, outputs committed).

    /work/venv/bin/python scripts/make_fixtures.py

Each fixture is a tiny UniSpeech model written in one of the layouts the readers accept, plus a few
files the readers must refuse. expected.json records, per fixture, what PyTorch says: the parameter
count, the tensor names, dtypes and shapes, and the first elements and sum of a few tensors.
transformers 5 writes only safetensors, so the pytorch_model.bin layouts are written with
torch.save(state_dict) exactly as transformers 4's save_pretrained(safe_serialization=False) did,
and the sharded .bin index uses huggingface_hub's splitter and the same index JSON.
"""
import io
import json
import os
import pickle
import shutil
import struct
import sys
import zipfile

import huggingface_hub
import numpy
import safetensors
import torch
import transformers
from transformers import (UniSpeechConfig, UniSpeechForCTC, UniSpeechForPreTraining,
                          UniSpeechForSequenceClassification, UniSpeechModel)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "checkpoints")
SIZE_LIMIT = 600 * 1024
# Tensors whose values the tests compare (HF names without the `unispeech.` prefix; legacy names are mapped).
VALUE_TENSORS = [
    "encoder.pos_conv_embed.conv.parametrizations.weight.original1",
    "encoder.pos_conv_embed.conv.parametrizations.weight.original0",
    "encoder.layers.1.feed_forward.output_dense.bias",
    "feature_extractor.conv_layers.0.conv.weight",
    "lm_head.weight",
]


def tiny_config(**overrides):
    fields = dict(vocab_size=12, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
                  conv_dim=[8, 8], conv_stride=[2, 2], conv_kernel=[3, 3], num_conv_pos_embeddings=4,
                  num_conv_pos_embedding_groups=2, num_codevectors_per_group=8, num_codevector_groups=2,
                  codevector_dim=16, proj_codevector_dim=16, num_ctc_classes=10, classifier_proj_size=8)
    fields.update(overrides)
    return UniSpeechConfig(**fields)


def build(model_class, seed, **overrides):
    torch.manual_seed(seed)
    model = model_class(tiny_config(**overrides)).eval()
    with torch.no_grad():  # make biases and norms non-trivial so value checks mean something
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.05)
    return model


def dtype_name(tensor):
    return {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
            torch.int64: "I64", torch.int32: "I32", torch.int8: "I8", torch.uint8: "U8", torch.bool: "BOOL"}[tensor.dtype]


def record(model, state_dict, layout, files):
    """What the tests compare against: PyTorch's count and values, by the names as stored."""
    tensors = {}
    for name, tensor in state_dict.items():
        entry = {"dtype": dtype_name(tensor), "shape": list(tensor.shape)}
        short = name[len("unispeech."):] if name.startswith("unispeech.") else name
        short = short.replace(".weight_g", ".parametrizations.weight.original0").replace(
            ".weight_v", ".parametrizations.weight.original1")
        if short in VALUE_TENSORS:
            flat = tensor.detach().reshape(-1).to(torch.float64)
            entry["first"] = flat[:4].tolist()
            entry["sum"] = flat.sum().item()
        tensors[name] = entry
    return {
        "layout": layout,
        "architecture": type(model).__name__,
        "files": files,
        "parameter_count": sum(p.numel() for p in model.parameters()),
        "state_dict_numel": sum(t.numel() for t in state_dict.values()),
        "tensors": tensors,
    }


def save_bin_shards(state_dict, directory, max_shard_size):
    split = huggingface_hub.split_torch_state_dict_into_shards(
        state_dict, filename_pattern="pytorch_model{suffix}.bin", max_shard_size=max_shard_size)
    for filename, names in split.filename_to_tensors.items():
        torch.save({name: state_dict[name].contiguous() for name in names}, os.path.join(directory, filename))
    index = {"metadata": {"total_size": sum(t.numel() * t.element_size() for t in state_dict.values())},
             "weight_map": split.tensor_to_filename}
    with open(os.path.join(directory, "pytorch_model.bin.index.json"), "w") as f:
        json.dump(index, f, indent=2, sort_keys=True)
    return sorted(split.filename_to_tensors)


def hostile_pickle():
    """A torch-zip whose data.pkl calls os.system('echo pwned'): GLOBAL + REDUCE. Only ever written, never loaded."""
    return (b"\x80\x02"                       # PROTO 2
            b"cos\nsystem\n"                  # GLOBAL 'os system'
            b"X\x0a\x00\x00\x00echo pwned"    # BINUNICODE
            b"\x85"                           # TUPLE1
            b"R"                              # REDUCE
            b".")                             # STOP


def tensor_pickle(name, storage_numel, size, stride):
    """A data.pkl holding {name: tensor} over storage '0' of F32, written opcode by opcode so that its
    numbers can disagree with the data (torch.save would never write these)."""
    def unicode(text):
        return b"X" + len(text).to_bytes(4, "little") + text.encode()

    def ints(values):
        return b"(" + b"".join(b"\x8a\x08" + v.to_bytes(8, "little", signed=True) for v in values) + b"t"

    return (b"\x80\x02}(" + unicode(name)
            + b"ctorch._utils\n_rebuild_tensor_v2\n("
            + b"(" + unicode("storage") + b"ctorch\nFloatStorage\n" + unicode("0") + unicode("cpu")
            + b"\x8a\x08" + storage_numel.to_bytes(8, "little") + b"tQ"
            + b"K\x00" + ints(size) + ints(stride)
            + b"\x89ccollections\nOrderedDict\n)Rt" + b"R" + b"u.")


def write_zip(path, members, compression=zipfile.ZIP_STORED):
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name, data in members:
            archive.writestr(zipfile.ZipInfo(name), data, compress_type=compression)


def write_zip64_copy(source, target):
    """Rewrites a torch zip with zip64 records throughout (as archives over 4 GiB have): zip64 extras with sizes
    and offsets in the central directory, a zip64 end record, and the classic end record's fields saturated.
    Entries are left unaligned, so readers must handle unaligned tensor data."""
    with zipfile.ZipFile(source) as archive:
        members = [(info.filename, archive.read(info)) for info in archive.infolist()]
    limit = zipfile.ZIP64_LIMIT
    zipfile.ZIP64_LIMIT = 16  # every size and offset above 16 bytes goes to the zip64 fields
    try:
        write_zip(target, members)
    finally:
        zipfile.ZIP64_LIMIT = limit
    data = bytearray(open(target, "rb").read())
    end = data.rindex(b"PK\x05\x06")
    assert data[end - 20:end - 16] == b"PK\x06\x07", "no zip64 locator"
    data[end + 8:end + 12] = b"\xff\xff\xff\xff"    # entries on this disk, total entries
    data[end + 12:end + 20] = b"\xff" * 8             # central directory size and offset
    open(target, "wb").write(bytes(data))


def main():
    if os.path.isdir(ROOT):
        shutil.rmtree(ROOT)
    os.makedirs(ROOT)
    expected = {}

    ctc = build(UniSpeechForCTC, 0)
    sd = ctc.state_dict()

    path = os.path.join(ROOT, "ctc-safetensors")
    ctc.save_pretrained(path)
    expected["ctc-safetensors"] = record(ctc, sd, "safetensors", ["model.safetensors"])

    path = os.path.join(ROOT, "ctc-sharded-f16")
    half = build(UniSpeechForCTC, 0).half()
    half.save_pretrained(path, max_shard_size=6000)
    shards = sorted(f for f in os.listdir(path) if f.startswith("model-"))
    assert len(shards) >= 2, shards
    expected["ctc-sharded-f16"] = record(half, half.state_dict(), "sharded-safetensors", shards)

    path = os.path.join(ROOT, "ctc-bin")
    os.makedirs(path)
    ctc.config.save_pretrained(path)
    torch.save(sd, os.path.join(path, "pytorch_model.bin"))
    expected["ctc-bin"] = record(ctc, sd, "pytorch-zip", ["pytorch_model.bin"])

    path = os.path.join(ROOT, "ctc-bin-legacy-names")
    os.makedirs(path)
    ctc.config.save_pretrained(path)
    legacy = {name.replace("parametrizations.weight.original0", "weight_g")
                  .replace("parametrizations.weight.original1", "weight_v"): tensor for name, tensor in sd.items()}
    torch.save(legacy, os.path.join(path, "pytorch_model.bin"))
    expected["ctc-bin-legacy-names"] = record(ctc, legacy, "pytorch-zip", ["pytorch_model.bin"])

    path = os.path.join(ROOT, "ctc-sharded-bin")
    os.makedirs(path)
    ctc.config.save_pretrained(path)
    files = save_bin_shards(sd, path, max_shard_size=12000)
    assert len(files) >= 2, files
    expected["ctc-sharded-bin"] = record(ctc, sd, "sharded-pytorch-zip", files)

    base = build(UniSpeechModel, 1)
    path = os.path.join(ROOT, "base-bare")
    base.save_pretrained(path)
    expected["base-bare"] = record(base, base.state_dict(), "safetensors", ["model.safetensors"])

    classifier = build(UniSpeechForSequenceClassification, 2, use_weighted_layer_sum=True, num_labels=3,
                       id2label={0: "yes", 1: "no", 2: "maybe"}, label2id={"yes": 0, "no": 1, "maybe": 2})
    path = os.path.join(ROOT, "classification")
    classifier.save_pretrained(path)
    expected["classification"] = record(classifier, classifier.state_dict(), "safetensors", ["model.safetensors"])

    pretraining = build(UniSpeechForPreTraining, 3)
    path = os.path.join(ROOT, "pretraining")
    pretraining.save_pretrained(path)
    expected["pretraining"] = record(pretraining, pretraining.state_dict(), "safetensors", ["model.safetensors"])

    bad = os.path.join(ROOT, "bad")
    os.makedirs(bad)
    write_zip(os.path.join(bad, "hostile.bin"), [("archive/data.pkl", hostile_pickle()),
                                                 ("archive/version", b"3\n"), ("archive/byteorder", b"little")])
    with zipfile.ZipFile(os.path.join(ROOT, "ctc-bin", "pytorch_model.bin")) as source:
        members = [(info.filename, source.read(info)) for info in source.infolist()]
    write_zip(os.path.join(bad, "deflated.bin"), members, zipfile.ZIP_DEFLATED)
    four_floats = struct.pack("<4f", 1, 2, 3, 4)
    for name, pickle_bytes, storage in [
        ("view-past-storage.bin", tensor_pickle("w", 4, [1 << 40, 1 << 40], [1 << 40, 1]), four_floats),
        ("storage-size-mismatch.bin", tensor_pickle("w", 100, [4], [1]), four_floats),
        ("missing-storage.bin", tensor_pickle("w", 4, [4], [1]), None),
    ]:
        members = [("archive/data.pkl", pickle_bytes), ("archive/version", b"3\n"), ("archive/byteorder", b"little")]
        if storage is not None:
            members.append(("archive/data/0", storage))
        write_zip(os.path.join(bad, name), members)
    good = os.path.join(bad, "..", "handmade.bin")
    write_zip(good, [("archive/data.pkl", tensor_pickle("w", 4, [2, 2], [1, 2])), ("archive/version", b"3\n"),
                     ("archive/byteorder", b"little"), ("archive/data/0", four_floats)])
    assert torch.equal(torch.load(good)["w"], torch.tensor([[1.0, 3.0], [2.0, 4.0]])), "hand-written pickle is wrong"
    os.remove(good)
    small = {"w": torch.arange(6, dtype=torch.float32).reshape(2, 3)}
    torch.save(small, os.path.join(bad, "legacy-format.bin"), _use_new_zipfile_serialization=False)

    # Views: shared storages, storage offsets, a transposed (non-contiguous) tensor, a parameter,
    # a 0-d tensor and several dtypes, all in one torch.save'd dict.
    storage = torch.arange(24, dtype=torch.float32) / 8 - 1
    views = {
        "shared.head": storage[:6].view(2, 3),
        "shared.tail": storage[10:22].view(3, 4),
        "transposed": storage[:12].view(3, 4).t(),
        "parameter": torch.nn.Parameter(torch.linspace(-1, 1, 5)),
        "scalar": torch.tensor(2.5, dtype=torch.float64),
        "half": torch.linspace(-2, 2, 7).half(),
        "bfloat": torch.linspace(-3, 3, 5).bfloat16(),
        "count": torch.tensor([1, -2, 3], dtype=torch.int64),
        "mask": torch.tensor([True, False, True]),
    }
    torch.save(views, os.path.join(ROOT, "views.bin"))
    expected["views.bin"] = {
        "tensors": {name: {"dtype": dtype_name(t), "shape": list(t.shape),
                           "values": t.detach().reshape(-1).to(torch.float64).tolist()} for name, t in views.items()}}

    zip64 = os.path.join(ROOT, "views-zip64.bin")
    write_zip64_copy(os.path.join(ROOT, "views.bin"), zip64)
    assert all(torch.equal(views[name], tensor) for name, tensor in torch.load(zip64).items())

    with open(os.path.join(ROOT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
    versions = {"python": sys.version.split()[0], "torch": torch.__version__, "transformers": transformers.__version__,
                "safetensors": safetensors.__version__, "huggingface_hub": huggingface_hub.__version__,
                "numpy": numpy.__version__, "script": "scripts/make_fixtures.py"}
    with open(os.path.join(ROOT, "versions.json"), "w") as f:
        json.dump(versions, f, indent=1, sort_keys=True)

    total = sum(os.path.getsize(os.path.join(d, n)) for d, _, names in os.walk(ROOT) for n in names)
    print(f"fixtures: {total} bytes in {ROOT}")
    assert total < SIZE_LIMIT, f"fixtures are {total} bytes, over the {SIZE_LIMIT}-byte budget"


if __name__ == "__main__":
    main()
