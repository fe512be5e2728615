package io.minference.ptx;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** What {@link Ptxas.Result#problems} reads from ptxas's own words (canned logs: no ptxas needed). */
class PtxasResultTest {
    private static final String CLEAN = """
            ptxas info    : 0 bytes gmem
            ptxas info    : Compiling entry function 'flash_prefill' for 'sm_90a'
            ptxas info    : Function properties for flash_prefill
                0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
            ptxas info    : Used 168 registers, used 1 barriers, 528 bytes cmem[0]
            """;

    @Test
    void aCleanModuleHasNoProblems() {
        assertEquals(List.of(), new Ptxas.Result(0, CLEAN).problems());
    }

    @Test
    void spillsStackFramesAndSlowPathsAreEachNamed() {
        String log = """
                ptxas info    : Compiling entry function 'k' for 'sm_90a'
                ptxas info    : Function properties for k
                    16 bytes stack frame, 8 bytes spill stores, 8 bytes spill loads
                ptxas info    : (C7510) Potential Performance Loss: wgmma.mma_async instructions are serialized
                ptxas info    : Used 255 registers
                """;
        assertEquals(List.of("spills 16 bytes", "keeps a 16-byte stack frame",
                "ptxas info    : (C7510) Potential Performance Loss: wgmma.mma_async instructions are serialized"),
                new Ptxas.Result(0, log).problems());
    }

    @Test
    void aRejectedModuleSaysSoFirst() {
        List<String> problems = new Ptxas.Result(255, "ptxas fatal   : Unresolved extern function 'f'").problems();
        assertEquals(List.of("ptxas rejected it (exit code 255)"), problems);
    }
}
