package io.minference.app;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Any Throwable a command lets out, errors included, is one line on stderr and exit code 1, never a trace. */
class AnyThrowableTest {

    @Command(name = "throws")
    static final class Throwing extends CliCommand {
        Throwable thrown;

        @Override
        int run() throws Exception {
            if (thrown instanceof Exception e) throw e;
            throw (Error) thrown;
        }
    }

    @Test
    void aStackOverflowIsOneLine() {
        String[] err = run(new StackOverflowError());
        assertEquals(1, err.length, String.join("\n", err));
        assertTrue(err[0].startsWith("minference: the input nests too deeply"), err[0]);
    }

    @Test
    void anyOtherErrorIsOneLineWithItsMessage() {
        String[] err = run(new AssertionError("a broken invariant"));
        assertEquals(1, err.length, String.join("\n", err));
        assertEquals("minference: a broken invariant", err[0]);
    }

    @Test
    void aSelfReferringShapeFileIsOneLineNotAStackOverflow(@TempDir Path dir) throws Exception {
        Path shape = Files.writeString(dir.resolve("s.yaml"), "dim: &x {b: [*x]}\nhidden_dim: 128\nlayers: 2\n"
                + "heads: 4\ncontext_length: 256\n");
        CliRun info = CliRun.of("info", "--model", "synthetic:" + shape);
        assertEquals(1, info.errLines().length, info.toString());
        assertTrue(info.err().contains(shape + ": line 1, column ") && info.err().contains("aliases (*x)"),
                info.toString());
    }

    private static String[] run(Throwable thrown) {
        Throwing command = new Throwing();
        command.thrown = thrown;
        StringWriter err = new StringWriter();
        CommandLine cli = new CommandLine(command).setErr(new PrintWriter(err, true));
        assertEquals(1, cli.execute());
        return err.toString().strip().split("\\R");
    }
}
