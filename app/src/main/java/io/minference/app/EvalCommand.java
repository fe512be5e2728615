package io.minference.app;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

/** The accuracy evaluations: needle retrieval, perplexity, and per-head recall of the sparse patterns. */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Measures what sparse attention costs in accuracy, next to dense attention.",
        subcommands = {NeedleCommand.class, PerplexityCommand.class, RecallCommand.class})
final class EvalCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @ParentCommand
    Object parent;

    @Override
    public Integer call() {
        throw new ParameterException(spec.commandLine(), "Missing required subcommand: needle, ppl or recall");
    }
}
