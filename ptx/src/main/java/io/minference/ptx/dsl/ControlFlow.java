package io.minference.ptx.dsl;

import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Structured control flow written as lambdas: the body runs once at generation time and emits its instructions
 * between the branches. (A plain Java loop around instructions unrolls at generation time instead.)
 */
public interface ControlFlow extends Comparisons, Arithmetic {
    /** Emits {@code body} so that it runs only where {@code condition} holds. */
    default void ifThen(Pred condition, Runnable body) {
        Label end = emitter().label("endif");
        emitter().guarded(condition, true, "bra", end);
        emitter().nested(body);
        emitter().place(end);
    }

    /**
     * Emits {@code body} so that it runs only where {@code condition} holds, a condition the caller knows to be the
     * same in every thread of a warp (PTX {@code bra.uni}): ptxas then need not treat the body as a divergent path,
     * which matters for wgmma, whose pipeline it serialises in divergent paths (advisories C7515, C7520).
     */
    default void ifUniform(Pred condition, Runnable body) {
        Label end = emitter().label("endif");
        emitter().guarded(condition, true, "bra.uni", end);
        emitter().nested(body);
        emitter().place(end);
    }

    /** Emits both branches; each thread runs the one its {@code condition} selects. */
    default void ifElse(Pred condition, Runnable then, Runnable otherwise) {
        ifElse(condition, "bra", then, otherwise);
    }

    /** {@link #ifElse} on a condition the same in every thread of a warp ({@link #ifUniform}). */
    default void ifElseUniform(Pred condition, Runnable then, Runnable otherwise) {
        ifElse(condition, "bra.uni", then, otherwise);
    }

    private void ifElse(Pred condition, String branch, Runnable then, Runnable otherwise) {
        Label elseLabel = emitter().label("else");
        Label end = emitter().label("endif");
        emitter().guarded(condition, true, branch, elseLabel);
        emitter().nested(then);
        emitter().instruction("bra.uni", end);
        emitter().place(elseLabel);
        emitter().nested(otherwise);
        emitter().place(end);
    }

    /** {@code for (i = start; i < end; i += step) body(i)} with unsigned bounds, letting ptxas decide unrolling. */
    default void loop(U32 start, U32 end, U32 step, Consumer<U32> body) {
        loop(start, end, step, Unroll.AUTO, body);
    }

    default void loop(U32 start, U32 end, long step, Consumer<U32> body) {
        loop(start, end, u32(step), Unroll.AUTO, body);
    }

    /**
     * {@code for (i = start; i < end; i += step) body(i)} with an unroll hint: {@link Unroll#NONE} tells ptxas not
     * to unroll; {@link Unroll#by} repeats the body at generation time and finishes with a remainder loop.
     */
    default void loop(U32 start, U32 end, U32 step, Unroll unroll, Consumer<U32> body) {
        U32 i = var("i", start);
        if (unroll.factor() > 1) {
            U32 span = mul(step, u32(unroll.factor() - 1));
            emitter().comment("unrolled " + unroll.factor() + "x, then a remainder loop");
            counted(i, step, Unroll.AUTO, () -> lt(add(i, span), end), () -> {
                for (int u = 0; u < unroll.factor(); u++) {
                    body.accept(i);
                    if (u + 1 < unroll.factor()) {
                        set(i, add(i, step));
                    }
                }
            });
        }
        counted(i, step, unroll, () -> lt(i, end), () -> body.accept(i));
    }

    private void counted(U32 i, U32 step, Unroll unroll, Supplier<Pred> more, Runnable body) {
        Label head = emitter().label("loop");
        Label exit = emitter().label("endloop");
        emitter().guarded(more.get(), true, "bra", exit);
        emitter().place(head);
        if (unroll == Unroll.NONE) {
            emitter().directive(".pragma \"nounroll\";");
        }
        emitter().nested(() -> {
            body.run();
            set(i, add(i, step));
        });
        emitter().guarded(more.get(), false, "bra", head);
        emitter().place(exit);
    }

    /** {@code while (condition()) body()}: the condition lambda emits the test, evaluated before every iteration. */
    default void whileLoop(Supplier<Pred> condition, Runnable body) {
        Label head = emitter().label("while");
        Label exit = emitter().label("endwhile");
        emitter().place(head);
        emitter().guarded(condition.get(), true, "bra", exit);
        emitter().nested(body);
        emitter().instruction("bra", head);
        emitter().place(exit);
    }
}
