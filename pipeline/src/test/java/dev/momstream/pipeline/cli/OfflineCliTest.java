package dev.momstream.pipeline.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.momstream.trainer.config.Json;
import dev.momstream.trainer.run.MetricsLog;
import dev.momstream.trainer.run.StepMetrics;
import java.awt.image.BufferedImage;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The offline commands as a user runs them, on real files. */
class OfflineCliTest {
    /** A small model so that the CLI tests take seconds: vocab stays GPT-2's. */
    private static final String[] SMALL = {"--d=32", "--heads=2", "--contextLength=16", "--batchSize=4",
        "--warmupSteps=2"};

    private static String[] args(String[] head, String... tail) {
        String[] all = new String[head.length + SMALL.length + tail.length];
        System.arraycopy(head, 0, all, 0, head.length);
        System.arraycopy(SMALL, 0, all, head.length, SMALL.length);
        System.arraycopy(tail, 0, all, head.length + SMALL.length, tail.length);
        return all;
    }

    @Test
    void inspectReportsGpt2SmallParameterCount() throws Exception {
        CliRun r = CliRun.of("inspect", "--preset", "vanilla", "--size", "small", "--json");
        assertEquals(0, r.exit(), r.err());
        JsonNode report = Json.MAPPER.readTree(r.out());
        assertEquals(124_439_808L, report.get("parameters").asLong());
        assertEquals(12, report.get("depth").asInt());
        CliRun text = CliRun.of("inspect", "--preset", "vanilla", "--size", "small");
        assertTrue(text.out().contains("124,439,808"), text.out());
    }

    @Test
    void trainResumeEvalAndPlotOnTheBundledCorpus(@TempDir Path dir) throws Exception {
        Path run = dir.resolve("run");
        CliRun first = CliRun.of(args(new String[] {"train", "--steps", "6", "--out", run.toString(),
            "--eval-every", "3", "--eval-tokens", "512", "--checkpoint-every", "3", "--json"}));
        assertEquals(0, first.exit(), first.err());
        JsonNode summary = Json.MAPPER.readTree(first.out());
        assertEquals(6, summary.get("endStep").asInt());
        assertEquals(6L * 4 * 16, summary.get("tokens").asLong());
        assertTrue(Files.isDirectory(run.resolve("checkpoints/step-00000003")));
        assertTrue(Files.isDirectory(run.resolve("checkpoints/step-00000006")));

        CliRun again = CliRun.of(args(new String[] {"train", "--steps", "8", "--out", run.toString()}));
        assertEquals(1, again.exit());
        assertTrue(again.err().contains("pass --resume"), again.err());

        CliRun resumed = CliRun.of(args(new String[] {"train", "--steps", "8", "--out", run.toString(),
            "--resume", "--eval-tokens", "512", "--json"}));
        assertEquals(0, resumed.exit(), resumed.err());
        assertEquals(6, Json.MAPPER.readTree(resumed.out()).get("startStep").asInt());

        List<StepMetrics> rows = MetricsLog.read(run.resolve(MetricsLog.FILE));
        assertEquals(8, rows.size());
        for (int i = 0; i < rows.size(); i++) {
            assertEquals(i, rows.get(i).step());
            assertTrue(rows.get(i).shares().containsKey("c0.r3.ffn.skip"), rows.get(i).shares().toString());
        }
        assertTrue(rows.get(2).valLoss() != null && rows.get(3).valLoss() == null);

        CliRun eval = CliRun.of("eval", "--checkpoint", run.resolve("checkpoints/step-00000008").toString(),
                "--eval-tokens", "512", "--json");
        assertEquals(0, eval.exit(), eval.err());
        JsonNode e = Json.MAPPER.readTree(eval.out());
        assertEquals(8, e.get("step").asInt());
        assertEquals(Math.exp(e.get("loss").asDouble()), e.get("perplexity").asDouble(), 1e-6);

        Files.delete(run.resolve("loss.png"));
        CliRun plot = CliRun.of("plot", run.toString());
        assertEquals(0, plot.exit(), plot.err());
        BufferedImage loss = ImageIO.read(run.resolve("loss.png").toFile());
        BufferedImage routing = ImageIO.read(run.resolve("routing.png").toFile());
        assertTrue(loss != null && loss.getWidth() >= 400, "loss.png is a chart-sized PNG");
        assertTrue(routing.getHeight() > 8 * 26, "one row per (chunk, step, round): 8 rows");
    }

    /**
     * A second writer on one --out is refused before it touches anything, naming the PID the
     * holder wrote into the lock file; once the holder lets go, the directory is free.
     */
    @Test
    void aSecondTrainOnALockedOutIsRefusedNamingTheHoldersPid(@TempDir Path dir) throws Exception {
        Path run = Files.createDirectories(dir.resolve("run"));
        String[] train = args(new String[] {"train", "--steps", "2", "--out", run.toString(), "--eval-tokens", "64"});
        try (FileChannel holder = FileChannel.open(run.resolve("mom.lock"), StandardOpenOption.CREATE,
                StandardOpenOption.READ, StandardOpenOption.WRITE);
             FileLock lock = holder.lock()) {
            holder.write(ByteBuffer.wrap("4242\n".getBytes(StandardCharsets.UTF_8)));
            CliRun refused = CliRun.of(train);
            assertEquals(1, refused.exit(), refused.out());
            assertTrue(refused.err().contains("error: " + run + " is in use by another mom process (PID 4242"),
                    refused.err());
            try (Stream<Path> files = Files.list(run)) {
                assertEquals(List.of(run.resolve("mom.lock")), files.toList(), "the refused run wrote nothing");
            }
        }
        CliRun free = CliRun.of(train);
        assertEquals(0, free.exit(), free.err());
        assertEquals(ProcessHandle.current().pid() + "\n", Files.readString(run.resolve("mom.lock")));
    }

    @Test
    void trainSkipsAndListsTheFilesItCannotUseAndTrainsOnTheRest(@TempDir Path dir) throws Exception {
        HostileCorpus corpus = HostileCorpus.create(dir.resolve("in"));
        CliRun r = CliRun.of(args(new String[] {"train", "--data", corpus.path().toString(), "--steps", "2", "--out",
            dir.resolve("run").toString(), "--eval-tokens", "256", "--json"}));
        assertEquals(0, r.exit(), r.err());
        Map<String, String> expected = new TreeMap<>(corpus.unreadable());
        expected.put(corpus.path().resolve("d-latin1.txt").toString(), "not valid UTF-8");
        expected.put(corpus.path().resolve("e-binary.txt").toString(), "not valid UTF-8 (first invalid byte at offset 0)");
        Map<String, String> skipped = new TreeMap<>();
        for (JsonNode s : Json.MAPPER.readTree(r.out()).get("skippedFiles")) {
            skipped.put(s.get("path").asText(), s.get("reason").asText());
        }
        assertEquals(expected.keySet(), skipped.keySet(), skipped.toString());
        expected.forEach((path, reason) -> assertTrue(skipped.get(path).contains(reason), path + ": " + skipped.get(path)));
        assertTrue(r.err().contains("skipped " + expected.size() + " corpus entries that could not be used:"), r.err());
        expected.keySet().forEach(path -> assertTrue(r.err().contains("  " + path + ": "), "not listed: " + path));
    }

    /** A tampered checkpoint is never evaluated or continued; --resume never starts over silently. */
    @Test
    void tamperedCheckpointsAreRefusedAndResumeFallsBackOrStops(@TempDir Path dir) throws Exception {
        Path run = dir.resolve("run");
        Path checkpoints = run.resolve("checkpoints");
        CliRun first = CliRun.of(args(new String[] {"train", "--steps", "4", "--checkpoint-every", "2", "--out",
            run.toString(), "--eval-tokens", "256"}));
        assertEquals(0, first.exit(), first.err());

        // the attack that passed before: other weights and an emptied manifest
        Path step4 = checkpoints.resolve("step-00000004");
        Path emptied = Files.createDirectories(dir.resolve("emptied"));
        try (var files = Files.list(step4)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Files.copy(f, emptied.resolve(f.getFileName()));
            }
        }
        flipByte(emptied.resolve("model.safetensors"));
        Files.writeString(emptied.resolve("MANIFEST.sha256"), "");
        CliRun eval = CliRun.of("eval", "--checkpoint", emptied.toString(), "--eval-tokens", "256");
        assertEquals(1, eval.exit(), eval.out());
        assertTrue(eval.err().contains("MANIFEST.sha256 does not list config.json"), eval.err());

        flipByte(step4.resolve("model.safetensors"));
        CliRun resumed = CliRun.of(args(new String[] {"train", "--steps", "6", "--out", run.toString(), "--resume",
            "--eval-tokens", "256", "--json"}));
        assertEquals(0, resumed.exit(), resumed.err());
        JsonNode summary = Json.MAPPER.readTree(resumed.out());
        assertEquals(2, summary.get("startStep").asInt());
        assertEquals(checkpoints.resolve("step-00000002").toUri().toString(), summary.get("resumedFrom").asText());
        assertTrue(resumed.err().contains("warning: --resume refused " + step4 + ": checkpoint " + step4
                + ": model.safetensors fails its SHA-256 check"), resumed.err());
        try (var aside = Files.list(checkpoints)) {
            assertEquals(1, aside.filter(p -> p.getFileName().toString().startsWith("step-00000004.refused-")).count(),
                    "the refused checkpoint is kept, moved aside");
        }
        assertTrue(Files.isDirectory(checkpoints.resolve("step-00000006")));

        for (String step : List.of("step-00000002", "step-00000006")) {
            flipByte(checkpoints.resolve(step).resolve("state.json"));
        }
        long logged = MetricsLog.read(run.resolve(MetricsLog.FILE)).size();
        CliRun none = CliRun.of(args(new String[] {"train", "--steps", "8", "--out", run.toString(), "--resume",
            "--eval-tokens", "256"}));
        assertEquals(1, none.exit(), none.out());
        assertTrue(none.err().contains("--resume: none of the 2 checkpoints in " + checkpoints + " loads")
                && none.err().contains("refusing to start over"), none.err());
        assertEquals(logged, MetricsLog.read(run.resolve(MetricsLog.FILE)).size(), "nothing was trained");
    }

    private static void flipByte(Path file) throws java.io.IOException {
        byte[] data = Files.readAllBytes(file);
        data[data.length / 2] ^= 0x01;
        Files.write(file, data);
    }

    @Test
    void twoPhaseInitFromAVanillaRun(@TempDir Path dir) throws Exception {
        Path vanilla = dir.resolve("vanilla");
        // the tiny MoM (B=1, C=1 of 2 modules + anchor) starts from a 4-layer vanilla model
        CliRun v = CliRun.of(args(new String[] {"train", "--preset", "vanilla", "--steps", "2", "--out",
            vanilla.toString(), "--eval-tokens", "256"}));
        assertEquals(0, v.exit(), v.err());
        CliRun m = CliRun.of(args(new String[] {"train", "--preset", "mom", "--steps", "2", "--out",
            dir.resolve("mom").toString(), "--init-from", vanilla.resolve("checkpoints/step-00000002").toString(),
            "--eval-tokens", "256", "--json"}));
        assertEquals(0, m.exit(), m.err());
        CliRun wrong = CliRun.of(args(new String[] {"train", "--preset", "mom", "--steps", "2", "--N_A=3",
            "--out", dir.resolve("bad").toString(), "--init-from",
            vanilla.resolve("checkpoints/step-00000002").toString()}));
        assertEquals(1, wrong.exit());
        assertTrue(wrong.err().contains("needs a vanilla model of 5 layers"), wrong.err());
    }

    @Test
    void badArgumentsGiveClearErrors() {
        CliRun unknown = CliRun.of("inspect", "--depth=3");
        assertEquals(2, unknown.exit());
        assertTrue(unknown.err().contains("unknown option '--depth'; config overrides are --key=value; model keys:"),
                unknown.err());
        CliRun invalid = CliRun.of("inspect", "--d=100", "--heads=3");
        assertEquals(1, invalid.exit());
        assertTrue(invalid.err().contains("d=100 is not divisible by heads=3"), invalid.err());
        CliRun k = CliRun.of("inspect", "--N_A=3", "--K=5");
        assertTrue(k.err().contains("K=5 exceeds the attention pool of 3 modules + SKIP"), k.err());
    }
}
