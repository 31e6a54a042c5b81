package dev.momstream.trainer.export;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.momstream.trainer.checkpoint.Manifest;
import dev.momstream.trainer.config.MomConfig;
import dev.momstream.trainer.config.RouterKind;
import dev.momstream.trainer.model.Fixtures;
import dev.momstream.trainer.model.MomModel;
import dev.momstream.trainer.model.ParamLayout;
import dev.momstream.trainer.model.ParamSpec;
import dev.momstream.trainer.onnx.OnnxExport;
import dev.momstream.trainer.onnx.OnnxModel;
import dev.momstream.trainer.onnx.OnnxModelException;
import dev.momstream.trainer.onnx.proto.ModelInfo;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An export is complete and self-consistent or it is refused with a message that names the
 * file at fault; a failed export leaves nothing behind.
 */
class ExportRefusalTest {
    private static final MomConfig CONFIG = Fixtures.smallMom(2, 2, true, RouterKind.GRU);

    @TempDir
    Path dir;
    private Path export;

    @BeforeEach
    void exportOnce() throws IOException {
        try (MomModel model = Exports.randomModel(CONFIG, 1)) {
            export = OnnxExporter.export(model, OnnxExporter.Source.untrained(), dir.resolve("v1"));
        }
    }

    @Test
    void theGraphsHoldEveryParameterUnderItsCanonicalName() throws Exception {
        List<String> expected = ParamLayout.of(CONFIG).specs().stream().map(ParamSpec::name).sorted().toList();
        for (String graph : List.of(OnnxExport.SCORE, OnnxExport.DECODE)) {
            ModelInfo info = ModelInfo.parse(Files.readAllBytes(export.resolve(graph)));
            List<String> external = info.initializers().stream().filter(i -> i.location() != null)
                    .map(ModelInfo.Initializer::name).sorted().toList();
            assertEquals(expected, external, graph);
            assertTrue(info.metadata().get(OnnxExport.CONFIG_KEY).contains("\"topK\" : 2"), graph);
        }
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(export), files.toList(), "no temporary directory is left");
        }
    }

    @Test
    void aCorruptModelFileFailsItsChecksum() throws Exception {
        flipByte(export.resolve(OnnxExport.SCORE), 100);
        assertRefused("score.onnx fails its SHA-256 check");
    }

    @Test
    void aTruncatedModelFileIsRefusedEvenWithAMatchingManifest() throws Exception {
        Path decode = export.resolve(OnnxExport.DECODE);
        byte[] bytes = Files.readAllBytes(decode);
        Files.write(decode, Arrays.copyOf(bytes, bytes.length / 2));
        rewriteManifest();
        assertRefused("decode.onnx is not a valid ONNX model");
    }

    @Test
    void metadataOfAnotherConfigurationIsRefused() throws Exception {
        Path metadata = export.resolve(OnnxExport.METADATA);
        Files.writeString(metadata, Files.readString(metadata).replace("\"d\" : 16", "\"d\" : 32"));
        rewriteManifest();
        assertRefused("score.onnx was exported for a different configuration than metadata.json");
    }

    @Test
    void weightsOfAnotherConfigurationAreRefused() throws Exception {
        try (MomModel other = Exports.randomModel(CONFIG.toBuilder().width(32, 2, 8).build(), 2)) {
            Path elsewhere = OnnxExporter.export(other, OnnxExporter.Source.untrained(), dir.resolve("other"));
            Files.copy(elsewhere.resolve(OnnxExport.WEIGHTS), export.resolve(OnnxExport.WEIGHTS),
                    java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
        rewriteManifest();
        assertRefused("weights.bin has");
    }

    @Test
    void aMissingManifestOrFileIsRefused() throws Exception {
        Files.delete(export.resolve(OnnxExport.WEIGHTS));
        assertRefused("weights.bin is listed in MANIFEST.sha256 but missing");
        Files.delete(export.resolve(Manifest.FILE));
        assertRefused("is incomplete or not a model export");
    }

    @Test
    void anExistingDirectoryAndNonFiniteWeightsAreRefusedWithoutLeftovers() throws Exception {
        try (MomModel model = Exports.randomModel(CONFIG, 3)) {
            IOException exists = assertThrows(IOException.class,
                    () -> OnnxExporter.export(model, OnnxExporter.Source.untrained(), export));
            assertTrue(exists.getMessage().contains("already exists"), exists.getMessage());
            float[] nan = new float[CONFIG.d()];
            nan[3] = Float.NaN;
            Exports.overwrite(model, "lnf.gamma", nan);
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> OnnxExporter.export(model, OnnxExporter.Source.untrained(), dir.resolve("v2")));
            assertTrue(e.getMessage().contains("lnf.gamma contains NaN"), e.getMessage());
        }
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(export), files.toList(), "neither v2 nor a temporary directory exists");
        }
    }

    private void assertRefused(String fragment) {
        OnnxModelException e = assertThrows(OnnxModelException.class, () -> OnnxModel.load(export, Exports.OPTIONS));
        assertTrue(e.getMessage().contains(fragment), e.getMessage());
        assertTrue(e.getMessage().contains(export.toString()), e.getMessage());
    }

    private static void flipByte(Path file, int at) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        bytes[at] ^= 0x5A;
        Files.write(file, bytes);
    }

    /** What a tamperer who also rewrites the manifest would do. */
    private void rewriteManifest() throws IOException {
        Map<String, String> digests = new LinkedHashMap<>();
        for (String f : List.of(OnnxExport.WEIGHTS, OnnxExport.SCORE, OnnxExport.DECODE, OnnxExport.METADATA)) {
            digests.put(f, Manifest.sha256(export.resolve(f)));
        }
        Manifest.write(export, digests);
    }
}
