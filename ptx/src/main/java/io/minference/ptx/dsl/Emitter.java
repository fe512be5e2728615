package io.minference.ptx.dsl;

import java.security.CodeSource;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.StringJoiner;

/**
 * Collects one kernel body: instructions with their operands, comments, labels and the registers they use. Names
 * are assigned only when the body is rendered, so a register can be named after the instruction that defines it.
 * Every instruction records the kernel source line that asked for it, and the rendered PTX carries a
 * {@code // File.java:line} comment whenever that line changes.
 */
public final class Emitter {
    private static final Set<String> SPECIAL_REGISTER_NAMES = Set.of("tid", "ntid", "laneid", "warpid", "nwarpid",
            "ctaid", "nctaid", "smid", "nsmid", "gridid", "clock", "clock64", "lanemask_eq", "lanemask_le",
            "lanemask_lt", "lanemask_ge", "lanemask_gt", "globaltimer", "dynamic_smem_size", "total_smem_size", "cluster_ctarank",
            "cluster_nctarank");
    private static final CodeSource DSL_CODE = Emitter.class.getProtectionDomain().getCodeSource();
    private static final ClassValue<Boolean> IS_DSL_CLASS = new ClassValue<>() {
        @Override
        protected Boolean computeValue(Class<?> type) {
            return Objects.equals(type.getProtectionDomain().getCodeSource(), DSL_CODE);
        }
    };
    private static final StackWalker WALKER = StackWalker.getInstance(StackWalker.Option.RETAIN_CLASS_REFERENCE);

    private sealed interface Line permits Instruction, Comment, Placement, Directive {
    }

    private record Instruction(String guard, String opcode, Object[] operands, int depth) implements Line {
    }

    private record Comment(String text, int depth) implements Line {
    }

    private record Placement(Label label) implements Line {
    }

    private record Directive(String text, int depth) implements Line {
    }

    private final List<Line> lines = new ArrayList<>();
    private final List<Reg> registers = new ArrayList<>();
    private final Map<String, Integer> labelCounts = new HashMap<>();
    private int depth;
    private String lastSource;

    Emitter() {
    }

    /** Adds a register to the kernel's declarations. */
    public <R extends Reg> R declare(R register) {
        if (register.isConstant()) {
            throw new IllegalArgumentException("constants are not declared: " + register);
        }
        registers.add(register);
        return register;
    }

    /** A new declared register of the same class as {@code model}. */
    @SuppressWarnings("unchecked")
    public <R extends Reg> R like(R model, String hint) {
        return declare((R) model.fresh(hint));
    }

    /** Emits {@code opcode op0, op1, ...;}. Operands: registers, addresses, labels, register lists, literals. */
    public void instruction(String opcode, Object... operands) {
        add(null, opcode, operands);
    }

    /** Emits {@code @p opcode ...;} (or {@code @!p} when {@code whenFalse}). */
    public void guarded(Pred guard, boolean whenFalse, String opcode, Object... operands) {
        add(new Object[] {whenFalse ? "@!" : "@", guard}, opcode, operands);
    }

    private void add(Object[] guard, String opcode, Object[] operands) {
        noteSource();
        for (Object operand : operands) {
            checkOperand(operand);
        }
        lines.add(new Instruction(guard == null ? null : guard[0].toString(), opcode,
                guard == null ? operands : prepend(guard[1], operands), depth));
    }

    private static Object[] prepend(Object first, Object[] rest) {
        Object[] all = new Object[rest.length + 1];
        all[0] = first;
        System.arraycopy(rest, 0, all, 1, rest.length);
        return all;
    }

    private static void checkOperand(Object operand) {
        if (operand == null) {
            throw new IllegalArgumentException("null operand: a register was used before it was given a value");
        }
    }

    /** A comment line in the body. */
    public void comment(String text) {
        lines.add(new Comment(text, depth));
    }

    /** A directive line such as {@code .pragma "nounroll";}. */
    public void directive(String text) {
        lines.add(new Directive(text, depth));
    }

    /** A new label, unique in this kernel: {@code L_loop_2}. */
    public Label label(String hint) {
        int n = labelCounts.merge(hint, 1, Integer::sum);
        return new Label("L_" + hint + "_" + n);
    }

    /** Places a label before the next instruction. */
    public void place(Label label) {
        lines.add(new Placement(label));
    }

    /** Runs {@code body} one indentation level deeper, for the bodies of if/loop constructs. */
    public void nested(Runnable body) {
        depth++;
        try {
            body.run();
        } finally {
            depth--;
        }
    }

    private void noteSource() {
        String source = WALKER.walk(frames -> frames
                .filter(f -> !IS_DSL_CLASS.get(f.getDeclaringClass()))
                .findFirst()
                .map(f -> f.getFileName() + ":" + f.getLineNumber())
                .orElse(null));
        if (source != null && !source.equals(lastSource)) {
            lines.add(new Comment(source, depth));
            lastSource = source;
        }
    }

    /** The register declarations and the body, names assigned, one instruction per line, tab-indented. */
    String render() {
        Map<Reg, String> names = assignNames();
        StringBuilder out = new StringBuilder();
        Map<RegType, List<String>> byType = new EnumMap<>(RegType.class);
        for (Reg r : registers) {
            byType.computeIfAbsent(r.type(), t -> new ArrayList<>()).add(names.get(r));
        }
        byType.forEach((type, regNames) -> {
            for (int i = 0; i < regNames.size(); i += 8) {
                out.append("\t.reg .").append(type.ptx()).append(' ')
                        .append(String.join(", ", regNames.subList(i, Math.min(i + 8, regNames.size()))))
                        .append(";\n");
            }
        });
        for (Line line : lines) {
            switch (line) {
                case Instruction in -> {
                    indent(out, in.depth());
                    Object[] ops = in.operands();
                    int first = 0;
                    if (in.guard() != null) {
                        out.append(in.guard()).append(operand(ops[0], names)).append(' ');
                        first = 1;
                    }
                    out.append(in.opcode());
                    StringJoiner joined = new StringJoiner(", ", " ", "");
                    joined.setEmptyValue("");
                    for (int i = first; i < ops.length; i++) {
                        joined.add(operand(ops[i], names));
                    }
                    out.append(joined).append(";\n");
                }
                case Comment c -> indent(out.append(c.depth() == 0 ? "\n" : ""), c.depth()).append("// ")
                        .append(c.text()).append('\n');
                case Placement p -> out.append(p.label().name()).append(":\n");
                case Directive d -> indent(out, d.depth()).append(d.text()).append('\n');
            }
        }
        return out.toString();
    }

    private static StringBuilder indent(StringBuilder out, int depth) {
        out.append('\t');
        out.append("  ".repeat(depth));
        return out;
    }

    private Map<Reg, String> assignNames() {
        Map<Reg, String> names = new IdentityHashMap<>();
        Set<String> used = new HashSet<>(SPECIAL_REGISTER_NAMES);
        Map<String, Integer> next = new HashMap<>();
        for (Reg r : registers) {
            String hint = r.hint();
            String name = hint;
            while (!used.add(name)) {
                name = hint + "_" + next.merge(hint, 1, Integer::sum);
            }
            names.put(r, "%" + name);
        }
        return names;
    }

    private static String operand(Object operand, Map<Reg, String> names) {
        return switch (operand) {
            case Reg r -> regName(r, names);
            case Address a -> "[" + regName(a.base(), names) + (a.offset() == 0 ? "" : "+" + a.offset()) + "]";
            case Reg[] list -> {
                StringJoiner j = new StringJoiner(", ", "{", "}");
                for (Reg r : list) {
                    j.add(regName(r, names));
                }
                yield j.toString();
            }
            case Label l -> l.name();
            case TensorCopy.TensorOperand t -> {
                StringJoiner j = new StringJoiner(", ", "[" + regName(t.map().address(), names) + ", {", "}]");
                for (Reg r : t.coordinates()) {
                    j.add(regName(r, names));
                }
                yield j.toString();
            }
            default -> operand.toString();
        };
    }

    private static String regName(Reg r, Map<Reg, String> names) {
        if (r.isConstant()) {
            return r.literal();
        }
        String name = names.get(r);
        if (name == null) {
            throw new IllegalStateException("register %" + r.hint() + " (." + r.type().ptx()
                    + ") belongs to another kernel");
        }
        return name;
    }
}
