#!/usr/bin/env bash
# The whole MIG lifecycle on a simulated A100-SXM4-40GB, each command shown before its
# output: from an empty GPU to MIG enabled, two MIG devices with their UUIDs, and back to
# MIG disabled. The simulated machine lives in a temporary state file, removed at the end.
set -euo pipefail
build=${1:-build}
migctl="$build/migctl"
export MIGSIM_STATE
MIGSIM_STATE=$(mktemp -d)/state.json
trap 'rm -rf "$(dirname "$MIGSIM_STATE")"' EXIT

run() {
	printf '\n\033[1m$ %s\033[0m\n' "$*"
	"$@"
}

sim="--sim=A100-SXM4-40GB"
run "$migctl" "$sim" list
run "$migctl" "$sim" mode enable -i 0
run "$migctl" "$sim" profiles -i 0
# The walkthrough asked for 2g.5gb: an A100-40GB has no such profile, and migctl says so.
run "$migctl" "$sim" create 2g.5gb -i 0 || true
run "$migctl" "$sim" create 3g.20gb,2g.10gb -C -i 0
run "$migctl" "$sim" list
run "$migctl" "$sim" status -i 0
uuids=$("$migctl" "$sim" list | grep -o 'MIG-[0-9a-f-]*' | paste -sd, -)
printf '\nApplications select these MIG devices with:\n  CUDA_VISIBLE_DEVICES=%s python3 train.py\n' "$uuids"
run "$migctl" "$sim" destroy --all -i 0
run "$migctl" "$sim" mode disable -i 0
run "$migctl" "$sim" list
