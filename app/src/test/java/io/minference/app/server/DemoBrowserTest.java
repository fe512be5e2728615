package io.minference.app.server;

import static io.minference.app.server.CpuSessions.cpuSession;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.minference.llama.generate.PasskeyPrompt;
import io.minference.llama.load.ModelLoader;
import io.minference.llama.session.KeptKeys;
import io.minference.runtime.ProgressListener;
import io.minference.runtime.SharedData;
import io.minference.sparse.SparseIndex;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Locale;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * The demo page in a real browser: headless Debian Chromium driven by Selenium, models on the CPU. It makes
 * haystacks, runs each with dense attention and with MInference, checks the latencies, the streamed answer and the
 * chart, and saves screenshots under target/. Skipped where chromium or chromedriver is missing (.ci/run installs
 * them).
 */
class DemoBrowserTest {
    private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    private static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");

    private static ChromeDriver browser;

    @BeforeAll
    static void startBrowser() {
        assumeTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
                "needs the Debian packages chromium and chromium-driver");
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort().build();
        ChromeOptions options = new ChromeOptions().setBinary(CHROMIUM.toFile())
                .addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                        "--window-size=1360,1640", "--hide-scrollbars");
        browser = new ChromeDriver(service, options);
    }

    @AfterAll
    static void stopBrowser() {
        if (browser != null) browser.quit();
    }

    @Test
    void runsAPromptWithBothModesAndShowsLatenciesAndTheStreamedAnswer() throws Exception {
        String model = "synthetic:tiny";
        try (LlamaEngine engine = new LlamaEngine(cpuSession(ModelLoader.load(model, null, ProgressListener.NONE)),
                model);
             ApiServer server = ApiServer.start(engine, new ServerSettings("127.0.0.1", 0, 1 << 20, 2, true, null))) {
            browser.get(server.uri().toString());
            await("the model's description", () -> text("model-info").contains(model));
            for (int tokens : new int[] {512, 1536}) runHaystack(tokens, 12);

            String densePrefill = part("run-dense", "prefill");
            assertTrue(densePrefill.matches("\\d+\\.\\d{3} s"), densePrefill);
            assertTrue(part("run-dense", "decode").matches("\\d+\\.\\d tokens/s"), part("run-dense", "decode"));
            assertEquals("dense", part("run-dense", "path"));
            String answer = part("run-dense", "answer");
            assertFalse(answer.isEmpty(), "the dense answer was streamed onto the page");

            Completion expected = engine.generate(new EnginePrompt.Text(pagePrompt()),
                    new GenerationRequest(12, 0, 1, 0, "dense", 0), piece -> { }, Cancellation.NEVER);
            assertEquals(expected.text(), answer, "the page shows the same answer as the engine");
            assertEquals(String.format(Locale.US, "%,d tokens", expected.promptTokens()), part("run-dense", "tokens"));
            assertEquals(2L, script("return LatencyChart.points('dense').length"), "one chart point per run");

            assertEquals("done", state("run-minference"), part("run-minference", "status"));
            assertTrue(part("run-minference", "prefill").matches("\\d+\\.\\d{3} s"));
            // The sparse run names the patterns it followed: here the default budget.
            assertEquals("minference (every head vertical-slash 1000/6096)", part("run-minference", "path"));
            assertTrue(text("speedup").contains("patterns: every head vertical-slash 1000/6096"), text("speedup"));
            assertFalse(part("run-minference", "answer").isEmpty(), "the sparse run streams an answer too");
            assertEquals(2L, script("return LatencyChart.points('minference').length"));
            // The speedup comes with the fraction of the causal area that MInference computed, measured.
            assertTrue(text("speedup").matches("(?s).*speedup.*\\d+\\.\\d\\d×.*computing \\d+\\.\\d% of the causal"
                    + " area.*warmed up.*"), text("speedup"));
            assertTrue(part("run-minference", "density").matches("\\d+\\.\\d% of the causal area"),
                    part("run-minference", "density"));
            assertEquals("100.0% of the causal area", part("run-dense", "density"));
            // Decode is dense in both modes: shown once, not compared.
            assertEquals("dense, as in the dense run", part("run-minference", "decode"));
            screenshot("demo-screenshot.png");
        }
    }

    /**
     * The default model and texts that ship in the repository (what {@code demo} serves without flags), with the
     * Moby-Dick excerpt as the filler from the files folder: the page shows the key.
     */
    @Test
    void theShippedDefaultModelFindsTheKeyOnThePage() throws Exception {
        Path root = SharedData.projectRoot().orElseThrow();
        Path model = root.resolve(PasskeyPrompt.SHIPPED_MODEL);
        Path texts = root.resolve(PasskeyPrompt.SHIPPED_HAYSTACK).getParent();
        try (LlamaEngine engine = new LlamaEngine(cpuSession(ModelLoader.load(model.toString(), null,
                ProgressListener.NONE)), model.getFileName().toString());
             ApiServer server = ApiServer.start(engine, new ServerSettings("127.0.0.1", 0, 1 << 20, 2, true, texts))) {
            browser.get(server.uri().toString());
            await("the files folder", () -> browser.findElements(By.cssSelector("#hay-filler option")).size() > 1);
            script("document.getElementById('hay-filler').value = '"
                    + Path.of(PasskeyPrompt.SHIPPED_HAYSTACK).getFileName() + "'");
            // A key that is not digits is the server's to refuse, and the page says why.
            setText("hay-key", "12ab");
            browser.findElement(By.id("hay-make")).click();
            await("the refusal", () -> text("hay-status").contains("pass_key must be digits"));
            // A typed key, so that the run does not depend on which key the server would draw: the tiny model
            // retrieves most five-digit keys at these lengths, not every one (../shared/README.md: 20 of 20 trials
            // at 1K and 2K; a drawn 19084 was once answered "188844955").
            setText("hay-key", "58213");
            for (int tokens : new int[] {1024, 2048}) {
                String status = runHaystack(tokens, 8);
                String passKey = status.replaceAll(".*pass key (\\d+).*", "$1");
                assertEquals("58213", passKey, status);
                // As in PasskeyPrompt: the key must come first; the tiny model may run on with more digits.
                assertTrue(part("run-dense", "answer").startsWith(" " + passKey),
                        "the answer names the pass key " + passKey + ": " + part("run-dense", "answer"));
                assertEquals("done", state("run-minference"), part("run-minference", "status"));
                assertTrue(part("run-minference", "answer").startsWith(" " + passKey),
                        "the sparse run names the pass key " + passKey + ": " + part("run-minference", "answer"));
            }
            screenshot("demo-screenshot-passkey.png");
        }
    }

    /**
     * The page's side of a build where both modes run, with a scripted engine (dense five times slower, and a pattern
     * from a hand-made index): both latencies, the speedup, two chart series and the pattern drawn cell by cell.
     */
    @Test
    void withBothModesThePageShowsTheSpeedupAndDrawsThePattern() throws Exception {
        SparseIndex index = new SparseIndex(0, 1, 256, 4, 4);
        index.addRange(0, 0, 0, 64);
        index.addRange(0, 1, 0, 64);
        index.addColumn(0, 1, 100);
        index.addRange(0, 2, 128, 192);
        index.addRange(0, 3, 0, 64);
        index.addRange(0, 3, 192, 256);
        PatternPicture picture = PatternPicture.of(KeptKeys.of(index, 0), 1, 2, "vertical-slash", 128);
        try (ApiServer server = ApiServer.start(new ScriptedEngine(false, 1, picture),
                new ServerSettings("127.0.0.1", 0, 1 << 20, 2, true, null))) {
            browser.get(server.uri().toString());
            await("the model's description", () -> text("model-info").contains("scripted"));
            runHaystack(256, 3);
            assertEquals("done", state("run-minference"), part("run-minference", "status"));
            assertEquals("0.500 s", part("run-dense", "prefill"));
            assertEquals("0.100 s", part("run-minference", "prefill"));
            assertEquals("minference (scripted patterns)", part("run-minference", "path"));
            assertEquals("xxx", part("run-minference", "answer"));
            assertTrue(text("speedup").contains("5.00×"), text("speedup"));
            assertTrue(text("speedup").contains("computing 20.0% of the causal area"), text("speedup"));
            assertEquals("20.0% of the causal area", part("run-minference", "density"));
            assertEquals(1L, script("return LatencyChart.points('minference').length"));
            assertTrue(text("pattern-caption").startsWith("layer 1, head 2 (vertical-slash), 256 tokens: 5 ranges,"
                    + " 1 columns"), text("pattern-caption"));
            // 320 px for 4 cells: cell (row 0, col 0) kept, (0, 3) masked, (2, 0) skipped, (2, 2) kept
            assertTrue(bluePixel(40, 40), "kept block drawn blue");
            assertEquals(0L, script("return document.getElementById('pattern').getContext('2d')"
                    + ".getImageData(280, 40, 1, 1).data[3]"), "the masked future stays empty");
            assertFalse(bluePixel(40, 200), "a skipped block is grey");
            assertTrue(bluePixel(200, 200), "the diagonal block is kept");
            screenshot("demo-screenshot-scripted.png");
        }
    }

    private static boolean bluePixel(int x, int y) {
        Object rgba = script("return Array.from(document.getElementById('pattern').getContext('2d')"
                + ".getImageData(" + x + ", " + y + ", 1, 1).data)");
        List<?> c = (List<?>) rgba;
        long r = ((Number) c.get(0)).longValue(), b = ((Number) c.get(2)).longValue();
        return b > r + 60;
    }

    /** Makes a haystack of about {@code tokens} tokens and runs it in both modes; returns the haystack's status. */
    private static String runHaystack(int tokens, int maxTokens) throws InterruptedException {
        setValue("hay-tokens", tokens);
        browser.findElement(By.id("hay-make")).click();
        await("the haystack", () -> text("hay-status").contains("tokens, pass key")
                && browser.findElement(By.id("hay-make")).isEnabled());
        String status = text("hay-status");
        setValue("max-tokens", maxTokens);
        String runsBefore = runsFinished();
        browser.findElement(By.id("run")).click();
        await("both runs", () -> !runsFinished().equals(runsBefore));
        assertEquals("done", state("run-dense"), part("run-dense", "status"));
        return status;
    }

    private static String pagePrompt() {
        return script("return document.getElementById('context').value") + " "
                + script("return document.getElementById('question').value");
    }

    private static void setText(String id, String value) {
        WebElement input = browser.findElement(By.id(id));
        input.clear();
        input.sendKeys(value);
    }

    private static void setValue(String id, int value) {
        setText(id, String.valueOf(value));
    }

    private static void screenshot(String name) throws Exception {
        File shot = browser.getScreenshotAs(OutputType.FILE);
        Path target = Path.of("target", name);
        Files.createDirectories(target.getParent());
        Files.copy(shot.toPath(), target, StandardCopyOption.REPLACE_EXISTING);
        assertTrue(Files.size(target) > 10_000, "a real screenshot");
    }

    /** Polls the page until {@code done}, for three minutes at most. */
    private static void await(String what, BooleanSupplier done) throws InterruptedException {
        long deadline = System.nanoTime() + 180_000_000_000L;
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("the page never showed " + what);
            Thread.sleep(50);
        }
    }

    private static Object script(String code) {
        return ((JavascriptExecutor) browser).executeScript(code);
    }

    private static String text(String id) {
        return (String) script("return document.getElementById('" + id + "').textContent");
    }

    /** The page counts the runs it finished in body's data-runs. */
    private static String runsFinished() {
        return (String) script("return document.body.dataset.runs || '0'");
    }

    private static String state(String id) {
        return (String) script("return document.getElementById('" + id + "').dataset.state || ''");
    }

    private static String part(String id, String name) {
        return (String) script("return document.querySelector('#" + id + " ." + name + "').textContent");
    }
}
