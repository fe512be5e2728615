package io.minference.app;

import io.minference.config.AttentionConfig;
import io.minference.config.AttentionMode;
import io.minference.config.Limits;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

/**
 * The sparse-attention flags every model command shares besides --attention (which takes one mode in generate and a
 * list in bench and eval): --patterns, --sparse-threshold, --budget. Checked with the configuration file's rules.
 */
final class AttentionFlags {
    @Option(names = "--patterns", paramLabel = "FILE",
            description = "Per-head patterns for --attention minference: the project's YAML or MInference's JSON"
                    + " (docs/sparse-attention.md). Given alone, it implies --attention minference.")
    Path patterns;

    @Option(names = "--sparse-threshold", paramLabel = "N",
            description = "Prompts of at least N tokens use the sparse path (default: 32768; 0 makes every prompt"
                    + " sparse).")
    Integer sparseThreshold;

    @Option(names = "--budget", paramLabel = "mass:G",
            description = "Keep columns, diagonals or blocks until their estimated attention mass reaches the"
                    + " fraction G in (0, 1], instead of the default top-k budgets.")
    String budget;

    /** Checks each flag alone; combinations are checked once the configuration file is merged. */
    void check(CliCommand command) {
        command.check("--sparse-threshold", sparseThreshold, n -> Limits.sparseThreshold(n));
        command.check("--budget", budget, Limits::budget);
    }

    Double massBudget() {
        return budget == null ? null : Limits.parseBudget(budget).orElseThrow();
    }

    /**
     * For the commands that take a list of modes: the mode under which --patterns and --budget are checked, the first
     * listed one that takes them (null when neither is given; the first mode when none takes them, so that the check
     * names the problem).
     */
    AttentionMode checkedMode(List<AttentionMode> modes) {
        if (patterns == null && budget == null) return null;
        for (AttentionMode mode : modes) {
            boolean takesPatterns = patterns == null || Limits.patternsIn(mode).isEmpty();
            boolean takesBudget = budget == null || Limits.budgetIn(mode, patterns != null).isEmpty();
            if (takesPatterns && takesBudget) return mode;
        }
        return modes.getFirst();
    }

    /**
     * The settings of one mode of a list (bench, eval): the pattern file and the budget apply to the modes that take
     * them, and {@code threshold} (null: the configured one) replaces the threshold.
     */
    static AttentionConfig forMode(AttentionConfig configured, AttentionMode mode, Integer threshold) {
        Path patterns = mode == AttentionMode.MINFERENCE ? configured.patterns() : null;
        Double budget = configured.massBudget() != null && Limits.budgetIn(mode, patterns != null).isEmpty()
                ? configured.massBudget() : null;
        return new AttentionConfig(mode, patterns, threshold != null ? threshold : configured.sparseThreshold(),
                budget);
    }

    /** A comma-separated list of attention modes, such as dense,minference; no repeats. */
    static final class ModeList implements ITypeConverter<List<AttentionMode>> {
        @Override
        public List<AttentionMode> convert(String value) {
            Set<AttentionMode> modes = new LinkedHashSet<>();
            for (String part : value.split(",", -1)) {
                AttentionMode mode = AttentionMode.byLabel(part).orElseThrow(() -> new TypeConversionException(
                        "'" + part.strip() + "' is not an attention mode: use " + AttentionMode.labels()));
                if (!modes.add(mode)) throw new TypeConversionException(mode.label() + " is listed twice");
            }
            return new ArrayList<>(modes);
        }
    }

    /** One attention mode. */
    static final class Mode implements ITypeConverter<AttentionMode> {
        @Override
        public AttentionMode convert(String value) {
            return AttentionMode.byLabel(value).orElseThrow(() -> new TypeConversionException(
                    "'" + value + "' is not an attention mode: use " + AttentionMode.labels()));
        }
    }
}
