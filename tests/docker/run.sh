#!/bin/bash
# The agent's Docker-facing suites against the real dockerd: the engine client (docker_test)
# and the replica manager (replicas_test), one after the other and one test at a time (they
# share the engine). Builds the fixture image first; removes every container a test left
# behind (label berth.test=1, names berth-t-*), pass or fail.
# usage: tests/docker/run.sh BUILD_DIR TEST_BINARY...
set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$1
shift
state=$(mktemp -d "${TMPDIR:-/tmp}/berth-docker.XXXXXX")
status=1
# shellcheck source=tests/lib/dockerd.sh
. "$root/tests/lib/dockerd.sh"

teardown() {
	if docker_ping; then
		{ docker ps -aq --filter label=berth.test=1; docker ps -aq --filter name='^/?berth-t-'; } |
			sort -u | xargs -r docker rm -f > /dev/null 2>&1
	fi
	docker_down
	if [ $status -eq 0 ]; then rm -rf "$state"; else echo "docker tests: state kept in $state"; fi
	exit $status
}
trap teardown EXIT
trap 'exit 1' INT TERM

docker_up || exit 1
"$root/tests/fixtures/build-image.sh" "$build" || exit 1
passed=0 failed=0 rc=0
for t in "$@"; do
	out=$(BERTH_DOCKER_SOCKET="$docker_sock" "$t" --jobs 1 2>&1)
	trc=$?
	printf '%s\n' "$out"
	syn=$(printf '%s\n' "$out" | grep 'Synthesis:' | tail -n 1)
	passed=$((passed + $(printf '%s' "$syn" | sed -n 's/.*Passing: \([0-9]*\).*/\1/p')))
	for n in $(printf '%s' "$syn" | sed -n 's/.*Failing: \([0-9]*\).*Crashing: \([0-9]*\).*/\1 \2/p'); do
		failed=$((failed + n))
	done
	{ [ $trc -ne 0 ] || [ -z "$syn" ]; } && rc=1
	if [ "${BERTH_SANITIZE:-0}" = 1 ] && printf '%s\n' "$out" | grep -q 'ERROR: LeakSanitizer'; then
		echo "FAILED: $t leaks memory"; rc=1; failed=$((failed + 1))
	fi
done
echo "docker: $passed passed, $failed failed"
status=$rc
