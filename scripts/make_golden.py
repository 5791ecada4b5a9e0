"""Makes the golden fixtures for the Swift forward-pass tests from transformers.

For each case in CASES: a tiny randomly initialised UniSpeech model whose parameters are all perturbed
away from their init values (so a wrong bias, norm or eps shows), saved with save_pretrained (safetensors)
into Tests/Fixtures/golden/<case>/, with its preprocessor_config.json, two raw .npy inputs of different
lengths, and transformers' outputs on the padded batch of the two (reference.safetensors: the feature
extractor's input_values / attention_mask, every output of the head, in HF names, and every hidden state as
output_hidden_states=True gives them, hidden_states.0 .. hidden_states.N).

Run by hand: /work/venv/bin/python scripts/make_golden.py
"""

import json
import pathlib
import platform

import numpy as np
import safetensors.torch
import torch
import transformers
from transformers import (
    UniSpeechConfig,
    UniSpeechForCTC,
    UniSpeechForPreTraining,
    UniSpeechForSequenceClassification,
    UniSpeechModel,
    Wav2Vec2FeatureExtractor,
)

ROOT = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "golden"
INPUT_LENGTHS = (1400, 1010)
PERTURBATION = 0.1

TINY = dict(
    hidden_size=16,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=32,
    conv_dim=[16, 16, 16],
    conv_stride=[5, 2, 2],
    conv_kernel=[10, 3, 3],
    num_conv_pos_embeddings=4,
    num_conv_pos_embedding_groups=2,
    vocab_size=12,
    hidden_dropout=0.0,
)

# name: (model class, config overrides, feature extractor overrides)
CASES = {
    "ctc_group_postln": (UniSpeechForCTC, dict(), dict(return_attention_mask=False)),
    "ctc_layer_stable_mask": (
        UniSpeechForCTC,
        dict(feat_extract_norm="layer", do_stable_layer_norm=True, conv_bias=True, num_conv_pos_embeddings=5,
             num_conv_pos_embedding_groups=4, layer_norm_eps=1e-3, hidden_act="gelu_new", hidden_size=32,
             num_attention_heads=4, intermediate_size=48),
        dict(return_attention_mask=True),
    ),
    "ctc_relu_nonorm_input": (
        UniSpeechForCTC,
        dict(feat_extract_activation="relu", hidden_act="silu", num_conv_pos_embeddings=3, conv_bias=True),
        dict(return_attention_mask=True, do_normalize=False),
    ),
    "cls_mean_mask": (
        UniSpeechForSequenceClassification,
        dict(num_labels=3, classifier_proj_size=8, layer_norm_eps=1e-4),
        dict(return_attention_mask=True),
    ),
    "cls_weighted_postln": (
        UniSpeechForSequenceClassification,
        dict(num_labels=4, classifier_proj_size=8, use_weighted_layer_sum=True, hidden_act="tanh"),
        dict(return_attention_mask=False),
    ),
    "cls_weighted_stable_mask": (
        UniSpeechForSequenceClassification,
        dict(num_labels=2, classifier_proj_size=8, use_weighted_layer_sum=True, do_stable_layer_norm=True,
             feat_extract_norm="layer", num_conv_pos_embeddings=5, feat_extract_activation="gelu_new"),
        dict(return_attention_mask=True),
    ),
    "pretraining": (
        UniSpeechForPreTraining,
        dict(num_codevectors_per_group=8, num_codevector_groups=2, codevector_dim=8, proj_codevector_dim=12,
             num_ctc_classes=6),
        dict(return_attention_mask=True),
    ),
    "base_layer_stable": (
        UniSpeechModel,
        dict(feat_extract_norm="layer", do_stable_layer_norm=True, feat_extract_activation="swish",
             conv_bias=True, num_conv_pos_embeddings=6, num_conv_pos_embedding_groups=1),
        dict(return_attention_mask=False),
    ),
}

ACTIVATIONS = ["gelu", "gelu_new", "gelu_fast", "gelu_pytorch_tanh", "quick_gelu", "relu", "relu6", "silu", "swish",
               "tanh", "sigmoid", "linear", "mish", "leaky_relu"]

OUTPUT_NAMES = {
    UniSpeechModel: ["last_hidden_state", "extract_features"],
    UniSpeechForCTC: ["logits"],
    UniSpeechForSequenceClassification: ["logits"],
    UniSpeechForPreTraining: ["projected_states", "projected_quantized_states", "codevector_perplexity"],
}


def make_inputs(generator):
    """Two different-length signals: a chirp-like tone plus noise, not already normalised."""
    inputs = []
    for length in INPUT_LENGTHS:
        t = np.arange(length) / 16000.0
        tone = 0.3 * np.sin(2 * np.pi * (220 + 900 * t) * t)
        noise = 0.05 * generator.standard_normal(length)
        inputs.append((tone + noise + 0.02).astype(np.float32))
    return inputs


def make_activation_table():
    """ACT2FN of every activation the Swift side accepts, on values spanning the interesting range."""
    from transformers.activations import ACT2FN

    x = torch.linspace(-8, 8, 97)
    table = {"input": x}
    for name in ACTIVATIONS:
        table[name] = ACT2FN[name](x).clone()
    safetensors.torch.save_file(table, ROOT / "activations.safetensors")


def main():
    torch.manual_seed(0)
    generator = np.random.default_rng(0)
    for name, (model_class, overrides, extractor_overrides) in CASES.items():
        directory = ROOT / name
        directory.mkdir(parents=True, exist_ok=True)
        config = UniSpeechConfig(**{**TINY, **overrides})
        model = model_class(config).eval()
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.add_(PERTURBATION * torch.randn_like(parameter))
        model.save_pretrained(directory, safe_serialization=True)
        extractor = Wav2Vec2FeatureExtractor(**{"feature_size": 1, "sampling_rate": 16000, "padding_value": 0.0,
                                                "do_normalize": True, **extractor_overrides})
        extractor.save_pretrained(directory)

        waveforms = make_inputs(generator)
        for index, waveform in enumerate(waveforms):
            np.save(directory / f"input{index}.npy", waveform)
        batch = extractor(waveforms, sampling_rate=16000, padding=True, return_tensors="pt")
        with torch.no_grad():
            outputs = model(**batch, output_hidden_states=True)
        reference = {"input_values": batch["input_values"].contiguous()}
        if "attention_mask" in batch:
            reference["attention_mask"] = batch["attention_mask"].to(torch.int32).contiguous()
        for output_name in OUTPUT_NAMES[model_class]:
            value = getattr(outputs, output_name).float()
            reference[output_name] = value.reshape(1) if value.dim() == 0 else value.contiguous()
        for index, state in enumerate(outputs.hidden_states):
            reference[f"hidden_states.{index}"] = state.float().clone()  # a copy: a head output may be the same tensor
        safetensors.torch.save_file(reference, directory / "reference.safetensors")
        print(name, {k: list(v.shape) for k, v in reference.items()})

    make_activation_table()
    versions = {
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "safetensors": safetensors.__version__,
        "python": platform.python_version(),
    }
    (ROOT / "versions.json").write_text(json.dumps(versions, indent=2) + "\n")


if __name__ == "__main__":
    main()
