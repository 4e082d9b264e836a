#!/usr/bin/env bash
# The embedded cluster at --scale xlarge: start-up, RSS, CPU of the controllers at --speed 60,
# and /metrics size and render time. Usage: benches/sim-xlarge.sh [seconds-of-cpu-sampling]
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
port=$((20000 + RANDOM % 20000))
log=$(mktemp) kubeconfig=$(mktemp)
start=$(date +%s.%N)
target/release/mlxp sim --scale xlarge --speed 60 --listen "127.0.0.1:$port" \
    --kubeconfig-out "$kubeconfig" 2>"$log" &
pid=$!
trap 'kill $pid 2>/dev/null; rm -f "$log" "$kubeconfig"' EXIT
until grep -q "serving the Kubernetes API" "$log"; do
    kill -0 $pid || { cat "$log"; exit 1; }
    sleep 0.2
done
ready=$(date +%s.%N)
printf 'start-up (seed + 2 h warm-up, until listening): %.1f s\n' "$(echo "$ready - $start" | bc)"
rss() { awk '/VmRSS/ {printf "%.0f MiB", $2 / 1024}' /proc/$pid/status; }
echo "RSS after start: $(rss)"
ticks() { awk '{print $14 + $15}' /proc/$pid/stat; }
hz=$(getconf CLK_TCK)
seconds=${1:-60}
before=$(ticks)
sleep "$seconds"
after=$(ticks)
printf 'CPU at --speed 60 over %s s: %.2f core-s (%.0f %% of one core)\n' "$seconds" \
    "$(echo "($after - $before) / $hz" | bc -l)" "$(echo "($after - $before) / $hz / $seconds * 100" | bc -l)"
echo "RSS after running: $(rss)"
for i in 1 2 3 4 5; do
    curl -sk -o /dev/null -w '/metrics: %{size_download} bytes in %{time_total} s\n' "https://127.0.0.1:$port/metrics"
done
