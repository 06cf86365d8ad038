#!/bin/sh
# The one list of Debian packages berth needs, by purpose, and the step that installs those
# missing. Usage: tools/deps.sh PURPOSE... (build run test lint asan bench). As root it installs
# with apt-get; otherwise it prints the command to run and fails. bench is `make bench` only.
set -eu

pkgs_build="make gcc pkg-config libfcgi-dev libcjson-dev libsqlite3-dev libjwt-dev libsodium-dev libcurl4-openssl-dev libnghttp2-dev libevent-dev libssl-dev"
pkgs_run="lighttpd sqlite3 curl jq"
pkgs_test="libcriterion-dev lighttpd curl docker.io openssl"
pkgs_lint="clang-tidy cppcheck"
pkgs_asan="clang libclang-rt-14-dev"
pkgs_bench="wrk nginx"

want=""
for purpose in "$@"; do
	case "$purpose" in
	build) want="$want $pkgs_build" ;;
	run) want="$want $pkgs_build $pkgs_run" ;;
	test) want="$want $pkgs_build $pkgs_test" ;;
	lint) want="$want $pkgs_build $pkgs_lint" ;;
	asan) want="$want $pkgs_build $pkgs_test $pkgs_asan" ;;
	bench) want="$want $pkgs_build $pkgs_run $pkgs_test $pkgs_bench" ;;
	*) echo "tools/deps.sh: unknown purpose $purpose (build run test lint asan bench)" >&2; exit 2 ;;
	esac
done

missing=""
for p in $want; do
	case " $missing " in *" $p "*) continue ;; esac
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "berth needs these Debian packages:$missing" >&2
	echo "Install them as root:  apt-get install -y$missing" >&2
	echo "(or run this make target as root, and it installs them itself)" >&2
	exit 1
fi
echo "installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# An apt list older than a day may name package versions the mirror no longer has.
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null)" ]; then
	apt-get update -qq
fi
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
