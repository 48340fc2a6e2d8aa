#!/usr/bin/env bash
# Builds the Debian package of mailroom from an already-built release tree (no recompilation):
#   scripts/make-deb.sh BUILD_DIR OUT_DIR   ->  OUT_DIR/mailroom_<version>_<arch>.deb
# The files are those of `cmake --install BUILD_DIR --prefix /usr --strip` (cmake/Install.cmake);
# Depends is what dpkg-shlibdeps finds the binary linked against, plus adduser for the
# maintainer scripts (packaging/debian/). Built with dpkg-deb --root-owner-group: no fakeroot.
set -euo pipefail

build=$(realpath "$1")
out=$(realpath -m "$2")
root=$(cd "$(dirname "$0")/.." && pwd)
version=$(sed -n 's/^project(mailroom VERSION \([0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
arch=$(dpkg --print-architecture)
[ -x "$build/mailroom" ] || { echo "make-deb: no $build/mailroom (run make build)" >&2; exit 2; }

work="$out/work"
stage="$work/mailroom_${version}_${arch}"
rm -rf "$work"
mkdir -p "$stage" "$out"
DESTDIR="$stage" cmake --install "$build" --prefix /usr --strip >/dev/null

# dpkg-shlibdeps reads debian/control from its working directory.
mkdir -p "$work/src/debian"
printf 'Source: mailroom\n\nPackage: mailroom\nArchitecture: any\n' >"$work/src/debian/control"
shlibs=$(cd "$work/src" && dpkg-shlibdeps -O "$stage/usr/bin/mailroom" 2>/dev/null |
  sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || { echo "make-deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

mkdir -p "$stage/DEBIAN"
install -m 0755 "$root/packaging/debian/postinst" "$root/packaging/debian/prerm" \
  "$root/packaging/debian/postrm" "$stage/DEBIAN/"
# Everything under /etc is a conffile: changed by the admin, kept on remove and upgrade.
(cd "$stage" && find etc -type f | sed 's|^|/|' | sort) >"$stage/DEBIAN/conffiles"
cat >"$stage/DEBIAN/control" <<CONTROL
Package: mailroom
Version: $version
Architecture: $arch
Maintainer: mailroom developers <postmaster@example.test>
Installed-Size: $(du -sk --exclude=DEBIAN "$stage" | cut -f1)
Depends: $shlibs, adduser
Section: mail
Priority: optional
Description: mail transfer agent and SMTP diagnostic toolkit
 mailroom is an ESMTP server with receive connectors, a durable queue, Maildir and
 LMTP delivery and remote delivery, with the admin commands around it (users,
 aliases, domains, queue) and a tester (mx, probe, send, shell).
 .
 The package installs the mailroom.service systemd unit, which runs the server as
 the mailroom system user on ports 25 and 587 with /etc/mailroom/mailroom.toml.
CONTROL
deb="$out/mailroom_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb" >/dev/null
rm -rf "$work"
echo "$deb"
