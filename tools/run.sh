#!/bin/bash
# make run: initialise the state directory on first start (printing the first credentials
# once), then run berth-gatewayd, a local berth-agent (named "local", using this machine's
# Docker engine when there is one) and lighttpd with the FastCGI programs, in the foreground.
# Ctrl-C stops all of them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${BERTH_BUILD:-$root/build}
var=${BERTH_VAR:-$root/var}
port=${BERTH_PORT:-8080}
bind=${BERTH_BIND:-127.0.0.1}
gwport=${BERTH_GATEWAY_PORT:-8091}

mkdir -p "$var"
var=$(cd "$var" && pwd)
export BERTH_VAR="$var" BERTH_PORT="$port" BERTH_BIND="$bind"
"$bin/bin/berthctl" --var "$var" init

# The local agent's key: made once, kept in the state directory (mode 0600).
if [ ! -s "$var/secrets/agent.key" ]; then
	(umask 077 && "$bin/bin/berthctl" --var "$var" credential add default agent local \
		> "$var/secrets/agent.key.tmp") && mv "$var/secrets/agent.key.tmp" "$var/secrets/agent.key"
fi

"$root/tools/devconf.sh" "$root/lighttpd.conf" "$var/lighttpd.conf" "$root" "$bin" "$var" \
	"$bind" "$port" "$gwport"
lighttpd -tt -f "$var/lighttpd.conf" >/dev/null

pids=()
# SIGTERM to each process, 10 s for them to end (a second Ctrl-C meanwhile changes nothing),
# then SIGKILL to each one's process group: whatever outlived its leader goes too (the
# FastCGI programs of a lighttpd that died).
stop() {
	trap '' INT TERM HUP
	trap - EXIT
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	for _ in $(seq 100); do
		left=""
		for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && left=1; done
		[ -z "$left" ] && break
		sleep 0.1
	done
	for p in "${pids[@]}"; do kill -KILL -- "-$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap stop EXIT
interrupted=""
trap 'interrupted=1' INT TERM HUP

# Each process runs in a session of its own, so that Ctrl-C (SIGINT to the terminal's process
# group) reaches this script alone, which then stops them in order. Were lighttpd's FastCGI
# programs hit by the SIGINT too, lighttpd would start them again while shutting down, and
# leave them behind.
setsid "$bin/bin/berth-gatewayd" --listen "127.0.0.1:$gwport" 2>> "$var/log/gatewayd.log" &
pids+=($!)
# the FastCGI programs inherit lighttpd's stderr: their lines go to programs.log
setsid lighttpd -D -f "$var/lighttpd.conf" 2>> "$var/log/programs.log" &
pids+=($!)
sleep 0.3 || true # a Ctrl-C now ends the sleep
if [ -n "$interrupted" ]; then
	echo "berth: stopping"
	exit 0
fi
for p in "${pids[@]}"; do
	if ! kill -0 "$p" 2>/dev/null; then
		echo "berth: gatewayd or lighttpd did not start (is another berth serving port $port" \
			"or $gwport?); see $var/log/" >&2
		exit 1
	fi
done
docker_note="Docker engine at /var/run/docker.sock"
[ -S /var/run/docker.sock ] || docker_note="no Docker engine found: the agent reports its runtime as unavailable"
# The local agent dials gatewayd's loopback port itself: lighttpd fronts agents on other
# hosts (TLS); relaying this one too would cost a process hop each way on every call.
setsid "$bin/bin/berth-agent" --gateway "http://127.0.0.1:$gwport" --key "@$var/secrets/agent.key" \
	--name local 2>> "$var/log/agent.log" &
pids+=($!)

echo "berth: serving http://$bind:$port/ with gatewayd on 127.0.0.1:$gwport and agent \"local\" dialing it there ($docker_note)."
echo "berth: logs in $var/log/ (lighttpd.log, programs.log, gatewayd.log, agent.log)."
echo "berth: Ctrl-C stops berth; running containers stay up and the agent adopts them next time."
[ -n "$interrupted" ] || wait -n "${pids[@]}" || true
if [ -n "$interrupted" ]; then
	echo "berth: stopping"
else
	echo "berth: a process exited unexpectedly (see $var/log/); stopping the rest" >&2
	exit 1
fi
