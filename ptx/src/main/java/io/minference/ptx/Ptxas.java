package io.minference.ptx;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * NVIDIA's offline PTX assembler, where it is installed: checks that emitted PTX assembles for its target and
 * reports register use and spills ({@code ptxas -v}). The driver JIT does the same work at load time; running ptxas
 * ahead of time turns a load failure into a readable error log.
 *
 * @param executable the ptxas binary
 */
public record Ptxas(Path executable) {
    private static final Pattern REGISTERS = Pattern.compile("Used (\\d+) registers");
    private static final Pattern SPILLS = Pattern.compile("(\\d+) bytes spill stores, (\\d+) bytes spill loads");
    private static final Pattern STACK = Pattern.compile("(\\d+) bytes stack frame");

    /**
     * What ptxas said about one module.
     *
     * @param exitCode 0 when the module assembled
     * @param log      everything ptxas printed
     */
    public record Result(int exitCode, String log) {
        public boolean succeeded() {
            return exitCode == 0;
        }

        /** Registers per thread from {@code -v} output, or -1 when not reported. */
        public int registers() {
            return firstInt(REGISTERS.matcher(log), 1);
        }

        /** Bytes of spill stores plus spill loads (0 when none). */
        public int spillBytes() {
            Matcher m = SPILLS.matcher(log);
            return m.find() ? Integer.parseInt(m.group(1)) + Integer.parseInt(m.group(2)) : 0;
        }

        /** Bytes of per-thread stack (local memory), 0 when none. */
        public int stackBytes() {
            return Math.max(firstInt(STACK.matcher(log), 1), 0);
        }

        /**
         * The lines of the log that carry any of the advisory {@code codes} ({@code C7510}: a wgmma pipeline
         * serialised; {@code C7508}: setmaxnreg ignored ...); empty when none.
         */
        public List<String> linesWith(String... codes) {
            return Ptxas.linesWith(log, codes);
        }

        /**
         * The advisories that say a Hopper kernel will run slower than written: a wgmma pipeline serialised
         * (C7510, C7511, C7513, C7515 ...) or a setmaxnreg ignored (C7508). Empty when none.
         */
        public List<String> slowPathAdvisories() {
            return Ptxas.slowPathAdvisories(log);
        }

        /**
         * What keeps the module from running as written, one line each: ptxas rejected it, it spills, it keeps a
         * stack frame (local memory), or a {@linkplain #slowPathAdvisories slow-path advisory}. Empty when it
         * assembled cleanly; what the kernel tests ask of every kernel on every target it supports.
         */
        public List<String> problems() {
            List<String> problems = new ArrayList<>();
            if (!succeeded()) problems.add("ptxas rejected it (exit code " + exitCode + ")");
            if (spillBytes() > 0) problems.add("spills " + spillBytes() + " bytes");
            if (stackBytes() > 0) problems.add("keeps a " + stackBytes() + "-byte stack frame");
            problems.addAll(slowPathAdvisories());
            return problems;
        }

        private static int firstInt(Matcher m, int group) {
            return m.find() ? Integer.parseInt(m.group(group)) : -1;
        }
    }

    /**
     * The lines of a ptxas or driver-JIT log that say a Hopper kernel will run slower than written: a wgmma pipeline
     * serialised (C7510, C7511, C7513, C7515, or any other line saying wgmma instructions "are serialized") or a
     * setmaxnreg ignored (C7508).
     */
    public static List<String> slowPathAdvisories(String log) {
        return linesWith(log, "C7510", "C7511", "C7513", "C7515", "C7508", "are serialized");
    }

    private static List<String> linesWith(String log, String... codes) {
        return log.lines().filter(line -> List.of(codes).stream().anyMatch(line::contains)).toList();
    }

    /** The first {@code ptxas} on the PATH, if any. */
    public static Optional<Ptxas> onPath() {
        String path = System.getenv("PATH");
        if (path == null) {
            return Optional.empty();
        }
        for (String dir : path.split(File.pathSeparator)) {
            Path candidate = Path.of(dir, "ptxas");
            if (Files.isExecutable(candidate)) {
                return Optional.of(new Ptxas(candidate));
            }
        }
        return Optional.empty();
    }

    /** Assembles {@code source} for its own target, discarding the binary; {@code verbose} adds {@code -v}. */
    public Result assemble(KernelSource source, boolean verbose) throws IOException, InterruptedException {
        Path file = Files.createTempFile(source.entryName() + "-" + source.target().arch(), ".ptx");
        try {
            Files.writeString(file, source.ptx(), StandardCharsets.UTF_8);
            List<String> command = new ArrayList<>(List.of(executable.toString(), "-arch=" + source.target().arch()));
            if (verbose) {
                command.add("-v");
            }
            command.addAll(List.of("-o", "/dev/null", file.toString()));
            Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
            String log = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!process.waitFor(120, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                return new Result(-1, log + "\nptxas timed out");
            }
            return new Result(process.exitValue(), log.replace(file.toString(), source.entryName() + ".ptx"));
        } finally {
            Files.deleteIfExists(file);
        }
    }
}
