#!/usr/bin/env bash
# Brings up a Docker engine and the offline base images the tests need, from nothing, idempotently.
# Debian 12 host, root, only Debian's apt mirror reachable (no container registry).
# Knobs: SBX_IMAGE_PREFIX (default sandboxps), SBX_WORK (scratch dir), SBX_FORCE_REBUILD=1.
set -euo pipefail

PREFIX=${SBX_IMAGE_PREFIX:-sandboxps}
WORK=${SBX_WORK:-${TMPDIR:-/tmp}/sandboxps-ci}
FORCE=${SBX_FORCE_REBUILD:-0}
SOCK=/var/run/docker.sock
IMG_BUSYBOX=$PREFIX/busybox:1.35
IMG_DEBIAN=$PREFIX/debian:bookworm-minbase
IMG_PY=$PREFIX/python:3.11-bookworm
export DOCKER_BUILDKIT=0            # no buildx plugin here: the classic builder
T0=$(date +%s)
log() { printf '[setup-docker +%3ss] %s\n' "$(( $(date +%s) - T0 ))" "$*" >&2; }

avail_kb=$(df -Pk /var/lib | awk 'NR==2{print $4}')
(( avail_kb > 2 * 1024 * 1024 )) || { echo "less than 2 GiB free under /var/lib (${avail_kb} KiB)" >&2; exit 1; }

apt_updated=0
apt_install() {
  local p missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  ((${#missing[@]} == 0)) && return 0
  if ((apt_updated == 0)); then apt-get update -q >/dev/null; apt_updated=1; fi
  log "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}
apt_install docker.io busybox-static debootstrap curl ca-certificates iproute2 python3

docker_up() { curl -sf --max-time 2 --unix-socket "$SOCK" http://localhost/_ping >/dev/null 2>&1; }
if docker_up; then
  log "dockerd already answering on $SOCK"
else
  # No systemd here: start dockerd by hand. A stale pid file from a killed daemon blocks the start.
  if [[ -f /var/run/docker.pid ]] && ! ps -p "$(cat /var/run/docker.pid)" -o comm= 2>/dev/null | grep -q '^dockerd$'; then
    rm -f /var/run/docker.pid
  fi
  nohup /usr/sbin/dockerd >/var/log/sandboxps-dockerd.log 2>&1 </dev/null &
  echo $! >/var/run/sandboxps-dockerd.pid
  for _ in $(seq 1 300); do docker_up && break; sleep 0.1; done
  docker_up || { tail -n 50 /var/log/sandboxps-dockerd.log >&2; echo "dockerd did not come up" >&2; exit 1; }
  log "dockerd started (pid $(cat /var/run/sandboxps-dockerd.pid))"
fi
if ! ip link show docker0 >/dev/null 2>&1; then
  log "docker0 missing: re-creating it"
  ip link add name docker0 type bridge
  ip addr add 172.17.0.1/16 dev docker0
  ip link set docker0 up
fi

# Leftovers of an earlier test run (every test resource carries org.sandboxps.test).
docker ps -aq --filter label=org.sandboxps.test | xargs -r docker rm -f >/dev/null || true

have_image() { [[ $FORCE != 1 ]] && docker image inspect "$1" >/dev/null 2>&1; }
build() { # build TAG [docker build args...]
  local tag=$1; shift
  local logf="$WORK/build-${tag//[\/:]/_}.log"
  docker build "$@" -t "$tag" >"$logf" 2>&1 || { tail -n 40 "$logf" >&2; echo "docker build failed: $tag" >&2; exit 1; }
  log "built $tag"
}
mkdir -p "$WORK"

# The apt mirror, read from the host's apt configuration at run time.
MIRROR=$(awk '$1=="URIs:"{print $2}' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v -- '-security' | head -n1 || true)
if [[ -z $MIRROR ]]; then
  MIRROR=$(awk '$1=="deb"{print $2; exit}' /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null || true)
fi
[[ -n $MIRROR ]] || { echo "no apt mirror found in the apt configuration" >&2; exit 1; }
MIRROR_HOST=$(sed -E 's#^[a-z]+://([^/:]+).*#\1#' <<<"$MIRROR")
MIRROR_IP=$(getent ahostsv4 "$MIRROR_HOST" | awk '{print $1; exit}' || true)
ADD_HOST=()
[[ -n $MIRROR_IP ]] && ADD_HOST=(--add-host "$MIRROR_HOST:$MIRROR_IP")

if ! have_image "$IMG_BUSYBOX"; then
  d=$WORK/busybox; rm -rf "$d"; mkdir -p "$d"
  cp /bin/busybox "$d/busybox"
  cat >"$d/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN ["/bin/busybox", "mkdir", "-p", "/tmp", "/root", "/etc", "/usr/bin", "/sbin", "/usr/sbin"]
RUN ["/bin/sh", "-c", "echo 'root:x:0:0:root:/root:/bin/sh' > /etc/passwd && echo 'nobody:x:65534:65534:nobody:/home:/bin/false' >> /etc/passwd && echo 'root:x:0:' > /etc/group && echo 'nogroup:x:65534:' >> /etc/group && chmod 1777 /tmp"]
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
LABEL org.sandboxps.base=busybox
CMD ["/bin/sh"]
DOCKERFILE
  build "$IMG_BUSYBOX" "$d"
fi

if ! have_image "$IMG_DEBIAN"; then
  r=$WORK/rootfs-bookworm
  rm -rf "$r"
  debootstrap --variant=minbase bookworm "$r" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
    || { tail -n 30 "$WORK/debootstrap.log" >&2; exit 1; }
  rm -rf "$r"/var/cache/apt/archives/*.deb "$r"/var/lib/apt/lists/* "$r"/var/log/apt/* "$r"/var/log/*.log
  tar --numeric-owner -C "$r" -c . | docker import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'ENV LANG=C.UTF-8' --change 'LABEL org.sandboxps.base=debian-minbase' \
      --change 'CMD ["/bin/bash"]' - "$IMG_DEBIAN" >/dev/null
  rm -rf "$r"
  log "built $IMG_DEBIAN"
fi

if ! have_image "$IMG_PY"; then
  d=$WORK/python3; rm -rf "$d"; mkdir -p "$d"
  cat >"$d/Dockerfile" <<DOCKERFILE
FROM $IMG_DEBIAN
RUN apt-get update -q \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3 python3-venv \\
 && apt-get clean && rm -rf /var/lib/apt/lists/*
LABEL org.sandboxps.base=python3
CMD ["python3"]
DOCKERFILE
  build "$IMG_PY" "${ADD_HOST[@]}" "$d"
fi

for img in "$IMG_BUSYBOX" "$IMG_DEBIAN" "$IMG_PY"; do
  docker run --rm --network none --label org.sandboxps.test=smoke "$img" /bin/sh -c 'true' || { echo "smoke test failed: $img" >&2; exit 1; }
done
log "docker + base images ready: $IMG_BUSYBOX $IMG_DEBIAN $IMG_PY"
