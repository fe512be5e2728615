#!/usr/bin/env bash
# Stages the GPU bundle for a device call, which carries the working tree and the bundle within 64 MiB in all:
# ../shared/gpu/stage.sh with this project's choices, then a size check that keeps 8 MiB of headroom.
#
# Usage, from anywhere:   bench/scripts/stage-gpu.sh [DIR]      (DIR defaults to .gpu under the project root)
# then, on the GPU host:  .gpu/test --include-tag gpu           and  .gpu/java io.minference.bench.GpuBench
#
# - The tiny pass-key model and Moby-Dick are not staged: the working tree carries the model's Q8_0 conversion
#   (models/) and a Moby-Dick excerpt (texts/), which the GPU tests take where the shared files are absent
#   (PasskeyPrompt.modelFile, haystackFile).
# - The JDK runtime image is linked here, before stage.sh, which then finds it current and keeps it: jlink's own
#   compression left off (--compress zip-0) and the whole image xz'd at -9 is 16 MB, where a zip-9 image inside
#   the xz (stage.sh's way) is 25 MB: zip-compressed jimage entries give xz nothing to find.
# - LangChain4j and its HTTP and JSON stack are left out, with the langchain4j module's jar and tests: no GPU test
#   needs them. The browser-test stack (Selenium) stays out, as stage.sh leaves it by default.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
dir=${1:-.gpu}
if [ ! -f ../shared/gpu/stage.sh ]; then
  echo "stage-gpu: ../shared/gpu/stage.sh is missing: this script stages through it, beside the repository" >&2
  exit 2
fi
. bin/jdk.sh
minference_find_jdk stage-gpu javac
export JAVA_HOME=$MINFERENCE_JDK
# MInference's LLaMA-3-8B pattern JSON (50 KB) too, for bench --patterns and demo-record --patterns on the device
export STAGE_DATA="models/stories260K.bin models/tok512.bin models/tiny-passkey-llama-tokenizer.json minference/Llama_3_8B_Instruct_262k_kv_out_v32_fit_o_best_pattern.json"
# Selenium (and what only it brings: Guava, Byte Buddy, annotations), OpenTelemetry and Netty, LangChain4j (and its
# tokenizer jtokkit); SLF4J stays: Jetty logs through it
export STAGE_EXCLUDE_GROUPS="org.seleniumhq.selenium,io.opentelemetry,io.netty,com.google.guava,com.google.errorprone,com.google.j2objc,net.bytebuddy,org.jetbrains,org.jspecify,dev.langchain4j,com.knuddels"

# The runtime image, under the stamp stage.sh checks (the JDK's version line and the module list) so that it keeps
# this one; jdk.packing records how it was packed, so that an image packed otherwise is made again.
export JLINK_MODULES=java.base,java.logging,java.management,java.naming,java.net.http,java.sql,jdk.httpserver,jdk.incubator.vector,jdk.unsupported,jdk.zipfs,jdk.crypto.ec
mkdir -p "$dir"
stamp="$("$JAVA_HOME/bin/java" -version 2>&1 | head -1) $JLINK_MODULES"
packing="jlink --strip-debug --no-header-files --no-man-pages --compress zip-0; tar | xz -9"
# (A JDK without jlink leaves the image to stage.sh, which says what is missing.)
if [ -x "$JAVA_HOME/bin/jlink" ] && { [ ! -f "$dir/jdk.tar.xz" ] || [ "$(cat "$dir/jdk.stamp" 2>/dev/null)" != "$stamp" ] \
    || [ "$(cat "$dir/jdk.packing" 2>/dev/null)" != "$packing" ]; }; then
  echo "stage-gpu: linking a JDK runtime image ($JLINK_MODULES), xz -9 (a few minutes)" >&2
  image=$(mktemp -d)
  "$JAVA_HOME/bin/jlink" --add-modules "$JLINK_MODULES" --strip-debug --no-header-files --no-man-pages \
      --compress zip-0 --output "$image/jdk" 2>/dev/null
  tar cf - -C "$image" jdk | xz -9 > "$dir/jdk.tar.xz"
  rm -rf "$image"
  echo "$stamp" > "$dir/jdk.stamp"
  echo "$packing" > "$dir/jdk.packing"
fi
bash ../shared/gpu/stage.sh "$dir"
rm -rf "$dir/tests/langchain4j"
rm -f "$dir"/lib/minference-langchain4j-*.jar
# the app's classes are in lib/minference.jar (its final name); the langchain4j tests' copy of it is a duplicate
rm -f "$dir"/lib/io.minference.minference-app-*.jar
# stage.sh's test launcher always scans the class path, which JUnit refuses beside explicit selectors: this one scans
# only when the arguments select nothing themselves, so that `.gpu/test --select-class C` runs C alone
cat > "$dir/test" <<'SH'
#!/bin/sh
# JUnit console launcher over every module's test classes; extra arguments go to the launcher. The class path is
# scanned unless they select tests themselves (--select-class, --select-method, -c, -m, ...).
here=$(cd "$(dirname "$0")" && pwd)
roots=$(ls -d "$here"/tests/*/ 2>/dev/null | tr '\n' ':')
jars=$(ls "$here"/lib/*.jar | tr '\n' ':')
for a in "$@"; do
  case "$a" in --select*|-c|-m|-p|-f|-d|-u|-r|-o) EXTRA_CP=":$roots" exec "$here/java" -jar "$here/tools/junit-console.jar" \
    execute --class-path "$jars$roots" --disable-banner "$@" ;; esac
done
EXTRA_CP=":$roots" exec "$here/java" -jar "$here/tools/junit-console.jar" execute --class-path "$jars$roots" \
  --scan-class-path "$roots" --disable-banner "$@"
SH
chmod +x "$dir/test"

limit=$((64 << 20))
headroom=$((8 << 20))
bundle=$(du -sb "$dir" | cut -f1)
# what a device call carries besides the bundle: tracked files and untracked ones git does not ignore
tree=$(git ls-files -z --cached --others --exclude-standard | xargs -0 -r du -cb 2>/dev/null | awk 'END { print $1 }')
total=$((bundle + tree))
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
echo "stage-gpu: bundle $(mib "$bundle") + working tree $(mib "$tree") = $(mib "$total") of 64 MiB" \
  "($(mib $((limit - total))) left; at least 8 MiB must be)" >&2
if [ "$total" -gt $((limit - headroom)) ]; then
  echo "stage-gpu: over the limit less 8 MiB of headroom; trim STAGE_DATA or the jars" >&2
  exit 1
fi
