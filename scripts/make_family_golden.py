"""Makes the golden fixtures for the Swift parity tests of the whole encoder family from transformers.

Families (config.json `model_type`): unispeech, wav2vec2, hubert, unispeech-sat, wavlm, data2vec-audio. The head
classes of each family are enumerated from transformers itself (the `__all__` of its modeling module), and every one
of them appears in at least one case; every family appears at least twice in each norm kind it supports (with and
without an attention mask).

For each case in CASES: a tiny randomly initialised model whose parameters (and batch-norm running statistics) are
all perturbed away from their init values (so a wrong bias, norm or eps shows; see perturb), saved with save_pretrained (f32
safetensors) into Tests/Fixtures/family/<case>/, with its preprocessor_config.json, two raw .npy inputs of different
lengths, and transformers' outputs on the padded batch of the two, computed by the model reloaded from that directory
in eval mode without gradients (reference.safetensors: the feature extractor's input_values, attention_mask as int32
when the extractor returns one, every output field of the head in HF names, and every hidden state of
output_hidden_states=True as hidden_states.0 .. hidden_states.N). Each forward runs twice under different random
seeds; an output that differs between the runs would be left out and listed under "omitted" (none does in eval).

The MMS case also gets adapter.<lang>.safetensors (the attention adapters and lm_head, with different values and a
different vocabulary size from model.safetensors), and reference.<lang>.safetensors from the model after
load_adapter(<lang>).

Writes Tests/Fixtures/family/cases.json (one entry per case: model_type, transformers class, head, norms, whether an
attention mask is passed, the tensor names in the reference file, what was omitted and why, and the head classes
transformers has for the family) and Tests/Fixtures/family/versions.json.

Run by hand (never in CI): /work/venv/bin/python scripts/make_family_golden.py
"""

import importlib
import json
import pathlib
import platform
import re
import shutil
import warnings
import zlib
from dataclasses import dataclass, field

import numpy as np
import safetensors
import safetensors.torch
import torch
import transformers
from transformers import (
    Data2VecAudioConfig,
    HubertConfig,
    UniSpeechConfig,
    UniSpeechSatConfig,
    Wav2Vec2Config,
    Wav2Vec2FeatureExtractor,
    WavLMConfig,
)

SCRIPT = "scripts/make_family_golden.py"
ROOT = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "family"
INPUT_LENGTHS = (240, 170)
PERTURBATION = 0.1
# Quantizer logits whose top two are closer than this would make the codevector choice a coin toss for the Swift side.
MIN_ARGMAX_MARGIN = 1e-3

# model_type: (class name prefix, config class, modeling module, norm kinds the family supports)
FAMILIES = {
    "unispeech": ("UniSpeech", UniSpeechConfig, "unispeech.modeling_unispeech", ("group/post", "layer/stable")),
    "wav2vec2": ("Wav2Vec2", Wav2Vec2Config, "wav2vec2.modeling_wav2vec2", ("group/post", "layer/stable")),
    "hubert": ("Hubert", HubertConfig, "hubert.modeling_hubert", ("group/post", "layer/stable")),
    "unispeech-sat": ("UniSpeechSat", UniSpeechSatConfig, "unispeech_sat.modeling_unispeech_sat",
                      ("group/post", "layer/stable")),
    "wavlm": ("WavLM", WavLMConfig, "wavlm.modeling_wavlm", ("group/post", "layer/stable")),
    # Data2VecAudio has neither feat_extract_norm nor do_stable_layer_norm: LayerNorm conv layers, post-LN encoder.
    "data2vec-audio": ("Data2VecAudio", Data2VecAudioConfig, "data2vec.modeling_data2vec_audio", ("layer/post",)),
}

HEAD_KINDS = {
    "Model": "base",
    "ForCTC": "ctc",
    "ForSequenceClassification": "classification",
    "ForAudioFrameClassification": "frame-classification",
    "ForXVector": "xvector",
    "ForPreTraining": "pretraining",
}

# Applied where the family's config has the field; a case's own overrides must all be fields of its config.
TINY = dict(
    hidden_size=8,
    num_hidden_layers=2,
    num_attention_heads=2,
    intermediate_size=12,
    conv_dim=[6, 8, 6],
    conv_stride=[5, 2, 2],
    conv_kernel=[10, 3, 3],
    num_conv_pos_embeddings=4,
    num_conv_pos_embedding_groups=2,
    vocab_size=7,
    classifier_proj_size=4,
    num_labels=3,
    tdnn_dim=[6, 6, 8],
    tdnn_kernel=[3, 3, 1],
    tdnn_dilation=[1, 2, 1],
    xvector_output_dim=4,
    num_codevectors_per_group=8,
    num_codevector_groups=2,
    codevector_dim=8,
    proj_codevector_dim=6,
    num_ctc_classes=5,
    num_clusters=4,
    num_buckets=16,
    max_bucket_distance=12,
    conv_pos_kernel_size=4,
    hidden_dropout=0.0,
)

NORMS = {
    "group/post": dict(feat_extract_norm="group", do_stable_layer_norm=False),
    "layer/stable": dict(feat_extract_norm="layer", do_stable_layer_norm=True),
    "layer/post": dict(feat_extract_norm="layer", do_stable_layer_norm=False),
}

# Why a field of an output class holds no tensor in these fixtures.
NONE_REASONS = {
    "loss": "needs labels; inference computes no loss",
    "contrastive_loss": "needs sampled_negative_indices and mask_time_indices (training only)",
    "diversity_loss": "needs sampled_negative_indices and mask_time_indices (training only)",
    "attentions": "not requested (output_attentions=False)",
}


@dataclass
class Case:
    name: str
    model_type: str
    head: str  # class name suffix: "Model", "ForCTC", ...
    norm: str  # a key of NORMS
    mask: bool  # feature extractor returns (and the model gets) an attention mask
    config: dict = field(default_factory=dict)
    extractor: dict = field(default_factory=dict)
    features: tuple = ()  # what the case exercises, for people reading cases.json
    adapter_lang: str | None = None  # MMS: write adapter.<lang>.safetensors and the golden after load_adapter
    adapter_vocab_size: int | None = None
    seed_offset: int = 0  # moves the case off a near tie in the quantizer's argmax


CASES = [
    # UniSpeech
    Case("unispeech_base_group", "unispeech", "Model", "group/post", False,
         dict(hidden_act="gelu_new"), features=("extract_features",)),
    Case("unispeech_ctc_layer_mask", "unispeech", "ForCTC", "layer/stable", True,
         dict(num_hidden_layers=1, layer_norm_eps=1e-2, conv_bias=True, feat_extract_activation="relu",
              num_conv_pos_embeddings=5)),
    Case("unispeech_cls_weighted_group_mask", "unispeech", "ForSequenceClassification", "group/post", True,
         dict(use_weighted_layer_sum=True, hidden_act="tanh"), features=("use_weighted_layer_sum",)),
    Case("unispeech_pretraining_layer", "unispeech", "ForPreTraining", "layer/stable", False,
         dict(num_hidden_layers=1, hidden_act="silu", layer_norm_eps=1e-3),
         features=("quantizer", "project_q then project_hid"), seed_offset=2),
    # Wav2Vec2
    Case("wav2vec2_base_adapter_group", "wav2vec2", "Model", "group/post", False,
         dict(mask_time_prob=0.0, feat_extract_activation="gelu_new", add_adapter=True, adapter_kernel_size=4,
              adapter_stride=2, num_adapter_layers=2, output_hidden_size=6, layer_norm_eps=1e-2, conv_bias=True),
         extractor=dict(do_normalize=False),
         features=("conv adapter with proj (output_hidden_size != hidden_size)", "adapter_kernel_size 4",
                   "no masked_spec_embed", "no input normalisation")),
    Case("wav2vec2_ctc_mms_layer_mask", "wav2vec2", "ForCTC", "layer/stable", True,
         dict(adapter_attn_dim=4, layer_norm_eps=1e-3, hidden_act="relu"),
         features=("MMS attention adapters", "load_adapter with another vocabulary size"),
         adapter_lang="xyz", adapter_vocab_size=5),
    Case("wav2vec2_cls_group_mask", "wav2vec2", "ForSequenceClassification", "group/post", True,
         dict(num_hidden_layers=1, num_labels=4, layer_norm_eps=1e-4)),
    Case("wav2vec2_frame_weighted_layer", "wav2vec2", "ForAudioFrameClassification", "layer/stable", False,
         dict(use_weighted_layer_sum=True, num_labels=2, feat_extract_activation="swish"),
         features=("use_weighted_layer_sum over pre-final-LayerNorm hidden states",)),
    Case("wav2vec2_xvector_group", "wav2vec2", "ForXVector", "group/post", False,
         dict(num_hidden_layers=1, hidden_act="gelu_new"), features=("statistics pooling over all frames",)),
    Case("wav2vec2_xvector_adapter_layerpost_mask", "wav2vec2", "ForXVector", "layer/post", True,
         dict(num_hidden_layers=1, add_adapter=True, num_adapter_layers=1, adapter_stride=2, adapter_kernel_size=4,
              tdnn_kernel=[2, 1], tdnn_dilation=[1, 3], tdnn_dim=[6, 4], xvector_output_dim=3, num_labels=5),
         features=("conv adapter without proj", "pooling lengths through the adapter by the kernel-1 formula",
                   "layer norm conv + post-LN")),
    Case("wav2vec2_pretraining_layer_mask", "wav2vec2", "ForPreTraining", "layer/stable", True,
         dict(num_hidden_layers=1, feat_extract_activation="gelu_new", hidden_act="gelu_new"),
         features=("quantizer", "perplexity over every frame, padded ones too")),
    # HuBERT
    Case("hubert_base_group", "hubert", "Model", "group/post", False,
         dict(feat_proj_layer_norm=True), features=("feat_proj_layer_norm",)),
    Case("hubert_ctc_layer_mask", "hubert", "ForCTC", "layer/stable", True,
         dict(num_hidden_layers=1, feat_proj_layer_norm=False, layer_norm_eps=1e-2),
         features=("no feat_proj_layer_norm",)),
    Case("hubert_cls_weighted_batchnorm_group_mask", "hubert", "ForSequenceClassification", "group/post", True,
         dict(conv_pos_batch_norm=True, feat_proj_layer_norm=False, use_weighted_layer_sum=True, num_labels=2),
         features=("conv_pos_batch_norm", "use_weighted_layer_sum")),
    Case("hubert_base_batchnorm_layer", "hubert", "Model", "layer/stable", False,
         dict(num_hidden_layers=1, conv_pos_batch_norm=True, feat_proj_layer_norm=True, num_conv_pos_embeddings=5,
              num_conv_pos_embedding_groups=4, hidden_act="gelu_new", layer_norm_eps=1e-2),
         features=("conv_pos_batch_norm (its eps stays 1e-5)", "odd pos conv kernel")),
    # UniSpeechSat
    Case("unispeech_sat_base_layer_mask", "unispeech-sat", "Model", "layer/stable", True,
         dict(num_hidden_layers=1, layer_norm_eps=1e-3, feat_extract_activation="gelu_new")),
    Case("unispeech_sat_ctc_group", "unispeech-sat", "ForCTC", "group/post", False,
         dict(num_hidden_layers=1, num_conv_pos_embeddings=6, vocab_size=9)),
    Case("unispeech_sat_cls_weighted_layer", "unispeech-sat", "ForSequenceClassification", "layer/stable", False,
         dict(use_weighted_layer_sum=True, hidden_act="silu"), features=("use_weighted_layer_sum",)),
    Case("unispeech_sat_frame_group_mask", "unispeech-sat", "ForAudioFrameClassification", "group/post", True,
         dict(num_hidden_layers=1, num_labels=4, layer_norm_eps=1e-2)),
    Case("unispeech_sat_xvector_weighted_layer_mask", "unispeech-sat", "ForXVector", "layer/stable", True,
         dict(use_weighted_layer_sum=True, tdnn_kernel=[2, 2, 1], tdnn_dilation=[1, 2, 1]),
         features=("use_weighted_layer_sum", "pooling lengths that ignore dilation (one frame too many)")),
    Case("unispeech_sat_pretraining_group", "unispeech-sat", "ForPreTraining", "group/post", False,
         dict(num_hidden_layers=1),
         features=("returns extract_features as logits and last_hidden_state as projected_states",)),
    # WavLM
    Case("wavlm_base_group_mask", "wavlm", "Model", "group/post", True,
         dict(num_hidden_layers=3, num_buckets=16, max_bucket_distance=10),
         features=("relative position bias passed through 3 layers",)),
    Case("wavlm_ctc_layer", "wavlm", "ForCTC", "layer/stable", False,
         dict(num_buckets=10, max_bucket_distance=6, layer_norm_eps=1e-3, hidden_size=12, num_attention_heads=3),
         features=("odd num_buckets / 2", "3 heads")),
    Case("wavlm_cls_weighted_group", "wavlm", "ForSequenceClassification", "group/post", False,
         dict(use_weighted_layer_sum=True, num_buckets=12, max_bucket_distance=8, hidden_act="gelu_new")),
    Case("wavlm_frame_layer_mask", "wavlm", "ForAudioFrameClassification", "layer/stable", True,
         dict(num_buckets=8, max_bucket_distance=10, num_labels=2)),
    Case("wavlm_xvector_group_mask", "wavlm", "ForXVector", "group/post", True,
         dict(num_buckets=16, max_bucket_distance=20, layer_norm_eps=1e-2),
         features=("max_bucket_distance beyond the longest distance",)),
    # Data2VecAudio
    Case("data2vec_audio_base_mask", "data2vec-audio", "Model", "layer/post", True,
         dict(num_conv_pos_embeddings=3, conv_pos_kernel_size=4, layer_norm_eps=1e-2),
         features=("3 positional conv layers, even kernel",)),
    Case("data2vec_audio_ctc_adapter", "data2vec-audio", "ForCTC", "layer/post", False,
         dict(num_hidden_layers=1, num_conv_pos_embeddings=2, conv_pos_kernel_size=5, num_conv_pos_embedding_groups=4,
              add_adapter=True, num_adapter_layers=2, adapter_stride=3, output_hidden_size=6,
              feat_extract_activation="relu"),
         features=("2 positional conv layers, odd kernel", "conv adapter with proj")),
    Case("data2vec_audio_cls_weighted_mask", "data2vec-audio", "ForSequenceClassification", "layer/post", True,
         dict(use_weighted_layer_sum=True, conv_pos_kernel_size=3, hidden_act="gelu_new")),
    Case("data2vec_audio_frame", "data2vec-audio", "ForAudioFrameClassification", "layer/post", False,
         dict(num_hidden_layers=1, num_conv_pos_embeddings=1, conv_pos_kernel_size=6, num_labels=4)),
    Case("data2vec_audio_xvector_mask", "data2vec-audio", "ForXVector", "layer/post", True,
         dict(num_hidden_layers=1, num_conv_pos_embeddings=2, layer_norm_eps=1e-3)),
]


def family_heads(model_type):
    """The model classes transformers exports for a family, e.g. ["Wav2Vec2ForCTC", ..., "Wav2Vec2Model"]."""
    prefix, _, module_name, _ = FAMILIES[model_type]
    module = importlib.import_module("transformers.models." + module_name)
    heads = sorted(name for name in module.__all__ if name != prefix + "PreTrainedModel")
    for name in heads:
        if not name.startswith(prefix) or name[len(prefix):] not in HEAD_KINDS:
            raise SystemExit(f"{module_name} exports {name}, a head this script does not know: add it to HEAD_KINDS")
    return heads


def make_config(case):
    _, config_class, _, norms = FAMILIES[case.model_type]
    fields = set(config_class().to_dict()) | {"num_labels"}
    settings = {key: value for key, value in TINY.items() if key in fields}
    if "do_stable_layer_norm" in fields:
        settings.update(NORMS[case.norm])
    elif case.norm not in norms:
        raise SystemExit(f"{case.name}: {case.model_type} has only {norms}")
    unknown = sorted(set(case.config) - fields)
    if unknown:
        raise SystemExit(f"{case.name}: {config_class.__name__} has no field {unknown}")
    settings.update(case.config)
    return config_class(**settings)


def perturb(model, generator):
    """Moves every parameter, and batch-norm running statistics, away from its init value.

    Vectors (biases, norms) move by PERTURBATION; matrices and kernels by at least 1/sqrt(fan_in), so that signals
    keep their size through the small ReLU stacks of the heads (TDNN) instead of dying out.
    """
    with torch.no_grad():
        for parameter in model.parameters():
            scale = PERTURBATION
            if parameter.dim() >= 2:
                scale = max(scale, (parameter.numel() / parameter.shape[0]) ** -0.5)
            parameter.add_(scale * torch.randn(parameter.shape, generator=generator))
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm1d):
                module.running_mean.add_(0.3 * torch.randn(module.running_mean.shape, generator=generator))
                module.running_var.mul_(torch.exp(0.3 * torch.randn(module.running_var.shape, generator=generator)))
                module.num_batches_tracked.fill_(7)


def make_inputs(lengths, generator):
    """Two different-length signals: a chirp-like tone plus noise, not already normalised."""
    inputs = []
    for length in lengths:
        t = np.arange(length) / 16000.0
        tone = 0.3 * np.sin(2 * np.pi * (220 + 900 * t) * t)
        noise = 0.05 * generator.standard_normal(length)
        inputs.append((tone + noise + 0.02).astype(np.float32))
    return inputs


def run(model, batch, seed):
    """One eval forward with every hidden state, under a given random state (to expose randomness in outputs)."""
    torch.manual_seed(seed)
    np.random.seed(seed)
    with torch.no_grad():
        return model(**batch, output_hidden_states=True)


def flatten_outputs(outputs):
    """HF output fields as reference tensors: hidden_states.i for the tuple, scalars as shape [1]."""
    tensors = {}
    for name, value in outputs.items():
        if name == "hidden_states":
            for index, state in enumerate(value):
                tensors[f"hidden_states.{index}"] = state.float().clone(memory_format=torch.contiguous_format)
        elif name == "attentions":
            raise SystemExit("attentions were not requested")
        else:
            value = value.float().clone(memory_format=torch.contiguous_format)
            tensors[name] = value.reshape(1) if value.dim() == 0 else value
    return tensors


def none_fields(model_class, outputs):
    """Fields of the head's output class that hold no tensor, with the reason."""
    reasons = {}
    for name in outputs.__dataclass_fields__:
        if outputs.get(name) is not None:
            continue
        if name in NONE_REASONS:
            reasons[name] = NONE_REASONS[name]
        elif model_class.__name__ == "UniSpeechSatForPreTraining":
            reasons[name] = ("always None: UniSpeechSatForPreTraining.forward in transformers "
                             f"{transformers.__version__} computes no quantized states")
        else:
            raise SystemExit(f"{model_class.__name__} returned None for {name}: give a reason in NONE_REASONS")
    return reasons


def deterministic_outputs(model, batch, seed):
    """Reference tensors of two runs under different seeds; outputs that differ are left out with the reason."""
    first = run(model, batch, seed)
    second = run(model, batch, seed + 1)
    tensors, omitted = flatten_outputs(first), {}
    again = flatten_outputs(second)
    for name in list(tensors):
        if not torch.equal(tensors[name], again[name]):
            del tensors[name]
            omitted[name] = "not deterministic in eval: differs between two runs under different random seeds"
    return first, tensors, omitted


def quantizer_margin(model, batch):
    """Smallest gap between the top two quantizer logits of any frame and group (argmax stability)."""
    quantizer = getattr(model, "quantizer", None)
    if quantizer is None or type(model).__name__ == "UniSpeechSatForPreTraining":
        return None
    captured = {}
    handle = quantizer.weight_proj.register_forward_hook(lambda module, args, output: captured.update(logits=output))
    with torch.no_grad():
        model(**batch)
    handle.remove()
    logits = captured["logits"].reshape(-1, quantizer.num_vars)
    top = logits.topk(2, dim=-1).values
    return float((top[:, 0] - top[:, 1]).min())


def write_adapter(model, case, directory, generator):
    """adapter.<lang>.safetensors: every key load_adapter expects, with values unlike model.safetensors."""
    adapter = {}
    for name, parameter in model._get_adapters().items():
        value = parameter.detach().clone()
        if name.startswith("lm_head."):
            shape = (case.adapter_vocab_size,) + tuple(value.shape[1:])
            value = 0.5 * torch.randn(shape, generator=generator)
        else:
            value = value + 0.5 * torch.randn(value.shape, generator=generator)
        adapter[name] = value.contiguous()
    path = directory / f"adapter.{case.adapter_lang}.safetensors"
    safetensors.torch.save_file(adapter, path, metadata={"format": "pt"})
    return sorted(adapter)


def make_case(case, heads):
    seed = zlib.crc32(case.name.encode()) + case.seed_offset
    generator = torch.Generator().manual_seed(seed)
    numpy_generator = np.random.default_rng(seed)
    directory = ROOT / case.name
    directory.mkdir()

    prefix = FAMILIES[case.model_type][0]
    class_name = prefix + case.head
    model_class = getattr(transformers, class_name)
    config = make_config(case)
    torch.manual_seed(seed)
    model = model_class(config).eval()
    perturb(model, generator)
    model.save_pretrained(directory, safe_serialization=True)
    extractor = Wav2Vec2FeatureExtractor(**{"feature_size": 1, "sampling_rate": 16000, "padding_value": 0.0,
                                            "do_normalize": True, "return_attention_mask": case.mask,
                                            **case.extractor})
    extractor.save_pretrained(directory)

    waveforms = make_inputs(INPUT_LENGTHS, numpy_generator)
    for index, waveform in enumerate(waveforms):
        np.save(directory / f"input{index}.npy", waveform)
    batch = extractor(waveforms, sampling_rate=16000, padding=True, return_tensors="pt")
    if ("attention_mask" in batch) != case.mask:
        raise SystemExit(f"{case.name}: extractor mask {'attention_mask' in batch}, case says {case.mask}")

    loaded = model_class.from_pretrained(directory).eval()
    outputs, tensors, omitted = deterministic_outputs(loaded, batch, seed)
    in_memory = flatten_outputs(run(model, batch, seed))
    for name, value in tensors.items():
        if not torch.equal(value, in_memory[name]):
            raise SystemExit(f"{case.name}: {name} differs between the saved-and-reloaded and the in-memory model")
    omitted.update(none_fields(model_class, outputs))
    head_outputs = [name for name in outputs.keys() if name != "hidden_states"]

    reference = {"input_values": batch["input_values"].contiguous()}
    if case.mask:
        reference["attention_mask"] = batch["attention_mask"].to(torch.int32).contiguous()
    reference.update(tensors)
    for name, value in reference.items():
        if not torch.isfinite(value.float()).all():
            raise SystemExit(f"{case.name}: {name} is not finite")
    safetensors.torch.save_file(reference, directory / "reference.safetensors", metadata={"format": "pt"})

    entry = {
        "name": case.name,
        "model_type": case.model_type,
        "transformers_class": class_name,
        "head": HEAD_KINDS[case.head],
        "norm": case.norm,
        "feat_extract_norm": getattr(config, "feat_extract_norm", "layer"),
        "do_stable_layer_norm": getattr(config, "do_stable_layer_norm", False),
        "attention_mask": case.mask,
        "input_lengths": list(INPUT_LENGTHS),
        "head_outputs": head_outputs,
        "num_hidden_states": sum(1 for name in tensors if name.startswith("hidden_states.")),
        "reference": "reference.safetensors",
        "outputs": list(reference),
        "omitted": omitted,
        "features": list(case.features),
        "family_heads": heads,
    }
    margin = quantizer_margin(loaded, batch)
    if margin is not None:
        if margin < MIN_ARGMAX_MARGIN:
            raise SystemExit(f"{case.name}: quantizer argmax margin {margin} is a near tie; change the case")
        entry["quantizer_argmax_margin"] = margin

    if case.adapter_lang is not None:
        keys = write_adapter(loaded, case, directory, generator)
        adapted = model_class.from_pretrained(directory).eval()
        adapted.load_adapter(case.adapter_lang)
        _, adapted_tensors, adapted_omitted = deterministic_outputs(adapted, batch, seed)
        if adapted_omitted:
            raise SystemExit(f"{case.name}: adapter outputs not deterministic: {adapted_omitted}")
        direct = model_class.from_pretrained(directory, target_lang=case.adapter_lang).eval()
        for name, value in flatten_outputs(run(direct, batch, seed)).items():
            if not torch.equal(value, adapted_tensors[name]):
                raise SystemExit(f"{case.name}: from_pretrained(target_lang=) and load_adapter() differ in {name}")
        if torch.equal(adapted_tensors["logits"][..., :1], tensors["logits"][..., :1]):
            raise SystemExit(f"{case.name}: the adapter did not change the logits")
        adapted_reference = {"input_values": reference["input_values"]}
        if case.mask:
            adapted_reference["attention_mask"] = reference["attention_mask"]
        adapted_reference.update(adapted_tensors)
        reference_name = f"reference.{case.adapter_lang}.safetensors"
        safetensors.torch.save_file(adapted_reference, directory / reference_name, metadata={"format": "pt"})
        entry["adapter"] = {
            "lang": case.adapter_lang,
            "file": f"adapter.{case.adapter_lang}.safetensors",
            "keys": keys,
            "vocab_size": case.adapter_vocab_size,
            "reference": reference_name,
            "outputs": list(adapted_reference),
        }
    shapes = {name: list(value.shape) for name, value in reference.items() if not name.startswith("hidden_states.")}
    print(case.name, shapes, f"{len(entry['outputs'])} tensors")
    return entry


def check_coverage(entries):
    """Every head of every family at least once; every family's norm kinds at least twice, with and without mask."""
    problems = []
    for model_type, (_, _, _, norms) in FAMILIES.items():
        covered = {entry["transformers_class"] for entry in entries if entry["model_type"] == model_type}
        missing = sorted(set(family_heads(model_type)) - covered)
        if missing:
            problems.append(f"{model_type}: no case for {missing}")
        for norm in norms:
            masks = [entry["attention_mask"] for entry in entries
                     if entry["model_type"] == model_type and entry["norm"] == norm]
            if len(masks) < 2 or set(masks) != {True, False}:
                problems.append(f"{model_type} {norm}: {len(masks)} cases, masks {sorted(set(masks))}")
    if problems:
        raise SystemExit("coverage: " + "; ".join(problems))


def compact_json(value):
    """Indented JSON with every list of scalars on one line."""
    text = json.dumps(value, indent=1)
    return re.sub(r"\[\n\s*([^\[\]{}]*?)\n\s*\]", lambda m: "[" + re.sub(r",\n\s*", ", ", m.group(1)) + "]", text)


def main():
    transformers.utils.logging.disable_progress_bar()
    # WavLM hands torch's multi_head_attention_forward a bool key padding mask and a float position bias.
    warnings.filterwarnings("ignore", message="Support for mismatched key_padding_mask and attn_mask is deprecated")
    if ROOT.exists():
        shutil.rmtree(ROOT)
    ROOT.mkdir(parents=True)
    names = [case.name for case in CASES]
    if len(set(names)) != len(names):
        raise SystemExit("case names repeat")
    entries = [make_case(case, family_heads(case.model_type)) for case in CASES]
    check_coverage(entries)
    (ROOT / "cases.json").write_text(compact_json(entries) + "\n")
    versions = {
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "safetensors": safetensors.__version__,
        "python": platform.python_version(),
        "script": SCRIPT,
    }
    (ROOT / "versions.json").write_text(json.dumps(versions, indent=2) + "\n")
    total = sum(path.stat().st_size for path in ROOT.rglob("*") if path.is_file())
    print(f"{len(entries)} cases, {total} bytes in {ROOT}")


if __name__ == "__main__":
    main()
