#!/usr/bin/env bash
# Many files and long recordings with the demo CTC model (examples/unispeech-digits-ctc). Run by hand, never in CI.
#
# Makes a folder of FILES short espeak-ng utterances (digit sequences, several voices, speeds and pitches, 16 kHz
# mono) and a one-hour recording of them with gaps, cut to 10 s, 1 min and 10 min too; then measures
#   - throughput (hours of audio per hour) of `run --manifest` as 1 process x 2 threads and as 2 processes x 1 thread
#     (shards 0/2 and 1/2), and checks that the two shards together give the one-process run's lines;
#   - peak RSS (/usr/bin/time) against the number of inputs (the folder, then a list of it ten times over);
#   - peak RSS and wall time against recording length, without chunks and with --chunk-length 30;
#   - with VENV's transformers (scripts/check_long_chunking.py): the one-hour transcript and word timestamps against
#     the ASR pipeline's with chunk_length_s=30 on the same file.
# Prints a markdown section for benchmarks/RESULTS.md (also written to WORK/results.md).
#
# Needs: espeak-ng, sox, GNU time (apt-get install -y espeak-ng sox time), python3; VENV (default /work/venv) with
# torch + transformers for the last check (skipped when absent).
# Usage: benchmarks/many_files.sh [--files N] [--work DIR]
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=/tmp/unispeech-many
FILES=300
VENV=${VENV:-/work/venv}
while [ $# -gt 0 ]; do
    case "$1" in
        --files) FILES=$2; shift 2 ;;
        --work) WORK=$2; shift 2 ;;
        *) echo "usage: $0 [--files N] [--work DIR]" >&2; exit 2 ;;
    esac
done
for tool in espeak-ng sox /usr/bin/time python3; do
    command -v "$tool" >/dev/null || { echo "$0: $tool is missing (apt-get install -y espeak-ng sox time)" >&2; exit 2; }
done

MODEL=$ROOT/examples/unispeech-digits-ctc
BIN=$ROOT/.build/release/unispeech
CHUNK=30
log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

log "building (release)"
swift build -c release --package-path "$ROOT" >&2
mkdir -p "$WORK"
cd "$WORK"

# --- the corpus: FILES utterances, fixed by the seed ---
if [ "$(ls corpus 2>/dev/null | wc -l)" -ne "$FILES" ]; then
    log "synthesising $FILES files"
    rm -rf corpus && mkdir corpus
    RANDOM=16
    words=(zero one two three four five six seven eight nine)
    voices=(en en-us en-gb-scotland en-gb-x-rp en-gb-x-gbclan en-us-nyc en-029)
    variants=(m1 m3 m5 f1 f2 f4 adam Alicia Andy david)
    for i in $(seq -w 1 "$FILES"); do
        text=""
        for _ in $(seq 1 $((1 + RANDOM % 6))); do text+="${words[RANDOM % 10]} "; done
        espeak-ng -v "${voices[RANDOM % ${#voices[@]}]}+${variants[RANDOM % ${#variants[@]}]}" -s $((120 + RANDOM % 80)) \
            -p $((20 + RANDOM % 60)) -w espeak.wav "$text"
        sox espeak.wav -r 16000 -c 1 -b 16 "corpus/$i.wav"
    done
    rm -f espeak.wav
fi

# --- the recordings: the corpus with 0.5 s gaps, repeated to an hour, and its first 10 s, 1 min, 10 min ---
if [ ! -f long-3600.wav ]; then
    log "making the one-hour recording"
    rm -rf padded && mkdir padded
    for f in corpus/*.wav; do sox "$f" "padded/$(basename "$f")" pad 0 0.5; done
    sox padded/*.wav round.wav
    rounds=$(python3 -c "import math,sys; print(math.ceil(3600 / float(sys.argv[1])))" "$(soxi -D round.wav)")
    sox $(for _ in $(seq 1 "$rounds"); do echo round.wav; done) long-3600.wav trim 0 3600
    for seconds in 10 60 600; do sox long-3600.wav "long-$seconds.wav" trim 0 "$seconds"; done
    rm -rf padded round.wav
fi

audio_hours() {  # hours of audio in the result lines of JSONL files
    python3 -c "import json,sys; print(sum(json.loads(l)['samples'] for f in sys.argv[1:] for l in open(f) if 'samples' in l) / 16000 / 3600)" "$@"
}
same_lines() {  # the lines of $1 and of the rest together, by path: same set, each input once
    python3 - "$@" <<'EOF'
import json, sys
def lines(paths):
    out = {}
    for path in paths:
        for line in open(path):
            item = json.loads(line)
            assert item["path"] not in out, item["path"]
            out[item["path"]] = item
    return out
whole, parts = lines(sys.argv[1:2]), lines(sys.argv[2:])
print("equal" if whole == parts else f"DIFFERENT ({len(whole)} against {len(parts)} lines)")
EOF
}
timed() {  # timed LABEL COMMAND...: runs it under GNU time; prints "LABEL wall_s peak_rss_kb status"
    local label=$1; shift
    local status=0
    /usr/bin/time -f "%e %M" -o time.txt "$@" >/dev/null 2>run.err || status=$?
    echo "$label $(cat time.txt | tail -1) $status"
}

# --- throughput: the two layouts alternately, ROUNDS times each ---
ROUNDS=3
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
one_walls=(); two_walls=()
for round in $(seq 1 $ROUNDS); do
    rm -f one.jsonl two-*.jsonl
    log "throughput round $round: 1 process x 2 threads"
    start=$(date +%s.%N)
    read -r _ _ rss_all _ < <(timed one "$BIN" run "$MODEL" --manifest corpus --jsonl one.jsonl --threads 2)
    one_walls+=("$(python3 -c "import time,sys; print(time.time() - float(sys.argv[1]))" "$start")")
    log "throughput round $round: 2 processes x 1 thread"
    start=$(date +%s.%N)
    "$BIN" run "$MODEL" --manifest corpus --jsonl two-0.jsonl --shard 0/2 --threads 1 2>/dev/null &
    "$BIN" run "$MODEL" --manifest corpus --jsonl two-1.jsonl --shard 1/2 --threads 1 2>/dev/null &
    wait
    two_walls+=("$(python3 -c "import time,sys; print(time.time() - float(sys.argv[1]))" "$start")")
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }
one_wall=$(median "${one_walls[@]}"); two_wall=$(median "${two_walls[@]}")
hours=$(audio_hours one.jsonl)
shards_equal=$(same_lines one.jsonl two-0.jsonl two-1.jsonl)
rm -f once.jsonl ten.jsonl
ls corpus | sed 's|^|corpus/|' > once.txt
for _ in $(seq 1 10); do cat once.txt; done > ten.txt
log "memory against file count"
read -r _ _ rss_once _ < <(timed once "$BIN" run "$MODEL" --manifest once.txt --jsonl once.jsonl --threads 1)
read -r _ _ rss_ten _ < <(timed ten "$BIN" run "$MODEL" --manifest ten.txt --jsonl ten.jsonl --threads 1)

# --- memory against recording length ---
rows=""
for seconds in 10 60 600 3600; do
    log "recording of $seconds s"
    read -r _ wall rss status < <(timed plain "$BIN" run "$MODEL" "long-$seconds.wav" --threads 2)
    if [ "$status" = 0 ]; then
        plain="$((rss / 1024)) MB, $wall s"
    else
        plain="refused (exit $status, $((rss / 1024)) MB): $(sed -n 's/.*would need about \([0-9.]* GB\).*memory limit of \([0-9.]* GB\).*/needs about \1, more than the \2 limit/p' run.err)"
    fi
    read -r _ wall rss status < <(timed chunked "$BIN" run "$MODEL" "long-$seconds.wav" --chunk-length $CHUNK --threads 2 --json)
    chunked="$((rss / 1024)) MB, $wall s"
    [ "$status" = 0 ] || chunked="exit $status"
    rows+="| $seconds s | $plain | $chunked |"$'\n'
done
"$BIN" run "$MODEL" long-3600.wav --chunk-length $CHUNK --threads 2 --json > long-chunked.json
if [ -x "$VENV/bin/python" ]; then
    log "transformers' pipeline on the hour (chunk_length_s=$CHUNK)"
    check=$("$VENV/bin/python" "$ROOT/scripts/check_long_chunking.py" --model "$MODEL" --audio long-3600.wav \
        --chunk-length $CHUNK --unispeech-json long-chunked.json 2>/dev/null || true)
else
    check="skipped: no $VENV/bin/python"
fi

files=$(grep -c . one.jsonl)
cat > results.md <<EOF
## $(date -u '+%Y-%m-%d %H:%M') UTC: many files and long recordings (benchmarks/many_files.sh, commit $(git -C "$ROOT" rev-parse --short HEAD))

$(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs (load average $load_before before the throughput runs, $load_after after); the demo CTC model (0.87M parameters); $files espeak-ng files
($(printf '%.2f' "$hours") h of audio, 16 kHz) and a one-hour recording of them with 0.5 s gaps.

Throughput over the folder (\`run --manifest DIR --jsonl OUT\`, model loaded once per process, wall time incl. load;
$ROUNDS rounds, the layouts alternating; the median, then every round):

| layout | wall s | audio hours per hour | rounds, s |
|---|---|---|---|
| 1 process x 2 threads | $(printf '%.1f' "$one_wall") | $(python3 -c "print(round($hours * 3600 / $one_wall))") | $(printf '%.1f ' "${one_walls[@]}") |
| 2 processes x 1 thread (--shard 0/2, 1/2) | $(printf '%.1f' "$two_wall") | $(python3 -c "print(round($hours * 3600 / $two_wall))") | $(printf '%.1f ' "${two_walls[@]}") |

The two shards' lines together against the one-process run: $shards_equal.
Peak RSS against the number of inputs (1 thread): $((rss_once / 1024)) MB for the $files files, $((rss_ten / 1024)) MB for
a list of them ten times over ($(grep -c . ten.jsonl) lines written).

Peak RSS and wall time against recording length (\`run MODEL FILE\`, 2 threads):

| recording | whole file | --chunk-length $CHUNK |
|---|---|---|
$rows
The one-hour transcript against transformers' ASR pipeline (chunk_length_s=$CHUNK, default stride) on the same file:

\`\`\`
$check
\`\`\`
EOF
cat results.md
