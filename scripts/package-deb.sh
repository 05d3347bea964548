#!/usr/bin/env bash
# Builds build/floatd_VERSION_ARCH.deb with dpkg-deb: the compiled daemon (dist/src), its
# production npm packages and the native addon under /usr/lib/floatd, /usr/bin/floatd, the
# systemd unit, /etc/default/floatd (the only conffile), man pages, bash completion, the
# Prometheus rules and Grafana dashboard, examples. No network beyond what scripts/build.sh
# needs (npm ci); the production node_modules are a pruned copy of the checkout's.
# Why Depends: nodejs (>= 20) rather than a bundled node: docs/packaging.md.
#   FLOATD_DEB_DIR=DIR   write the .deb there instead of build/
#   FLOATD_PREBUILT=1    package dist/ and the addon as they are (the test does: rebuilding
#                        would replace dist/ under running tests)
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
root=$PWD
if [[ -n "${FLOATD_PREBUILT:-}" ]]; then
  for f in dist/src/cli/main.js native/build/Release/floatd_native.node node_modules; do
    [[ -e $f ]] || { echo "package-deb: $f missing (run scripts/build.sh)" >&2; exit 1; }
  done
else
  scripts/build.sh
fi
version=$(node -p 'require("./package.json").version')
arch=$(dpkg --print-architecture)
outdir=${FLOATD_DEB_DIR:-$root/build}
out="$outdir/floatd_${version}_${arch}.deb"
stage=$(mktemp -d "${TMPDIR:-/tmp}/floatd-deb.XXXXXX")
trap 'rm -rf "$stage"' EXIT
pkg="$stage/floatd"
lib="$pkg/usr/lib/floatd"

install -d "$lib/dist" "$lib/native/build/Release" "$pkg/usr/bin" "$pkg/DEBIAN" \
  "$pkg/lib/systemd/system" "$pkg/etc/default" "$pkg/etc/floatd" \
  "$pkg/usr/share/man/man8" "$pkg/usr/share/man/man5" "$pkg/usr/share/bash-completion/completions" \
  "$pkg/usr/share/doc/floatd/examples" "$pkg/usr/share/floatd"
cp -a dist/src "$lib/dist/src"
find "$lib/dist" -name '*.map' -delete
touch "$lib/dist/.build-stamp"
install -m 0644 native/build/Release/floatd_native.node "$lib/native/build/Release/"
install -m 0644 package.json package-lock.json "$lib/"
cp -a node_modules "$lib/node_modules"
(cd "$lib" && npm prune --omit=dev --no-audit --no-fund --loglevel=error >/dev/null)
rm -f "$lib/package-lock.json" "$lib/node_modules/.package-lock.json"
cp -a examples "$lib/examples"

cat > "$pkg/usr/bin/floatd" <<'LAUNCH'
#!/bin/sh
# floatd, as installed by the Debian package (the checkout's bin/floatd builds; this does not).
exec /usr/bin/node /usr/lib/floatd/dist/src/cli/main.js "$@"
LAUNCH
chmod 0755 "$pkg/usr/bin/floatd"
sed 's#/usr/local/bin/floatd#/usr/bin/floatd#g' packaging/systemd/floatd.service > "$pkg/lib/systemd/system/floatd.service"
install -m 0644 packaging/default/floatd "$pkg/etc/default/floatd"
chmod 0755 "$pkg/etc/floatd"
for m in packaging/man/*.[0-9]; do
  sec=${m##*.}
  gzip -9n < "$m" > "$pkg/usr/share/man/man$sec/$(basename "$m").gz"
done
install -m 0644 packaging/bash-completion/floatd "$pkg/usr/share/bash-completion/completions/floatd"
for d in prometheus grafana; do
  [[ -d packaging/$d ]] && cp -a "packaging/$d" "$pkg/usr/share/floatd/$d"
done
install -m 0644 examples/* "$pkg/usr/share/doc/floatd/examples/"
install -m 0644 packaging/debian/copyright "$pkg/usr/share/doc/floatd/copyright"
cp README.md docs/*.md "$pkg/usr/share/doc/floatd/"
printf 'floatd (%s) unstable; urgency=medium\n\n  * Built from %s.\n\n -- floatd developers <floatd@example.invalid>  %s\n' \
  "$version" "$(git rev-parse --short HEAD 2>/dev/null || echo checkout)" "$(date -R -d @"${SOURCE_DATE_EPOCH:-$(date +%s)}")" \
  | gzip -9n > "$pkg/usr/share/doc/floatd/changelog.Debian.gz"

for s in postinst prerm postrm; do install -m 0755 "packaging/debian/$s" "$pkg/DEBIAN/$s"; done
echo /etc/default/floatd > "$pkg/DEBIAN/conffiles"
size=$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" packaging/debian/control.in > "$pkg/DEBIAN/control"
(cd "$pkg" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) > "$pkg/DEBIAN/md5sums"
mkdir -p "$outdir"
dpkg-deb --root-owner-group -Zxz --build "$pkg" "$out" >/dev/null
echo "$out"
