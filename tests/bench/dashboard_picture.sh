#!/bin/bash
# make dashboard-picture (run by make bench): the README's picture of the
# Grafana dashboard's main queries on real data. The lab of
# tests/netns/test_dashboard.sh (tests/lib/dashboard_lab.sh): a live
# imapguardd under a minute of traffic, rounds of every kind its panels
# show, scraped each second by a real Prometheus; then the panels'
# expressions over that span through the query_range API, drawn by
# tests/bench/dashboard_picture.py (matplotlib) into docs/dashboard.png.
# Usage: dashboard_picture.sh [OUT.png] (DASH_SECONDS: traffic, default 60)
# shellcheck source=tests/lib/lab.sh
. "$(dirname "$0")/../lib/lab.sh"
[ "$(id -u)" = 0 ] || { echo "dashboard_picture: needs root"; exit 1; }
OUT=${1:-$ROOT/docs/dashboard.png}
SECS=${DASH_SECONDS:-60}
lab_up || { echo "dashboard_picture: lab setup failed"; exit 1; }
lab_servers 993 143 110 || { echo "dashboard_picture: servers did not start"; exit 1; }
# shellcheck source=tests/lib/dashboard_lab.sh
. "$ROOT/tests/lib/dashboard_lab.sh"
dash_lapi || { echo "dashboard_picture: fake LAPI did not start"; exit 1; }
lab_agent "$CONF" "http://$M/metrics" || { echo "dashboard_picture: agent did not start"; exit 1; }
dash_prometheus
up() { api /api/v1/query --data-urlencode 'query=up{job="imapguard"} == 1' | jq -e '.data.result | length > 0' >/dev/null; }
polled up || { echo "dashboard_picture: Prometheus does not scrape the agent"; exit 1; }

start=$(date +%s)
r=0
# rounds of traffic, one every 5 s (at most 150 rounds: dash_traffic's addresses)
while [ $(($(date +%s) - start)) -lt "$SECS" ] && [ $r -lt 150 ]; do
	dash_traffic $r
	r=$((r + 1))
	sleep 5
done
sleep 10 # the last round reaches the rates
end=$(date +%s)
echo "dashboard_picture: $r rounds of traffic over $((end - start)) s"

# range QUERY: the query_range answer over the run, a point every 2 s
range() {
	api /api/v1/query_range --data-urlencode "query=$1" --data-urlencode "start=$start" \
		--data-urlencode "end=$end" --data-urlencode step=2
}
# the panels' expressions as the dashboard holds them, Grafana's variables
# filled in for all hosts and a 30 s rate window; one JSON document
# {title: [answer, ...]} for the plotter
panels=$(jq -c '[.panels[] | select(.targets) | {title, exprs: [.targets[].expr]}]' "$DASH")
n=$(jq length <<<"$panels")
{
	echo '{'
	for i in $(seq 0 $((n - 1))); do
		title=$(jq -r ".[$i].title" <<<"$panels")
		[ "$i" -gt 0 ] && echo ','
		printf '%s: [' "$(jq -R . <<<"$title")"
		mapfile -t exprs < <(jq -r ".[$i].exprs[]" <<<"$panels")
		sep=
		for e in "${exprs[@]}"; do
			q=${e//\$__rate_interval/30s}
			q=${q//\$instance/.*}
			printf '%s{"expr": %s, "answer": %s}' "$sep" "$(jq -R . <<<"$q")" "$(range "$q")"
			sep=,
		done
		printf ']'
	done
	echo '}'
} >"$LAB_DIR/ranges.json"
$PY "$ROOT/tests/bench/dashboard_picture.py" "$LAB_DIR/ranges.json" "$OUT" ||
	{ echo "dashboard_picture: plotting failed"; exit 1; }
echo "dashboard_picture: wrote $OUT ($(stat -c %s "$OUT") bytes)"
