# Sourced by the test runners: make sure a Docker engine answers on /var/run/docker.sock,
# starting dockerd when none does (Debian's docker.io; CI machines start without one), and stop
# it again at the end only if we started it. Needs $state (a scratch directory).
docker_sock=${BERTH_DOCKER_SOCKET:-/var/run/docker.sock}
dockerd_pid=""

docker_ping() {
	curl -s --max-time 2 --unix-socket "$docker_sock" http://docker/_ping 2>/dev/null | grep -q OK
}

docker_up() {
	docker_ping && return 0
	setsid dockerd > "$state/dockerd.log" 2>&1 &
	dockerd_pid=$!
	for _ in $(seq 150); do docker_ping && return 0; sleep 0.2; done
	echo "dockerd did not come up:"; tail -n 20 "$state/dockerd.log"
	return 1
}

# Another test run on this machine (another process group) may be using the engine we
# started: then it stays up for that run.
docker_shared() {
	ps -eo pgid=,args= | awk -v me="$(ps -o pgid= $$ | tr -d ' ')" \
		'$1 != me && $0 ~ /tests\/(integration|docker)\/run\.sh/ { found = 1 } END { exit !found }'
}

docker_down() {
	[ -n "$dockerd_pid" ] || return 0
	docker_shared && return 0
	kill -TERM "$dockerd_pid" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.1; done
}
