package io.minference.app;

import io.minference.ptx.KernelSource;
import io.minference.ptx.Ptxas;
import io.minference.ptx.PtxTarget;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code minference kernels}: the dump for each target holds one file per launched kernel, named after its entry,
 * with the dense and sparse prefill named as kernel engineers look for them; every file assembles with
 * {@code ptxas -v} for its target (skipped where ptxas is absent), the sm_90a prefills with wgmma and TMA and no
 * serialisation or ignored-setmaxnreg advisory; bad input gets one clear line.
 */
class KernelsCommandTest {
    @TempDir
    Path dir;

    private List<Path> dump(String target) throws Exception {
        Path out = dir.resolve(target);
        CliRun run = CliRun.of("kernels", "--target", target, "--out", out.toString());
        assertEquals(0, run.exitCode(), run.toString());
        assertTrue(run.out().startsWith("wrote "), run.toString());
        try (Stream<Path> files = Files.list(out)) {
            return files.sorted().toList();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"sm_80", "sm_90a"})
    void everyDumpedKernelAssemblesForItsTarget(String target) throws Exception {
        List<Path> files = dump(target);
        List<String> names = files.stream().map(f -> f.getFileName().toString()).toList();
        assertTrue(names.stream().allMatch(n -> n.endsWith(".ptx")), names.toString());
        List<String> dense = names.stream().filter(n -> n.startsWith("flash_prefill")).toList();
        List<String> sparse = names.stream().filter(n -> n.startsWith("sparse_flash_prefill")).toList();
        assertFalse(dense.isEmpty(), names.toString());
        // mma.sync; on sm_90a also the Hopper kernel in either launch order by four schedules by two gather arrivals
        // at 64 keys a step, by the two schedules (plain, lazy) two consumers take at 128, by those two with
        // paired query blocks, with warp arrivals (plain or lazy, 64 or 128 keys), and persistent (longest first,
        // plain or lazy, waited or copy-engine gathers, and with pairs); and range tiles in boxes of 32, 16 or 8 keys
        // (lazy, 64 keys, each gather arrival, in either order; persistent too, longest first, waited or copy-engine);
        // and in clusters of two blocks (plain or lazy, in either order); boxes of 16 also with the overlap,lazy
        // schedule (with copy-engine gathers, and waited), in either order; and the default, which is that with
        // copy-engine gathers in the head-major order
        assertEquals(target.equals("sm_90a") ? 76 : 1, sparse.size(), names.toString());
        assertEquals(target.equals("sm_90a"), sparse.contains("sparse_flash_prefill_sm90a_bf16_d128_s3_headmajor"
                + "_overlap_lazy_async_gather_rb16.ptx"), "the default Hopper sparse kernel, on sm_90a: " + sparse);
        assertTrue(names.stream().anyMatch(n -> n.startsWith("flash_decode")), names.toString());
        assertTrue(names.stream().anyMatch(n -> n.startsWith("rms_norm")), names.toString());
        assertTrue(names.stream().anyMatch(n -> n.startsWith("block_sparse_select")), names.toString());
        assertTrue(names.contains("sparse_index_offsets.ptx"), names.toString());
        assertEquals(target.equals("sm_90a"), dense.stream().anyMatch(n -> n.contains("sm90a")), dense.toString());
        for (String codes : List.of("e4m3", "int8")) { // the 8-bit KV cache's kernels, for each code format
            assertTrue(names.stream().anyMatch(n -> n.startsWith("kv_quantize_") && n.endsWith("_" + codes + ".ptx")),
                    codes + " quantize in " + names);
            assertTrue(names.stream().anyMatch(n -> n.startsWith("rope_kv_write_") && n.endsWith("_" + codes + ".ptx")),
                    codes + " RoPE + KV write in " + names);
            assertTrue(names.stream().anyMatch(n -> n.startsWith("flash_decode_grouped_" + codes + "_")),
                    codes + " decode in " + names);
        }
        boolean anyConverts = false;
        for (Path file : files) { // e4m3's conversion instruction only where ptxas takes it
            boolean converts = Files.readString(file).contains("cvt.rn.f16x2.e4m3x2");
            String name = file.getFileName().toString();
            assertTrue(!converts || (target.equals("sm_90a") && name.startsWith("flash_decode_grouped_e4m3_")),
                    name + " converts e4m3 by instruction on " + target);
            anyConverts |= converts;
        }
        assertEquals(target.equals("sm_90a"), anyConverts, "the default e4m3 decode converts by instruction on"
                + " sm_90a, and only there");

        var ptxas = Ptxas.onPath();
        assumeTrue(ptxas.isPresent(), "ptxas is not on the PATH");
        PtxTarget arch = target.equals("sm_80") ? PtxTarget.SM_80 : PtxTarget.SM_90A;
        for (Path file : files) {
            String entry = file.getFileName().toString().replace(".ptx", "");
            String ptx = Files.readString(file);
            assertTrue(ptx.contains(".target " + target), file.toString());
            Ptxas.Result result = ptxas.get().assemble(new KernelSource(entry, List.of(), ptx, arch, 0), true);
            assertTrue(result.succeeded(), () -> file + " does not assemble for " + target + ":\n" + result.log());
            assertEquals(List.of(), result.slowPathAdvisories(), () -> file + ":\n" + result.log());
            if (entry.startsWith("flash_prefill_sm90a") || entry.startsWith("sparse_flash_prefill_sm90a")) {
                assertTrue(ptx.contains("wgmma.mma_async") && ptx.contains("cp.async.bulk.tensor"), entry);
            }
        }
    }

    @Test
    void hopperKernelsAreLeftOutOfTheSm80DumpAndNamed() {
        CliRun run = CliRun.of("kernels", "--target", "sm_80", "--out", dir.resolve("a").toString());
        assertEquals(0, run.exitCode(), run.toString());
        assertTrue(run.out().contains("left out 76 that need a newer target: flash_prefill_sm90a"), run.toString());
        assertTrue(run.out().contains("sparse_flash_prefill_sm90a_bf16_d128_s3 (sm_90a)"), run.toString());
    }

    @Test
    void anUnknownTargetIsOneClearLine() {
        CliRun run = CliRun.of("kernels", "--target", "sm_75", "--out", dir.toString());
        assertEquals(2, run.exitCode(), run.toString());
        assertTrue(run.errLines()[0].equals("Invalid value for option '--target': 'sm_75' is not a target; use one"
                + " of sm_80, sm_90a"), run.toString());
        assertEquals("", run.out());
    }

    @Test
    void anUnwritableDirectoryIsOneClearLine() throws Exception {
        Path file = Files.writeString(dir.resolve("plain-file"), "not a directory");
        CliRun run = CliRun.of("kernels", "--target", "sm_80", "--out", file.resolve("sub").toString());
        assertEquals(1, run.exitCode(), run.toString());
        assertEquals(1, run.errLines().length, run.toString());
        assertTrue(run.errLines()[0].startsWith("minference: cannot create the output directory "), run.toString());
        CliRun intoFile = CliRun.of("kernels", "--target", "sm_80", "--out", file.toString());
        assertEquals(1, intoFile.exitCode(), intoFile.toString());
        assertEquals("minference: cannot create the output directory " + file
                + ": FileAlreadyExistsException " + file, intoFile.errLines()[0]);
    }
}
