package io.minference.config;

import java.io.StringReader;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Locale;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;
import org.yaml.snakeyaml.events.AliasEvent;
import org.yaml.snakeyaml.events.CollectionEndEvent;
import org.yaml.snakeyaml.events.Event;
import org.yaml.snakeyaml.events.MappingStartEvent;
import org.yaml.snakeyaml.events.ScalarEvent;
import org.yaml.snakeyaml.events.SequenceStartEvent;
import org.yaml.snakeyaml.nodes.NodeId;
import org.yaml.snakeyaml.nodes.Tag;
import org.yaml.snakeyaml.resolver.Resolver;

/**
 * The one way the project reads YAML (configuration, pattern and shape files): SnakeYAML's safe constructor (plain
 * maps, lists and scalars, no tags naming classes), with what SnakeYAML would accept and the files must not hold
 * refused before anything is built:
 * <ul>
 *   <li>aliases ({@code *name}): one alias is enough for a document that refers to itself ({@code &x {b: [*x]}}),
 *   which no count limit stops and whose printing overflows the stack; no file of the project needs them;</li>
 *   <li>duplicate keys, which would otherwise let the last one win silently;</li>
 *   <li>floats that are NaN or infinite ({@code .nan}, {@code !!float nan}, {@code 1e999}), named by key path;</li>
 *   <li>any failure of SnakeYAML's own, which becomes a {@link Problem} with a line and column where it has one.</li>
 * </ul>
 * Integers too large for a long come back as {@code BigInteger}; each caller checks its own ranges.
 */
public final class SafeYaml {
    private static final Resolver RESOLVER = new Resolver();

    private SafeYaml() {
    }

    /** What is wrong with a document, and where: a line and column, or a key path, or neither. */
    public static final class Problem extends RuntimeException {
        private final int line;
        private final int column;
        private final String keyPath;

        Problem(int line, int column, String keyPath, String message, Throwable cause) {
            super(message, cause);
            this.line = line;
            this.column = column;
            this.keyPath = keyPath;
        }

        static Problem at(Mark mark, String message, Throwable cause) {
            return mark == null ? new Problem(0, 0, null, message, cause)
                    : new Problem(mark.getLine() + 1, mark.getColumn() + 1, null, message, cause);
        }

        /** 1-based, 0 when unknown. */
        public int line() {
            return line;
        }

        /** 1-based, 0 when unknown. */
        public int column() {
            return column;
        }

        /** Like {@code generation.top_p} or {@code layers[2]}, or null when the problem is not one key's. */
        public String keyPath() {
            return keyPath;
        }

        /** "line L, column C: " or "key 'path': " or nothing, then the message: for loaders' own messages. */
        public String describe() {
            if (keyPath != null) return "key '" + keyPath + "': " + getMessage();
            if (line > 0) return "line " + line + ", column " + column + ": " + getMessage();
            return getMessage();
        }
    }

    /**
     * The document as plain maps, lists and scalars (null for an empty one).
     *
     * @throws Problem for malformed YAML, aliases, duplicate keys, NaN or infinite numbers
     */
    public static Object load(String text) {
        LoaderOptions options = new LoaderOptions();
        options.setAllowDuplicateKeys(false);
        options.setMaxAliasesForCollections(0);
        try {
            check(new Yaml(options).parse(new StringReader(text)));
            return new Yaml(new SafeConstructor(options)).load(text);
        } catch (Problem p) {
            throw p;
        } catch (MarkedYAMLException e) {
            Mark mark = e.getProblemMark() != null ? e.getProblemMark() : e.getContextMark();
            throw Problem.at(mark, "malformed YAML: " + describe(e), e);
        } catch (YAMLException e) {
            throw new Problem(0, 0, null, "malformed YAML: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            // SnakeYAML lets a few of its constructors' failures through raw (an explicit !!int abc).
            throw new Problem(0, 0, null, "malformed YAML: a value cannot be read as its type: " + e.getMessage(), e);
        }
    }

    /** SnakeYAML's context ("while parsing a block mapping") and problem, without its multi-line excerpt. */
    private static String describe(MarkedYAMLException e) {
        String context = e.getContext();
        String problem = e.getProblem();
        if (context == null) return problem;
        if (problem == null) return context;
        return context + ": " + problem;
    }

    /** Walks the events with the key path of each node: aliases and non-finite floats are refused. */
    private static void check(Iterable<Event> events) {
        Deque<Frame> open = new ArrayDeque<>();
        for (Event event : events) {
            switch (event) {
                case AliasEvent alias -> throw Problem.at(alias.getStartMark(), "aliases (*" + alias.getAnchor()
                        + ") are not allowed in this file; write the value out", null);
                case MappingStartEvent m -> open.push(new Frame(true, pathOfNext(open)));
                case SequenceStartEvent s -> open.push(new Frame(false, pathOfNext(open)));
                case CollectionEndEvent end -> {
                    open.pop();
                    completed(open, "?");
                }
                case ScalarEvent scalar -> {
                    checkFinite(scalar, pathOfNext(open));
                    completed(open, scalar.getValue());
                }
                default -> {
                }
            }
        }
    }

    private static void checkFinite(ScalarEvent scalar, String path) {
        String tag = scalar.getTag();
        boolean explicit = tag != null && !tag.equals("!");
        Tag resolved = explicit ? new Tag(tag) : scalar.getImplicit().canOmitTagInPlainScalar()
                ? RESOLVER.resolve(NodeId.scalar, scalar.getValue(), true) : Tag.STR;
        if (!resolved.equals(Tag.FLOAT)) return;
        String v = scalar.getValue().strip().toLowerCase(Locale.ROOT).replace("_", "");
        boolean infinite;
        try {
            infinite = Double.isInfinite(Double.parseDouble(v));
        } catch (NumberFormatException e) {
            infinite = false;
        }
        if (v.contains("nan") || v.contains("inf") || infinite) {
            throw new Problem(0, 0, path == null ? "(document)" : path, "must be a finite number, got "
                    + scalar.getValue(), null);
        }
    }

    /** The key path of the node that starts next under {@code open}'s top. */
    private static String pathOfNext(Deque<Frame> open) {
        Frame parent = open.peek();
        if (parent == null) return null;
        if (parent.mapping) {
            String key = parent.expectingKey ? "(key)" : parent.key;
            return parent.path == null ? key : parent.path + "." + key;
        }
        return (parent.path == null ? "" : parent.path) + "[" + parent.index + "]";
    }

    private static void completed(Deque<Frame> open, String value) {
        Frame parent = open.peek();
        if (parent == null) return;
        if (!parent.mapping) {
            parent.index++;
        } else if (parent.expectingKey) {
            parent.key = value;
            parent.expectingKey = false;
        } else {
            parent.expectingKey = true;
        }
    }

    private static final class Frame {
        final boolean mapping;
        final String path;
        boolean expectingKey = true;
        String key;
        int index;

        Frame(boolean mapping, String path) {
            this.mapping = mapping;
            this.path = path;
        }
    }
}
