#!/usr/bin/env python3
"""Makes Tests/Fixtures/family_eval/: for each family's CTC and sequence-classification golden case
(Tests/Fixtures/family), a manifest of the case's two inputs, a CTC vocabulary, and the figures `unispeech eval` must
reproduce, computed with transformers as scripts/make_eval_golden.py computes them for the demo models (each file
alone; WER / CER over whitespace-normalised text, case and punctuation counted; the CTC loss of
<Prefix>ForCTC(labels=...); accuracy and confusion of the classifier), cross-checked with jiwer.

Per CTC case <case>: Tests/Fixtures/family_eval/<case>/ holds vocab.json, tokenizer_config.json and
special_tokens_map.json (Wav2Vec2CTCTokenizer.save_pretrained of a character vocabulary of the config's vocab_size:
<pad> <s> </s> <unk> | a b c ...) and eval.jsonl ({"audio": "../../family/<case>/inputN.npy", "text": ...}); the
model's own files stay in Tests/Fixtures/family/<case>/ (the test puts both in one directory). Per classification
case: eval.jsonl with {"audio", "label"} lines. The inputs are the cases' .npy files (float32 samples at 16 kHz).

The models are tiny and random, so their transcripts are letter salad: what is checked is that eval scores them as
transformers does. The script fails when a frame's top two logits (or a classifier's) are closer than 3e-4 of the
largest |logit| (the Swift forward is within 1e-4 of it, so a closer pair could flip), or when a loss is not finite.

Writes Tests/Fixtures/family_eval/expected.json and versions.json.
Run by hand: /work/venv/bin/python scripts/make_family_eval_golden.py
"""

import importlib.metadata
import json
import platform
from pathlib import Path

import jiwer
import numpy as np
import torch
import transformers
from transformers import AutoConfig, Wav2Vec2CTCTokenizer, Wav2Vec2FeatureExtractor

from make_eval_golden import levenshtein  # the same unit-cost edit distance as the demo eval golden

ROOT = Path(__file__).resolve().parent.parent
FAMILY = ROOT / "Tests" / "Fixtures" / "family"
OUT = ROOT / "Tests" / "Fixtures" / "family_eval"
SPECIAL = ["<pad>", "<s>", "</s>", "<unk>", "|"]
MIN_MARGIN = 3e-4

# One CTC and one sequence-classification case per family, and the manifest lines: (input index, text or label id).
CTC_CASES = ["unispeech_ctc_layer_mask", "wav2vec2_ctc_mms_layer_mask", "hubert_ctc_layer_mask", "unispeech_sat_ctc_group",
             "wavlm_ctc_layer", "data2vec_audio_ctc_adapter"]
CTC_LINES = [(0, "ab"), (1, "b a"), (0, "a b"), (1, "ba")]
CTC_LINES_SHORT = [(0, "a"), (1, "b"), (0, "ab"), (1, "a")]  # the conv adapter leaves 3 and 2 frames
CLASSIFICATION_CASES = ["unispeech_cls_weighted_group_mask", "wav2vec2_cls_group_mask", "hubert_cls_weighted_batchnorm_group_mask",
                        "unispeech_sat_cls_weighted_layer", "wavlm_cls_weighted_group", "data2vec_audio_cls_weighted_mask"]
CLASSIFICATION_LINES = [(0, 0), (1, 1), (0, 1), (1, 0)]


def model_class(case, suffix):
    config = AutoConfig.from_pretrained(FAMILY / case)
    prefix = config.architectures[0].split("For")[0].removesuffix("Model")
    return getattr(transformers, prefix + suffix)


def check_margins(logits, what):
    """logits [T, V] or [V]: the top two of every row must be MIN_MARGIN x max |logit| apart."""
    rows = logits.reshape(-1, logits.shape[-1])
    top = rows.topk(2, dim=-1).values
    margin = float((top[:, 0] - top[:, 1]).min())
    assert margin > MIN_MARGIN * float(rows.abs().max()), f"{what}: near tie (margin {margin})"
    return margin


def write_manifest(case, lines, key):
    directory = OUT / case
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / "eval.jsonl", "w") as f:
        for index, value in lines:
            f.write(json.dumps({"audio": f"../../family/{case}/input{index}.npy", key: value}) + "\n")
    return directory


def run_ctc(case):
    model = model_class(case, "ForCTC").from_pretrained(FAMILY / case).eval()
    letters = [chr(ord("a") + i) for i in range(model.config.vocab_size - len(SPECIAL))]
    directory = OUT / case
    directory.mkdir(parents=True, exist_ok=True)
    vocab_path = directory / "vocab.json"
    vocab_path.write_text(json.dumps({token: i for i, token in enumerate(SPECIAL + letters)}, indent=1) + "\n")
    Wav2Vec2CTCTokenizer(str(vocab_path)).save_pretrained(directory)
    tokenizer = Wav2Vec2CTCTokenizer.from_pretrained(directory)
    extractor = Wav2Vec2FeatureExtractor.from_pretrained(FAMILY / case)
    lines = CTC_LINES_SHORT if getattr(model.config, "add_adapter", False) else CTC_LINES
    write_manifest(case, lines, "text")
    utterances = []
    for index, text in lines:
        samples = np.load(FAMILY / case / f"input{index}.npy")
        inputs = extractor(samples, sampling_rate=extractor.sampling_rate, return_tensors="pt")
        label_ids = tokenizer(text).input_ids
        with torch.no_grad():
            out = model(inputs.input_values, attention_mask=inputs.get("attention_mask"), labels=torch.tensor([label_ids]))
        margin = check_margins(out.logits[0], f"{case} input{index}")
        assert torch.isfinite(out.loss), f"{case} input{index} '{text}': loss {out.loss}"
        pred_ids = out.logits.argmax(-1)  # [1, T]
        hypothesis = tokenizer.batch_decode(pred_ids)[0]
        reference_words, hypothesis_words = text.split(), hypothesis.split()  # an empty transcript has no words
        reference_text, hypothesis_text = " ".join(reference_words), " ".join(hypothesis_words)
        word_errors = levenshtein(reference_words, hypothesis_words)
        char_errors = levenshtein(reference_text, hypothesis_text)
        if hypothesis_words:  # jiwer refuses an empty hypothesis
            words = jiwer.process_words(reference_text, hypothesis_text)
            chars = jiwer.process_characters(reference_text, hypothesis_text)
            assert words.substitutions + words.deletions + words.insertions == word_errors
            assert chars.substitutions + chars.deletions + chars.insertions == char_errors
        utterances.append({
            "audio": f"../../family/{case}/input{index}.npy", "text": text, "frames": int(out.logits.shape[1]),
            "label_ids": label_ids, "pred_ids": pred_ids[0].tolist(), "hypothesis": hypothesis, "loss": float(out.loss),
            "word_errors": word_errors, "words": len(reference_words), "char_errors": char_errors,
            "chars": len(reference_text), "exact": reference_words == hypothesis_words,
            "min_margin": margin,
        })
    totals = {key: sum(u[key] for u in utterances) for key in ("word_errors", "words", "char_errors", "chars")}
    return {
        "case": case, "manifest": f"Tests/Fixtures/family_eval/{case}/eval.jsonl", "loss_reduction": model.config.ctc_loss_reduction,
        "utterances": utterances,
        "corpus": {**totals, "utterances": len(utterances), "wer": totals["word_errors"] / totals["words"],
                   "cer": totals["char_errors"] / totals["chars"],
                   "exact_match": sum(u["exact"] for u in utterances) / len(utterances),
                   "mean_loss": sum(u["loss"] for u in utterances) / len(utterances)},
    }


def run_classification(case):
    model = model_class(case, "ForSequenceClassification").from_pretrained(FAMILY / case).eval()
    extractor = Wav2Vec2FeatureExtractor.from_pretrained(FAMILY / case)
    id2label = {int(k): v for k, v in model.config.id2label.items()}
    labels = [id2label[i] for i in range(len(id2label))]
    lines = [(index, labels[label]) for index, label in CLASSIFICATION_LINES]
    write_manifest(case, lines, "label")
    confusion = [[0] * len(labels) for _ in labels]  # [true, predicted]
    files = []
    for index, label in lines:
        samples = np.load(FAMILY / case / f"input{index}.npy")
        inputs = extractor(samples, sampling_rate=extractor.sampling_rate, return_tensors="pt")
        with torch.no_grad():
            logits = model(inputs.input_values, attention_mask=inputs.get("attention_mask")).logits[0]  # [L]
        check_margins(logits, f"{case} input{index}")
        predicted, true = int(logits.argmax()), labels.index(label)
        confusion[true][predicted] += 1
        files.append({"audio": f"../../family/{case}/input{index}.npy", "label": label, "label_id": true,
                      "predicted": id2label[predicted], "predicted_id": predicted, "logits": [float(x) for x in logits]})
    correct = sum(f["predicted_id"] == f["label_id"] for f in files)
    return {"case": case, "manifest": f"Tests/Fixtures/family_eval/{case}/eval.jsonl", "labels": labels, "files": files,
            "correct": correct, "accuracy": correct / len(files), "confusion": confusion}


def main():
    expected = {
        "made_by": "scripts/make_family_eval_golden.py",
        "ctc": [run_ctc(case) for case in CTC_CASES],
        "classification": [run_classification(case) for case in CLASSIFICATION_CASES],
    }
    (OUT / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    versions = {"transformers": transformers.__version__, "torch": torch.__version__, "numpy": np.__version__,
                "jiwer": importlib.metadata.version("jiwer"), "python": platform.python_version()}
    (OUT / "versions.json").write_text(json.dumps(versions, indent=2) + "\n")
    for entry in expected["ctc"]:
        corpus = entry["corpus"]
        print(f"{entry['case']}: WER {corpus['wer']:.4f} CER {corpus['cer']:.4f} mean loss {corpus['mean_loss']:.4f}")
    for entry in expected["classification"]:
        print(f"{entry['case']}: accuracy {entry['accuracy']:.2f}")


if __name__ == "__main__":
    main()
