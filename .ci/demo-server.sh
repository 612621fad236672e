# Sourced by the CI scripts that speak to a real server from outside:
# builds cellreg, seeds the Sông Lô demo into a fresh SQLite file in $work
# and serves it on a free loopback port, with no mutation or auth-failure
# rate limit. Sets $cellreg, $work, $port, $base and $server; the caller's
# EXIT trap should call stop_demo_server.
#   start_demo_server [seed demo flags…]

target_dir="${CARGO_TARGET_DIR:-target}"
cellreg="$target_dir/debug/cellreg"
work=$(mktemp -d)
server=

stop_demo_server() {
  if [[ -n "$server" ]]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}

start_demo_server() {
  cargo build --quiet --locked -p api --bin cellreg
  export JWT_SECRET="ci-secret-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  export DATABASE_URL="sqlite://$work/demo.db?mode=rwc"
  "$cellreg" seed demo "$@" >/dev/null 2>&1 || { echo "ci: could not seed the demo" >&2; return 1; }
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  base="http://127.0.0.1:$port"
  CELLREG_BIND="127.0.0.1:$port" CELLREG_MUTATIONS_PER_MINUTE=0 CELLREG_AUTH_FAILURES_PER_MINUTE=0 \
    RUST_LOG=warn "$cellreg" serve >"$work/server.log" 2>&1 &
  server=$!
  for _ in $(seq 1 50); do
    curl -fs "$base/healthz" >/dev/null 2>&1 && break
    sleep 0.2
  done
  curl -fs "$base/healthz" >/dev/null || { cat "$work/server.log" >&2; return 1; }
}
