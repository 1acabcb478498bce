#!/usr/bin/env bash
# install-test-deps.sh installs the tools Ordo's client tests drive, on Debian
# 12 (bookworm) or a derivative:
#   - kcat (Debian package "kcat"), the librdkafka command-line client;
#   - node and npm, if missing (Debian packages "nodejs", "npm");
#   - kafkajs and whatever else the JS test folders pin: `npm ci` in every
#     folder of the repository that has a package-lock.json (today
#     broker/clienttest/js), into that folder's node_modules.
# It also installs make if missing, for .ci/run. Anything already present is
# left alone, so it is cheap to run again. `make deps` runs it.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

log() { printf 'install-test-deps: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo -n "$@" || die "'$*' needs root; run this script as root or with passwordless sudo"
	else
		die "'$*' needs root and sudo is not installed; run this script as root"
	fi
}

# System packages: only those whose command is missing.
pkgs=()
command -v kcat >/dev/null 2>&1 || pkgs+=(kcat)
command -v make >/dev/null 2>&1 || pkgs+=(make)
command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
# A node from NodeSource ships its own npm; Debian's npm package would
# conflict with it, so only ask for npm when there is none.
command -v npm >/dev/null 2>&1 || pkgs+=(npm)
if [ ${#pkgs[@]} -gt 0 ]; then
	command -v apt-get >/dev/null 2>&1 || die "missing ${pkgs[*]} and no apt-get to install them; install them by hand"
	log "installing ${pkgs[*]} with apt-get"
	# npm fetches over TLS; add the CA bundle only if it is missing, so that
	# nothing already installed gets upgraded as a side effect.
	dpkg -s ca-certificates >/dev/null 2>&1 || pkgs+=(ca-certificates)
	as_root apt-get update -q
	as_root apt-get install -y -q --no-install-recommends "${pkgs[@]}"
	for c in kcat make node npm; do
		command -v "$c" >/dev/null 2>&1 || die "$c is still missing after apt-get install ${pkgs[*]}"
	done
else
	log "kcat, make, node and npm already installed"
fi

kcat -X list >/dev/null 2>&1 || die "kcat is installed but does not run"
log "kcat: $(command -v kcat)"

node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 14 ] || die "node $(node --version) is too old: kafkajs needs node 14 or later"
log "node $(node --version), npm $(npm --version 2>/dev/null)"

# The JS test folders, exactly as their package-lock.json files pin them.
mapfile -t locks < <(find "$root" -name package-lock.json -not -path '*/node_modules/*' -not -path "$root/.git/*" | sort)
[ ${#locks[@]} -gt 0 ] || die "no package-lock.json found under $root: nothing pins kafkajs"
for lock in "${locks[@]}"; do
	dir=$(dirname "$lock")
	rel=${dir#"$root"/}
	log "npm ci in $rel"
	(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
	if grep -q '"node_modules/kafkajs"' "$lock"; then
		(cd "$dir" && node -e 'const { Kafka } = require("kafkajs"); if (typeof Kafka !== "function") process.exit(1)') \
			|| die "kafkajs did not install correctly in $rel"
		log "kafkajs $(cd "$dir" && node -p 'require("kafkajs/package.json").version') ready in $rel/node_modules"
	fi
done
