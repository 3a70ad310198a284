#!/bin/sh
# Installs the Debian packages migctl needs to build and test, and nothing else.
# Idempotent: it asks dpkg first and only calls apt-get for what is missing.
# Usage: scripts/install-deps.sh [--check]   (--check: report what is missing, exit 1 if anything is)
set -eu

PACKAGES="gcc clang make pkg-config libc6-dev libjansson-dev libyaml-dev libcmocka-dev uuid-dev valgrind libclang-rt-14-dev python3 man-db systemd cppcheck clang-tidy clang-tools podman runc busybox-static slurmctld slurmd slurm-client munge libmicrohttpd-dev libsystemd-dev libcurl4-openssl-dev abigail-tools curl python3-yaml"

missing=""
for p in $PACKAGES; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$status" = "installed" ] || missing="$missing $p"
done

if [ -z "$missing" ]; then
	exit 0
fi
if [ "${1:-}" = "--check" ]; then
	echo "missing packages:$missing" >&2
	exit 1
fi

echo "install-deps: installing:$missing" >&2
if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1; then
	SUDO="sudo"
else
	echo "install-deps: not root and no sudo; install as root:$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
