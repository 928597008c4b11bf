#!/usr/bin/env bash
# Installs and runs moto (S3, SQS, DynamoDB emulator) for local runs and tests.
#   scripts/moto.sh install   create .venv and install moto[server]==5.2.5 (and crc32c) if missing
#   scripts/moto.sh start     start moto on 127.0.0.1 on a free port; prints its URL
#   scripts/moto.sh stop      stop the moto started by 'start'
set -euo pipefail
cd "$(dirname "$0")/.."
MOTO_VERSION="5.2.5"
# Without the crc32c package moto silently computes CRC32 where S3 computes
# CRC32C, and full-object checksums of multipart uploads would not match.
CRC32C_VERSION="2.7.1"
VENV=".venv"
STATE=".local"
mkdir -p "$STATE"

install() {
  if [ -x "$VENV/bin/moto_server" ] && "$VENV/bin/python" -c "import moto, crc32c, sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
    return 0
  fi
  echo "installing moto[server]==$MOTO_VERSION and crc32c==$CRC32C_VERSION into $VENV" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" "crc32c==$CRC32C_VERSION" >&2
}

start() {
  install
  stop >/dev/null 2>&1 || true
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
  "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$STATE/moto.log" 2>&1 &
  echo $! >"$STATE/moto.pid"
  local url="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do
    if python3 -c "import urllib.request,sys; urllib.request.urlopen('$url/moto-api/', timeout=1)" 2>/dev/null; then
      echo "$url" >"$STATE/moto.url"
      echo "$url"
      return 0
    fi
    if ! kill -0 "$(cat "$STATE/moto.pid")" 2>/dev/null; then
      echo "moto exited at start; see $STATE/moto.log" >&2
      cat "$STATE/moto.log" >&2
      return 1
    fi
    sleep 0.2
  done
  echo "moto did not answer on $url within 20 s; see $STATE/moto.log" >&2
  return 1
}

stop() {
  if [ -f "$STATE/moto.pid" ]; then
    kill "$(cat "$STATE/moto.pid")" 2>/dev/null || true
    rm -f "$STATE/moto.pid" "$STATE/moto.url"
  fi
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 install|start|stop" >&2; exit 2 ;;
esac
