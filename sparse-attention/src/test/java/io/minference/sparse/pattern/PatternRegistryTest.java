package io.minference.sparse.pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.minference.sparse.Budget;
import io.minference.sparse.HeadPattern;
import io.minference.sparse.PatternPlan;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

class PatternRegistryTest {
    @Test
    void builtInsAndServiceLoadedPatternsAreKnownByName() {
        assertEquals(List.of("a-shape", "block-sparse", "dense", "vertical-slash"),
                List.copyOf(PatternRegistry.builtIn().names()));
        assertTrue(PatternRegistry.standard().names().contains(LocalOnlyPattern.NAME));
        assertInstanceOf(LocalOnlyPattern.class, PatternRegistry.standard().get("local-only"));
    }

    @Test
    void unknownNameListsTheKnownOnes() {
        var e = assertThrows(IllegalArgumentException.class, () -> PatternRegistry.builtIn().get("stream_llm"));
        assertEquals("unknown sparse pattern 'stream_llm'; known patterns: a-shape, block-sparse, dense, vertical-slash",
                e.getMessage());
        PatternPlan plan = new PatternPlan(List.of(List.of(new HeadPattern.Dense(),
                new HeadPattern.Custom("nope", Map.of()))));
        var v = assertThrows(IllegalArgumentException.class, () -> PatternRegistry.builtIn().validate(plan));
        assertTrue(v.getMessage().startsWith("layer 0, head 1: unknown sparse pattern 'nope'"), v.getMessage());
    }

    @Test
    void parametersRoundTripAsText() {
        PatternRegistry registry = PatternRegistry.standard();
        List<HeadPattern> patterns = List.of(new HeadPattern.Dense(), new HeadPattern.AShape(64, 1024),
                HeadPattern.VerticalSlash.DEFAULT,
                new HeadPattern.VerticalSlash(Budget.mass(0.95), Budget.topK(100)),
                new HeadPattern.BlockSparse(Budget.topK(8)), new HeadPattern.BlockSparse(Budget.mass(0.9)),
                new HeadPattern.Custom("local-only", Map.of("window", "3")));
        for (HeadPattern p : patterns) assertEquals(p, registry.parse(p.name(), registry.parameters(p)));
        assertEquals(Map.of("vertical", "1000", "slash", "6096"), registry.parameters(HeadPattern.VerticalSlash.DEFAULT));
        assertEquals(new HeadPattern.VerticalSlash(Budget.topK(30), Budget.mass(0.9)),
                registry.resolve(new HeadPattern.Custom("vertical-slash", Map.of("vertical", "30", "slash", "mass:0.9"))));
    }

    @Test
    void badParametersAreNamed() {
        PatternRegistry registry = PatternRegistry.builtIn();
        assertMessage("pattern 'vertical-slash' needs parameter 'slash'",
                () -> registry.parse("vertical-slash", Map.of("vertical", "10")));
        assertMessage("pattern 'a-shape': local cannot be negative, got -5",
                () -> registry.parse("a-shape", Map.of("sink", "4", "local", "-5")));
        assertMessage("pattern 'block-sparse' has no parameter 'size'; it takes blocks",
                () -> registry.parse("block-sparse", Map.of("size", "4")));
        assertMessage("pattern 'block-sparse': blocks must be a whole number, got 'many'",
                () -> registry.parse("block-sparse", Map.of("blocks", "many")));
        assertMessage("pattern 'block-sparse': blocks: a mass budget must lie in (0, 1], got 1.5",
                () -> registry.parse("block-sparse", Map.of("blocks", "mass:1.5")));
        assertMessage("pattern 'dense' cannot read AShape[sinkTokens=1, localTokens=2]",
                () -> new DensePattern().estimate(new HeadPattern.AShape(1, 2), null, 0));
    }

    @Test
    void aNameRegisteredTwiceIsRefused() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> PatternRegistry.builtIn().with(new DensePattern()));
        assertTrue(e.getMessage().contains("registered twice"), e.getMessage());
    }

    private static void assertMessage(String expected, Executable call) {
        assertEquals(expected, assertThrows(IllegalArgumentException.class, call).getMessage());
    }
}
