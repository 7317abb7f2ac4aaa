#!/usr/bin/env bash
# Stops every test server started by up.sh.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
for s in openldap.sh samba-ad.sh scim-server.sh; do
  [ -f "$here/$s" ] && bash "$here/$s" stop || true
done
