#!/usr/bin/env python3
"""Writes Tests/Fixtures/hostile/: torch.save-style zip checkpoints whose data.pkl would run a shell
command (`touch` of a marker file) if a normal unpickler loaded it.

The pickle bytes are assembled opcode by opcode (see pickletools), so nothing is imported or run
while making them. With --prove, each payload is then loaded by Python's own pickle in a child
process to show that it really executes there (the marker appears), and the marker is removed.
Uses only the Python standard library.
"""
import argparse
import json
import os
import pickle
import platform
import struct
import subprocess
import sys
import time
import zipfile

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "hostile")
MARKER_DIR = "/tmp"


def marker(name):
    """The file a payload creates when it runs; the tests check it never appears."""
    return f"{MARKER_DIR}/unispeech-hostile-{name}.marker"


# --- pickle opcodes (pickletools names) --------------------------------------------------------
PROTO2 = b"\x80\x02"
PROTO4 = b"\x80\x04"
MARK, STOP, TUPLE, TUPLE1, TUPLE2 = b"(", b".", b"t", b"\x85", b"\x86"
EMPTY_TUPLE, EMPTY_DICT, NONE = b")", b"}", b"N"
REDUCE, BUILD, SETITEM, SETITEMS, STACK_GLOBAL = b"R", b"b", b"s", b"u", b"\x93"


def global_(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def inst(module, name):
    return b"i" + module.encode() + b"\n" + name.encode() + b"\n"


def text(s):
    raw = s.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def ordered_dict():
    return global_("collections", "OrderedDict") + EMPTY_TUPLE + REDUCE


def touch_command(name):
    return f"touch {marker(name)}"


# --- payloads: name -> (pickle bytes, the global a safe reader must refuse first) -----------------
def payloads():
    p = {}
    n = "global_os_system"
    p[n] = (PROTO2 + global_("os", "system") + text(touch_command(n)) + TUPLE1 + REDUCE + STOP, "os.system")
    n = "stack_global_builtins_eval"
    code = f"__import__('os').system('{touch_command(n)}')"
    p[n] = (PROTO4 + text("builtins") + text("eval") + STACK_GLOBAL + text(code) + TUPLE1 + REDUCE + STOP,
            "builtins.eval")
    n = "subprocess_popen"
    argv = MARK + text("touch") + text(marker(n)) + b"l"  # LIST from mark
    p[n] = (PROTO2 + global_("subprocess", "Popen") + argv + TUPLE1 + REDUCE + STOP, "subprocess.Popen")
    n = "posix_system"
    p[n] = (PROTO2 + global_("posix", "system") + text(touch_command(n)) + TUPLE1 + REDUCE + STOP, "posix.system")
    n = "nested_in_state_dict"
    p[n] = (PROTO2 + ordered_dict() + MARK + text("encoder.layer_norm.weight")
            + global_("os", "system") + text(touch_command(n)) + TUPLE1 + REDUCE + SETITEMS + STOP, "os.system")
    n = "in_metadata_attribute"
    p[n] = (PROTO2 + ordered_dict() + EMPTY_DICT + text("_metadata")
            + global_("os", "system") + text(touch_command(n)) + TUPLE1 + REDUCE + SETITEM + BUILD + STOP,
            "os.system")
    n = "setstate_trick"
    # BUILD (None, {'__setstate__': os.system}) plants os.system as the instance's __setstate__;
    # the second BUILD then calls it with the command. No REDUCE of the bad global at all.
    p[n] = (PROTO2 + ordered_dict() + NONE + EMPTY_DICT + text("__setstate__") + global_("os", "system")
            + SETITEM + TUPLE2 + BUILD + text(touch_command(n)) + BUILD + STOP, "os.system")
    n = "getattr_import_chain"
    p[n] = (PROTO2 + global_("builtins", "getattr") + MARK
            + global_("builtins", "__import__") + text("os") + TUPLE1 + REDUCE + text("system") + TUPLE + REDUCE
            + text(touch_command(n)) + TUPLE1 + REDUCE + STOP, "builtins.getattr")
    n = "inst_os_system"
    p[n] = (PROTO2 + MARK + text(touch_command(n)) + inst("os", "system") + STOP, "os.system")
    return p


def torch_zip(path, pickle_bytes):
    """The torch.save (>= 1.6) layout: stored members under archive/."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", pickle_bytes)
        z.writestr("archive/byteorder", "little")
        z.writestr("archive/data/0", struct.pack("<4f", 1, 2, 3, 4))
        z.writestr("archive/version", "3\n")


def prove(name, pickle_bytes):
    """Loads the payload with Python's pickle in a child process; True when the marker appeared."""
    path = marker(name)
    if os.path.exists(path):
        os.remove(path)
    subprocess.run([sys.executable, "-c", "import pickle, sys; pickle.loads(sys.stdin.buffer.read())"],
                   input=pickle_bytes, capture_output=True, timeout=30)
    for _ in range(50):  # Popen runs touch asynchronously
        if os.path.exists(path):
            os.remove(path)
            return True
        time.sleep(0.1)
    return False


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prove", action="store_true", help="run each payload under Python's pickle (touches /tmp markers)")
    args = parser.parse_args()
    os.makedirs(OUT, exist_ok=True)
    manifest = {}
    for name, (data, refused) in payloads().items():
        torch_zip(os.path.join(OUT, name + ".bin"), data)
        manifest[name] = {"refused_global": refused, "marker": marker(name)}
        if args.prove:
            manifest[name]["executes_under_python_pickle"] = prove(name, data)
            print(name, "executes under pickle.loads:", manifest[name]["executes_under_python_pickle"])
    n = "legacy_raw_pickle"
    with open(os.path.join(OUT, n + ".bin"), "wb") as f:
        f.write(PROTO2 + global_("os", "system") + text(touch_command(n)) + TUPLE1 + REDUCE + STOP)
    manifest[n] = {"refused_global": None, "marker": marker(n), "note": "not a zip: the legacy torch format"}
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2, sort_keys=True)
        f.write("\n")
    with open(os.path.join(OUT, "versions.json"), "w") as f:
        json.dump({"python": platform.python_version(), "generator": "scripts/make_hostile_fixtures.py",
                   "pickle_highest_protocol": pickle.HIGHEST_PROTOCOL}, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
