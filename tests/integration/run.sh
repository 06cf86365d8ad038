#!/bin/bash
# The integration harness: a fresh state directory, berthctl init, the development lighttpd
# configuration derived from lighttpd.conf, lighttpd on a socket the harness bound itself,
# then the Criterion suites over HTTP. Everything it started is stopped on exit, pass or fail;
# the state directory is kept when a test failed (its path is printed).
# usage: tests/integration/run.sh TEST_BINARY...   (BERTH_BUILD names the build directory)
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${BERTH_BUILD:-$root/build}
state=$(mktemp -d "${TMPDIR:-/tmp}/berth-it.XXXXXX")
pids=()
status=1

# Each server runs in a session of its own (setsid): killing its process group also stops
# the FastCGI programs it spawned, and nothing of a parallel run.
teardown() {
	if [ -f "$state/agent-pids" ]; then
		while read -r p; do kill -TERM -- "-$p" 2>/dev/null; done < "$state/agent-pids"
	fi
	if [ -n "${run_id:-}" ] && command -v docker >/dev/null; then
		docker ps -aq --filter "label=berth.run=$run_id" | xargs -r docker rm -f > /dev/null 2>&1
	fi
	for p in "${pids[@]}"; do kill -TERM -- "-$p" 2>/dev/null; done
	docker_down 2>/dev/null
	for p in "${pids[@]}"; do
		for _ in $(seq 50); do kill -0 -- "-$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL -- "-$p" 2>/dev/null
	done
	if [ "${BERTH_SANITIZE:-0}" = 1 ] && ls "$state"/asan.* >/dev/null 2>&1; then
		echo "FAILED: sanitizer reports from the server programs:"
		cat "$state"/asan.*
		status=1
	fi
	if [ $status -eq 0 ]; then rm -rf "$state"; else echo "integration: state kept in $state"; fi
	exit $status
}
trap teardown EXIT
trap 'exit 1' INT TERM

export BERTH_VAR="$state/var"
export BERTH_INVOKE_TIMEOUT_S=3 # so that the timeout test waits seconds, not minutes
if [ "${BERTH_SANITIZE:-0}" = 1 ]; then
	export ASAN_OPTIONS="log_path=$state/asan:detect_leaks=1:abort_on_error=0"
	export UBSAN_OPTIONS="log_path=$state/asan:print_stacktrace=1:halt_on_error=1"
fi
"$build/bin/berthctl" --var "$BERTH_VAR" init > "$state/init.txt" || { cat "$state/init.txt"; exit 1; }

# A real Docker engine for the agents, and the fixture image they run.
# shellcheck source=tests/lib/dockerd.sh
. "$root/tests/lib/dockerd.sh"
docker_up || exit 1
"$root/tests/fixtures/build-image.sh" "$build" > "$state/fixture.log" 2>&1 ||
	{ echo "integration: cannot build the fixture image"; cat "$state/fixture.log" "$state/dockerd.log" 2>/dev/null; exit 1; }

# The external service of the egress tests: an HTTPS echo server (tests/fixtures/httpsd.c)
# with a certificate for "localhost" from a test CA made now, and a second, unrelated CA.
tls="$state/tls"
mkdir -p "$tls" "$build/fixtures"
cc -std=c11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE -o "$build/fixtures/httpsd" \
	"$root/tests/fixtures/httpsd.c" -lssl -lcrypto || { echo "integration: cannot build httpsd"; exit 1; }
{
	for ca in ca other-ca; do
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -keyout "$tls/$ca.key" \
			-out "$tls/$ca.pem" -subj "/CN=berth $ca $$" || exit 1
	done
	openssl req -newkey rsa:2048 -nodes -keyout "$tls/server.key" -out "$tls/server.csr" \
		-subj "/CN=localhost" &&
	printf 'subjectAltName=DNS:localhost\n' > "$tls/san.cnf" &&
	openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" \
		-CAcreateserial -days 2 -extfile "$tls/san.cnf" -out "$tls/server.pem"
} > "$state/tls.log" 2>&1 || { echo "integration: cannot make the test CA"; cat "$state/tls.log"; exit 1; }
setsid "$build/fixtures/httpsd" --cert "$tls/server.pem" --key "$tls/server.key" \
	--port-file "$state/httpsport" > "$state/httpsd.log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do [ -s "$state/httpsport" ] && break; sleep 0.1; done
[ -s "$state/httpsport" ] || { echo "integration: httpsd did not come up"; cat "$state/httpsd.log"; exit 1; }

# berth-gatewayd on a port the kernel picks, with short timers so the tests run quickly.
setsid "$build/bin/berth-gatewayd" --listen 127.0.0.1:0 --port-file "$state/gwport" \
	--ping-interval-ms 300 --ping-deadline-ms 1500 --reconcile-ms 500 --grace-s 3 \
	--deploy-deadline-s 60 > "$state/gatewayd.log" 2>&1 &
pids+=($!)
echo $! > "$state/gatewayd.pid"
disown $! # a test may kill it on purpose: no "Killed" notice for that
for _ in $(seq 100); do [ -s "$state/gwport" ] && break; sleep 0.1; done
[ -s "$state/gwport" ] || { echo "integration: gatewayd did not come up"; cat "$state/gatewayd.log"; exit 1; }

# The configuration is derived only once the socket is bound, naming its real port: lighttpd
# then adopts the inherited socket; with any other port it would bind that one as well.
# The shell execs lighttpd, so LISTEN_PID (socket-exec's pid) stays right.
setsid "$build/tests/harness/socket-exec" "$state/port" /bin/sh -c \
	'"$1" "$2" "$3" "$4" "$5" "$6" 127.0.0.1 "$(cat "$7")" "$(cat "$8")" socket-activation && exec lighttpd -D -f "$3"' \
	sh "$root/tools/devconf.sh" "$root/lighttpd.conf" "$BERTH_VAR/lighttpd.conf" "$root" "$build" \
	"$BERTH_VAR" "$state/port" "$state/gwport" > "$state/lighttpd.out" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
	[ -s "$state/port" ] && curl -s -o /dev/null "http://127.0.0.1:$(cat "$state/port")/" && break
	sleep 0.1
done
port=$(cat "$state/port" 2>/dev/null)
if [ -z "$port" ] || ! curl -s -o /dev/null "http://127.0.0.1:$port/"; then
	echo "integration: lighttpd did not come up"; cat "$state/lighttpd.out" "$BERTH_VAR/log/lighttpd.log" 2>/dev/null
	exit 1
fi

# Agents the tests start write their pids here; their containers carry the run's prefix.
run_id=t$(date +%s%N | tail -c 7)$$
export BERTH_TEST_STATE="$state" BERTH_TEST_RUN="$run_id"
export BERTH_TEST_HTTPS_PORT="$(cat "$state/httpsport")" BERTH_TEST_CA="$tls/ca.pem"
export BERTH_TEST_OTHER_CA="$tls/other-ca.pem"
export BERTH_TEST_AGENT="$build/bin/berth-agent" BERTH_TEST_GWSOCK="$BERTH_VAR/run/gatewayd.sock"
export BERTH_TEST_GATEWAY="http://127.0.0.1:$port"
export BERTH_TEST_URL="http://127.0.0.1:$port" BERTH_TEST_CTL="$build/bin/berthctl"
export BERTH_TEST_ROOT="$root"
passed=0 failed=0 rc=0
# Two passes: everything in parallel, then the suites that disturb shared processes, alone.
# BERTH_TEST_FILTER (a Criterion --filter) runs only the matching tests, in the first pass.
pass() {
	if [ -n "${BERTH_TEST_FILTER:-}" ]; then
		"$2" --jobs 2 --filter "$BERTH_TEST_FILTER"
	elif [ "$1" = exclusive ]; then
		BERTH_TEST_EXCLUSIVE=1 "$2" --jobs 1 --filter 'gateway_restart/*'
	else
		"$2" --jobs 2
	fi
}
for run in parallel exclusive; do
    [ -n "${BERTH_TEST_FILTER:-}" ] && [ $run = exclusive ] && break
    for t in "$@"; do
	out=$(pass "$run" "$t" 2>&1)
	trc=$?
	printf '%s\n' "$out"
	syn=$(printf '%s\n' "$out" | grep 'Synthesis:' | tail -n 1)
	passed=$((passed + $(printf '%s' "$syn" | sed -n 's/.*Passing: \([0-9]*\).*/\1/p')))
	for n in $(printf '%s' "$syn" | sed -n 's/.*Failing: \([0-9]*\).*Crashing: \([0-9]*\).*/\1 \2/p'); do
		failed=$((failed + n))
	done
	{ [ $trc -ne 0 ] || [ -z "$syn" ]; } && rc=1
	if [ "${BERTH_SANITIZE:-0}" = 1 ] && printf '%s\n' "$out" | grep -q 'ERROR: LeakSanitizer'; then
		echo "FAILED: $t ($run pass) leaks memory"; rc=1; failed=$((failed + 1))
	fi
    done
done
if grep -q 'ERROR\|AddressSanitizer' "$BERTH_VAR/log/lighttpd.log" 2>/dev/null && [ "${BERTH_SANITIZE:-0}" = 1 ]; then
	rc=1
fi
echo "integration: $passed passed, $failed failed"
status=$rc
