"""Makes the tiny HF checkpoints the native-format tests convert (Tests/Fixtures/format/).

Random weights from a fixed seed; run once by hand with /work/venv/bin/python.
The tests only check conversion, storage and quantisation error, so no golden outputs here.
"""
import hashlib
import json
import pathlib

import numpy
import safetensors
import torch
import transformers

OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "format"

COMMON = dict(
    hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
    conv_dim=[16, 16], conv_stride=[5, 2], conv_kernel=[10, 3],
    num_conv_pos_embeddings=8, num_conv_pos_embedding_groups=4,
    num_codevectors_per_group=8, num_codevector_groups=2, codevector_dim=16, proj_codevector_dim=16,
    classifier_proj_size=8, vocab_size=12, num_ctc_classes=10,
)

VOCAB = {"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3, "|": 4, "A": 5, "B": 6, "C": 7, "D": 8, "E": 9, "F": 10, "G": 11}
PREPROCESSOR = {
    "do_normalize": True, "feature_extractor_type": "Wav2Vec2FeatureExtractor", "feature_size": 1,
    "padding_side": "right", "padding_value": 0.0, "return_attention_mask": True, "sampling_rate": 16000,
}


def make(name, cls):
    torch.manual_seed(0)
    config = transformers.UniSpeechConfig(**COMMON)
    model = cls(config).eval()
    directory = OUT / name
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(directory, safe_serialization=True)
    (directory / "preprocessor_config.json").write_text(json.dumps(PREPROCESSOR, indent=2) + "\n")
    if cls is transformers.UniSpeechForCTC:
        (directory / "vocab.json").write_text(json.dumps(VOCAB, indent=2) + "\n")


make("tiny-ctc", transformers.UniSpeechForCTC)
make("tiny-pretraining", transformers.UniSpeechForPreTraining)
(OUT / "versions.json").write_text(json.dumps({
    "torch": torch.__version__, "transformers": transformers.__version__,
    "safetensors": safetensors.__version__, "numpy": numpy.__version__,
}, indent=2) + "\n")
(OUT / "sha256.json").write_text(json.dumps({
    f"{case}/{path.name}": hashlib.sha256(path.read_bytes()).hexdigest()
    for case in ("tiny-ctc", "tiny-pretraining") for path in sorted((OUT / case).iterdir())
}, indent=2) + "\n")
