# Sourced by hack/install-*-deps.sh: the one way they install what is missing.

# install_missing PROG PACKAGE...: installs the Debian packages with apt-get,
# as root; none given, nothing. PROG names the caller in the error a
# non-root user gets.
install_missing() {
  local prog=$1
  shift
  [ $# -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    echo "$prog: missing packages $*; run as root or install them" >&2
    return 1
  fi
  echo "installing $*" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}
