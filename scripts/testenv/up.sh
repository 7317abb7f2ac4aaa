#!/usr/bin/env bash
# Starts every real server the integration tests use, each by its own script
# in this folder (OpenLDAP, Samba AD DC, the SCIM server). Each script installs
# what it needs from Debian or npm packages, starts a fresh instance on
# loopback, and writes an env file under $DIRBRIDGE_TESTENV_DIR (default
# /tmp/dirbridge-testenv) that the tests read (internal/testenv).
#
# Without root (a developer laptop) nothing is started and the integration
# tests skip; under CI=true every server must start or this fails.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export DIRBRIDGE_TESTENV_DIR=${DIRBRIDGE_TESTENV_DIR:-/tmp/dirbridge-testenv}
ci=${CI:-}

servers=()
[ -f "$here/openldap.sh" ] && servers+=("openldap.sh")
[ -f "$here/samba-ad.sh" ] && servers+=("samba-ad.sh")
[ -f "$here/scim-server.sh" ] && servers+=("scim-server.sh")

if [ ${#servers[@]} -eq 0 ]; then
  echo "testenv: no server scripts yet"; exit 0
fi
if [ "$(id -u)" != 0 ]; then
  if [ "$ci" = true ]; then echo "testenv: CI=true needs root to install and start the test servers" >&2; exit 1; fi
  echo "testenv: not root; integration tests will skip (run 'sudo make testenv' to start the servers)"
  exit 0
fi

failed=0
for s in "${servers[@]}"; do
  echo "testenv: starting ${s%.sh}"
  if ! bash "$here/$s" start; then
    echo "testenv: ${s%.sh} did not start" >&2
    failed=1
  fi
done
if [ $failed = 1 ] && [ "$ci" = true ]; then exit 1; fi
exit 0
