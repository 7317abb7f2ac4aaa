#!/usr/bin/env bash
# Real third-party SCIM 2.0 service provider for dirbridge's integration
# tests: Better Auth's SCIM plugin (@better-auth/scim, MIT) on better-auth's
# in-memory adapter, served on a loopback port with a static bearer token.
#
#   scim-server.sh start  [PORT] [TOKEN]  install if missing, start, wait, print base URL
#   scim-server.sh stop   [PORT]          stop the server started for PORT
#   scim-server.sh reset  [PORT] [TOKEN]  wipe all Users/Groups (in-memory) without restart
#   scim-server.sh status [PORT]
#
# Versions are pinned by scripts/testenv/scim-server/package.json and its
# committed package-lock.json, installed with `npm ci` (--legacy-peer-deps:
# the plugin's peer ranges do not resolve otherwise), so every machine runs
# the same server.
#
# "start" writes $DIRBRIDGE_TESTENV_DIR/scim/env (default
# /tmp/dirbridge-testenv/scim/env) with DIRBRIDGE_SCIM_URL and
# DIRBRIDGE_SCIM_TOKEN, which internal/testenv reads; "stop" removes it.
#
# Env: DIRBRIDGE_TESTENV_DIR (default /tmp/dirbridge-testenv), SCIM_WRITE_ENV=0 (do not write the env file),
#      SCIM_HOME (install + state dir, default $DIRBRIDGE_TESTENV_DIR/scim),
#      SCIM_HOST (default 127.0.0.1; only loopback accepted),
#      SCIM_START_TIMEOUT (seconds, default 30).
# Idempotent: "start" on a port that already serves with the same token just
# prints the URL; with another token it restarts. Needs node >= 20 and npm.
set -euo pipefail

SRC_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/scim-server" && pwd)
CMD=${1:-start}
PORT=${2:-8880}
TOKEN=${3:-test-token}
HOST=${SCIM_HOST:-127.0.0.1}
TESTENV_DIR=${DIRBRIDGE_TESTENV_DIR:-/tmp/dirbridge-testenv}
HOME_DIR=${SCIM_HOME:-$TESTENV_DIR/scim}
RUN_DIR=$HOME_DIR/run
ENV_FILE=$TESTENV_DIR/scim/env
PIDFILE=$RUN_DIR/scim-$PORT.pid
TOKFILE=$RUN_DIR/scim-$PORT.token
LOG=$RUN_DIR/scim-$PORT.log
BASE="http://$HOST:$PORT/api/auth/scim/v2"
TIMEOUT=${SCIM_START_TIMEOUT:-30}

case "$HOST" in 127.*|localhost|::1) ;; *) echo "refusing non-loopback host $HOST" >&2; exit 2;; esac
[[ "$PORT" =~ ^[0-9]+$ ]] || { echo "bad port $PORT" >&2; exit 2; }
[[ "$TOKEN" =~ ^[A-Za-z0-9._~+/=-]+$ ]] || { echo "token must be a plain bearer token (RFC 6750 b64token)" >&2; exit 2; }

answers() { # $1 token -> 0 if the SCIM endpoint accepts it
  [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' -H "Authorization: Bearer $1" "$BASE/ServiceProviderConfig" 2>/dev/null)" = 200 ]
}
running_pid() {
  [ -f "$PIDFILE" ] || return 1
  local p; p=$(cat "$PIDFILE")
  kill -0 "$p" 2>/dev/null || return 1
  grep -q 'scim-server.mjs' "/proc/$p/cmdline" 2>/dev/null || return 1
  echo "$p"
}

# install runs `npm ci` only when the committed lock file differs from the
# one last installed, so a second start costs nothing.
install() {
  mkdir -p "$HOME_DIR" "$RUN_DIR"
  if ! cmp -s "$SRC_DIR/package-lock.json" "$HOME_DIR/package-lock.json" || [ ! -d "$HOME_DIR/node_modules/@better-auth/scim" ]; then
    cp "$SRC_DIR/package.json" "$SRC_DIR/package-lock.json" "$HOME_DIR/"
    echo "installing the pinned SCIM server into $HOME_DIR (npm ci) ..." >&2
    (cd "$HOME_DIR" && npm ci --no-audit --no-fund --legacy-peer-deps --loglevel=error >&2)
  fi
  cp "$SRC_DIR/scim-server.mjs" "$HOME_DIR/scim-server.mjs"
}

write_env() {
  # SCIM_WRITE_ENV=0: a private extra instance (another port) that must not
  # replace the shared instance's env file.
  [ "${SCIM_WRITE_ENV:-1}" = 1 ] || return 0
  mkdir -p "$(dirname "$ENV_FILE")"
  umask 077
  printf "export DIRBRIDGE_SCIM_URL='%s'\nexport DIRBRIDGE_SCIM_TOKEN='%s'\n" "$BASE" "$TOKEN" >"$ENV_FILE.tmp"
  mv "$ENV_FILE.tmp" "$ENV_FILE"
}

stop() {
  local p
  if p=$(running_pid); then
    kill "$p"
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$p" 2>/dev/null && { echo "pid $p did not exit on SIGTERM; sending SIGKILL" >&2; kill -9 "$p"; }
    echo "stopped pid $p (port $PORT)"
  else
    echo "not running (port $PORT)"
  fi
  rm -f "$PIDFILE" "$TOKFILE"
  if [ -f "$ENV_FILE" ] && grep -q ":$PORT/" "$ENV_FILE"; then rm -f "$ENV_FILE"; fi
}

start() {
  local p
  if p=$(running_pid); then
    if [ "$(cat "$TOKFILE" 2>/dev/null)" = "$TOKEN" ] && answers "$TOKEN"; then
      write_env; echo "$BASE"; return 0
    fi
    stop >&2
  fi
  if curl -s -o /dev/null -m 1 "http://$HOST:$PORT/" 2>/dev/null; then
    echo "port $PORT on $HOST is already used by another process" >&2; exit 1
  fi
  install
  local t0; t0=$(date +%s%N)
  ( cd "$HOME_DIR" && SCIM_HOST=$HOST SCIM_PORT=$PORT SCIM_TOKEN=$TOKEN \
      exec setsid node scim-server.mjs >"$LOG" 2>&1 </dev/null ) &
  local launched=$!
  echo "$launched" >"$PIDFILE"
  echo "$TOKEN" >"$TOKFILE"
  local deadline=$(( $(date +%s) + TIMEOUT ))
  until answers "$TOKEN"; do
    if ! kill -0 "$launched" 2>/dev/null; then echo "server exited; log:" >&2; cat "$LOG" >&2; rm -f "$PIDFILE" "$TOKFILE"; exit 1; fi
    if [ "$(date +%s)" -ge "$deadline" ]; then echo "not answering after ${TIMEOUT}s; log:" >&2; cat "$LOG" >&2; stop >&2; exit 1; fi
    sleep 0.1
  done
  write_env
  echo "started pid $(cat "$PIDFILE") in $(( ($(date +%s%N) - t0) / 1000000 )) ms" >&2
  echo "$BASE"
}

case "$CMD" in
  start) start ;;
  stop) stop ;;
  reset)
    code=$(curl -s -o /dev/null -m 5 -w '%{http_code}' -X POST -H "Authorization: Bearer $TOKEN" "http://$HOST:$PORT/__reset")
    [ "$code" = 204 ] && echo "reset $BASE" || { echo "reset failed: HTTP $code" >&2; exit 1; } ;;
  status)
    if p=$(running_pid); then echo "running pid $p $BASE"; else echo "not running (port $PORT)"; exit 3; fi ;;
  *) echo "usage: $0 start|stop|reset|status [PORT] [TOKEN]" >&2; exit 2 ;;
esac
