#!/bin/sh
# make run: initialise the state directory on first start (printing the first credentials
# once), derive the development lighttpd configuration and run lighttpd in the foreground.
# Ctrl-C stops lighttpd and the FastCGI programs it spawned.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
bin=${BERTH_BUILD:-$root/build}
var=${BERTH_VAR:-$root/var}
port=${BERTH_PORT:-8080}
bind=${BERTH_BIND:-127.0.0.1}

mkdir -p "$var"
var=$(cd "$var" && pwd)
export BERTH_VAR="$var" BERTH_PORT="$port" BERTH_BIND="$bind"
"$bin/bin/berthctl" --var "$var" init
"$root/tools/devconf.sh" "$root/lighttpd.conf" "$var/lighttpd.conf" "$root" "$bin" "$var" \
	"$bind" "$port"
lighttpd -tt -f "$var/lighttpd.conf" >/dev/null
echo "berth: serving http://$bind:$port/ (logs in $var/log/lighttpd.log; Ctrl-C stops)"
exec lighttpd -D -f "$var/lighttpd.conf"
