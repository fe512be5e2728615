package io.minference.app;

import java.io.FileOutputStream;
import java.io.FileDescriptor;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code minference} command. Exit codes: 0 success, 1 a failure while running (one line on stderr), 2 invalid
 * flags or configuration.
 */
@Command(name = "minference", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "Runs LLaMA models in pure Java, with sparse attention for long prompts.",
        subcommands = {GenerateCommand.class, TokenizeCommand.class, InfoCommand.class, BenchCommand.class,
                GpuBenchCommand.class, SearchPatternsCommand.class, EvalCommand.class, ServeCommand.class,
                DemoCommand.class, DemoRecordCommand.class, QuantizeCommand.class, KernelsCommand.class,
                CommandLine.HelpCommand.class})
public final class Main {
    private final boolean stacktraceRequested;
    private final boolean stderrIsTerminal;

    /** For running in-process (tests): no terminal, stack traces only where --stacktrace asks. */
    public Main() {
        this(Map.of(), false);
    }

    /**
     * @param environment      where MINFERENCE_STACKTRACE=1 asks for stack traces on failures
     * @param stderrIsTerminal whether progress bars may redraw their line with carriage returns
     */
    public Main(Map<String, String> environment, boolean stderrIsTerminal) {
        this.stacktraceRequested = "1".equals(environment.get("MINFERENCE_STACKTRACE"));
        this.stderrIsTerminal = stderrIsTerminal;
    }

    public static void main(String[] args) {
        // Library log records (such as which backend was chosen) become one plain line on stderr.
        System.setProperty("java.util.logging.SimpleFormatter.format", "minference: %5$s%n");
        PrintWriter out = utf8Writer(FileDescriptor.out);
        PrintWriter err = utf8Writer(FileDescriptor.err);
        CommandLine cli = commandLine(new Main(System.getenv(), Terminal.isTerminal(Terminal.STDERR)));
        int exitCode = cli.setOut(out).setErr(err).execute(args);
        out.flush();
        err.flush();
        System.exit(exitCode);
    }

    /** The command line with the short usage hint on invalid input instead of the whole usage text. */
    public static CommandLine commandLine(Main main) {
        CommandLine cli = new CommandLine(main).setParameterExceptionHandler(UsageHint::handle);
        shareVersion(cli, new VersionProvider());
        return cli;
    }

    /** Every subcommand, nested ones included, answers --version as the main command does. */
    private static void shareVersion(CommandLine command, CommandLine.IVersionProvider version) {
        for (CommandLine sub : command.getSubcommands().values()) {
            sub.getCommandSpec().versionProvider(version);
            shareVersion(sub, version);
        }
    }

    boolean stacktraceRequested() {
        return stacktraceRequested;
    }

    boolean stderrIsTerminal() {
        return stderrIsTerminal;
    }

    private static PrintWriter utf8Writer(FileDescriptor fd) {
        return new PrintWriter(new OutputStreamWriter(new FileOutputStream(fd), StandardCharsets.UTF_8), true);
    }
}
