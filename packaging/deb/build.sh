#!/usr/bin/env bash
# Builds dist/dirbridge_VERSION_ARCH.deb: the static binary, the hardened
# systemd unit, an example config, and a postinst that creates the
# unprivileged `dirbridge` system user and its state directory.
#   packaging/deb/build.sh VERSION [GOARCH]
set -euo pipefail
version=${1:?usage: build.sh VERSION [GOARCH]}
version=${version#v}
arch=${2:-amd64}
top=$(cd "$(dirname "$0")/../.." && pwd)
stage=$(mktemp -d)
chmod 0755 "$stage"
trap 'rm -rf "$stage"' EXIT

mkdir -p "$stage/DEBIAN" "$stage/usr/bin" "$stage/lib/systemd/system" "$stage/etc/dirbridge" \
  "$stage/usr/share/doc/dirbridge/examples"
(cd "$top" && CGO_ENABLED=0 GOOS=linux GOARCH="$arch" go build -trimpath \
  -ldflags "-s -w -X github.com/dirbridge/dirbridge/agent.Version=$version" -o "$stage/usr/bin/dirbridge" ./cmd/dirbridge)
install -m 0644 "$top/packaging/systemd/dirbridge.service" "$stage/lib/systemd/system/dirbridge.service"
install -m 0640 "$top/examples/agent.yaml" "$stage/etc/dirbridge/agent.yaml"
install -m 0644 "$top/examples/"*.yaml "$stage/usr/share/doc/dirbridge/examples/"
install -m 0644 "$top/README.md" "$top/docs/"*.md "$stage/usr/share/doc/dirbridge/"

cat >"$stage/DEBIAN/control" <<CONTROL
Package: dirbridge
Version: $version
Architecture: $arch
Maintainer: dirbridge maintainers <dirbridge@users.noreply.github.com>
Section: admin
Priority: optional
Homepage: https://github.com/dirbridge/dirbridge
Description: directory sync agent for SaaS accounts
 Keeps accounts in SaaS apps (SCIM 2.0, Salesforce) in step with Active
 Directory or LDAP: joiners, movers, leavers, leave of absence.
CONTROL
echo "/etc/dirbridge/agent.yaml" >"$stage/DEBIAN/conffiles"

cat >"$stage/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
  getent group dirbridge >/dev/null || addgroup --system dirbridge
  getent passwd dirbridge >/dev/null || adduser --system --ingroup dirbridge --home /var/lib/dirbridge \
    --no-create-home --shell /usr/sbin/nologin dirbridge
  chgrp dirbridge /etc/dirbridge/agent.yaml && chmod 0640 /etc/dirbridge/agent.yaml
  if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
  echo "dirbridge: edit /etc/dirbridge/agent.yaml, run 'dirbridge check --config /etc/dirbridge/agent.yaml',"
  echo "then 'systemctl enable --now dirbridge'."
fi
POSTINST
cat >"$stage/DEBIAN/prerm" <<'PRERM'
#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then systemctl stop dirbridge || true; fi
PRERM
chmod 0755 "$stage/DEBIAN/postinst" "$stage/DEBIAN/prerm"

mkdir -p "$top/dist"
out="$top/dist/dirbridge_${version}_${arch}.deb"
dpkg-deb --root-owner-group --build "$stage" "$out" >/dev/null
echo "$out"
