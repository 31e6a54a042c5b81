package dev.momstream.pipeline.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.momstream.trainer.checkpoint.Checkpoint;
import dev.momstream.trainer.config.Json;
import dev.momstream.trainer.data.Gpt2Tokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code mom export}, {@code mom eval --model} and {@code mom generate} as a user runs them. */
class OnnxCliTest {
    private static final String TEXT = "Fellow citizens of the Senate and of the House of Representatives";
    /** Three tokens: room for 12 more in the test model's context of 16. */
    private static final String PROMPT = "Fellow citizens";
    private static Path run;
    private static Path checkpoint;
    private static Path model;

    @BeforeAll
    static void trainAndExport(@TempDir Path dir) throws Exception {
        run = dir.resolve("run");
        CliRun train = CliRun.of("train", "--steps", "2", "--out", run.toString(), "--eval-tokens", "256",
                "--d=32", "--heads=2", "--contextLength=16", "--batchSize=4", "--warmupSteps=1");
        assertEquals(0, train.exit(), train.err());
        checkpoint = run.resolve("checkpoints/step-00000002");
        model = run.resolve("onnx");
        CliRun export = CliRun.of("export", checkpoint.toString(), "--out", model.toString(), "--json");
        assertEquals(0, export.exit(), export.err());
        JsonNode r = Json.MAPPER.readTree(export.out());
        assertEquals(2, r.get("step").asInt());
        assertTrue(r.get("version").isNull());
        for (String f : new String[] {"score.onnx", "decode.onnx", "weights.bin", "metadata.json", "MANIFEST.sha256"}) {
            assertTrue(Files.isRegularFile(model.resolve(f)), f);
        }
    }

    @Test
    void evalOnOnnxRuntimeMatchesTheCheckpointOnDjl() throws Exception {
        CliRun onnx = CliRun.of("eval", "--model", model.toString(), "--eval-tokens", "512", "--json");
        assertEquals(0, onnx.exit(), onnx.err());
        CliRun djl = CliRun.of("eval", "--checkpoint", checkpoint.toString(), "--eval-tokens", "512", "--json");
        assertEquals(0, djl.exit(), djl.err());
        JsonNode o = Json.MAPPER.readTree(onnx.out());
        JsonNode d = Json.MAPPER.readTree(djl.out());
        assertEquals(d.get("tokens").asLong(), o.get("tokens").asLong());
        assertEquals(d.get("loss").asDouble(), o.get("loss").asDouble(), 1e-4);
        assertEquals("cpu", o.get("provider").asText());
    }

    @Test
    void evalOfATextReportsTheTokensItScored() throws Exception {
        CliRun r = CliRun.of("eval", "--model", model.toString(), "--text", TEXT, "--json");
        assertEquals(0, r.exit(), r.err());
        JsonNode e = Json.MAPPER.readTree(r.out());
        int[] ids = Gpt2Tokenizer.encode(TEXT);
        assertArrayEquals(ids, Json.MAPPER.convertValue(e.get("tokenIds"), int[].class));
        assertEquals(ids.length - 1, e.get("tokens").asInt());
        assertEquals(Math.exp(e.get("loss").asDouble()), e.get("perplexity").asDouble(), 1e-6);
        assertTrue(e.get("loss").asDouble() > 0);
    }

    @Test
    void generationIsRepeatableAndCachedEqualsUncached() throws Exception {
        JsonNode a = generate("--seed", "3", "--max-new-tokens", "12", "--temperature", "1.2");
        JsonNode b = generate("--seed", "3", "--max-new-tokens", "12", "--temperature", "1.2");
        assertEquals(a.get("tokenIds"), b.get("tokenIds"));
        assertEquals(3, a.get("seed").asLong());
        JsonNode cached = generate("--greedy", "--max-new-tokens", "12", "--ignore-eot");
        JsonNode uncached = generate("--greedy", "--max-new-tokens", "12", "--ignore-eot", "--no-cache");
        assertEquals(cached.get("tokenIds"), uncached.get("tokenIds"));
        assertEquals(12, cached.get("tokenIds").size());
        assertEquals(Gpt2Tokenizer.decode(Json.MAPPER.convertValue(cached.get("tokenIds"), int[].class)),
                cached.get("text").asText());
        assertTrue(cached.get("tokensPerSecond").asDouble() > 0);

        CliRun text = CliRun.of("generate", "--model", model.toString(), "--greedy", "--max-new-tokens", "5", PROMPT);
        assertEquals(0, text.exit(), text.err());
        assertTrue(text.out().startsWith(PROMPT), text.out());
        JsonNode full = generate("--greedy", "--max-new-tokens", "40", "--ignore-eot");
        assertEquals("context", full.get("stop").asText());
        assertEquals(16 - 3, full.get("tokenIds").size());
    }

    private static JsonNode generate(String... options) throws Exception {
        String[] args = Stream.concat(Stream.of("generate", "--model", model.toString(), "--json"),
                Stream.concat(Stream.of(options), Stream.of(PROMPT))).toArray(String[]::new);
        CliRun r = CliRun.of(args);
        assertEquals(0, r.exit(), r.err());
        return Json.MAPPER.readTree(r.out());
    }

    @Test
    void aStreamingCheckpointExportsAsItsVersionWithItsLineageCard(@TempDir Path dir) throws Exception {
        Path ckpt = dir.resolve("checkpoints/ckpt-7");
        Files.createDirectories(ckpt.getParent());
        try (Stream<Path> files = Files.list(checkpoint)) {
            Files.createDirectory(ckpt);
            for (Path f : files.toList()) {
                Files.copy(f, ckpt.resolve(f.getFileName()));
            }
        }
        Path card = dir.resolve("versions/v7.json");
        Files.createDirectories(card.getParent());
        Files.writeString(card, "{}");
        CliRun r = CliRun.of("export", ckpt.toString(), "--out", dir.resolve("v7-onnx").toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("version 7"), r.out());
        JsonNode meta = Json.MAPPER.readTree(Files.readString(dir.resolve("v7-onnx/metadata.json")));
        assertEquals(7, meta.get("version").asLong());
        assertEquals(card.toString(), meta.get("lineageCard").asText());
    }

    @Test
    void mistakesGetClearErrors(@TempDir Path dir) throws Exception {
        CliRun again = CliRun.of("export", checkpoint.toString(), "--out", model.toString());
        assertEquals(1, again.exit());
        assertTrue(again.err().contains("already exists"), again.err());

        CliRun both = CliRun.of("eval", "--model", model.toString(), "--checkpoint", checkpoint.toString());
        assertEquals(1, both.exit());
        assertTrue(both.err().contains("exactly one of --checkpoint DIR (DJL) or --model DIR"), both.err());
        CliRun textOnCheckpoint = CliRun.of("eval", "--checkpoint", checkpoint.toString(), "--text", TEXT);
        assertTrue(textOnCheckpoint.err().contains("--text scores with an exported model"), textOnCheckpoint.err());

        Path tampered = dir.resolve("tampered");
        Files.createDirectory(tampered);
        try (Stream<Path> files = Files.list(model)) {
            for (Path f : files.toList()) {
                Files.copy(f, tampered.resolve(f.getFileName()));
            }
        }
        byte[] score = Files.readAllBytes(tampered.resolve("score.onnx"));
        score[score.length / 2] ^= 1;
        Files.write(tampered.resolve("score.onnx"), score);
        CliRun corrupt = CliRun.of("generate", "--model", tampered.toString(), "hello");
        assertEquals(1, corrupt.exit());
        assertTrue(corrupt.err().contains("score.onnx fails its SHA-256 check"), corrupt.err());

        CliRun notAModel = CliRun.of("eval", "--model", checkpoint.toString(), "--text", TEXT);
        assertEquals(1, notAModel.exit());
        assertTrue(notAModel.err().contains("is a trainer checkpoint, not a model export"), notAModel.err());
        Checkpoint.delete(tampered);
    }
}
