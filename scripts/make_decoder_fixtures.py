#!/usr/bin/env python3
"""Makes Tests/Fixtures/decoders/ctc_decoder_cases.json: transformers' Wav2Vec2CTCTokenizer output
on crafted id sequences over tricky vocabularies, for the Swift CTCTokenizer tests.

Run by hand: /work/venv/bin/python scripts/make_decoder_fixtures.py

Each tokenizer is built with transformers, saved with save_pretrained (so its files are the ones a
real model directory holds), loaded back with from_pretrained, and decoded with batch_decode and
decode(output_word_offsets=True). A hand-written legacy directory (special_tokens_map.json, no
added_tokens_decoder) covers older checkpoints. The fixture stores the files' JSON, the ids, and
transformers' text and word offsets.
"""

import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import transformers
from transformers import Wav2Vec2CTCTokenizer

OUT = Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "decoders"

LETTERS = {"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3, "|": 4}
for letter in "ETAONIHSRDLUMWCFGYPBVKXJQZ'":
    LETTERS[letter] = len(LETTERS)


def ids(vocab, text, blank="<pad>", delimiter="|"):
    """Frame ids for text with a blank between letters, doubled letters, and delimiter runs."""
    out = [vocab[blank]]
    for ch in text:
        token = delimiter if ch == " " else ch
        out += [vocab[token], vocab[token]] if ch in "AEO" else [vocab[token]]
        out.append(vocab[blank])
    return out


def letter_sequences(vocab):
    return [
        ids(vocab, "HELLO WORLD"),
        [0, 0, 0],  # blanks only
        [],  # empty
        [4, 4, 0, 4, 11, 11, 0, 11, 4, 0, 4, 4],  # delimiter runs around "II"
        [4, 8, 4, 0, 4, 8, 8, 4],  # words separated by split delimiters -> two spaces
        [1, 12, 5, 0, 5, 2],  # bos / eos in the frames
        [3, 12, 3, 99, 3, 100, 12],  # unk and ids outside the vocabulary (-> unk, grouped)
        [12, 0, 12, 12, 0, 0, 4, 8, 8, 8],  # repeated letter across a blank
        [31, 18, 5, 4, 4, 7],  # apostrophe
        [0] * 5 + [18] * 3 + [0] * 4 + [4] * 2 + [5] * 2 + [0] * 3,  # long blanks
    ]


def case_uppercase():
    return dict(name="uppercase letters", vocab=LETTERS, kwargs={}, sequences=letter_sequences(LETTERS))


def case_lowercase():
    return dict(name="do_lower_case", vocab=LETTERS, kwargs={"do_lower_case": True},
                sequences=letter_sequences(LETTERS))


def case_skip_special():
    return dict(name="skip_special_tokens", vocab=LETTERS, kwargs={}, sequences=letter_sequences(LETTERS),
                skip_special_tokens=True)


def case_multichar():
    vocab = {"<blank>": 0, "<unk>": 1, "<sp>": 2, "th": 3, "e": 4, "ing": 5, "s": 6, "<noise>": 7, "a": 8,
             "t": 9, "n": 10, "g": 11, "i": 12, "<s>": 13, "</s>": 14}
    sequences = [
        [0, 3, 3, 4, 0, 2, 6, 12, 10, 0, 5, 5, 2, 0],  # "the sining"
        [7, 7, 2, 8, 10, 9, 0, 2, 2, 7],
        [2, 2, 2],
        [3, 0, 3, 4, 14, 13, 2, 0, 20],
        [12, 10, 11, 0, 5],
    ]
    return dict(name="multi-character tokens, custom blank and delimiter", vocab=vocab,
                kwargs={"pad_token": "<blank>", "word_delimiter_token": "<sp>", "unk_token": "<unk>"},
                sequences=sequences)


def case_skip_multichar():
    case = case_multichar()
    case.update(name="multi-character tokens with skip_special_tokens", skip_special_tokens=True)
    return case


def case_cleanup():
    vocab = dict(LETTERS)
    for mark in [".", ",", "?", "!"]:
        vocab[mark] = len(vocab)
    period, comma, question = vocab["."], vocab[","], vocab["?"]
    sequences = [
        ids(vocab, "I AM") + [4, period, 0],
        [5, 4, comma, 4, 12, 4, question, 4, 31, 4, 18, 0, 4, 0, 31, 4, 4, 12],
        [10, 4, 31, 18, 0],
    ]
    return dict(name="clean_up_tokenization_spaces with punctuation", vocab=vocab,
                kwargs={"clean_up_tokenization_spaces": True}, sequences=sequences)


def case_pad_not_zero():
    vocab = {"a": 0, "b": 1, "c": 2, "|": 3, "<unk>": 4, "<pad>": 5, "<s>": 6, "</s>": 7}
    sequences = [[5, 0, 0, 5, 1, 3, 2, 2, 5, 2, 5], [0, 1, 2, 3, 3, 3, 5, 5, 0, 0, 5, 0], [6, 0, 7, 3, 1]]
    return dict(name="pad token not at id 0, replace_word_delimiter_char '_'", vocab=vocab,
                kwargs={"replace_word_delimiter_char": "_"}, sequences=sequences)


def case_nested():
    nested = {"eng": {"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3, "|": 4, "a": 5, "b": 6},
              "fra": {"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3, "|": 4, "é": 5, "è": 6, "b": 7}}
    sequences = [[0, 5, 5, 0, 6, 4, 7, 0, 6], [7, 7, 4, 5, 0, 5]]
    return dict(name="nested vocabulary with target_lang", vocab=nested, kwargs={"target_lang": "fra"},
                sequences=sequences)


def decode_all(tokenizer, sequences, skip):
    results = []
    for sequence in sequences:
        out = tokenizer.decode(sequence, output_word_offsets=True, skip_special_tokens=skip)
        results.append({"text": out.text, "word_offsets": [
            {"word": w["word"], "start_offset": int(w["start_offset"]), "end_offset": int(w["end_offset"])}
            for w in out.word_offsets]})
    batch = tokenizer.batch_decode([np.array(s, dtype=np.int64) for s in sequences], skip_special_tokens=skip)
    assert batch == [r["text"] for r in results], (batch, results)
    return results


def read_dir(directory):
    files = {}
    for name in ["vocab.json", "tokenizer_config.json", "special_tokens_map.json"]:
        path = Path(directory) / name
        if path.exists():
            files[name] = json.loads(path.read_text(encoding="utf-8"))
    return files


def saved_case(case):
    """The saved files and the tokenizer that decodes the expected output: the one loaded back from
    the files, except where transformers 5.x loses a custom word_delimiter_token on from_pretrained
    (it pops every non-standard `*_token` key into model_specific_special_tokens, so the class default
    "|" applies); there the tokenizer built from the same settings decodes, and the case says so."""
    with tempfile.TemporaryDirectory() as directory:
        (Path(directory) / "vocab_in.json").write_text(json.dumps(case["vocab"], ensure_ascii=False), encoding="utf-8")
        built = Wav2Vec2CTCTokenizer(str(Path(directory) / "vocab_in.json"), **case["kwargs"])
        built.save_pretrained(directory)
        (Path(directory) / "vocab_in.json").unlink()
        loaded = Wav2Vec2CTCTokenizer.from_pretrained(directory)
        files = read_dir(directory)
    if loaded.word_delimiter_token != built.word_delimiter_token:
        note = (f"decoded by the tokenizer built in memory: from_pretrained in transformers "
                f"{transformers.__version__} turns word_delimiter_token {built.word_delimiter_token!r} "
                f"into {loaded.word_delimiter_token!r}")
        return files, built, note
    return files, loaded, None


def legacy_case():
    """An older checkpoint: tokenizer_config.json without added_tokens_decoder; special_tokens_map.json
    renames pad/unk and lists an additional special token."""
    vocab = {"[PAD]": 0, "[UNK]": 1, "|": 2, "A": 3, "B": 4, "C": 5, "<laugh>": 6, "<pad>": 7}
    config = {"do_lower_case": False, "word_delimiter_token": "|", "pad_token": "<pad>", "unk_token": "<unk>",
              "tokenizer_class": "Wav2Vec2CTCTokenizer"}
    special = {"pad_token": "[PAD]", "unk_token": {"content": "[UNK]", "lstrip": True, "rstrip": True,
                                                  "normalized": False, "single_word": False},
               "additional_special_tokens": ["<laugh>"]}
    sequences = [[0, 3, 0, 6, 6, 2, 4, 7, 4, 0, 9], [6, 2, 3, 3, 1, 5], [7, 7, 0, 2, 6, 2, 0, 1]]
    cases = []
    for skip in (False, True):
        with tempfile.TemporaryDirectory() as directory:
            for name, content in [("vocab.json", vocab), ("tokenizer_config.json", config),
                                  ("special_tokens_map.json", special)]:
                (Path(directory) / name).write_text(json.dumps(content), encoding="utf-8")
            tokenizer = Wav2Vec2CTCTokenizer.from_pretrained(directory)
            files = read_dir(directory)
        cases.append({"name": f"legacy special_tokens_map.json (skip_special_tokens={skip})", "files": files,
                      "skip_special_tokens": skip, "sequences": sequences,
                      "expected": decode_all(tokenizer, sequences, skip)})
    return cases


def main():
    cases = []
    for make in [case_uppercase, case_lowercase, case_skip_special, case_multichar, case_skip_multichar,
                 case_cleanup, case_pad_not_zero, case_nested]:
        case = make()
        skip = case.get("skip_special_tokens", False)
        files, tokenizer, note = saved_case(case)
        cases.append({"name": case["name"], "files": files, "skip_special_tokens": skip,
                      "sequences": case["sequences"], "expected": decode_all(tokenizer, case["sequences"], skip)})
        if note:
            cases[-1]["note"] = note
    cases += legacy_case()
    OUT.mkdir(parents=True, exist_ok=True)
    fixture = {"made_by": "scripts/make_decoder_fixtures.py",
               "versions": {"python": sys.version.split()[0], "transformers": transformers.__version__,
                            "numpy": np.__version__},
               "cases": cases}
    (OUT / "ctc_decoder_cases.json").write_text(json.dumps(fixture, indent=1, ensure_ascii=False) + "\n",
                                                encoding="utf-8")
    print(f"wrote {len(cases)} cases to {OUT / 'ctc_decoder_cases.json'}")
    for case in cases:
        print(case["name"], [r["text"] for r in case["expected"]])


if __name__ == "__main__":
    main()
