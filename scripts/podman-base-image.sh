#!/usr/bin/env bash
# Prepares podman and a local stand-in for the official Node.js base image that the
# generated Dockerfile names (node:<NODE_VERSION>-bookworm-slim), so the image test can
# build and run the generated service without pulling from a container registry.
#
# The stand-in is Debian bookworm (debootstrap --variant=minbase) plus the official Node.js
# binary (the node-linux-<arch> package of the npm registry), npm, yarn 1 (which the official
# images also carry, for projects made with --package-manager yarn), the host's CA bundle,
# the `node` user (uid/gid 1000) and an entrypoint with the official image's semantics.
# Its root filesystem is cached as a tarball keyed by the Debian suite and the node and npm
# versions (TSK_IMAGE_CACHE, default /var/tmp/tsk-image-cache), so a later run only imports it.
#
# Usage: scripts/podman-base-image.sh          prints the image name on stdout
# Needs root (debootstrap, podman's rootful storage) and Debian's podman, runc and debootstrap;
# installs them with apt when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "podman-base-image: $*" >&2; }

suite=bookworm
node_line=$(sed -n 's/^ARG NODE_VERSION=//p' templates/service/Dockerfile.hbs)
image="docker.io/library/node:${node_line}-${suite}-slim"
arch=$(dpkg --print-architecture)
case "$arch" in amd64) node_arch=x64 ;; arm64) node_arch=arm64 ;; *) log "unsupported architecture $arch"; exit 1 ;; esac

need_apt=()
command -v podman >/dev/null 2>&1 || need_apt+=(podman)
command -v runc >/dev/null 2>&1 || need_apt+=(runc)
command -v debootstrap >/dev/null 2>&1 || need_apt+=(debootstrap)
# Container networking (published ports) goes through iptables rules.
command -v iptables >/dev/null 2>&1 || need_apt+=(iptables)
if [ "${#need_apt[@]}" -gt 0 ]; then
  log "installing ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

# Podman inside a VM or container without systemd: runc, plain cgroupfs, and no default
# ulimits (raising nofile above the sandbox's own hard limit fails the container start).
conf=/etc/containers/containers.conf
if [ ! -s "$conf" ]; then
  log "writing $conf"
  mkdir -p /etc/containers
  cat >"$conf" <<'EOF'
[containers]
default_ulimits = []

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
fi

# What the stand-in holds; an image made by an older recipe is made again.
recipe="node npm yarn1"
if podman image exists "$image" \
  && [ "$(podman image inspect --format '{{ index .Labels "tsk.stand-in" }}' "$image" 2>/dev/null)" = "$recipe" ]; then
  echo "$image"
  exit 0
fi

start=$SECONDS
node_version=$(npm view "node-linux-${node_arch}@~${node_line}" version 2>/dev/null | tail -1 | sed "s/.*'\(.*\)'.*/\1/; s/^.*@//")
npm_version=$(npm view "npm@11" version 2>/dev/null | tail -1 | sed "s/.*'\(.*\)'.*/\1/; s/^.*@//")
# The yarn package's `latest` is yarn 1 (later yarns are published under @yarnpkg/).
yarn_version=$(npm view "yarn@latest" version 2>/dev/null)
[ -n "$node_version" ] && [ -n "$npm_version" ] && [ -n "$yarn_version" ] \
  || { log "cannot resolve node ${node_line} / npm / yarn versions from the npm registry"; exit 1; }
cache=${TSK_IMAGE_CACHE:-/var/tmp/tsk-image-cache}
rootfs_tar="$cache/${suite}-node-${node_version}-npm-${npm_version}-yarn-${yarn_version}-${arch}.tar"

if [ ! -s "$rootfs_tar" ]; then
  work=$(mktemp -d "${TMPDIR:-/var/tmp}/tsk-rootfs.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  root="$work/rootfs"
  log "debootstrap --variant=minbase $suite"
  debootstrap --variant=minbase "$suite" "$root" http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/*

  log "node ${node_version}, npm ${npm_version} and yarn ${yarn_version} from the npm registry"
  (cd "$work" && npm pack --silent "node-linux-${node_arch}@${node_version}" "npm@${npm_version}" "yarn@${yarn_version}" >/dev/null)
  mkdir -p "$work/node" "$root/usr/local/lib/node_modules/npm"
  tar xzf "$work"/node-linux-*.tgz -C "$work/node"
  install -m 0755 "$work/node/package/bin/node" "$root/usr/local/bin/node"
  tar xzf "$work"/npm-*.tgz -C "$root/usr/local/lib/node_modules/npm" --strip-components=1
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  # Where the official image puts yarn: /opt/yarn-v<version>, linked into /usr/local/bin.
  mkdir -p "$root/opt/yarn-v${yarn_version}"
  tar xzf "$work"/yarn-*.tgz -C "$root/opt/yarn-v${yarn_version}" --strip-components=1
  ln -s "/opt/yarn-v${yarn_version}/bin/yarn" "$root/usr/local/bin/yarn"
  ln -s "/opt/yarn-v${yarn_version}/bin/yarnpkg" "$root/usr/local/bin/yarnpkg"

  # The host's CA bundle: the registry may be reached through a TLS-inspecting proxy whose
  # CA the host trusts (NODE_EXTRA_CA_CERTS); the image's npm must trust it too.
  mkdir -p "$root/etc/ssl/certs"
  ca=${NODE_EXTRA_CA_CERTS:-/etc/ssl/certs/ca-certificates.crt}
  if [ -s "$ca" ]; then cp "$ca" "$root/etc/ssl/certs/ca-certificates.crt"; fi

  # The official image's unprivileged user.
  echo 'node:x:1000:' >>"$root/etc/group"
  echo 'node:x:1000:1000::/home/node:/bin/bash' >>"$root/etc/passwd"
  echo 'node:*:19000:0:99999:7:::' >>"$root/etc/shadow"
  install -d -o 1000 -g 1000 "$root/home/node"

  # Entrypoint semantics of the official image: when the first argument is an option
  # (starts with "-"), is not a command on PATH, or is a file that is not executable,
  # the arguments are run by node; otherwise they are executed as given.
  cat >"$root/usr/local/bin/docker-entrypoint.sh" <<'EOF'
#!/bin/sh
set -e
first=${1-}
if [ "${first#-}" != "$first" ] || [ -z "$(command -v "$first")" ] || { [ -f "$first" ] && [ ! -x "$first" ]; }; then
  set -- node "$@"
fi
exec "$@"
EOF
  chmod 0755 "$root/usr/local/bin/docker-entrypoint.sh"

  mkdir -p "$cache"
  tar -C "$root" --numeric-owner -cf "$rootfs_tar.partial" .
  mv "$rootfs_tar.partial" "$rootfs_tar"
  log "root filesystem cached at $rootfs_tar ($((SECONDS - start)) s)"
fi

extra_ca=()
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ]; then extra_ca=(--change "ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt"); fi
podman import --quiet \
  --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  --change "ENV NODE_VERSION=${node_version}" \
  "${extra_ca[@]}" \
  --change 'ENTRYPOINT ["docker-entrypoint.sh"]' \
  --change 'CMD ["node"]' \
  --change "LABEL tsk.stand-in=\"${recipe}\"" \
  "$rootfs_tar" "$image" >/dev/null
log "imported $image ($((SECONDS - start)) s)"
echo "$image"
