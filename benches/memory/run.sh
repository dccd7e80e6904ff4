#!/usr/bin/env bash
# Memory benchmark: a large JSON response (default 1 GiB) through the
# release gateway for a classified product (mask, redact, detect in free
# text). Prints the gateway's peak RSS (VmHWM), the bytes out, the time,
# and checks that no card number got through. See benches/README.md.
#
# Usage: benches/memory/run.sh [SIZE_BYTES]
set -euo pipefail
size=${1:-1073741824}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
up=$(free_port); gw=$(free_port); admin=$(free_port)

cargo build --release -p maskgate --manifest-path "$root/Cargo.toml" >&2
python3 "$here/big_json_upstream.py" "$up" "$size" & pids+=($!)
# The gateway is ready in well under the time Python takes to listen: wait
# for the upstream, or the request races it and gets a 502.
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$up") 2>/dev/null && break; sleep 0.1; done
cat > "$work/maskgate.toml" <<TOML
[server]
[[server.listener]]
address = "127.0.0.1:$gw"
plaintext = true
[admin]
address = "127.0.0.1:$admin"
[[product]]
name = "big"
route = { path_prefix = "/big" }
upstream = { url = "http://127.0.0.1:$up", response_timeout = "120s" }
[[product.field]]
path = "\$.items[*].email"
class = "email"
[[product.field]]
path = "\$.items[*].card_number"
class = "card_number"
[[policy]]
name = "default"
default = true
actions = { email = { action = "mask", preset = "email" }, "*" = { action = "redact" } }
TOML
"$root/target/release/maskgate" serve --config "$work/maskgate.toml" 2>"$work/maskgate.log" & pids+=($!)
gateway=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$admin/readyz" >/dev/null && break; sleep 0.1; done
start=$(date +%s.%N)
curl -sf "http://127.0.0.1:$gw/big/all" -o "$work/out.json"
end=$(date +%s.%N)
peak=$(awk '/VmHWM/ {print $2}' "/proc/$gateway/status")
bytes=$(stat -c %s "$work/out.json")
leaks=$(grep -c "4111" "$work/out.json" || true)
printf 'response in: ~%s bytes, out: %s bytes, %.1f s\n' "$size" "$bytes" "$(echo "$end - $start" | bc)"
printf 'gateway peak RSS (VmHWM): %s KiB\n' "$peak"
printf 'card numbers in the output: %s\n' "$leaks"
[ "$leaks" = 0 ]
