#!/usr/bin/env bash
# podman, as the image test (tests/integration/image.rs) runs it. Usage: tests/image/podman.sh ARGS...
#
# On a host whose cgroup v1 controllers have a cgroup v2 hierarchy mounted beside them ("hybrid",
# /sys/fs/cgroup/unified), crun refuses every container: "cgroups in hybrid mode not supported".
# The test asserts no resource limit, so podman runs in a private mount namespace without that
# mount (the host keeps it), and the caller passes --cgroups=disabled.
set -euo pipefail
if [ -d /sys/fs/cgroup/unified ] && mountpoint -q /sys/fs/cgroup/unified; then
    exec unshare -m sh -c 'umount /sys/fs/cgroup/unified && exec podman "$@"' podman "$@"
fi
exec podman "$@"
