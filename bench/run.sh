#!/bin/bash
# make bench: stands up a berth instance (gatewayd, lighttpd with the FastCGI programs, one
# agent on this machine's Docker engine) in a temporary state directory, deploys the fixture
# image berth-fixture:test, and measures, in one run, side by side:
#   1. req/s and p50/p99 latency (wrk, 100-byte GET, -c32 and -c1) straight to the container's
#      bridge address, through berth's proxy, and through nginx proxy_pass to the same container,
#      with each part's CPU time per call at -c32 and the req/s the rest of the path would allow
#      if the proxy programs cost nothing;
#   2. MB/s for a 1 GiB download and upload, direct and through the proxy, with the peak RSS
#      of gatewayd, the agent, the proxy programs and lighttpd (sampled every 100 ms);
#   3. how many concurrent SSE streams the proxy holds (bench/sse-clients, ramped).
# It prints the figures next to issue 5's targets and never fails on a missed one (MISSED).
# Everything it started is stopped and its containers are removed on exit.
# usage: bench/run.sh   (BERTH_BUILD names the build directory, with bench/sse-clients and
#        tests/harness/socket-exec built; BENCH_DURATION wrk seconds per run, default 5;
#        BENCH_SSE_STEPS, default "250 500 1000 1200"; BENCH_KEEP=1 keeps the state directory;
#        BENCH_ONLY, default "small bulk sse", the parts to run; BENCH_HOLD=1 sets the platform up,
#        prints its addresses and waits for Ctrl-C, for measuring by hand; BENCH_AGENT=direct
#        (default: the agent dials gatewayd's loopback port, as make run's local agent does) or
#        lighttpd (it dials lighttpd's /api/v1/agent/connect, as an agent on another host does))
set -u
export LC_ALL=C # `times` and awk read and print numbers with a decimal point
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BERTH_BUILD:-$root/build}
duration=${BENCH_DURATION:-5}
sse_steps=${BENCH_SSE_STEPS:-250 500 1000 1200}
only=" ${BENCH_ONLY:-small bulk sse} "
agent_via=${BENCH_AGENT:-direct}
case "$agent_via" in direct|lighttpd) ;; *) echo "bench: BENCH_AGENT is direct or lighttpd" >&2; exit 2 ;; esac
gib=1073741824
state=$(mktemp -d "${TMPDIR:-/tmp}/berth-bench.XXXXXX")
pids=()
status=1
run_id=b$(date +%s%N | tail -c 7)$$

teardown() {
	[ -n "${sampler:-}" ] && kill "$sampler" 2>/dev/null
	for p in "${pids[@]}"; do kill -TERM -- "-$p" 2>/dev/null; done
	if command -v docker >/dev/null; then
		docker ps -aq --filter "label=berth.run=$run_id" | xargs -r docker rm -f > /dev/null 2>&1
	fi
	for p in "${pids[@]}"; do
		for _ in $(seq 50); do kill -0 -- "-$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL -- "-$p" 2>/dev/null
	done
	docker_down 2>/dev/null
	if [ $status -eq 0 ] && [ "${BENCH_KEEP:-0}" != 1 ]; then rm -rf "$state"; else echo "bench: state kept in $state"; fi
	exit $status
}
trap teardown EXIT
trap 'exit 1' INT TERM

die() { echo "bench: $*" >&2; exit 1; }
note() { printf '  %s\n' "$*" >&2; }

# Thousands of streams need thousands of descriptors in every process on the path.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

for t in wrk nginx curl jq docker lighttpd; do command -v "$t" >/dev/null || die "$t is missing (tools/deps.sh bench)"; done
for b in bin/berthctl bin/berth-gatewayd bin/berth-agent tests/harness/socket-exec bench/sse-clients; do
	[ -x "$build/$b" ] || die "$build/$b is missing (make bench builds it)"
done

# ---- the platform ----
echo "bench: starting berth in $state" >&2
export BERTH_VAR="$state/var"
ctl() { "$build/bin/berthctl" --var "$BERTH_VAR" "$@"; }
ctl init > "$state/init.txt" || { cat "$state/init.txt"; exit 1; }
team=$(ctl team add "bench-$run_id") || die "cannot add a team"
ctl user add "bench-$run_id@example.test" > /dev/null || die "cannot add a user"
ctl member add "$team" "bench-$run_id@example.test" owner || die "cannot add the member"
token=$(ctl token "bench-$run_id@example.test") || die "cannot make a token"
sk=$(ctl credential add "$team" integration bench) || die "cannot make an sk- key"
(umask 077 && ctl credential add "$team" agent bench > "$state/agent.key") || die "cannot make an ak- key"

# shellcheck source=tests/lib/dockerd.sh disable=SC1091
. "$root/tests/lib/dockerd.sh"
docker_up || exit 1
"$root/tests/fixtures/build-image.sh" "$build" > "$state/fixture.log" 2>&1 ||
	{ cat "$state/fixture.log"; die "cannot build the fixture image"; }

setsid "$build/bin/berth-gatewayd" --listen 127.0.0.1:0 --port-file "$state/gwport" \
	> "$state/gatewayd.log" 2>&1 &
pids+=($!); gw_pid=$!
for _ in $(seq 100); do [ -s "$state/gwport" ] && break; sleep 0.1; done
[ -s "$state/gwport" ] || { cat "$state/gatewayd.log"; die "gatewayd did not come up"; }

# lighttpd adopts a socket bound on a free port (as tests/integration/run.sh does).
# shellcheck disable=SC2016 # the inner shell expands them
setsid "$build/tests/harness/socket-exec" "$state/port" /bin/sh -c \
	'"$1" "$2" "$3" "$4" "$5" "$6" 127.0.0.1 "$(cat "$7")" "$(cat "$8")" socket-activation && exec lighttpd -D -f "$3"' \
	sh "$root/tools/devconf.sh" "$root/lighttpd.conf" "$BERTH_VAR/lighttpd.conf" "$root" "$build" \
	"$BERTH_VAR" "$state/port" "$state/gwport" > "$state/lighttpd.out" 2>&1 &
pids+=($!); lighttpd_pid=$!
for _ in $(seq 100); do
	[ -s "$state/port" ] && curl -s -o /dev/null "http://127.0.0.1:$(cat "$state/port")/" && break
	sleep 0.1
done
port=$(cat "$state/port" 2>/dev/null)
if [ -z "$port" ] || ! curl -s -o /dev/null "http://127.0.0.1:$port/"; then
	cat "$state/lighttpd.out"; die "lighttpd did not come up"
fi
base="http://127.0.0.1:$port/api/v1"

agent_start() {
	local gateway="http://127.0.0.1:$(cat "$state/gwport")"
	[ "$agent_via" = lighttpd ] && gateway="http://127.0.0.1:$port"
	setsid "$build/bin/berth-agent" --gateway "$gateway" --key "@$state/agent.key" \
		--name bench --container-labels "berth.run=$run_id" --probe-interval-ms 500 \
		>> "$state/agent.log" 2>&1 &
	pids+=($!); agent_pid=$!
}
agent_start

api() { # METHOD PATH [BODY]
	curl -sS -X "$1" "$base$2" -H "Authorization: Bearer $token" -H "X-Team-ID: $team" \
		-H 'Content-Type: application/json' --data-binary "${3-}"
}
svc=$(api POST /containers '{"service_slug": "bench", "docker_image": "berth-fixture:test",
	"exposed_port": 8080, "health_path": "/health"}' | jq -r .id)
{ [ -n "$svc" ] && [ "$svc" != null ]; } || die "cannot create the service"
for _ in $(seq 100); do
	api POST "/containers/$svc/deploy" '' | grep -q is_success && break # the agent may be connecting
	sleep 0.2
done
for _ in $(seq 300); do
	st=$(api GET "/containers/$svc" | jq -r .service_status)
	[ "$st" = running ] && break
	sleep 0.2
done
[ "$st" = running ] || { api GET "/containers/$svc"; echo; tail -n 20 "$state/agent.log"; die "the service is $st, not running"; }
cid=$(docker ps -q --filter "label=berth.run=$run_id" | head -n 1)
ip=$(docker inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$cid" 2>/dev/null)
[ -n "$ip" ] || die "cannot find the container's bridge address"
direct="http://$ip:8080"
proxy="$base/r/containers/bench"
auth="X-Berth-Key: $sk"
curl -sf -o /dev/null "$direct/health" || die "the container does not answer at $direct"
curl -sf -o /dev/null -H "$auth" "$proxy/health" || die "the proxy does not answer at $proxy"

# Before each proxy measurement: if an earlier one left the proxy failing, say so (it is a
# finding) and give the next measurement a fresh tunnel session by restarting the agent.
proxy_check() { # WHAT
	curl -sf -o /dev/null --max-time 10 -H "$auth" "$proxy/health" && return 0
	echo "proxy answers $(curl -s -o /dev/null -w '%{http_code}' --max-time 10 -H "$auth" "$proxy/health") before $1: agent restarted" |
		tee -a "$state/notes.txt" >&2
	kill -TERM -- "-$agent_pid" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$agent_pid" 2>/dev/null || break; sleep 0.1; done
	agent_start
	for _ in $(seq 100); do curl -sf -o /dev/null -H "$auth" "$proxy/health" && return 0; sleep 0.2; done
	echo "the proxy still fails after the restart" | tee -a "$state/notes.txt" >&2
}
: > "$state/notes.txt"

# nginx, unprivileged, in the foreground, on a socket socket-exec bound (handed over in the
# NGINX variable, nginx's own way of inheriting listeners), keepalive to the same container.
# shellcheck disable=SC2016 # the inner shell expands them
ngx="$state/nginx"
mkdir -p "$ngx"
chmod 711 "$state" # nginx runs as nobody when we are root: it needs to reach $ngx
setsid "$build/tests/harness/socket-exec" "$state/nginx-port" /bin/sh -c '
	port=$(cat "$1/../nginx-port")
	cat > "$1/nginx.conf" <<EOF
daemon off;
worker_processes auto;
pid $1/nginx.pid;
error_log $1/error.log warn;
events { worker_connections 4096; }
http {
	access_log off;
	client_body_temp_path $1/body;
	proxy_temp_path $1/proxy;
	fastcgi_temp_path $1/fastcgi;
	uwsgi_temp_path $1/uwsgi;
	scgi_temp_path $1/scgi;
	upstream fixture { server $2:8080; keepalive 64; }
	server {
		listen 127.0.0.1:$port;
		location / {
			proxy_pass http://fixture;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
		}
	}
}
EOF
	[ "$(id -u)" = 0 ] && chown -R nobody "$1" && exec env NGINX="3;" setpriv --reuid=nobody \
		--regid=nogroup --clear-groups nginx -p "$1" -e "$1/error.log" -c "$1/nginx.conf"
	exec env NGINX="3;" nginx -p "$1" -e "$1/error.log" -c "$1/nginx.conf"' sh "$ngx" "$ip" \
	> "$state/nginx.out" 2>&1 &
pids+=($!)
for _ in $(seq 50); do
	[ -s "$state/nginx-port" ] && curl -sf -o /dev/null "http://127.0.0.1:$(cat "$state/nginx-port")/health" && break
	sleep 0.1
done
nginx_url="http://127.0.0.1:$(cat "$state/nginx-port" 2>/dev/null)"
curl -sf -o /dev/null "$nginx_url/health" || { cat "$state/nginx.out" "$ngx/error.log"; die "nginx did not come up"; }

# ---- memory: VmRSS of the platform's processes every 100 ms, peak per process ----
proxy_pids() { ps -o pid=,comm= --ppid "$lighttpd_pid" | awk '$2 == "proxy" { print $1 }'; }
rss_kb() { # PID -> sets $rss (KiB, 0 when gone)
	local k v
	rss=0
	while read -r k v _; do
		[ "$k" = VmRSS: ] && { rss=$v; return; }
	done < "/proc/$1/status" 2>/dev/null
}
sample() { # OUT: lines "gatewayd agent proxy(sum of all) lighttpd" in KiB, until killed
	local pp g a l s p
	pp=$(proxy_pids)
	while :; do
		rss_kb "$gw_pid"; g=$rss
		rss_kb "$agent_pid"; a=$rss
		rss_kb "$lighttpd_pid"; l=$rss
		s=0
		for p in $pp; do rss_kb "$p"; s=$((s + rss)); done
		echo "$g $a $s $l"
		sleep 0.1
	done > "$1"
}
sample_start() { sample "$1" & sampler=$!; sleep 0.15; }
sample_stop() { kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null; sampler=""; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
# first and peak of each column: "g0 gmax a0 amax p0 pmax l0 lmax" in MB
rss_summary() {
	awk 'NR == 1 { for (i = 1; i <= 4; i++) first[i] = $i }
	     { for (i = 1; i <= 4; i++) if ($i > max[i]) max[i] = $i }
	     END { for (i = 1; i <= 4; i++) printf "%.1f %.1f ", first[i] / 1024, max[i] / 1024 }' "$1"
}

if [ "${BENCH_HOLD:-0}" = 1 ]; then
	echo "bench: holding (Ctrl-C stops everything)"
	echo "  direct: $direct"
	echo "  proxy:  $proxy  (with the header \"$auth\")"
	echo "  nginx:  $nginx_url"
	echo "  state:  $state"
	while :; do sleep 3600 & wait $!; done
fi

small="/bytes?n=100" # the report names it whichever parts run
if [[ $only == *" small "* ]]; then
# ---- 1. small requests ----
# wrk's latency figures in ms, whatever unit it printed them in
wrk_run() { # NAME CONNS URL [HEADER]
	local name=$1 c=$2 url=$3 t=2 hdr=()
	[ "$c" -lt 2 ] && t=1
	[ -n "${4:-}" ] && hdr=(-H "$4")
	wrk -t"$t" -c"$c" -d"${duration}s" --latency "${hdr[@]}" "$url" > "$state/wrk-$name-$c.txt" 2>&1
	awk -v name="$name" -v c="$c" '
		function ms(s) { if (s ~ /us$/) return s / 1000; if (s ~ /ms$/) return s + 0;
				 if (s ~ /s$/) return s * 1000; return s }
		$1 == "50%" { p50 = ms($2) } $1 == "99%" { p99 = ms($2) }
		/^Requests\/sec:/ { rps = $2 }
		/Non-2xx/ { bad += $NF } /Socket errors/ { gsub(",", ""); bad += $4 + $6 + $8 + $10 }
		END { printf "%s %s %.0f %.3f %.3f %d\n", name, c, rps, p50, p99, bad }' \
		"$state/wrk-$name-$c.txt"
}
# CPU per call: each part's user + system time over a -c32 run, threads and all, from /proc and
# the container's cgroup (its server forks per connection); wrk's from the shell's children;
# what the machine spent besides (/proc/stat: softirq in other tasks, kworkers, dockerd, ...).
hz=$(getconf CLK_TCK)
cg_file="" # the container's cgroup CPU counter, found from its first process's /proc/PID/cgroup
cpid=$(docker inspect -f '{{.State.Pid}}' "$cid" 2>/dev/null)
if [ -n "$cpid" ] && [ -r "/proc/$cpid/cgroup" ]; then
	while IFS=: read -r _ ctrl path; do
		case ",$ctrl," in
		*,cpuacct,*) # cgroup v1: wins over the unified line of a hybrid setup
			for d in /sys/fs/cgroup/cpu,cpuacct /sys/fs/cgroup/cpuacct; do
				[ -r "$d$path/cpuacct.usage" ] && { cg_file=$d$path/cpuacct.usage; break 2; }
			done ;;
		,,) [ -r "/sys/fs/cgroup$path/cpu.stat" ] && cg_file=/sys/fs/cgroup$path/cpu.stat ;;
		esac
	done < "/proc/$cpid/cgroup"
fi
container_us() { # -> the container's CPU time in us, or nothing where its cgroup is not found
	local k v
	case $cg_file in
	"") ;;
	*/cpuacct.usage) read -r v < "$cg_file" && echo $((v / 1000)) ;;
	*) while read -r k v; do [ "$k" = usage_usec ] && { echo "$v"; return; }; done < "$cg_file" ;;
	esac
}
ticks() { # PID... -> their utime + stime in clock ticks (pure bash: no child of ours counts)
	local t=0 p f
	for p in "$@"; do
		# fields 14 and 15; the names read here (lighttpd, proxy, berth-*) have no spaces
		read -r -a f 2>/dev/null < "/proc/$p/stat" || continue
		t=$((t + f[13] + f[14]))
	done
	echo "$t"
}
machine_ticks() { # user + nice + system + irq + softirq of all CPUs
	local _ u n sy _ _ irq sirq _
	read -r _ u n sy _ _ irq sirq _ < /proc/stat
	echo $((u + n + sy + irq + sirq))
}
wrk_us() { # FILE: the main shell's `times` (a subshell's children start at 0) -> its children's us
	awk 'END { t = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] }
		printf "%.0f", t * 1000000 }' "$1"; }
cpu_snap() { # WRK-US -> "wrk container lighttpd proxy gatewayd agent machine" in us ("-": unknown)
	local tu=$((1000000 / hz)) c
	c=$(container_us)
	# shellcheck disable=SC2046 # one PID per word
	echo "$1 ${c:--} $(($(ticks "$lighttpd_pid") * tu)) $(($(ticks $(proxy_pids)) * tu))" \
		"$(($(ticks "$gw_pid") * tu)) $(($(ticks "$agent_pid") * tu)) $(($(machine_ticks) * tu))"
}
cpu_per_call() { # NAME BEFORE AFTER -> "NAME us-per-call x 7" from the run's request count
	local n
	n=$(awk '/ requests in /{ print $1 }' "$state/wrk-$1-32.txt")
	awk -v name="$1" -v n="${n:-0}" -v a="$2" -v b="$3" 'BEGIN { split(a, x, " "); split(b, y, " ")
		printf "%s", name; for (i = 1; i <= 7; i++)
			printf " %s", (x[i] == "-" || y[i] == "-" || n == 0) ? "-" : sprintf("%.0f", (y[i] - x[i]) / n)
		printf "\n" }'
}

echo "bench: small requests (wrk, ${duration}s each)" >&2
[ "$(curl -s -H "$auth" "$proxy$small" | wc -c)" = 100 ] || die "the proxy did not return 100 bytes"
: > "$state/small.txt"
: > "$state/cpu.txt"
for target in direct proxy nginx; do
	case $target in
	direct) url=$direct$small key="" ;;
	proxy) url=$proxy$small key=$auth ;;
	nginx) url=$nginx_url$small key="" ;;
	esac
	warm=(); [ -n "$key" ] && warm=(-H "$key")
	wrk -t1 -c1 -d1s "${warm[@]}" "$url" > /dev/null 2>&1 # warm up
	for c in 1 32; do
		[ "$target" = proxy ] && proxy_check "wrk -c$c"
		before=$(cpu_snap 0)
		times > "$state/times-0.txt"
		wrk_run "$target" "$c" "$url" "$key" >> "$state/small.txt"
		times > "$state/times-1.txt"
		w=$(($(wrk_us "$state/times-1.txt") - $(wrk_us "$state/times-0.txt")))
		[ "$c" = 32 ] && [ "$target" != nginx ] &&
			cpu_per_call "$target" "$before" "$(cpu_snap "$w")" >> "$state/cpu.txt"
		note "$(tail -n 1 "$state/small.txt")"
	done
done
fi

if [[ $only == *" bulk "* ]]; then
# ---- 2. bulk ----
echo "bench: 1 GiB each way, direct and through the proxy" >&2
truncate -s "$gib" "$state/upload.bin" # sparse: no disk, reads as zeros
bulk() { # NAME URL download|upload [HEADER] -> "name MB/s status bytes"
	local name=$1 url=$2 dir=$3 hdr=() out code bytes speed
	[ -n "${4:-}" ] && hdr=(-H "$4")
	if [ "$dir" = download ]; then
		out=$(curl -s -o /dev/null --max-time 300 "${hdr[@]}" \
			-w '%{http_code} %{size_download} %{speed_download}' "$url/bytes?n=$gib")
	else
		out=$(curl -s -o "$state/sink.json" --max-time 300 "${hdr[@]}" -X POST -T "$state/upload.bin" \
			-H 'Expect:' -H 'Content-Type: application/octet-stream' \
			-w '%{http_code} %{size_upload} %{speed_upload}' "$url/sink")
		grep -q "\"received\": $gib" "$state/sink.json" 2>/dev/null || out="${out% *} 0"
	fi
	read -r code bytes speed <<< "$out"
	awk -v n="$name" -v s="$code" -v b="$bytes" -v v="$speed" 'BEGIN { printf "%s %.0f %s %s\n", n, v / 1e6, s, b }'
}
: > "$state/bulk.txt"
for dir in download upload; do
	bulk "$dir-direct" "$direct" "$dir" >> "$state/bulk.txt"
	note "$(tail -n 1 "$state/bulk.txt")"
	proxy_check "the $dir"
	sample_start "$state/rss-$dir.txt"
	bulk "$dir-proxy" "$proxy" "$dir" "$auth" >> "$state/bulk.txt"
	sample_stop
	note "$(tail -n 1 "$state/bulk.txt") rss(MB first/peak gw agent proxy lighttpd): $(rss_summary "$state/rss-$dir.txt")"
done
rm -f "$state/upload.bin"
fi

if [[ $only == *" sse "* ]]; then
# ---- 3. concurrent SSE streams ----
# One event a second: a stream stays open, and a closed one frees its thread within a second.
echo "bench: concurrent SSE streams through the proxy (steps: $sse_steps)" >&2
: > "$state/sse.txt"
for n in $sse_steps; do
	proxy_check "$n SSE streams"
	sample_start "$state/rss-sse-$n.txt"
	line=$("$build/bench/sse-clients" "$proxy/sse?n=600&ms=1000" "$n" 15000 2000 "$auth")
	sample_stop
	echo "$n $line $(rss_summary "$state/rss-sse-$n.txt")" >> "$state/sse.txt"
	note "$line"
	sleep 3 # let the closed streams drain before the next step
done
fi

# ---- the report ----
# (a part left out by BENCH_ONLY reports empty figures)
touch "$state/small.txt" "$state/bulk.txt" "$state/sse.txt" "$state/rss-download.txt" "$state/rss-upload.txt"
field() { awk -v k="$2" '{ for (i = 1; i <= NF; i++) if (index($i, k "=") == 1) { print substr($i, length(k) + 2); exit } }' <<< "$1"; }
small_get() { awk -v n="$1" -v c="$2" -v f="$3" '$1 == n && $2 == c { print $f }' "$state/small.txt"; }
bulk_get() { awk -v n="$1" -v f="$2" '$1 == n { print $f }' "$state/bulk.txt"; }
verdict() { # PART A OP B, numbers: ok or MISSED, or "not run" when BENCH_ONLY left PART out
	[[ $only == *" $1 "* ]] || { echo "not run"; return; }
	awk -v a="$2" -v b="$4" -v op="$3" 'BEGIN { ok = op == ">=" ? a + 0 >= b + 0 : a + 0 <= b + 0
		print (ok ? "ok" : "MISSED") }'
}

echo
echo "berth bench: $(nproc) cores, $(uname -r), wrk ${duration}s per run, 100-byte GET $small, agent tunnel $agent_via"
echo
printf '%-28s %10s %9s %9s %7s | %9s %9s %9s %7s\n' "small GET" "req/s c32" "p50 ms" "p99 ms" "errors" \
	"req/s c1" "p50 ms" "p99 ms" "errors"
for t in direct proxy nginx; do
	case $t in
	direct) label="direct (bridge $ip)" ;;
	proxy) label="berth proxy (lighttpd)" ;;
	nginx) label="nginx proxy_pass" ;;
	esac
	printf '%-28s %10s %9s %9s %7s | %9s %9s %9s %7s\n' "$label" \
		"$(small_get $t 32 3)" "$(small_get $t 32 4)" "$(small_get $t 32 5)" "$(small_get $t 32 6)" \
		"$(small_get $t 1 3)" "$(small_get $t 1 4)" "$(small_get $t 1 5)" "$(small_get $t 1 6)"
done
if [ -s "$state/cpu.txt" ]; then
	echo
	printf '%-28s %5s %9s %8s %6s %8s %6s %6s %6s\n' "CPU us per call, -c32" wrk container \
		lighttpd proxy gatewayd agent other total
	awk -v cores="$(nproc)" -v d32="$(small_get direct 32 3)" '
		{ d = $1 == "direct"; last = d ? 3 : 7; t = 0; known = 1
		  for (i = 2; i <= last; i++) if ($i == "-") known = 0; else t += $i
		  other = ($8 == "-" || !known) ? "-" : $8 - t
		  printf "%-28s %5s %9s %8s %6s %8s %6s %6s %6s\n", (d ? "direct" : "berth proxy"), $2, $3,
			(d ? "" : $4), (d ? "" : $5), (d ? "" : $6), (d ? "" : $7), other, $8
		  if (!d) { rest = t - $5; ok = known && rest > 0 } }
		END { if (!ok) { print "(a part was not measured: no figure for the rest of the path)"; exit }
		      bound = cores * 1e6 / rest
		      printf "at these costs the parts besides the proxy programs take %d us a call: were the proxy\n" \
			"programs free, %d cores would carry at most %.0f req/s, %.0f %% of direct\n",
			rest, cores, bound, (d32 > 0 ? 100 * bound / d32 : 0) }' "$state/cpu.txt"
fi
echo
printf '%-28s %10s %7s %12s %9s\n' "1 GiB body" "MB/s" "status" "bytes" "complete"
for b in download-direct download-proxy upload-direct upload-proxy; do
	whole=NO
	if [ "$(bulk_get $b 4)" = "$gib" ] && [ "$(bulk_get $b 3)" = 200 ]; then whole=yes; fi
	printf '%-28s %10s %7s %12s %9s\n' "$b" "$(bulk_get $b 2)" "$(bulk_get $b 3)" "$(bulk_get $b 4)" "$whole"
	[ $whole = yes ] || [[ $only != *" bulk "* ]] ||
		echo "$b: $(bulk_get $b 4) of $gib bytes, status $(bulk_get $b 3)" >> "$state/notes.txt"
done
echo
printf '%-28s %21s %21s %21s %21s\n' "RSS MB (start -> peak)" "gatewayd" "agent" "proxy (all procs)" "lighttpd"
for f in download upload; do
	read -r g0 g1 a0 a1 p0 p1 l0 l1 < <(rss_summary "$state/rss-$f.txt")
	printf '%-28s %21s %21s %21s %21s\n' "during $f via proxy" "$g0 -> $g1" "$a0 -> $a1" "$p0 -> $p1" "$l0 -> $l1"
done
echo
printf '%-10s %11s %11s %9s %7s %13s | %8s %8s %8s %9s\n' "SSE streams" "established" "first event" "failed" "non-200" \
	"s to last" "gw MB" "agent MB" "proxy MB" "lighttpd"
best=0
while read -r n rest; do
	line="$rest"
	read -r _ g1 _ a1 _ p1 _ l1 < <(awk '{ for (i = NF - 7; i <= NF; i++) printf "%s ", $i }' <<< "$rest")
	f=$(field "$line" first_event)
	[ "${f:-0}" -gt "$best" ] && best=$f
	printf '%-11s %11s %11s %9s %7s %13s | %8s %8s %8s %9s\n' "$n" "$(field "$line" established)" "$f" \
		"$(field "$line" failed)" "$(field "$line" status_other)" \
		"$(awk -v m="$(field "$line" ms_to_last_event)" 'BEGIN { printf "%.1f", m / 1000 }')" "$g1" "$a1" "$p1" "$l1"
	err=$(sed -n 's/.*first_error="\(.*\)".*/\1/p' <<< "$line")
	[ -n "$err" ] && echo "            first error: $err"
done < "$state/sse.txt"

d32=$(small_get direct 32 3) p32=$(small_get proxy 32 3)
d1=$(small_get direct 1 4) pp1=$(small_get proxy 1 4)
down=$(bulk_get download-proxy 2) up=$(bulk_get upload-proxy 2)
ratio=$(awk -v p="${p32:-0}" -v d="${d32:-0}" 'BEGIN { printf "%.0f", (d > 0 ? 100 * p / d : 0) }')
added=$(awk -v p="${pp1:-0}" -v d="${d1:-0}" 'BEGIN { printf "%.3f", p - d }')
echo
printf '%-44s %14s %8s\n' "issue 5 target" "measured" "verdict"
printf '%-44s %14s %8s\n' "proxy req/s >= 30% of direct (c32)" "$ratio %" "$(verdict small "$ratio" ">=" 30)"
printf '%-44s %14s %8s\n' "added p50 at c1 <= 0.3 ms" "$added ms" "$(verdict small "$added" "<=" 0.3)"
printf '%-44s %14s %8s\n' "download via proxy >= 500 MB/s per stream" "${down:-0} MB/s" "$(verdict bulk "${down:-0}" ">=" 500)"
printf '%-44s %14s %8s\n' "upload via proxy >= 500 MB/s per stream" "${up:-0} MB/s" "$(verdict bulk "${up:-0}" ">=" 500)"
printf '%-44s %14s %8s\n' "concurrent SSE streams >= 1000" "$best" "$(verdict sse "$best" ">=" 1000)"
echo "(MB = 10^6 bytes; SSE 'measured' = the most streams that delivered their first event at once)"
if [ -s "$state/notes.txt" ]; then
	echo
	echo "notes:"
	sed 's/^/  /' "$state/notes.txt"
fi
errors=$(awk '$1 == "proxy" { n += $6 } END { print n + 0 }' "$state/small.txt")
if [ "$errors" -gt 0 ] || [ -s "$state/notes.txt" ]; then
	BENCH_KEEP=1 # the logs explain the failures: lighttpd.out (programs), gatewayd.log, agent.log
fi
status=0
