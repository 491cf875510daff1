#!/usr/bin/env bash
# Installs the three official Runware SDKs, pinned, each where it cannot clash with the others.
#
# Why separate venvs: PyPI `runware` (sdk-python) and `runware-sdk` both install a top-level
# package named `runware`; in one venv they overwrite each other's files.
# Idempotent: a stamp file per SDK records the pinned version; a matching stamp skips the install.
#
# Layout under ${VIDMOCK_SDK_HOME:-$HOME/.cache/vidmock-sdk}:
#   venv-runware/      PyPI runware==0.5.24        (sdk-python, WebSocket)
#   venv-runware-sdk/  PyPI runware-sdk==1.8.0     (WebSocket and REST)
#   node/              npm  @runware/sdk-js@1.3.2  (WebSocket)
set -euo pipefail

SDK_HOME="${VIDMOCK_SDK_HOME:-$HOME/.cache/vidmock-sdk}"
PYTHON="${VIDMOCK_SDK_PYTHON:-python3}"
SDK_PYTHON_PIN="runware==0.5.24"
RUNWARE_SDK_PIN="runware-sdk==1.8.0"
SDK_JS_PIN="@runware/sdk-js@1.3.2"

mkdir -p "$SDK_HOME"

install_python_sdk() {  # $1 venv dir, $2 pip requirement
    local venv="$SDK_HOME/$1" pin="$2"
    if [[ -x "$venv/bin/python" && "$(cat "$venv/.vidmock-pin" 2>/dev/null)" == "$pin" ]]; then
        echo "setup_sdks: $pin already in $venv"
        return
    fi
    rm -rf "$venv"
    "$PYTHON" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet "$pin"
    echo "$pin" > "$venv/.vidmock-pin"
    echo "setup_sdks: installed $pin in $venv"
}

install_js_sdk() {
    local dir="$SDK_HOME/node"
    if [[ -f "$dir/node_modules/@runware/sdk-js/package.json" && "$(cat "$dir/.vidmock-pin" 2>/dev/null)" == "$SDK_JS_PIN" ]]; then
        echo "setup_sdks: $SDK_JS_PIN already in $dir"
        return
    fi
    rm -rf "$dir"
    mkdir -p "$dir"
    (cd "$dir" && echo '{"name":"vidmock-sdk-js","private":true,"type":"module"}' > package.json \
        && npm install --silent --no-audit --no-fund --save-exact "$SDK_JS_PIN")
    echo "$SDK_JS_PIN" > "$dir/.vidmock-pin"
    echo "setup_sdks: installed $SDK_JS_PIN in $dir"
}

install_python_sdk venv-runware "$SDK_PYTHON_PIN"
install_python_sdk venv-runware-sdk "$RUNWARE_SDK_PIN"
install_js_sdk
