package io.minference.app;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Map;
import picocli.CommandLine;

/** One in-process run of the command line, with what it wrote to stdout and stderr. */
record CliRun(int exitCode, String out, String err) {

    static CliRun of(String... args) {
        return of(new Main(), args);
    }

    static CliRun withEnvironment(Map<String, String> environment, String... args) {
        return of(new Main(environment, false), args);
    }

    private static CliRun of(Main main, String... args) {
        return execute(Main.commandLine(main), args);
    }

    /** Exactly as the brief's in-process form: a bare CommandLine, picocli's default handlers. */
    static CliRun bare(String... args) {
        return execute(new CommandLine(new Main()), args);
    }

    private static CliRun execute(CommandLine cli, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int exitCode = cli.execute(args);
        return new CliRun(exitCode, out.toString(), err.toString());
    }

    /** The lines written to stderr. */
    String[] errLines() {
        return err.strip().split("\\R");
    }

    @Override
    public String toString() {
        return "exit " + exitCode + "\n--- stdout:\n" + out + "\n--- stderr:\n" + err;
    }
}
