package dev.momstream.operators.export;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.momstream.kafka.records.ModelEvent;
import dev.momstream.operators.train.LineageCard;
import dev.momstream.operators.train.RunLayout;
import dev.momstream.trainer.checkpoint.Checkpoint;
import dev.momstream.trainer.checkpoint.Manifest;
import dev.momstream.trainer.config.Configs;
import dev.momstream.trainer.config.ModelSize;
import dev.momstream.trainer.config.Preset;
import dev.momstream.trainer.export.OnnxExporter;
import dev.momstream.trainer.onnx.ExportMetadata;
import dev.momstream.trainer.onnx.OnnxExport;
import dev.momstream.trainer.onnx.OnnxModel;
import dev.momstream.trainer.onnx.OnnxModelException;
import dev.momstream.trainer.train.TrainConfig;
import dev.momstream.trainer.train.Trainer;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Published versions become servable exports, with real checkpoints, real exports and real files. */
class VersionExporterTest {

    private static final Configs CONFIGS = new Configs(
            Preset.MOM.at(ModelSize.TINY).toBuilder().vocabSize(97).width(32, 2, 16).build(),
            TrainConfig.defaults().toBuilder().batch(2, 1).build());

    @TempDir
    Path runDir;

    private RunLayout layout;
    private final AtomicInteger exports = new AtomicInteger();
    private final List<VersionExporter.Failure> failures = new ArrayList<>();

    @BeforeEach
    void layout() {
        layout = new RunLayout(runDir);
    }

    /** A version published as the train operator publishes it: its trainer checkpoint and its card. */
    private ModelEvent publish(long version) throws IOException {
        Path dir = layout.checkpoint(version);
        try (Trainer trainer = Trainer.fresh(CONFIGS, "cpu")) {
            Checkpoint.save(trainer, dir, null);
        }
        String checksum = Manifest.sha256(dir.resolve(Manifest.FILE));
        Path card = layout.writeCard(new LineageCard("run", version, version * 10, version * 100, version - 1,
                (version - 1) * 10, "hash", dir.toString(), checksum, null, null, 0, List.of(), 1000 + version));
        return new ModelEvent("run", version, version * 10, version * 100, dir.toString(), card.toString(), "hash",
                null, 1000 + version);
    }

    private VersionExporter exporter(int keep, VersionExporter.Export export) {
        return new VersionExporter(layout, keep, (ckpt, v, card, out) -> {
            exports.incrementAndGet();
            return export.export(ckpt, v, card, out);
        }, Duration.ofMillis(1), Duration.ofMillis(4));
    }

    private ModelEvent announce(VersionExporter exporter, ModelEvent e) throws InterruptedException {
        return exporter.announce(e, failures::add);
    }

    @Test
    void aPublishedVersionIsAnnouncedWithItsVerifiedExport() throws Exception {
        ModelEvent published = publish(3);
        ModelEvent announced = announce(exporter(0, OnnxExporter::export), published);

        assertTrue(announced.servable());
        assertEquals(layout.onnx(3).toString(), announced.onnxPath());
        assertEquals(Manifest.sha256(layout.onnx(3).resolve(Manifest.FILE)), announced.onnxChecksum());
        assertEquals(published.withOnnx(announced.onnxPath(), announced.onnxChecksum()), announced);
        ExportMetadata m = OnnxModel.verify(layout.onnx(3));
        assertEquals(3L, m.version());
        assertEquals(Checkpoint.readState(Path.of(published.checkpointPath())).step(), m.step());
        assertEquals(published.checkpointPath(), m.checkpoint());
        assertEquals(published.lineagePath(), m.lineageCard());
        assertEquals(List.of(), failures);
    }

    @Test
    void aReplayedAnnouncementReusesTheExportAndACorruptOneIsReplaced() throws Exception {
        ModelEvent published = publish(4);
        VersionExporter exporter = exporter(0, OnnxExporter::export);
        ModelEvent first = announce(exporter, published);
        assertEquals(first, announce(exporter, published), "a restore's replay announces the same export");
        assertEquals(1, exports.get(), "the replay exported again");

        Path weights = layout.onnx(4).resolve(OnnxExport.WEIGHTS);
        try (RandomAccessFile f = new RandomAccessFile(weights.toFile(), "rw")) {
            f.seek(100);
            f.write(f.read() ^ 0x40);
        }
        ModelEvent again = announce(exporter, published);
        assertEquals(2, exports.get());
        assertTrue(again.servable());
        OnnxModel.verify(layout.onnx(4));
        Path refused;
        try (Stream<Path> entries = Files.list(layout.onnx(4).getParent())) {
            refused = entries.filter(p -> p.getFileName().toString().startsWith("onnx.refused-")).findFirst()
                    .orElseThrow(() -> new AssertionError("the corrupt export was not kept aside"));
        }
        OnnxModelException named = assertThrows(OnnxModelException.class, () -> OnnxModel.verify(refused));
        assertTrue(named.getMessage().contains(OnnxExport.WEIGHTS) && named.getMessage().contains(refused.toString()),
                named.getMessage());
        assertEquals(List.of(4L), layout.exportedVersions());
    }

    @Test
    void failuresAreReportedAndRetriedAndNothingIsHalfPublished() throws Exception {
        ModelEvent published = publish(5);
        AtomicInteger calls = new AtomicInteger();
        VersionExporter exporter = exporter(0, (ckpt, v, card, out) -> {
            if (calls.incrementAndGet() <= 2) {
                assertFalse(Files.exists(out), "a failed attempt left " + out);
                throw new IOException("No space left on device");
            }
            return OnnxExporter.export(ckpt, v, card, out);
        });
        ModelEvent announced = announce(exporter, published);
        assertTrue(announced.servable());
        assertEquals(3, calls.get());
        assertEquals(List.of(1, 2), failures.stream().map(VersionExporter.Failure::attempt).toList());
        assertTrue(failures.stream().allMatch(f -> f.version() == 5 && f.reason().contains("No space left")), failures.toString());
        assertEquals(List.of(Duration.ofMillis(1), Duration.ofMillis(2)),
                failures.stream().map(VersionExporter.Failure::retryIn).toList());
    }

    @Test
    void aVersionWhoseCheckpointIsGoneOrNotItsOwnIsAnnouncedAsNotServable() throws Exception {
        VersionExporter exporter = exporter(0, OnnxExporter::export);
        ModelEvent gone = publish(6);
        Checkpoint.delete(Path.of(gone.checkpointPath()));
        ModelEvent notServable = announce(exporter, gone);
        assertFalse(notServable.servable());
        assertTrue(notServable.onnxError().contains(gone.checkpointPath()), notServable.onnxError());

        ModelEvent tampered = publish(7);
        Files.writeString(Path.of(tampered.checkpointPath(), Manifest.FILE), "\n", StandardOpenOption.APPEND);
        ModelEvent refused = announce(exporter, tampered);
        assertNull(refused.onnxPath());
        assertTrue(refused.onnxError().contains(tampered.lineagePath()), refused.onnxError());
        assertEquals(0, exports.get(), "nothing was exported");
        assertFalse(Files.exists(layout.onnx(6)));
        assertFalse(Files.exists(layout.onnx(7)));
        assertEquals(List.of(), failures, "permanent refusals are not retried");
    }

    @Test
    void onlyTheNewestExportsAreKept() throws Exception {
        VersionExporter exporter = exporter(2, OnnxExporter::export);
        List<String> checksums = new ArrayList<>();
        for (long v = 1; v <= 3; v++) {
            checksums.add(announce(exporter, publish(v)).onnxChecksum());
        }
        assertEquals(List.of(2L, 3L), layout.exportedVersions());
        assertFalse(Files.exists(layout.onnx(1).getParent()));
        assertTrue(Files.exists(layout.card(1)), "cards stay");
        assertNotEquals(checksums.get(1), checksums.get(2));
    }
}
