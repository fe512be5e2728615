package io.minference.app;

import io.minference.kernels.catalog.KernelCatalog;
import io.minference.llama.session.LlamaSession;
import io.minference.ptx.KernelSource;
import io.minference.ptx.PtxTarget;
import io.minference.ptx.dsl.KernelDefinition;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/** Writes the PTX of every kernel the runtime launches on a target, one file per entry, for kernel engineers. */
@Command(name = "kernels", mixinStandardHelpOptions = true,
        description = {"Writes the PTX of every kernel the runtime launches on a target (dense and sparse prefill,"
                + " decode, norms, RoPE, estimation and index kernels ...) as <entry name>.ptx files in DIR. Needs"
                + " no GPU. Kernels that need a newer target than the one asked for are left out, and listed.",
                "The shape options choose the attention shape the kernels are specialized for (default: LLaMA 3 8B)."})
final class KernelsCommand extends CliCommand {
    @Option(names = "--target", paramLabel = "ARCH", required = true,
            description = "sm_80 (Ampere, Ada: mma.sync) or sm_90a (Hopper: also wgmma, TMA, setmaxnreg).")
    String target;

    @Option(names = "--out", paramLabel = "DIR", required = true,
            description = "The directory to write into (created if missing).")
    Path out;

    @Option(names = "--heads", paramLabel = "N", defaultValue = "32", description = "Query heads (default: 32).")
    int heads;

    @Option(names = "--kv-heads", paramLabel = "N", defaultValue = "8", description = "KV heads (default: 8).")
    int kvHeads;

    @Option(names = "--head-dim", paramLabel = "D", defaultValue = "128", description = "Head dimension (default: 128).")
    int headDim;

    @Override
    int run() throws IOException {
        PtxTarget arch = parseTarget();
        KernelCatalog catalog = catalog(arch);
        try {
            Files.createDirectories(out);
        } catch (IOException e) {
            throw new IOException("cannot create the output directory " + out + ": " + reason(e));
        }
        if (!Files.isDirectory(out) || !Files.isWritable(out)) {
            throw new IOException("cannot write into " + out + ": " + (Files.isDirectory(out) ? "not writable"
                    : "not a directory"));
        }
        for (KernelDefinition kernel : catalog.included()) {
            KernelSource source = kernel.emit(arch);
            Path file = out.resolve(source.entryName() + ".ptx");
            try {
                Files.writeString(file, source.ptx(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new IOException("cannot write " + file + ": " + reason(e));
            }
        }
        out().printf("wrote %d kernels for %s to %s%n", catalog.included().size(), arch.arch(), out);
        if (!catalog.skipped().isEmpty()) {
            out().printf("left out %d that need a newer target: %s%n", catalog.skipped().size(), catalog.skipped()
                    .stream().map(k -> k.entryName() + " (" + k.minimumTarget().arch() + ")")
                    .collect(Collectors.joining(", ")));
        }
        out().flush();
        return 0;
    }

    private PtxTarget parseTarget() {
        String wanted = target.trim().toLowerCase(Locale.ROOT);
        return Arrays.stream(PtxTarget.values()).filter(t -> t.arch().equals(wanted)).findFirst()
                .orElseThrow(() -> new ParameterException(spec.commandLine(),
                        "Invalid value for option '--target': '" + target + "' is not a target; use one of "
                                + Arrays.stream(PtxTarget.values()).map(PtxTarget::arch)
                                .collect(Collectors.joining(", "))));
    }

    /** The dense and sparse kernels for the asked shape; a shape they cannot serve is invalid input. */
    private KernelCatalog catalog(PtxTarget arch) {
        try {
            return LlamaSession.kernelCatalog(heads, kvHeads, headDim, arch);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(),
                    "Invalid attention shape: " + e.getMessage());
        }
    }

    private static String reason(IOException e) {
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getClass().getSimpleName() + " "
                + e.getMessage();
    }
}
