#!/usr/bin/env bash
# Stops every test server started by up.sh.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dir=${DIRBRIDGE_TESTENV_DIR:-/tmp/dirbridge-testenv}
for s in openldap samba-ad; do
  [ -x "$dir/$s/stop.sh" ] && "$dir/$s/stop.sh" || true
done
[ -f "$here/scim-server.sh" ] && bash "$here/scim-server.sh" stop || true
