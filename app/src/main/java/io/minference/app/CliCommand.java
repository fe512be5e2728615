package io.minference.app;

import io.minference.config.AttentionMode;
import io.minference.config.ConfigException;
import io.minference.config.ConfigOverrides;
import io.minference.config.Limits;
import io.minference.config.MinferenceConfig;
import io.minference.sparse.config.PatternFileException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.function.Function;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/**
 * What every subcommand shares: --config, --stacktrace, and turning a failure into one line on stderr. Invalid
 * flags (ParameterException) pass through to picocli, which answers them with exit code 2.
 */
abstract class CliCommand implements Callable<Integer> {
    static final int FAILED = 1;
    static final int INVALID_INPUT = 2;

    @Spec
    CommandSpec spec;

    /** Main, or a group of subcommands (eval) under it. */
    @ParentCommand
    Object parent;

    @Option(names = "--config", paramLabel = "FILE",
            description = "YAML configuration (docs/configuration.md); flags given here override it.")
    Path configFile;

    @Option(names = "--stacktrace", description = "Print the stack trace of a failure (also MINFERENCE_STACKTRACE=1).")
    boolean stacktrace;

    /** The command's work; returns the exit code. */
    abstract int run() throws Exception;

    @Override
    public final Integer call() {
        try {
            return run();
        } catch (ParameterException e) {
            throw e;
        } catch (ConfigException | PatternFileException e) {
            return fail(INVALID_INPUT, e.getMessage(), e);
        } catch (OutOfMemoryError e) {
            long heapMiB = Runtime.getRuntime().maxMemory() >> 20;
            return fail(FAILED, "out of memory (" + e.getMessage() + "; the Java heap limit is " + heapMiB
                    + " MiB): use a smaller model or prompt, or give the JVM more memory with"
                    + " MINFERENCE_JAVA_OPTS=-Xmx<size>", e);
        } catch (StackOverflowError e) {
            return fail(FAILED, "the input nests too deeply to process (stack overflow); it is malformed or hostile",
                    e);
        } catch (Exception | Error e) {
            // Any other Throwable too: one line, never a trace, unless --stacktrace asks for it.
            return fail(FAILED, Optional.ofNullable(e.getMessage()).orElse(e.getClass().getName()), e);
        }
    }

    /** The configuration file's values (or the defaults) with the flags' values over them. */
    MinferenceConfig settings(ConfigOverrides flags) {
        MinferenceConfig file = configFile != null ? MinferenceConfig.load(configFile) : MinferenceConfig.DEFAULTS;
        try {
            return flags.applyTo(file);
        } catch (IllegalArgumentException e) {
            // Single flags were checked already: what is left is a combination, such as --patterns with a-shape.
            throw new ParameterException(spec.commandLine(), "Invalid combination of settings: " + e.getMessage());
        }
    }

    /** Refuses a given flag value with the same words the configuration file would get; null is "not given". */
    <T> void check(String option, T value, Function<T, Optional<String>> rule) {
        if (value == null) return;
        rule.apply(value).ifPresent(p -> {
            throw new ParameterException(spec.commandLine(), "Invalid value for option '" + option + "': " + p);
        });
    }

    /**
     * The settings of an evaluation that compares attention modes ({@code eval needle}, {@code eval ppl}): the flags
     * checked, the modes that take a pattern file or budget given them, and a model required.
     */
    MinferenceConfig comparisonSettings(String model, Path tokenizer, String device,
                                        List<AttentionMode> modes,
                                        AttentionFlags sparse) throws IOException {
        check("--device", device, Limits::device);
        refuseIgnored("--sparse-threshold", "every sparse mode is compared sparse, at threshold 0");
        sparse.check(this);
        MinferenceConfig settings = settings(ConfigOverrides.NONE.withModel(model, tokenizer).withDevice(device)
                .withAttention(sparse.checkedMode(modes), sparse.patterns, sparse.sparseThreshold,
                        sparse.massBudget()));
        if (settings.model() == null) throw missing("'--model=PATH' (or model: in the --config file)");
        Inputs.requireModel(settings.model());
        Inputs.requirePatterns(settings.attention());
        return settings;
    }

    /**
     * Refuses {@code option} when it was given: this command would ignore it, and an ignored flag reads as if it
     * had changed the result.
     */
    void refuseIgnored(String option, String why) {
        if (spec.commandLine().getParseResult().hasMatchedOption(option)) {
            throw new ParameterException(spec.commandLine(), "Option '" + option + "' does not apply here: " + why);
        }
    }

    ParameterException missing(String what) {
        return new ParameterException(spec.commandLine(), "Missing required option: " + what);
    }

    PrintWriter out() {
        return spec.commandLine().getOut();
    }

    PrintWriter err() {
        return spec.commandLine().getErr();
    }

    boolean stderrIsTerminal() {
        Main main = main();
        return main != null && main.stderrIsTerminal();
    }

    private Main main() {
        Object p = parent;
        while (p instanceof EvalCommand group) p = group.parent;
        return p instanceof Main m ? m : null;
    }

    private int fail(int exitCode, String message, Throwable cause) {
        PrintWriter err = err();
        err.println("minference: " + message.strip().replaceAll("\\s*\\R\\s*", " "));
        Main main = main();
        if (stacktrace || (main != null && main.stacktraceRequested())) cause.printStackTrace(err);
        err.flush();
        return exitCode;
    }
}
