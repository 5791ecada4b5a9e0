#!/usr/bin/env python3
"""Makes Tests/Fixtures/eval/ctc_cases.json: how transformers turns reference text into CTC labels, and the CTC
loss of small hand-made logits, for the Swift label-encoding and CTC-loss unit tests.

Run by hand: /work/venv/bin/python scripts/make_ctc_cases.py

Label encoding: `Wav2Vec2CTCTokenizer.from_pretrained(DIR)(text).input_ids` for tricky texts (spaces at the ends
and doubled, case, characters outside the vocabulary, special tokens written in the text with and without spaces
around them, decomposed accents, "ß", tabs) on
- the demo model's tokenizer (examples/unispeech-digits-ctc),
- every distinct tokenizer of Tests/Fixtures/decoders/ctc_decoder_cases.json (named by its first case there),
- two crafted ones stored here whole: added tokens with lstrip / rstrip / single_word flags on one-character
  tokens, and a vocabulary where "ab" and "abc" overlap (the trie's longest match).
transformers 5.x drops a custom word_delimiter_token when it loads a tokenizer from disk (it falls back to "|");
the Swift tokenizer honours the file, so for such a tokenizer the file's delimiter is set back on the loaded
tokenizer before encoding (`word_delimiter_restored` names it). A space still becomes the delimiter's characters
one by one there (transformers' `list(text.replace(" ", delimiter))`).

CTC loss: seeded random float32 logits [T, V] and label lists. For each case
- `nll_f64`: torch.nn.functional.ctc_loss(reduction="sum") on float64 log_softmax, the targets being the labels
  without -100 and the blank (what the forward algorithm must give, to double precision);
- `for_ctc`: transformers' ForCTCLoss (loss/loss_ctc.py, the loss `ForCTC(labels=...)` computes: float32
  log_softmax, labels equal to -100 or the blank dropped) for reduction mean / sum / none and zero_infinity
  false / true.
"""

import json
import math
import re
import tempfile
from pathlib import Path

import numpy as np
import torch
import transformers
from transformers import Wav2Vec2CTCTokenizer
from transformers.loss.loss_ctc import ForCTCLoss

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "Fixtures" / "eval" / "ctc_cases.json"
DECODER_CASES = ROOT / "Tests" / "Fixtures" / "decoders" / "ctc_decoder_cases.json"
DEMO_MODEL = "examples/unispeech-digits-ctc"

COMMON_TEXTS = [
    "", " ", "zero three", " zero  three ", "Seven.", "ZERO", "Zero", "a\tb", "a\nb", "a\u00a0b",
    "stra\u00dfe", "caf\u00e9", "cafe\u0301", "\ufb01ve", "don't", "123", "<unk>", "<UNK>", "a <unk> b",
    "a<unk>b", "<pad>", "a <pad> b", "<s>one</s>", "< s>", "<s", "</s>>", "a|b", "a | b", "||", "a  |  b",
    "\U0001F44D\U0001F3FD", "x\u0301\u0301",
]

EXTRA_TEXTS = {
    "multi-character tokens, custom blank and delimiter": [
        "thing", "the sing", "<noise>", "a<noise>b", "a <noise> b", "a<sp>b", "a <sp> b", "ingth", "<blank>",
        "t h", "THING",
    ],
    "pad token not at id 0, replace_word_delimiter_char '_'": ["abc", "a b", "A B", "<pad>a", "a<pad>"],
    "nested vocabulary with target_lang": ["\u00e9b", "ab", "e\u0301"],
    "legacy special_tokens_map.json (skip_special_tokens=False)": [
        "A [UNK] B", "A[UNK]B", "[PAD]", "A [PAD] B", "A<laugh>B", "A <laugh> B", "<unk>", "abc", "ABC",
    ],
    "flags on one-character tokens": ["a # b", "a#b", "a $ b", "a$b", "x a$ y", "a $b", "$", " $ ", "a ~ b", "a~b"],
    "overlapping multi-character tokens": ["abc", "abcd", "ab", "aabcab", "abab", "xabcx", "a b c", "ABC"],
}


def crafted_tokenizers():
    """Tokenizer files written by hand (no save_pretrained) for behaviours the decoder fixtures do not reach."""
    letters = {"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3, "|": 4}
    for letter in "abcxy#$~":
        letters[letter] = len(letters)

    def added(content, lstrip=False, rstrip=False, single_word=False, special=False):
        return {"content": content, "lstrip": lstrip, "rstrip": rstrip, "normalized": False,
                "single_word": single_word, "special": special}

    flags = {
        "vocab.json": letters,
        "tokenizer_config.json": {
            "tokenizer_class": "Wav2Vec2CTCTokenizer", "do_lower_case": False, "word_delimiter_token": "|",
            "added_tokens_decoder": {
                "0": added("<pad>", True, True), "1": added("<s>", True, True), "2": added("</s>", True, True),
                "3": added("<unk>", True, True), "4": added("|", special=True),
                str(letters["#"]): added("#", lstrip=True, rstrip=True),
                str(letters["$"]): added("$", single_word=True),
                str(letters["~"]): added("~", rstrip=True),
            },
        },
    }
    overlap_vocab = {"<pad>": 0, "<unk>": 1, "|": 2, "a": 3, "b": 4, "c": 5, "d": 6, "x": 7, "ab": 8, "abc": 9,
                     "bc": 10, "<s>": 11, "</s>": 12}
    overlap = {
        "vocab.json": overlap_vocab,
        "tokenizer_config.json": {"tokenizer_class": "Wav2Vec2CTCTokenizer", "do_lower_case": False},
    }
    return {"flags on one-character tokens": flags, "overlapping multi-character tokens": overlap}


def write_files(directory, files):
    for name, content in files.items():
        (Path(directory) / name).write_text(json.dumps(content))


def file_word_delimiter(files):
    """The word delimiter the tokenizer files name (tokenizer_config.json, else special_tokens_map.json), or "|"."""
    for name in ("tokenizer_config.json", "special_tokens_map.json"):
        value = (files.get(name) or {}).get("word_delimiter_token")
        if value is not None:
            return value["content"] if isinstance(value, dict) else value
    return "|"


def encode_all(files, texts):
    """Encodings of `texts`, and the word delimiter restored when transformers 5.x lost the file's one on loading
    (the Swift tokenizer honours the file, when decoding and when encoding)."""
    with tempfile.TemporaryDirectory() as directory:
        write_files(directory, files)
        tokenizer = Wav2Vec2CTCTokenizer.from_pretrained(directory)
        restored = None
        if tokenizer.word_delimiter_token != file_word_delimiter(files):
            restored = file_word_delimiter(files)
            tokenizer._word_delimiter_token = restored  # the public setter does not reach it in 5.x
        return [{"text": text, "ids": tokenizer(text).input_ids} for text in texts], restored


def label_encoding_cases():
    cases = []
    with tempfile.TemporaryDirectory() as directory:
        tokenizer = Wav2Vec2CTCTokenizer.from_pretrained(ROOT / DEMO_MODEL)
        cases.append({"name": "demo model", "model": DEMO_MODEL,
                      "encodings": [{"text": t, "ids": tokenizer(t).input_ids} for t in COMMON_TEXTS]})
    seen = set()
    for case in json.loads(DECODER_CASES.read_text())["cases"]:
        key = json.dumps(case["files"], sort_keys=True)
        if key in seen:
            continue
        seen.add(key)
        texts = COMMON_TEXTS + EXTRA_TEXTS.get(case["name"], [])
        encodings, restored = encode_all(case["files"], texts)
        cases.append({"name": case["name"], "decoder_case": case["name"], "word_delimiter_restored": restored,
                      "encodings": encodings})
    for name, files in crafted_tokenizers().items():
        encodings, restored = encode_all(files, COMMON_TEXTS + EXTRA_TEXTS[name])
        cases.append({"name": name, "files": files, "word_delimiter_restored": restored, "encodings": encodings})
    return cases


def f32_list(array):
    return [float(x) for x in np.asarray(array, dtype=np.float32).reshape(-1)]


def loss_case(name, rng, frames, classes, labels, blank=0, scale=3.0, path=None):
    logits = rng.standard_normal((frames, classes)) * scale  # [T, V]
    if path is not None:
        logits[np.arange(frames), path] += 25.0  # one alignment far ahead of the rest: a loss near zero
    logits = logits.astype(np.float32)
    logits_t = torch.from_numpy(logits)
    targets = [label for label in labels if label != -100 and label != blank]
    log_probs64 = torch.log_softmax(logits_t.double(), dim=-1)  # [T, V]
    nll = float(torch.nn.functional.ctc_loss(
        log_probs64[:, None, :], torch.tensor([targets], dtype=torch.long).reshape(1, -1), [frames], [len(targets)],
        blank=blank, reduction="sum", zero_infinity=False))
    for_ctc = []
    for reduction in ("mean", "sum", "none"):
        for zero_infinity in (False, True):
            value = ForCTCLoss(logits_t[None], torch.tensor([labels], dtype=torch.long) if labels else
                               torch.zeros((1, 0), dtype=torch.long), torch.tensor([frames]), blank_token_id=blank,
                               reduction=reduction, zero_infinity=zero_infinity)
            value = float(value.reshape(-1)[0])
            for_ctc.append({"reduction": reduction, "zero_infinity": zero_infinity,
                            "loss": value if math.isfinite(value) else None})
    return {"name": name, "frames": frames, "classes": classes, "blank": blank, "labels": labels,
            "logits": f32_list(logits), "nll_f64": nll if math.isfinite(nll) else None, "for_ctc": for_ctc}


def ctc_loss_cases():
    rng = np.random.default_rng(15)
    long_labels = [int(x) for x in rng.integers(1, 12, size=40)]
    return [
        loss_case("three labels", rng, 12, 6, [1, 2, 3]),
        loss_case("repeated labels need a blank between", rng, 10, 5, [2, 2, 3, 3]),
        loss_case("exact fit, no repeats", rng, 4, 5, [1, 2, 1, 2]),
        loss_case("repeats one frame short (infeasible)", rng, 2, 4, [2, 2]),
        loss_case("target longer than the frames", rng, 3, 6, [1, 2, 3, 4, 5]),
        loss_case("empty target", rng, 5, 4, []),
        loss_case("blank and -100 in the labels are dropped", rng, 9, 5, [1, 0, 2, -100, -100]),
        loss_case("blank not at id 0", rng, 8, 5, [0, 1, 0], blank=3),
        loss_case("one frame", rng, 1, 4, [2]),
        loss_case("peaked logits", rng, 16, 8, [5, 6, 7], scale=30.0),
        loss_case("one confident alignment", rng, 12, 6, [1, 2, 2, 3], path=[0, 1, 1, 2, 0, 2, 3, 3, 0, 0, 0, 0]),
        loss_case("long sequence", rng, 120, 12, long_labels),
    ]


def main():
    fixture = {
        "made_by": "scripts/make_ctc_cases.py",
        "versions": {"transformers": transformers.__version__, "torch": torch.__version__, "numpy": np.__version__},
        "label_encoding": label_encoding_cases(),
        "ctc_loss": ctc_loss_cases(),
    }
    text = json.dumps(fixture, indent=1, ensure_ascii=True)
    # Arrays of numbers on one line each.
    text = re.sub(r"\[\s+([-0-9.e+,\s]+?)\s+\]", lambda m: "[" + " ".join(m.group(1).split()) + "]", text)
    OUT.write_text(text + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}: {sum(len(c['encodings']) for c in fixture['label_encoding'])} encodings, "
          f"{len(fixture['ctc_loss'])} loss cases")


if __name__ == "__main__":
    main()
