#!/usr/bin/env bash
# Benchmark unispeech-swift against PyTorch on this machine; appends to benchmarks/RESULTS.md.
# Needs torch + transformers in $VENV (default /work/venv). Usage: benchmarks/run.sh [--quick] [--work DIR]
set -euo pipefail
VENV=${VENV:-/work/venv}
exec "$VENV/bin/python" "$(dirname "$0")/run.py" "$@"
