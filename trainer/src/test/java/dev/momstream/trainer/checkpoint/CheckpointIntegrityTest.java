package dev.momstream.trainer.checkpoint;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import dev.momstream.trainer.config.RouterKind;
import dev.momstream.trainer.model.Fixtures;
import dev.momstream.trainer.model.MomModel;
import dev.momstream.trainer.train.TrainConfig;
import dev.momstream.trainer.train.Trainer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * A checkpoint loads only as it was written: the manifest must list every file the load needs
 * and every file present, each must match its digest, and no stored tensor may hold NaN or
 * infinity. Each tampering below was accepted before (an empty manifest verified nothing).
 */
class CheckpointIntegrityTest {

    @TempDir
    static Path dir;
    private static Path good;

    @BeforeAll
    static void saveOne() throws IOException {
        good = dir.resolve("good");
        try (MomModel model = Fixtures.model(Fixtures.smallMom(1, 2, true, RouterKind.GRU), DataType.FLOAT32, 1);
                Trainer trainer = new Trainer(model, TrainConfig.defaults())) {
            Checkpoint.save(trainer, good, null);
        }
    }

    @Test
    void anIntactCheckpointLoads() throws IOException {
        Checkpoint.verify(good);
        try (MomModel m = Checkpoint.loadModel(good, Device.cpu())) {
            assertEquals(61, m.config().vocabSize());
        }
        try (Trainer t = Checkpoint.loadTrainer(good, Device.cpu())) {
            t.model().close();
        }
    }

    @Test
    void anEmptyManifestIsARefusalNotLessToCheck() throws IOException {
        // what an attacker did: other weights and step, manifest emptied
        Path bad = copy("emptied");
        flipByte(bad.resolve(Checkpoint.MODEL));
        Files.writeString(bad.resolve(Checkpoint.STATE),
                Files.readString(bad.resolve(Checkpoint.STATE)).replaceFirst("\"step\" : 0", "\"step\" : 7777"));
        Files.writeString(bad.resolve(Manifest.FILE), "");
        refused(bad, "MANIFEST.sha256 does not list config.json, which the checkpoint needs");
    }

    @Test
    void aMissingLineIsARefusal() throws IOException {
        Path bad = copy("unlisted-model");
        rewriteManifest(bad, List.of(Checkpoint.CONFIG, Checkpoint.OPTIMIZER, Checkpoint.STATE));
        refused(bad, "MANIFEST.sha256 does not list model.safetensors");

        Path noOptimizer = copy("unlisted-optimizer");
        rewriteManifest(noOptimizer, List.of(Checkpoint.CONFIG, Checkpoint.MODEL, Checkpoint.STATE));
        refusedAs(() -> Checkpoint.loadModel(noOptimizer, Device.cpu()),
                "holds optimizer.safetensors, which MANIFEST.sha256 does not list");
        refusedAs(() -> Checkpoint.loadTrainer(noOptimizer, Device.cpu()),
                "MANIFEST.sha256 does not list optimizer.safetensors");

        Path modelOnly = copy("model-only");
        Files.delete(modelOnly.resolve(Checkpoint.OPTIMIZER));
        rewriteManifest(modelOnly, List.of(Checkpoint.CONFIG, Checkpoint.MODEL, Checkpoint.STATE));
        try (MomModel m = Checkpoint.loadModel(modelOnly, Device.cpu())) {
            assertEquals(61, m.config().vocabSize(), "a model needs no optimizer");
        }
        refusedAs(() -> Checkpoint.loadTrainer(modelOnly, Device.cpu()),
                "MANIFEST.sha256 does not list optimizer.safetensors");
    }

    @Test
    void aFileThatTheManifestDoesNotListIsARefusal() throws IOException {
        Path bad = copy("extra");
        Files.writeString(bad.resolve("model.safetensors.orig"), "left behind");
        refused(bad, "holds model.safetensors.orig, which MANIFEST.sha256 does not list");

        Path twice = copy("twice");
        Files.writeString(twice.resolve(Manifest.FILE), Files.readString(twice.resolve(Manifest.FILE))
                + Files.readAllLines(twice.resolve(Manifest.FILE)).get(0) + "\n");
        refused(twice, "MANIFEST.sha256 lists config.json twice");
    }

    @Test
    void aChangedByteIsARefusal() throws IOException {
        for (String file : List.of(Checkpoint.CONFIG, Checkpoint.MODEL, Checkpoint.OPTIMIZER, Checkpoint.STATE)) {
            Path bad = copy("flipped-" + file);
            flipByte(bad.resolve(file));
            refusedAs(() -> Checkpoint.loadTrainer(bad, Device.cpu()), file + " fails its SHA-256 check");
        }
    }

    @Test
    void aNonFiniteWeightIsRefusedNamingTheTensorEvenWithAConsistentManifest() throws IOException {
        Path nan = copy("nan-weight");
        poison(nan.resolve(Checkpoint.MODEL), "chunk.0.attn.1.qkv.weight", Float.NaN);
        rewriteManifest(nan, List.of(Checkpoint.CONFIG, Checkpoint.MODEL, Checkpoint.OPTIMIZER, Checkpoint.STATE));
        Checkpoint.verify(nan); // the digests are consistent: only the values give it away
        refused(nan, "model.safetensors holds NaN or infinite values in tensor chunk.0.attn.1.qkv.weight");

        Path inf = copy("inf-moment");
        poison(inf.resolve(Checkpoint.OPTIMIZER), "v.wte", Float.POSITIVE_INFINITY);
        rewriteManifest(inf, List.of(Checkpoint.CONFIG, Checkpoint.MODEL, Checkpoint.OPTIMIZER, Checkpoint.STATE));
        refusedAs(() -> Checkpoint.loadTrainer(inf, Device.cpu()),
                "optimizer.safetensors holds NaN or infinite values in tensor v.wte");
    }

    /** Both loads refuse {@code bad} with a message that names it and says {@code why}. */
    private static void refused(Path bad, String why) {
        refusedAs(() -> Checkpoint.loadModel(bad, Device.cpu()).close(), why);
        refusedAs(() -> Checkpoint.loadTrainer(bad, Device.cpu()).close(), why);
    }

    private static void refusedAs(Executable load, String why) {
        CheckpointException e = assertThrows(CheckpointException.class, load);
        assertTrue(e.getMessage().contains(dir.toString()) && e.getMessage().contains(why), e.getMessage());
    }

    private static Path copy(String name) throws IOException {
        Path to = Files.createDirectories(dir.resolve(name));
        try (var files = Files.list(good)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                Files.copy(f, to.resolve(f.getFileName()));
            }
        }
        return to;
    }

    private static void flipByte(Path file) throws IOException {
        byte[] data = Files.readAllBytes(file);
        data[data.length - 2] ^= 0x01;
        Files.write(file, data);
    }

    /** Overwrites the first element of a float32 tensor in a safetensors file. */
    private static void poison(Path file, String tensor, float value) throws IOException {
        SafeTensors.Entry entry = SafeTensors.header(file).get(tensor);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer length = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(length, 0);
            long at = 8 + length.getLong(0) + entry.begin();
            ch.write(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putFloat(0, value), at);
        }
    }

    private static void rewriteManifest(Path dir, List<String> files) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (String f : files) {
            sb.append(Manifest.sha256(dir.resolve(f))).append("  ").append(f).append('\n');
        }
        Files.writeString(dir.resolve(Manifest.FILE), sb.toString());
    }
}
