package io.minference.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.minference.runtime.SharedData;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launchers bin/minference, bin/mvn and bin/jmh, run as a user runs them, on a copy of bin/ beside fake JDKs:
 * shell scripts that answer {@code -version} with a chosen version and otherwise print what they were asked to run.
 * The JDK folder they search is {@code MINFERENCE_JVM_DIR}, here a temporary folder, so that each case controls
 * which JDKs exist. One test runs the real Maven under a real JDK older than 25 where this machine has one.
 */
class LauncherScriptsTest {
    private static final String STAGE_GPU = "bench/scripts/stage-gpu.sh";

    @TempDir
    Path dir;

    private Path repo;
    private Path jvms;

    private static Path projectRoot() {
        return SharedData.projectRoot().orElseThrow(() -> new IllegalStateException("project root not found"));
    }

    @BeforeEach
    void copyLaunchers() throws IOException {
        repo = dir.resolve("repo");
        jvms = dir.resolve("jvm");
        Files.createDirectories(repo.resolve("bin"));
        Files.createDirectories(jvms);
        for (String script : List.of("minference", "mvn", "jmh", "jdk.sh")) {
            Files.copy(projectRoot().resolve("bin").resolve(script), repo.resolve("bin").resolve(script));
        }
        Files.createDirectories(repo.resolve("bench/scripts"));
        Files.copy(projectRoot().resolve(STAGE_GPU), repo.resolve(STAGE_GPU));
        Files.createDirectories(repo.resolve("app/target/lib"));
        Files.createFile(repo.resolve("app/target/minference.jar"));
        Files.createDirectories(repo.resolve("bench/target/lib"));
        Files.createFile(repo.resolve("bench/target/minference-bench-0.1.0-SNAPSHOT.jar"));
    }

    /** A fake JDK home named {@code name}: bin/java (and bin/javac unless a JRE) reporting {@code version}. */
    private Path fakeJdk(Path parent, String name, String version, boolean withRelease, boolean jre) throws IOException {
        Path home = parent.resolve(name);
        Path bin = Files.createDirectories(home.resolve("bin"));
        String java = "#!/bin/sh\n"
                + "if [ \"$1\" = -version ]; then echo 'openjdk version \"" + version + "\" 2025-09-16' >&2; exit 0; fi\n"
                + "echo \"ran " + name + " $*\"\n";
        executable(bin.resolve("java"), java);
        if (!jre) executable(bin.resolve("javac"), "#!/bin/sh\necho javac\n");
        if (withRelease) Files.writeString(home.resolve("release"), "JAVA_VERSION=\"" + version + "\"\n");
        return home;
    }

    private static void executable(Path file, String text) throws IOException {
        Files.writeString(file, text);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    private record Run(int exitCode, String out, String err) {
        List<String> errLines() {
            return err.isEmpty() ? List.of() : err.lines().toList();
        }
    }

    /** Runs {@code bin/SCRIPT ARGS} with JAVA_HOME set or unset, and {@code pathFront} before the usual PATH. */
    private Run run(String javaHome, Path pathFront, String script, String... args) throws Exception {
        Path file = script.contains("/") ? repo.resolve(script) : repo.resolve("bin").resolve(script);
        List<String> command = new ArrayList<>(List.of("bash", file.toString()));
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command);
        Map<String, String> env = builder.environment();
        env.remove("JAVA_HOME");
        env.remove("MINFERENCE_JAVA_OPTS");
        if (javaHome != null) env.put("JAVA_HOME", javaHome);
        env.put("MINFERENCE_JVM_DIR", jvms.toString());
        String systemPath = env.getOrDefault("PATH", "/usr/bin:/bin");
        if (pathFront != null) env.put("PATH", pathFront + ":" + systemPath);
        Path out = dir.resolve("out.txt");
        Path err = dir.resolve("err.txt");
        Process process = builder.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "the script did not finish in 60 s");
        return new Run(process.exitValue(), Files.readString(out), Files.readString(err));
    }

    @Test
    void minferencePassesOverAnOldJavaHomeForTheNewestJdk25AndSaysSoInOneLine() throws Exception {
        Path old = fakeJdk(jvms, "java-17-openjdk-amd64", "17.0.16", true, false);
        fakeJdk(jvms, "temurin-25-jdk-amd64", "25.0.1", true, false);
        fakeJdk(jvms, "jdk-26-ea", "26-ea", false, false);
        Run run = run(old.toString(), null, "minference", "demo", "--port", "0");
        assertEquals(0, run.exitCode(), run.toString());
        assertTrue(run.out().startsWith("ran jdk-26-ea --add-modules jdk.incubator.vector"), run.toString());
        assertTrue(run.out().contains("-Dminference.home=" + repo + " io.minference.app.Main demo --port 0"),
                run.toString());
        assertEquals(List.of("minference: JAVA_HOME=" + old + " is Java 17; using JDK 26 at " + jvms.resolve("jdk-26-ea")),
                run.errLines());
    }

    @Test
    void minferenceKeepsAJavaHomeOf25OrNewerSilently() throws Exception {
        Path home = fakeJdk(dir, "own-jdk", "25.0.1", false, false);
        fakeJdk(jvms, "jdk-26", "26", true, false);
        Run run = run(home.toString(), null, "minference", "--version");
        assertEquals(0, run.exitCode(), run.toString());
        assertTrue(run.out().startsWith("ran own-jdk "), run.toString());
        assertEquals("", run.err());
    }

    @Test
    void minferencePassesOverAnOldDefaultJavaWithoutJavaHome() throws Exception {
        Path old = fakeJdk(dir, "default-17", "17.0.16", false, false);
        fakeJdk(jvms, "temurin-25-jdk-amd64", "25.0.1", true, false);
        Run run = run(null, old.resolve("bin"), "minference", "info");
        assertEquals(0, run.exitCode(), run.toString());
        assertTrue(run.out().startsWith("ran temurin-25-jdk-amd64 "), run.toString());
        assertEquals(List.of("minference: the default java (" + old.resolve("bin/java") + ") is Java 17; using JDK 25 at "
                + jvms.resolve("temurin-25-jdk-amd64")), run.errLines());
    }

    @Test
    void withoutAnyJdk25TheLaunchersStopWithOneLineNamingTheVersionFound() throws Exception {
        Path old = fakeJdk(jvms, "java-17-openjdk-amd64", "17.0.16", true, false);
        for (String script : List.of("minference", "mvn", "jmh")) {
            Run run = run(old.toString(), null, script, "--help");
            assertEquals(2, run.exitCode(), script + ": " + run);
            assertEquals("", run.out(), script + ": " + run);
            assertEquals(1, run.errLines().size(), script + ": " + run);
            assertTrue(run.err().startsWith(script + ": needs JDK 25 or newer; JAVA_HOME=" + old + " is Java 17, and "
                    + jvms + " holds no JDK 25+"), script + ": " + run);
        }
    }

    @Test
    void mvnRunsMavenWithJavaHomeAtAJdk25ThatHasJavac() throws Exception {
        Path old = fakeJdk(jvms, "java-17-openjdk-amd64", "17.0.16", true, false);
        fakeJdk(jvms, "jre-27", "27", true, true);
        Path jdk = fakeJdk(jvms, "temurin-25-jdk-amd64", "25.0.1", true, false);
        Path tools = Files.createDirectories(dir.resolve("tools"));
        executable(tools.resolve("mvn"), "#!/bin/sh\necho \"maven JAVA_HOME=$JAVA_HOME args=$*\"\n");
        Run run = run(old.toString(), tools, "mvn", "-B", "test");
        assertEquals(0, run.exitCode(), run.toString());
        assertEquals("maven JAVA_HOME=" + jdk + " args=-B test\n", run.out());
        assertEquals(List.of("mvn: JAVA_HOME=" + old + " is Java 17; using JDK 25 at " + jdk), run.errLines());
    }

    @Test
    void jmhRunsJmhOrTheGpuBenchmarksOnTheBenchClassPath() throws Exception {
        fakeJdk(jvms, "temurin-25-jdk-amd64", "25.0.1", true, false);
        Path old = fakeJdk(dir, "old", "21.0.2", true, false);
        Run cpu = run(old.toString(), null, "jmh", "MatmulBenchmark", "-f", "1");
        assertEquals(0, cpu.exitCode(), cpu.toString());
        assertTrue(cpu.out().contains("-cp " + repo.resolve("bench/target/minference-bench-0.1.0-SNAPSHOT.jar") + ":"
                + repo.resolve("bench/target/lib") + "/* org.openjdk.jmh.Main MatmulBenchmark -f 1"), cpu.toString());
        Run gpu = run(old.toString(), null, "jmh", "--gpu", "AttentionJmh");
        assertTrue(gpu.out().contains(" io.minference.bench.jmh.GpuJmh AttentionJmh"), gpu.toString());
        assertEquals(1, gpu.errLines().size(), gpu.toString());
    }

    @Test
    void minferenceAndJmhAskForTheBuildWhenItIsMissing() throws Exception {
        Files.delete(repo.resolve("app/target/minference.jar"));
        Files.delete(repo.resolve("bench/target/minference-bench-0.1.0-SNAPSHOT.jar"));
        fakeJdk(jvms, "temurin-25-jdk-amd64", "25.0.1", true, false);
        for (String script : List.of("minference", "jmh")) {
            Run run = run(null, null, script, "x");
            assertEquals(2, run.exitCode(), run.toString());
            assertTrue(run.err().contains("build first with: bin/mvn -q -B package -DskipTests"), run.toString());
        }
    }

    /**
     * bench/scripts/stage-gpu.sh around a fake ../shared/gpu/stage.sh that records what it was asked for and makes a
     * bundle of a chosen size: the F16 model and the LangChain4j jars are not asked for, the langchain4j module's
     * tests and jar and the duplicate app jar are removed, and a bundle that leaves under 8 MiB of the 64 is refused.
     */
    @Test
    void stageGpuLeavesOutTheF16ModelAndLangChain4jAndKeeps8MiBOfHeadroom() throws Exception {
        Path jdk = fakeJdk(jvms, "temurin-25-jdk-amd64", "25.0.1", true, false);
        Path shared = Files.createDirectories(dir.resolve("shared/gpu"));
        executable(shared.resolve("stage.sh"), """
                #!/usr/bin/env bash
                set -e
                mkdir -p "$1/lib" "$1/tests/langchain4j" "$1/tests/app"
                echo "JAVA_HOME=$JAVA_HOME" > "$1/asked.txt"
                echo "STAGE_DATA=$STAGE_DATA" >> "$1/asked.txt"
                echo "STAGE_EXCLUDE_GROUPS=$STAGE_EXCLUDE_GROUPS" >> "$1/asked.txt"
                touch "$1/lib/minference-langchain4j-0.1.0-SNAPSHOT.jar" "$1/lib/io.minference.minference-app-0.1.0-SNAPSHOT.jar" \
                      "$1/lib/minference.jar"
                truncate -s "${FAKE_BUNDLE_BYTES:-1000}" "$1/jdk.tar.xz"
                """);
        assertEquals(0, new ProcessBuilder("git", "init", "-q", repo.toString()).start().waitFor());
        Files.writeString(repo.resolve(".gitignore"), "/.gpu*/\n");
        Run small = run(jdk.toString(), null, STAGE_GPU, ".gpu");
        assertEquals(0, small.exitCode(), small.toString());
        Path bundle = repo.resolve(".gpu");
        String asked = Files.readString(bundle.resolve("asked.txt"));
        assertTrue(asked.contains("JAVA_HOME=" + jdk), asked);
        assertTrue(asked.matches("(?s).*STAGE_DATA=\\S.*") && !asked.contains("tiny-passkey-llama-f16.gguf")
                && !asked.contains("moby-dick.txt"), asked);
        assertTrue(asked.matches("(?s).*STAGE_EXCLUDE_GROUPS=\\S*dev\\.langchain4j.*"), asked);
        assertTrue(asked.matches("(?s).*STAGE_EXCLUDE_GROUPS=\\S*org\\.seleniumhq\\.selenium.*"), asked);
        assertTrue(Files.isDirectory(bundle.resolve("tests/app")));
        assertTrue(Files.notExists(bundle.resolve("tests/langchain4j")));
        assertTrue(Files.notExists(bundle.resolve("lib/minference-langchain4j-0.1.0-SNAPSHOT.jar")));
        assertTrue(Files.notExists(bundle.resolve("lib/io.minference.minference-app-0.1.0-SNAPSHOT.jar")));
        assertTrue(Files.exists(bundle.resolve("lib/minference.jar")));
        assertTrue(small.err().contains("of 64 MiB"), small.toString());

        ProcessBuilder big = new ProcessBuilder("bash", repo.resolve(STAGE_GPU).toString(), ".gpu");
        big.environment().put("MINFERENCE_JVM_DIR", jvms.toString());
        big.environment().put("JAVA_HOME", jdk.toString());
        big.environment().put("FAKE_BUNDLE_BYTES", String.valueOf(57L << 20));
        Process process = big.redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(1, process.waitFor(), output);
        assertTrue(output.contains("over the limit less 8 MiB of headroom"), output);
    }

    /**
     * The device-call scripts refuse a part they do not have in one line naming it, before they look for the bundle,
     * instead of running nothing and exiting 0.
     */
    @Test
    void deviceScriptsRefuseAnUnknownPartByName() throws Exception {
        Path scripts = repo.resolve("bench/scripts");
        for (String script : List.of("gpu-call.sh", "prefill-bench.sh", "ncu-sparse.sh")) {
            Files.copy(projectRoot().resolve("bench/scripts").resolve(script), scripts.resolve(script));
        }
        // a good part first: the check reads every part before any runs
        Map<String, List<String>> cases = Map.of(
                "prefill-bench", List.of("1m", "128k 512k 512k-sparse 1m gemm"),
                "ncu-sparse", List.of("2", "1 2 3 4 5 6"));
        for (var entry : cases.entrySet()) {
            String name = entry.getKey();
            Run run = run(null, null, "bench/scripts/" + name + ".sh", entry.getValue().get(0), "512K");
            assertEquals(2, run.exitCode(), run.toString());
            assertEquals(List.of(name + ": no part '512K'; the parts are: " + entry.getValue().get(1)), run.errLines(),
                    run.toString());
            assertTrue(run.out().isEmpty(), run.toString());
        }
    }

    /**
     * The MInference comparison refuses a length that is not a number of tokens, and says how to get MInference's
     * sources when they were not carried, each in one line before it looks for the bundle.
     */
    @Test
    void theMInferenceComparisonNamesWhatItLacks() throws Exception {
        Path scripts = repo.resolve("bench/scripts");
        for (String script : List.of("gpu-call.sh", "minference-layer.sh")) {
            Files.copy(projectRoot().resolve("bench/scripts").resolve(script), scripts.resolve(script));
        }
        Run badLength = run(null, null, "bench/scripts/minference-layer.sh", "131072", "128k");
        assertEquals(2, badLength.exitCode(), badLength.toString());
        assertEquals(List.of("minference-layer: '128k' is not a length in tokens"), badLength.errLines(),
                badLength.toString());
        Run noSources = run(null, null, "bench/scripts/minference-layer.sh", "131072");
        assertEquals(2, noSources.exitCode(), noSources.toString());
        assertEquals(List.of("minference-layer: .minference-ref is missing: run bench/scripts/minference-ref-sources.sh"
                + " here and carry it"), noSources.errLines(), noSources.toString());
        assertTrue(noSources.out().isEmpty(), noSources.toString());
    }

    /** The real Maven under a real JDK older than 25, as on this machine type, whose default java is 17. */
    @Test
    void theRealMavenRunsOnJdk25WhenJavaHomeIsAnOlderRealJdk() throws Exception {
        List<Path> installed = new ArrayList<>();
        try (var entries = Files.list(Path.of("/usr/lib/jvm"))) {
            entries.forEach(installed::add);
        } catch (IOException e) {
            assumeTrue(false, "no /usr/lib/jvm");
        }
        Path old = installed.stream().filter(p -> Files.isExecutable(p.resolve("bin/javac")))
                .filter(p -> p.getFileName().toString().contains("-17")).findFirst().orElse(null);
        assumeTrue(old != null, "no JDK 17 under /usr/lib/jvm");
        jvms = Path.of("/usr/lib/jvm");
        Run run = run(old.toString(), null, "mvn", "-v");
        assertEquals(0, run.exitCode(), run.toString());
        assertTrue(run.out().matches("(?s).*Java version: (2[5-9]|[3-9][0-9]).*"), run.toString());
        assertTrue(run.err().startsWith("mvn: JAVA_HOME=" + old + " is Java 17; using JDK "), run.toString());
    }

    /** .ci/run runs the README's test command as written, and the README's commands use the launchers. */
    @Test
    void ciRunsTheReadmeTestCommandAndTheReadmeUsesTheLaunchers() throws IOException {
        String readme = Files.readString(projectRoot().resolve("README.md"), StandardCharsets.UTF_8);
        Matcher build = Pattern.compile("```sh\n(bin/mvn [^\n]*&& bin/minference demo[^\n]*)\n```").matcher(readme);
        assertTrue(build.find(), "the README's build-and-run command goes through bin/mvn");
        Matcher test = Pattern.compile("Run the tests[^\n]*\n\n```sh\n([^\n]+)\n```").matcher(readme);
        assertTrue(test.find(), "the README has a test command");
        assertEquals("bin/mvn -B test", test.group(1));
        List<String> ci = Files.readAllLines(projectRoot().resolve(".ci/run"));
        assertTrue(ci.contains(test.group(1)), ".ci/run runs '" + test.group(1) + "' as written");
        for (String line : readme.lines().toList()) {
            assertTrue(!line.matches("^java .*") && !line.contains("org.openjdk.jmh.Main"),
                    "JMH lines go through bin/jmh: " + line);
        }
    }
}
