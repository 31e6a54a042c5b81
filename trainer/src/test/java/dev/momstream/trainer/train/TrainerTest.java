package dev.momstream.trainer.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.JsonNode;
import dev.momstream.trainer.checkpoint.Checkpoint;
import dev.momstream.trainer.checkpoint.CheckpointException;
import dev.momstream.trainer.config.Configs;
import dev.momstream.trainer.config.Json;
import dev.momstream.trainer.config.MomConfig;
import dev.momstream.trainer.config.ModelSize;
import dev.momstream.trainer.config.Preset;
import dev.momstream.trainer.data.WindowSampler;
import dev.momstream.trainer.engine.NoGrad;
import dev.momstream.trainer.model.Fixtures;
import dev.momstream.trainer.model.MomModel;
import dev.momstream.trainer.model.RoutingPolicy;
import dev.momstream.trainer.model.TokenBatch;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainerTest {
    /** Tiny MoM with dropout on, so that resuming must also reproduce the random draws. */
    private static final MomConfig MODEL = Preset.MOM.at(ModelSize.TINY).toBuilder()
            .vocabSize(512).width(32, 4, 16).dropout(0.1).build();
    /** Clip at 0.05: every step clips, so the global norm must also be reproduced bit for bit. */
    private static final TrainConfig TRAIN = TrainConfig.defaults().toBuilder().batch(4, 2).lr(3e-3).warmupSteps(3)
            .totalSteps(12).gradClip(0.05).seed(7).maxBadSteps(3).build();

    private static int[] stream() {
        Random r = new Random(99);
        int[] tokens = new int[20_000];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = r.nextInt(MODEL.vocabSize());
        }
        return tokens;
    }

    private static List<int[][]> micro(WindowSampler s) {
        return List.of(s.next(TRAIN.batchSize()), s.next(TRAIN.batchSize()));
    }

    private static JsonNode cursor(WindowSampler s) {
        return Json.MAPPER.valueToTree(s.cursor());
    }

    @Test
    void resumedRunIsBitwiseEqualToAnUninterruptedOne(@TempDir Path dir) throws IOException {
        int[] tokens = stream();
        Map<String, byte[]> straight;
        try (Trainer trainer = Trainer.fresh(new Configs(MODEL, TRAIN), "cpu")) {
            WindowSampler s = new WindowSampler(tokens, MODEL.contextLength() + 1, TRAIN.seed());
            for (int i = 0; i < 12; i++) {
                trainer.step(micro(s));
            }
            straight = snapshot(trainer);
        }

        Path ckpt = dir.resolve("step-6");
        try (Trainer trainer = Trainer.fresh(new Configs(MODEL, TRAIN), "cpu")) {
            WindowSampler s = new WindowSampler(tokens, MODEL.contextLength() + 1, TRAIN.seed());
            for (int i = 0; i < 6; i++) {
                trainer.step(micro(s));
            }
            Checkpoint.save(trainer, ckpt, cursor(s));
        }
        Map<String, byte[]> resumed;
        try (Trainer trainer = Checkpoint.loadTrainer(ckpt, Device.cpu())) {
            churnGarbage(); // loaded weights must own their memory, not the file buffers'
            Checkpoint.State state = Checkpoint.readState(ckpt);
            assertEquals(6, state.step());
            assertEquals(6L * 2 * 4 * 16, state.tokensSeen());
            WindowSampler s = new WindowSampler(tokens, MODEL.contextLength() + 1, TRAIN.seed());
            s.seek(Json.MAPPER.treeToValue(state.cursor(), WindowSampler.Cursor.class));
            for (int i = 0; i < 6; i++) {
                StepResult r = trainer.step(micro(s));
                assertTrue(r.gradNorm() > TRAIN.gradClip(), "clipping must be active");
            }
            resumed = snapshot(trainer);
        }
        assertEquals(straight.keySet(), resumed.keySet());
        for (String name : straight.keySet()) {
            assertArrayEquals(straight.get(name), resumed.get(name), name + " differs after resume");
        }
    }

    /** Garbage-collects hard and reuses freed direct memory. */
    private static void churnGarbage() {
        for (int i = 0; i < 5; i++) {
            System.gc();
            ByteBuffer junk = ByteBuffer.allocateDirect(8 << 20);
            while (junk.hasRemaining()) {
                junk.put((byte) 0x7f);
            }
        }
    }

    /** Parameters and both moments, as raw bytes. */
    private static Map<String, byte[]> snapshot(Trainer t) {
        Map<String, byte[]> out = new LinkedHashMap<>();
        t.model().params().all().forEach((k, v) -> out.put(k, bytes(v)));
        t.optimizer().firstMoments().forEach((k, v) -> out.put("m." + k, bytes(v)));
        t.optimizer().secondMoments().forEach((k, v) -> out.put("v." + k, bytes(v)));
        return out;
    }

    private static byte[] bytes(NDArray a) {
        ByteBuffer b = a.toByteBuffer();
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }

    @Test
    void corruptOrMismatchedCheckpointsAreRefusedNamingTheFile(@TempDir Path dir) throws IOException {
        Path good = dir.resolve("good");
        try (Trainer trainer = new Trainer(MomModel.create(MODEL, Device.cpu(), DataType.FLOAT32, 1), TRAIN)) {
            WindowSampler s = new WindowSampler(stream(), MODEL.contextLength() + 1, 1);
            trainer.step(micro(s));
            Checkpoint.save(trainer, good, cursor(s));
            IOException exists = assertThrows(IOException.class, () -> Checkpoint.save(trainer, good, null));
            assertTrue(exists.getMessage().contains("already exists"));
        }
        try (MomModel loaded = Checkpoint.loadModel(good, Device.cpu())) {
            assertEquals(MODEL, loaded.config());
        }
        for (String file : List.of(Checkpoint.MODEL, Checkpoint.OPTIMIZER, Checkpoint.STATE, Checkpoint.CONFIG)) {
            Path bad = copy(good, dir.resolve("flipped-" + file));
            byte[] data = Files.readAllBytes(bad.resolve(file));
            data[data.length / 2] ^= 0x01;
            Files.write(bad.resolve(file), data);
            CheckpointException e = assertThrows(CheckpointException.class,
                    () -> Checkpoint.loadTrainer(bad, Device.cpu()));
            assertTrue(e.getMessage().contains(file) && e.getMessage().contains("SHA-256"), e.getMessage());
        }
        Path noManifest = copy(good, dir.resolve("no-manifest"));
        Files.delete(noManifest.resolve("MANIFEST.sha256"));
        assertTrue(assertThrows(CheckpointException.class, () -> Checkpoint.loadModel(noManifest, Device.cpu()))
                .getMessage().contains("MANIFEST.sha256 is missing"));

        // a consistent checkpoint of another shape: the digests pass, the layout check does not
        Path other = dir.resolve("other");
        MomConfig wider = MODEL.toBuilder().width(48, 4, 16).build();
        try (Trainer trainer = new Trainer(MomModel.create(wider, Device.cpu(), DataType.FLOAT32, 1), TRAIN)) {
            Checkpoint.save(trainer, other, null);
        }
        Path mixed = copy(good, dir.resolve("mixed"));
        Files.copy(other.resolve(Checkpoint.MODEL), mixed.resolve(Checkpoint.MODEL),
                java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        rewriteManifest(mixed);
        CheckpointException e = assertThrows(CheckpointException.class, () -> Checkpoint.loadModel(mixed, Device.cpu()));
        assertTrue(e.getMessage().contains("model.safetensors has wte of shape (512, 48)"), e.getMessage());
    }

    @Test
    void nonFiniteStepsNeverReachTheWeightsAndStopTrainingAfterALimit(@TempDir Path dir) throws IOException {
        try (Trainer trainer = new Trainer(MomModel.create(MODEL, Device.cpu(), DataType.FLOAT32, 1), TRAIN)) {
            WindowSampler s = new WindowSampler(stream(), MODEL.contextLength() + 1, 1);
            StepResult ok = trainer.step(micro(s));
            assertFalse(ok.skipped());
            NDArray gamma = trainer.model().params().get("lnf.gamma");
            float[] saved = gamma.toFloatArray();
            float[] poisoned = saved.clone();
            poisoned[0] = Float.POSITIVE_INFINITY;
            try (NoGrad ignored = new NoGrad()) {
                gamma.set(poisoned);
            }
            Map<String, byte[]> before = snapshot(trainer);
            for (int i = 0; i < TRAIN.maxBadSteps() - 1; i++) {
                StepResult r = trainer.step(micro(s));
                assertTrue(r.skipped());
            }
            Map<String, byte[]> after = snapshot(trainer);
            for (String name : before.keySet()) {
                assertArrayEquals(before.get(name), after.get(name), name + " changed by a skipped step");
            }
            assertEquals(TRAIN.maxBadSteps() - 1, trainer.state().skippedSteps());
            IllegalStateException refused = assertThrows(IllegalStateException.class,
                    () -> Checkpoint.save(trainer, dir.resolve("nan"), null));
            assertTrue(refused.getMessage().contains("NaN or infinite"));
            assertFalse(Files.exists(dir.resolve("nan")));
            TrainingDivergedException stop = assertThrows(TrainingDivergedException.class,
                    () -> trainer.step(micro(s)));
            assertTrue(stop.getMessage().contains(TRAIN.maxBadSteps() + " consecutive steps"), stop.getMessage());

            try (NoGrad ignored = new NoGrad()) {
                gamma.set(saved);
            }
            assertFalse(trainer.step(micro(s)).skipped());
            assertEquals(0, trainer.state().consecutiveBad());
        }
    }

    /** The trainer owns its model: closing it frees the weights, also when it could not be made. */
    @Test
    void closingTheTrainerClosesItsModel() {
        Trainer trainer = Trainer.fresh(new Configs(MODEL, TRAIN), "cpu");
        NDArray wte = trainer.model().params().get("wte");
        NDArray moment = trainer.optimizer().firstMoments().get("wte");
        trainer.close();
        assertTrue(wte.isReleased() && moment.isReleased());

        MomModel orphan = MomModel.create(MODEL, Device.cpu(), DataType.FLOAT32, 1);
        TrainConfig bad = TRAIN.toBuilder().batch(0, 1).build();
        assertThrows(IllegalArgumentException.class, () -> new Trainer(orphan, bad));
        assertTrue(orphan.params().get("wte").isReleased(), "a refused model must not leak");
    }

    @Test
    void badInputsFailWithClearMessages() {
        try (MomModel model = MomModel.create(MODEL, Device.cpu(), DataType.FLOAT32, 1);
                NDManager m = model.params().newStepManager();
                NoGrad ignored = new NoGrad()) {
            IllegalArgumentException range = assertThrows(IllegalArgumentException.class, () -> model.forward(m,
                    new TokenBatch(new long[] {1, 2, 512, 3}, 1, 4), false, RoutingPolicy.TOP_K));
            assertEquals("token id 512 at position 2 is out of range [0, 512)", range.getMessage());
            IllegalArgumentException tooLong = assertThrows(IllegalArgumentException.class, () -> model.forward(m,
                    Fixtures.randomTokens(1, 17, 512, 1), false, RoutingPolicy.TOP_K));
            assertEquals("sequence of 17 tokens is longer than the model's context of 16", tooLong.getMessage());
        }
        IllegalArgumentException ragged = assertThrows(IllegalArgumentException.class,
                () -> TokenBatch.inputsAndTargets(new int[][] {{1, 2, 3}, {1, 2}}));
        assertTrue(ragged.getMessage().contains("window 1 has 2 tokens, expected 3"));
        IllegalArgumentException train = assertThrows(IllegalArgumentException.class,
                () -> TrainConfig.defaults().toBuilder().batch(0, 1).lr(-1).betas(0.9, 1.0).build().validate());
        assertTrue(train.getMessage().contains("batchSize=0 must be at least 1")
                && train.getMessage().contains("lr=-1.0 must be positive")
                && train.getMessage().contains("betas must be in [0, 1)"), train.getMessage());
    }

    private static Path copy(Path from, Path to) throws IOException {
        Files.createDirectories(to);
        try (var files = Files.list(from)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Files.copy(f, to.resolve(f.getFileName()));
            }
        }
        return to;
    }

    private static void rewriteManifest(Path dir) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (String f : List.of(Checkpoint.CONFIG, Checkpoint.MODEL, Checkpoint.OPTIMIZER, Checkpoint.STATE)) {
            sb.append(dev.momstream.trainer.checkpoint.Manifest.sha256(dir.resolve(f))).append("  ").append(f).append('\n');
        }
        Files.writeString(dir.resolve("MANIFEST.sha256"), sb.toString());
    }
}
