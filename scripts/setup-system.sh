#!/usr/bin/env bash
# Installs the Debian packages the test suite talks to (real components, no mocks).
# Idempotent: does nothing when everything is present.
set -euo pipefail

need=()
[ -x /usr/games/cowsay ] || need+=(cowsay)
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
command -v etcdctl >/dev/null 2>&1 || need+=(etcd-client)
# The zookeeper backend's tests start a real ensemble (Debian's ZooKeeper 3.8; the package pulls a JRE).
[ -x /usr/share/zookeeper/bin/zkServer.sh ] || need+=(zookeeper)
# The web UI's end-to-end test drives Debian's Chromium through playwright-core (no browser download).
[ -x /usr/bin/chromium ] || need+=(chromium)
# The TLS tests generate their certificates with openssl.
command -v openssl >/dev/null 2>&1 || need+=(openssl)
# The partition test gives agents their own network namespaces (ip netns, veth).
command -v ip >/dev/null 2>&1 || need+=(iproute2)
# The nats and rabbitmq executor tests publish to real brokers (both install into /usr/sbin,
# which a non-root PATH may lack, hence the explicit paths).
{ command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ]; } || need+=(nats-server)
[ -x /usr/sbin/rabbitmq-server ] || need+=(rabbitmq-server)
# The example executable plugin is written in Python.
command -v python3 >/dev/null 2>&1 || need+=(python3)

if [ ${#need[@]} -eq 0 ]; then exit 0; fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "setup-system: need root (or sudo) to apt-get install: ${need[*]}" >&2
    exit 1
  fi
fi
echo "setup-system: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
$SUDO apt-get install -y -qq "${need[@]}" >/dev/null
