#!/usr/bin/env bash
# Installs what benchmarks/peers.py compares vidmock with: Prism and WireMock (pinned), and wrk.
#
# Why a script and not a pyproject extra: the peers are Node and Java programs, and wrk is a C
# tool from Debian's packages; none of them belongs in vidmock's Python dependencies.
# Idempotent: a stamp file records the pinned versions; a matching stamp skips the npm install.
#
# Layout under ${VIDMOCK_PEERS_HOME:-$HOME/.cache/vidmock-peers}:
#   node_modules/.bin/prism                                npm @stoplight/prism-cli@5.16.0
#   node_modules/wiremock/wiremock-standalone-3.13.2.jar   npm wiremock@3.13.2 (the jar it ships; needs java)
# wrk: `apt-get install wrk` when it is missing and apt is usable (root, or sudo without a password).
set -euo pipefail

PEERS_HOME="${VIDMOCK_PEERS_HOME:-$HOME/.cache/vidmock-peers}"
PRISM_PIN="@stoplight/prism-cli@5.16.0"
WIREMOCK_PIN="wiremock@3.13.2"
PINS="$PRISM_PIN $WIREMOCK_PIN"

install_wrk() {
    if command -v wrk >/dev/null; then
        echo "install_peers: wrk already installed ($(command -v wrk))"
        return
    fi
    local sudo=""
    if [[ $(id -u) -ne 0 ]]; then
        if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
            sudo="sudo -n"
        else
            echo "install_peers: wrk is missing and apt needs root here; run: sudo apt-get install wrk" >&2
            return
        fi
    fi
    if ! command -v apt-get >/dev/null; then
        echo "install_peers: wrk is missing and there is no apt-get; install wrk (https://github.com/wg/wrk) by hand" >&2
        return
    fi
    $sudo apt-get install -y -q wrk >/dev/null || { $sudo apt-get update -q >/dev/null && $sudo apt-get install -y -q wrk >/dev/null; }
    echo "install_peers: installed wrk ($(command -v wrk))"
}

install_npm_peers() {
    if ! command -v npm >/dev/null; then
        echo "install_peers: npm is missing; Prism and WireMock not installed (peers.py will skip them)" >&2
        return
    fi
    if [[ -x "$PEERS_HOME/node_modules/.bin/prism" && -n "$(wiremock_jar)" \
          && "$(cat "$PEERS_HOME/.vidmock-pins" 2>/dev/null)" == "$PINS" ]]; then
        echo "install_peers: $PINS already in $PEERS_HOME"
        return
    fi
    rm -rf "$PEERS_HOME"
    mkdir -p "$PEERS_HOME"
    # --ignore-scripts: neither package needs an install script (the wiremock package carries the jar)
    (cd "$PEERS_HOME" && echo '{"name":"vidmock-peers","private":true}' > package.json \
        && npm install --silent --no-audit --no-fund --ignore-scripts --save-exact $PINS)
    if [[ -z "$(wiremock_jar)" ]]; then
        echo "install_peers: npm $WIREMOCK_PIN installed, but no wiremock-standalone jar found in it" >&2
        exit 1
    fi
    echo "$PINS" > "$PEERS_HOME/.vidmock-pins"
    echo "install_peers: installed $PINS in $PEERS_HOME"
}

wiremock_jar() {
    find "$PEERS_HOME/node_modules/wiremock" -maxdepth 2 -name 'wiremock-standalone-*.jar' 2>/dev/null | head -n 1
}

install_wrk
install_npm_peers
command -v java >/dev/null || echo "install_peers: java is missing; peers.py will skip WireMock (needs Java 11+)" >&2
