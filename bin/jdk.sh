# Finds a JDK 25 or newer for the project's launchers (bin/minference, bin/mvn, bin/jmh); sourced, not run.
#
# Order: JAVA_HOME, else the java on the PATH; when that is older than 25 (or missing), the newest JDK 25+ in
# MINFERENCE_JVM_DIR (default /usr/lib/jvm), with one line on stderr saying so. When there is none the launcher stops
# with one line naming the version it found. Versions are read from the JDK's release file, else from java -version.

# The major version of the JDK at $1 (a JDK home), or nothing.
minference_jdk_major() {
  local v=""
  if [ -f "$1/release" ]; then v=$(sed -n 's/^JAVA_VERSION="\([^"]*\)".*/\1/p' "$1/release"); fi
  if [ -z "$v" ] && [ -x "$1/bin/java" ]; then
    v=$("$1/bin/java" -version 2>&1 | sed -n 's/.* version "\([^"]*\)".*/\1/p' | head -1)
  fi
  v=${v#1.}
  v=${v%%[!0-9]*}
  echo "$v"
}

# Sets MINFERENCE_JDK to a JDK 25+ home that has bin/$2 (java, or javac for Maven); $1 names the launcher in messages.
minference_find_jdk() {
  local tool=$1 need=$2 home="" found="" major="" best="" best_major=0 jvm_dir=${MINFERENCE_JVM_DIR:-/usr/lib/jvm}
  if [ -n "${JAVA_HOME:-}" ]; then
    home=$JAVA_HOME
    found="JAVA_HOME=$JAVA_HOME"
  elif command -v java >/dev/null 2>&1; then
    home=$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")
    found="the default java ($(command -v java))"
  else
    found="no java on the PATH"
  fi
  if [ -n "$home" ]; then
    if [ -x "$home/bin/$need" ]; then
      major=$(minference_jdk_major "$home")
      if [ -n "$major" ] && [ "$major" -ge 25 ]; then MINFERENCE_JDK=$home; return 0; fi
      found="$found is Java ${major:-of unknown version}"
    else
      found="$found has no bin/$need"
    fi
  fi
  for jdk in "$jvm_dir"/*; do
    [ -x "$jdk/bin/$need" ] || continue
    major=$(minference_jdk_major "$jdk")
    if [ -n "$major" ] && [ "$major" -ge 25 ] && [ "$major" -gt "$best_major" ]; then best=$jdk; best_major=$major; fi
  done
  if [ -z "$best" ]; then
    echo "$tool: needs JDK 25 or newer; $found, and $jvm_dir holds no JDK 25+ (install one, or set JAVA_HOME to it)" >&2
    exit 2
  fi
  echo "$tool: $found; using JDK $best_major at $best" >&2
  MINFERENCE_JDK=$best
}

# Runs MAIN (after the class path $1) on the JDK found, with the flags every JVM of this project needs; exec, so that
# signals (Ctrl-C) reach the JVM. Extra JVM options come from MINFERENCE_JAVA_OPTS, after ours, so they win.
# -Xmn64m: the weights, KV cache and activations live off the heap, whose live set is about 100 MB; left to itself
# the parallel collector grew its young generation to ~400 MB between collections, every page of it touched: a 1B
# Q8_0 decode's peak RSS was 2.17 GiB at 2048 tokens, 1.63 with a 64 MB young generation, at the same speed
# (BENCHMARKS.md, issue 14).
minference_exec_java() {
  local class_path=$1
  shift
  # shellcheck disable=SC2086
  exec "$MINFERENCE_JDK/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
    -XX:+UseParallelGC -Xmn64m ${MINFERENCE_JAVA_OPTS:-} -cp "$class_path" "$@"
}
