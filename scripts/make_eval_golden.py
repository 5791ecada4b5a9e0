#!/usr/bin/env python3
"""Makes Tests/Fixtures/eval/expected.json: the figures `unispeech eval` must reproduce on the two committed
manifests, computed with transformers (and cross-checked with jiwer), plus versions.json beside it.

Run by hand: /work/venv/bin/python scripts/make_eval_golden.py

Inputs (committed, hand-written): Tests/Fixtures/eval/ctc.jsonl ({"audio", "text"} per line) for
examples/unispeech-digits-ctc and Tests/Fixtures/eval/classifier.jsonl ({"audio", "label"} per line) for
examples/unispeech-digits-classifier. Audio paths are relative to the manifest's directory.

Each file is run alone (a batch of one):
- audio: soundfile.read(dtype="float32") (int16 / 32768), channels mixed by their f32 mean, resampled by
  python-soxr at its default quality "HQ" when the rate is not the feature extractor's;
- Wav2Vec2FeatureExtractor(samples, sampling_rate=16000) -> input_values, attention_mask;
- CTC: labels = Wav2Vec2CTCTokenizer(text).input_ids; model(input_values, attention_mask, labels=labels) gives
  the loss (config ctc_loss_reduction / ctc_zero_infinity, blank = pad_token_id) and the logits; the
  hypothesis is tokenizer.batch_decode(logits.argmax(-1))[0];
- classifier: argmax of model(input_values, attention_mask).logits, named by config.id2label.

Error rates (no normalisation beyond whitespace): a text's words are text.split() (runs of Unicode whitespace,
leading and trailing ignored); its characters are those of " ".join(words), the space included. Case,
punctuation and every other character count as written. Word errors and char errors are the unit-cost
Levenshtein distance (substitution = insertion = deletion = 1) from the reference's list to the hypothesis's.
WER = sum of word errors / sum of reference words, CER likewise over characters, exact match = share of
utterances whose word lists are equal, mean loss = arithmetic mean of the per-utterance losses. The same
figures are computed with jiwer on the whitespace-normalised strings; the script fails if they differ.
"""

import importlib.metadata
import json
import platform
from pathlib import Path

import jiwer
import numpy as np
import soundfile
import soxr
import torch
import transformers
from transformers import (
    UniSpeechForCTC,
    UniSpeechForSequenceClassification,
    Wav2Vec2CTCTokenizer,
    Wav2Vec2FeatureExtractor,
)

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "Fixtures" / "eval"
CTC_MODEL = ROOT / "examples" / "unispeech-digits-ctc"
CLASSIFIER_MODEL = ROOT / "examples" / "unispeech-digits-classifier"


def read_manifest(path):
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def load_audio(manifest_dir, relative, sampling_rate):
    """Samples as `unispeech` reads them: f32, mono by channel mean, soxr HQ to the model's rate."""
    samples, rate = soundfile.read(str(manifest_dir / relative), dtype="float32", always_2d=True)  # [N, C]
    mono = samples.mean(axis=1, dtype=np.float32)  # [N]
    if rate != sampling_rate:
        mono = soxr.resample(mono, rate, sampling_rate, quality="HQ")
    return mono, rate, samples.shape[1]


def levenshtein(reference, hypothesis):
    """Unit-cost edit distance between two sequences."""
    previous = list(range(len(hypothesis) + 1))
    for i, r in enumerate(reference, 1):
        current = [i]
        for j, h in enumerate(hypothesis, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (r != h)))
        previous = current
    return previous[-1]


def normalize_whitespace(text):
    return " ".join(text.split())


def run_ctc(manifest_path):
    manifest_dir = manifest_path.parent
    extractor = Wav2Vec2FeatureExtractor.from_pretrained(CTC_MODEL)
    tokenizer = Wav2Vec2CTCTokenizer.from_pretrained(CTC_MODEL)
    model = UniSpeechForCTC.from_pretrained(CTC_MODEL).eval()
    utterances = []
    for entry in read_manifest(manifest_path):
        samples, rate, channels = load_audio(manifest_dir, entry["audio"], extractor.sampling_rate)
        inputs = extractor(samples, sampling_rate=extractor.sampling_rate, return_tensors="pt")
        label_ids = tokenizer(entry["text"]).input_ids
        with torch.no_grad():
            out = model(inputs.input_values, attention_mask=inputs.get("attention_mask"),
                        labels=torch.tensor([label_ids]))
        pred_ids = out.logits.argmax(-1)  # [1, T]
        hypothesis = tokenizer.batch_decode(pred_ids)[0]

        reference_text = normalize_whitespace(entry["text"])
        hypothesis_text = normalize_whitespace(hypothesis)
        reference_words, hypothesis_words = reference_text.split(" "), hypothesis_text.split(" ")
        word_errors = levenshtein(reference_words, hypothesis_words)
        char_errors = levenshtein(reference_text, hypothesis_text)
        utterances.append({
            "audio": entry["audio"],
            "text": entry["text"],
            "source_rate": rate,
            "source_channels": channels,
            "samples": int(samples.shape[0]),
            "frames": int(out.logits.shape[1]),
            "label_ids": label_ids,
            "label_text": tokenizer.decode(label_ids, group_tokens=False),
            "pred_ids": pred_ids[0].tolist(),
            "hypothesis": hypothesis,
            "loss": float(out.loss),
            "reference_normalized": reference_text,
            "hypothesis_normalized": hypothesis_text,
            "word_errors": word_errors,
            "words": len(reference_words),
            "wer": word_errors / len(reference_words),
            "char_errors": char_errors,
            "chars": len(reference_text),
            "cer": char_errors / len(reference_text),
            "exact": reference_words == hypothesis_words,
        })

    totals = {key: sum(u[key] for u in utterances) for key in ("word_errors", "words", "char_errors", "chars")}
    corpus = {
        "utterances": len(utterances),
        **totals,
        "exact": sum(u["exact"] for u in utterances),
        "wer": totals["word_errors"] / totals["words"],
        "cer": totals["char_errors"] / totals["chars"],
        "exact_match": sum(u["exact"] for u in utterances) / len(utterances),
        "mean_loss": sum(u["loss"] for u in utterances) / len(utterances),
    }

    references = [u["reference_normalized"] for u in utterances]
    hypotheses = [u["hypothesis_normalized"] for u in utterances]
    cross_check = {"wer": jiwer.wer(references, hypotheses), "cer": jiwer.cer(references, hypotheses)}
    for u in utterances:
        words = jiwer.process_words(u["reference_normalized"], u["hypothesis_normalized"])
        chars = jiwer.process_characters(u["reference_normalized"], u["hypothesis_normalized"])
        assert words.substitutions + words.deletions + words.insertions == u["word_errors"], u
        assert chars.substitutions + chars.deletions + chars.insertions == u["char_errors"], u
    assert abs(cross_check["wer"] - corpus["wer"]) < 1e-12 and abs(cross_check["cer"] - corpus["cer"]) < 1e-12, (
        cross_check, corpus)
    return {"model": "examples/unispeech-digits-ctc", "manifest": "Tests/Fixtures/eval/ctc.jsonl",
            "utterances": utterances, "corpus": corpus, "jiwer": cross_check}


def run_classifier(manifest_path):
    manifest_dir = manifest_path.parent
    extractor = Wav2Vec2FeatureExtractor.from_pretrained(CLASSIFIER_MODEL)
    model = UniSpeechForSequenceClassification.from_pretrained(CLASSIFIER_MODEL).eval()
    id2label = {int(k): v for k, v in model.config.id2label.items()}
    labels = [id2label[i] for i in range(len(id2label))]
    confusion = [[0] * len(labels) for _ in labels]  # [true, predicted]
    files = []
    for entry in read_manifest(manifest_path):
        samples, rate, channels = load_audio(manifest_dir, entry["audio"], extractor.sampling_rate)
        inputs = extractor(samples, sampling_rate=extractor.sampling_rate, return_tensors="pt")
        with torch.no_grad():
            logits = model(inputs.input_values, attention_mask=inputs.get("attention_mask")).logits[0]  # [L]
        predicted = int(logits.argmax())
        true = labels.index(entry["label"])
        confusion[true][predicted] += 1
        files.append({"audio": entry["audio"], "label": entry["label"], "label_id": true,
                      "predicted": id2label[predicted], "predicted_id": predicted, "correct": predicted == true,
                      "samples": int(samples.shape[0]), "logits": [float(x) for x in logits]})
    correct = sum(f["correct"] for f in files)
    return {"model": "examples/unispeech-digits-classifier", "manifest": "Tests/Fixtures/eval/classifier.jsonl",
            "labels": labels, "files": files, "correct": correct, "accuracy": correct / len(files),
            "confusion": confusion}


def main():
    expected = {
        "made_by": "scripts/make_eval_golden.py",
        "ctc": run_ctc(OUT / "ctc.jsonl"),
        "classifier": run_classifier(OUT / "classifier.jsonl"),
    }
    (OUT / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    versions = {
        "transformers": transformers.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "soundfile": soundfile.__version__,
        "soxr": soxr.__version__,
        "jiwer": importlib.metadata.version("jiwer"),
        "python": platform.python_version(),
    }
    (OUT / "versions.json").write_text(json.dumps(versions, indent=2) + "\n")
    ctc, classifier = expected["ctc"]["corpus"], expected["classifier"]
    print(f"ctc: WER {ctc['wer']:.6f} CER {ctc['cer']:.6f} exact {ctc['exact_match']:.6f} "
          f"mean loss {ctc['mean_loss']:.6f}; classifier accuracy {classifier['accuracy']:.6f}")


if __name__ == "__main__":
    main()
