# Shared by scripts/docker-test and scripts/fresh-test (sourced, not run): a Docker daemon to talk
# to, and the Debian base images, on machines without a bridge network or a reachable registry.
#
# The sourcing script defines say, fail, skip (exits with the skip status, 77), wait_for SECONDS
# CMD... and $work (a directory for logs), and gets:
#
#   docker_daemon_up            the running daemon, or dockerd --bridge=none --iptables=false
#                               started here (sets $dockerd_pid); skips when neither is possible
#   docker_daemon_stop          stops the dockerd docker_daemon_up started, unless KEEP_DOCKERD=1
#   docker_base_images IMAGE..  each image present: docker pull, or when that fails,
#                               docker/offline-base-image (debootstrap from the host's Debian mirror)

dockerd_pid=""

docker_daemon_up() {
  local docker_bin
  docker_bin=$(type -P docker || true)
  [ -n "$docker_bin" ] && [ -f "$docker_bin" ] && [ -x "$docker_bin" ] ||
    skip "no docker binary on this machine (apt-get install docker.io)"
  if timeout 20 docker info >/dev/null 2>&1; then
    say "using the running Docker daemon"
  else
    command -v dockerd >/dev/null 2>&1 || skip "no Docker daemon is running and there is no dockerd to start"
    [ "$(id -u)" -eq 0 ] || skip "no Docker daemon is running and starting one needs root"
    say "starting dockerd --bridge=none --iptables=false (log: $work/dockerd.log)"
    dockerd --bridge=none --iptables=false >"$work/dockerd.log" 2>&1 &
    dockerd_pid=$!
    # Up when `docker info` answers; given up on when dockerd exits or 60 s pass.
    dockerd_settled() { timeout 10 docker info || ! kill -0 "$dockerd_pid"; }
    wait_for 60 dockerd_settled || true
    if ! timeout 10 docker info >/dev/null 2>&1; then
      tail -n 20 "$work/dockerd.log" >&2
      if kill -0 "$dockerd_pid" 2>/dev/null; then
        skip "the Docker daemon did not answer within 60 s of starting (its log is above)"
      fi
      dockerd_pid=""
      skip "the Docker daemon could not start (its log is above)"
    fi
    say "dockerd is up"
  fi
  docker version --format 'client {{.Client.Version}}, server {{.Server.Version}}' 2>/dev/null || true
}

docker_daemon_stop() {
  [ -n "$dockerd_pid" ] && [ "${KEEP_DOCKERD:-0}" != 1 ] || return 0
  say "stopping the dockerd this script started (pid $dockerd_pid)"
  kill "$dockerd_pid" 2>/dev/null
  for _ in $(seq 1 30); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 1; done
  kill -0 "$dockerd_pid" 2>/dev/null && kill -KILL "$dockerd_pid" 2>/dev/null
  dockerd_pid=""
}

docker_base_images() {
  local base missing=() pulled_all=1
  for base in "$@"; do
    docker image inspect "$base" >/dev/null 2>&1 || missing+=("$base")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    say "$* present"
    return 0
  fi
  for base in "${missing[@]}"; do
    say "docker pull $base"
    if ! timeout 300 docker pull -q "$base" >"$work/pull.log" 2>&1; then
      say "cannot pull $base: $(tail -n 1 "$work/pull.log")"
      pulled_all=0
      break
    fi
  done
  if [ "$pulled_all" = 0 ]; then
    say "building the base images from Debian packages instead (docker/offline-base-image)"
    timeout 2400 docker/offline-base-image || fail "docker/offline-base-image could not build the base images"
  fi
  for base in "$@"; do
    docker image inspect "$base" >/dev/null 2>&1 || fail "$base is still missing"
  done
}
