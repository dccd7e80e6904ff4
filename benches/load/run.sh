#!/usr/bin/env bash
# Load benchmark: maskgate vs nginx in front of the same upstream, same wrk
# command, interleaved rounds, medians and ratios. See benches/README.md.
#
# Usage: benches/load/run.sh [--duration 10s] [--connections 64] [--threads 2]
#            [--rounds 3] [--warmup 3s] [--path /products/customers]
#            [--only nginx|maskgate] [--masked] [--no-build] [--keep]
#   --masked also runs "masked": maskgate with a masking plan on the product.
set -euo pipefail

duration=10s
connections=64
threads=2
rounds=3
warmup=3s
path=/products/customers
only=
masked=0
build=1
keep=0

usage() {
    sed -n '2,8s/^# \{0,1\}//p' "$0"
    exit "${1:-0}"
}

while [[ $# -gt 0 ]]; do
    case "$1" in
    --duration) duration=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --path) path=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --masked) masked=1; shift ;;
    --no-build) build=0; shift ;;
    --keep) keep=1; shift ;;
    -h | --help) usage 0 ;;
    *) echo "run.sh: unknown argument: $1" >&2; usage 2 ;;
    esac
done

case "$only" in
"") proxies=(nginx maskgate) ;;
nginx | maskgate) proxies=("$only") ;;
*) echo "run.sh: --only takes nginx or maskgate, not '$only'" >&2; exit 2 ;;
esac
if [[ $masked -eq 1 ]]; then proxies+=(masked); fi
if ! [[ $rounds =~ ^[1-9][0-9]*$ ]]; then
    echo "run.sh: --rounds must be a positive integer" >&2
    exit 2
fi

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
report=(python3 "$here/report.py")

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }

# --- tools -------------------------------------------------------------------

missing=()
command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || missing+=(nginx)
command -v wrk >/dev/null || missing+=(wrk)
if [[ ${#missing[@]} -gt 0 ]]; then
    [[ $EUID -eq 0 ]] || die "missing ${missing[*]}: apt-get install ${missing[*]} (as root)"
    log "installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null ||
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; }
fi
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)
command -v python3 >/dev/null || die "python3 is needed to pick ports and parse wrk's output"
command -v curl >/dev/null || die "curl is needed for readiness and body checks"

if [[ $build -eq 1 ]]; then
    log "building (release): maskgate, maskgate-benches"
    (cd "$root" && cargo build --release -p maskgate -p maskgate-benches)
fi
upstream_bin=$target/release/load-upstream
maskgate_bin=$target/release/maskgate
[[ -x $upstream_bin ]] || die "$upstream_bin not built"

# --- processes we start, stopped by PID on exit ----------------------------

tmp=$(mktemp -d "${TMPDIR:-/tmp}/maskgate-load.XXXXXX")
pids=()

cleanup() {
    local status=$? pid
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [[ $keep -eq 1 || $status -ne 0 ]]; then
        log "logs and raw wrk output kept in $tmp"
    else
        rm -rf "$tmp"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Free ports on 127.0.0.1, distinct from each other (all held open while picking).
free_ports() {
    python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

show_log() {
    echo "---- $1 ----" >&2
    tail -n 40 "$1" >&2 || true
}

# Wait until URL answers 200 (max ~10 s), failing early if PID died.
wait_ready() {
    local name=$1 pid=$2 logfile=$3
    shift 3
    local url
    for _ in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || { show_log "$logfile"; die "$name exited during start-up"; }
        for url in "$@"; do
            if [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url" || true) == 200 ]]; then
                return 0
            fi
        done
        sleep 0.1
    done
    show_log "$logfile"
    die "$name not ready after 10s (polled $*)"
}

# Sum of utime+stime, in clock ticks, of the given PIDs.
cpu_ticks() {
    local total=0 pid stat
    local -a fields
    for pid in "$@"; do
        stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
        # Fields after "(comm) ": state is [0], utime [11], stime [12].
        read -r -a fields <<<"${stat##*) }"
        total=$((total + fields[11] + fields[12]))
    done
    echo "$total"
}

# A proxy's processes: nginx's master and its workers, maskgate's one process.
proxy_pids() {
    local pid=$1
    echo "$pid"
    ps -o pid= --ppid "$pid" 2>/dev/null || true
}

# Peak RSS (KiB) summed over PIDs.
peak_rss_kib() {
    local total=0 pid kib
    for pid in "$@"; do
        kib=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
        total=$((total + ${kib:-0}))
    done
    echo "$total"
}

# --- upstream ----------------------------------------------------------------

# Created first: the background job opens it only once it is scheduled.
: >"$tmp/upstream.out"
"$upstream_bin" --listen 127.0.0.1:0 >"$tmp/upstream.out" 2>"$tmp/upstream.log" &
upstream_pid=$!
pids+=("$upstream_pid")
upstream_addr=
for _ in $(seq 100); do
    upstream_addr=$(sed -n '1s/^listening on //p' "$tmp/upstream.out")
    [[ -n $upstream_addr ]] && break
    kill -0 "$upstream_pid" 2>/dev/null || break
    sleep 0.1
done
[[ -n $upstream_addr ]] || { show_log "$tmp/upstream.log"; die "load-upstream did not start"; }
upstream_port=${upstream_addr##*:}
log "upstream   http://$upstream_addr (pid $upstream_pid)"

curl -sf -o "$tmp/expected.body" "http://$upstream_addr$path" ||
    die "upstream does not answer 200 on $path"

read -r nginx_port maskgate_port admin_port masked_port masked_admin_port <<<"$(free_ports 5)"
declare -A proxy_pid proxy_url

# --- nginx -------------------------------------------------------------------

start_nginx() {
    local conf=$tmp/nginx.conf user_line=
    # As root the workers would switch to nobody, who cannot enter $tmp.
    if [[ $EUID -eq 0 ]]; then user_line="user root;"; fi
    mkdir -p "$tmp/nginx"
    cat >"$conf" <<EOF
$user_line
worker_processes auto;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;

events {
    worker_connections 4096;
}

http {
    access_log off;
    client_body_temp_path $tmp/nginx/client_body;
    proxy_temp_path $tmp/nginx/proxy;
    fastcgi_temp_path $tmp/nginx/fastcgi;
    uwsgi_temp_path $tmp/nginx/uwsgi;
    scgi_temp_path $tmp/nginx/scgi;
    # wrk keeps its connections for the whole run; do not recycle them
    # every 1000 requests (nginx's default) on either side.
    keepalive_requests 1000000;

    upstream bench {
        server 127.0.0.1:$upstream_port;
        keepalive 64;
        keepalive_requests 1000000;
    }

    server {
        listen 127.0.0.1:$nginx_port;

        location / {
            proxy_pass http://bench;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
EOF
    "$nginx_bin" -t -q -c "$conf" -p "$tmp/nginx" -e "$tmp/nginx/error.log" 2>"$tmp/nginx/test.log" ||
        { show_log "$tmp/nginx/test.log"; die "nginx rejects $conf"; }
    "$nginx_bin" -c "$conf" -p "$tmp/nginx" -e "$tmp/nginx/error.log" -g 'daemon off;' \
        >"$tmp/nginx/stdout.log" 2>&1 &
    proxy_pid[nginx]=$!
    pids+=("${proxy_pid[nginx]}")
    proxy_url[nginx]=http://127.0.0.1:$nginx_port$path
    wait_ready nginx "${proxy_pid[nginx]}" "$tmp/nginx/error.log" "${proxy_url[nginx]}"
    log "nginx      http://127.0.0.1:$nginx_port (pid ${proxy_pid[nginx]}, $("$nginx_bin" -v 2>&1 | sed 's/.*: //'))"
}

# --- maskgate ----------------------------------------------------------------

# One maskgate process: NAME PORT ADMIN_PORT, with the product's masking
# (classification and policies, TOML) read from stdin.
start_gateway() {
    local name=$1 port=$2 admin=$3 conf=$tmp/$1.toml
    [[ -x $maskgate_bin ]] || die "$maskgate_bin not built"
    {
        cat <<EOF
[server]
[[server.listener]]
address = "127.0.0.1:$port"
plaintext = true

[admin]
address = "127.0.0.1:$admin"

[[product]]
name = "bench"
[product.route]
path_prefix = "/products"
[product.upstream]
url = "http://127.0.0.1:$upstream_port"
EOF
        cat
    } >"$conf"
    "$maskgate_bin" serve --config "$conf" >"$tmp/$name.log" 2>&1 &
    proxy_pid[$name]=$!
    pids+=("${proxy_pid[$name]}")
    proxy_url[$name]=http://127.0.0.1:$port$path
    wait_ready "$name" "${proxy_pid[$name]}" "$tmp/$name.log" \
        "http://127.0.0.1:$admin/readyz" "${proxy_url[$name]}"
    log "$(printf '%-10s' "$name") http://127.0.0.1:$port (pid ${proxy_pid[$name]}, admin 127.0.0.1:$admin)"
}

# The proxy path alone: no authentication, no masking.
start_maskgate() {
    start_gateway maskgate "$maskgate_port" "$admin_port" </dev/null
}

# The same with a masking plan: every personal field of the records
# classified, no caller roles (so the default rule applies), the notes
# scanned by the detectors (the products' default).
start_masked() {
    start_gateway masked "$masked_port" "$masked_admin_port" <<'EOF'

[[product.field]]
path = "$.customers[*].name"
class = "person_name"

[[product.field]]
path = "$.customers[*].email"
class = "email"

[[product.field]]
path = "$.customers[*].phone"
class = "phone"

[[product.field]]
path = "$.customers[*].birth_date"
class = "birth_date"

[[product.field]]
path = "$.customers[*].iban"
class = "iban"

[[product.field]]
path = "$.customers[*].card_number"
class = "card_number"

[[product.field]]
path = "$..postal_code"
class = "postal_code"

[[policy]]
name = "default"
default = true
actions = { email = { action = "mask", preset = "email" }, phone = { action = "mask", preset = "phone" }, card_number = { action = "mask", preset = "card" }, birth_date = { action = "generalize", to = "year" }, postal_code = { action = "generalize", to = "prefix", keep = 2 }, "*" = { action = "redact", with = "[REDACTED]" } }
EOF
}

for proxy in "${proxies[@]}"; do
    "start_$proxy"
done

# --- never benchmark an error page -----------------------------------------

# A masked body holds the upstream's records, each personal value replaced.
masked_body_ok() {
    python3 - "$tmp/expected.body" "$1" <<'EOF'
import json, sys
clear = json.load(open(sys.argv[1]))["customers"]
masked = json.load(open(sys.argv[2]))["customers"]
assert len(masked) == len(clear)
for c, m in zip(clear, masked):
    for field in ("name", "email", "phone", "birth_date", "iban", "card_number"):
        assert m[field] != c[field], field
    assert m["id"] == c["id"] and m["notes"] == c["notes"]
EOF
}

for proxy in "${proxies[@]}"; do
    code=$(curl -s -o "$tmp/$proxy.body" -w '%{http_code}' "${proxy_url[$proxy]}" || true)
    if [[ $proxy == masked ]]; then
        if [[ $code != 200 ]] || ! masked_body_ok "$tmp/$proxy.body"; then
            head -c 600 "$tmp/$proxy.body" >&2 || true
            die "masked does not return the upstream's records masked on $path"
        fi
        continue
    fi
    if [[ $code != 200 ]] || ! cmp -s "$tmp/expected.body" "$tmp/$proxy.body"; then
        echo "---- $proxy answered $code with:" >&2
        head -c 600 "$tmp/$proxy.body" >&2 || true
        echo >&2
        die "$proxy does not return the upstream's body on $path"
    fi
done
log "all proxies return the upstream's $(wc -c <"$tmp/expected.body")-byte body"

# --- measure -----------------------------------------------------------------

wrk_cmd=(wrk "-t$threads" "-c$connections" "-d$duration" --latency)
log "load: ${wrk_cmd[*]} URL; $rounds rounds, warmup $warmup per proxy; $(nproc) cores shared by wrk, proxy and upstream"

run_wrk() { # proxy duration output
    local proxy=$1 duration=$2 out=$3 before after
    # shellcheck disable=SC2046 # one PID per word
    before=$(cpu_ticks $(proxy_pids "${proxy_pid[$proxy]}"))
    wrk "-t$threads" "-c$connections" "-d$duration" --latency "${proxy_url[$proxy]}" >"$out"
    # shellcheck disable=SC2046
    after=$(cpu_ticks $(proxy_pids "${proxy_pid[$proxy]}"))
    awk -v t="$((after - before))" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.3f\n", t / hz }' \
        >"${out%.wrk}.cpu"
}

if [[ $warmup != 0 && $warmup != 0s ]]; then
    for proxy in "${proxies[@]}"; do
        log "warmup $proxy ($warmup)"
        run_wrk "$proxy" "$warmup" "$tmp/warmup-$proxy.wrk"
    done
fi

for round in $(seq "$rounds"); do
    # Alternate who goes first, so a drift of the machine over the run does not
    # always favour the same proxy.
    # Rotated by one each round.
    shift_by=$(((round - 1) % ${#proxies[@]}))
    order=("${proxies[@]:shift_by}" "${proxies[@]:0:shift_by}")
    for proxy in "${order[@]}"; do
        out=$tmp/r$round-$proxy.wrk
        run_wrk "$proxy" "$duration" "$out"
        printf 'round %d/%d %-9s %s\n' "$round" "$rounds" "$proxy" \
            "$("${report[@]}" round "$out" "${out%.wrk}.cpu")" >&2
    done
done

for proxy in "${proxies[@]}"; do
    # shellcheck disable=SC2046
    peak_rss_kib $(proxy_pids "${proxy_pid[$proxy]}") >"$tmp/$proxy.rss"
done

echo
echo "maskgate load benchmark: ${wrk_cmd[*]} http://127.0.0.1:PORT$path"
echo "$rounds rounds (+ $warmup warmup), body $(wc -c <"$tmp/expected.body") bytes, $(nproc) cores shared by wrk, proxies and upstream"
echo
"${report[@]}" summary "$tmp"
