#!/usr/bin/env bash
# Fetches the front-end files the GraphiQL page (/graphql) and the REST API
# docs page (/api/v1/docs) are served with, so that both work without any
# other host (an agency intranet). Each package is pinned by version and by
# the registry's sha512 integrity; the files taken from it are written to
# api/assets/ with their sha256 in api/assets/SHA256SUMS, which the build
# embeds and a unit test checks. Run it again only to change a version (then
# update its integrity from `npm view NAME@VERSION dist.integrity`).
set -euo pipefail
cd "$(dirname "$0")/.."

# package@version  sha512 integrity  files to take (paths inside the package)
PACKAGES=(
  "react@18.3.1 sha512-wS+hAgJShR0KhEvPJArfuPVN1+Hz1t0Y6n5jLrGQbkb4urgPE/0Rve+1kMB1v/oWgHgm4WIcV+i7F2pTVj+2iQ== umd/react.production.min.js"
  "react-dom@18.3.1 sha512-5m4nQKp+rZRb09LNH59GM4BxTh9251/ylbKIbpe7TpGxfJ+9kv6BLkLBXIjjspbgbnIBNqlI23tRnTWT0snUIw== umd/react-dom.production.min.js"
  "graphiql@3.9.0 sha512-rJYFlHdBbug9+YbFSwRVvgfPjCayC7wHecZkx/qB4XLuQPFQZw/yB9pmHFtOJV6RiNBBHro3u1GdocKa3YcGRA== graphiql.min.js graphiql.min.css"
  "graphql-ws@5.16.2 sha512-E1uccsZxt/96jH/OwmLPuXMACILs76pKF2i3W861LpKBCYtGIyPQGtWLuBLkND4ox1KHns70e83PS4te50nvPQ== umd/graphql-ws.min.js"
  "swagger-ui-dist@5.32.0 sha512-nKZB0OuDvacB0s/lC2gbge+RigYvGRGpLLMWMFxaTUwfM+CfndVk9Th2IaTinqXiz6Mn26GK2zriCpv6/+5m3Q== swagger-ui-bundle.js swagger-ui.css"
)

assets=api/assets
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
: > "$work/SHA256SUMS"
for entry in "${PACKAGES[@]}"; do
  read -r package integrity files <<<"$entry"
  tarball=$(cd "$work" && npm pack --silent "$package")
  actual="sha512-$(openssl dgst -sha512 -binary "$work/$tarball" | base64 -w0)"
  if [[ "$actual" != "$integrity" ]]; then
    echo "vendor: $package has integrity $actual, expected $integrity" >&2
    exit 1
  fi
  mkdir -p "$work/${package%@*}"
  tar -xzf "$work/$tarball" -C "$work/${package%@*}"
  for file in $files; do
    name=$(basename "$file")
    cp "$work/${package%@*}/package/$file" "$assets/$name"
    echo "$(sha256sum "$assets/$name" | cut -d' ' -f1)  $name  $package" >> "$work/SHA256SUMS"
  done
done
sort -k2 "$work/SHA256SUMS" > "$assets/SHA256SUMS"
cat "$assets/SHA256SUMS"
