package dev.momstream.trainer.export;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.momstream.trainer.checkpoint.Checkpoint;
import dev.momstream.trainer.checkpoint.Manifest;
import dev.momstream.trainer.config.Json;
import dev.momstream.trainer.config.MomConfig;
import dev.momstream.trainer.engine.NoGrad;
import dev.momstream.trainer.engine.TorchRuntime;
import dev.momstream.trainer.model.MomModel;
import dev.momstream.trainer.model.Params;
import dev.momstream.trainer.onnx.ExportMetadata;
import dev.momstream.trainer.onnx.InferenceOptions;
import dev.momstream.trainer.onnx.OnnxExport;
import dev.momstream.trainer.onnx.OnnxModel;
import dev.momstream.trainer.onnx.WeightsLayout;
import dev.momstream.trainer.onnx.proto.Onnx;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.UUID;

/**
 * Exports a model version to ONNX: {@value OnnxExport#SCORE} and {@value OnnxExport#DECODE}
 * (see {@link OnnxExport}) sharing one external-data file of weights, {@value OnnxExport#METADATA}
 * and {@code MANIFEST.sha256}. Like a checkpoint, the export is written to a hidden temporary
 * directory, checked by loading it the way a server will, and only then renamed into place.
 */
public final class OnnxExporter {
    private OnnxExporter() {}

    /**
     * Where the weights came from.
     *
     * @param version published model version, or null
     * @param lineageCard the version's lineage card, or null
     * @param checkpoint the trainer checkpoint, or null when exporting a model in memory
     * @param checkpointChecksum SHA-256 of the checkpoint's manifest, or null
     */
    public record Source(Long version, long step, long tokensSeen, String lineageCard, String checkpoint,
            String checkpointChecksum) {

        /** A model in memory with no training history (tests, benchmarks). */
        public static Source untrained() {
            return new Source(null, 0, 0, null, null, null);
        }
    }

    /** Exports a verified trainer checkpoint. */
    public static Path export(Path checkpoint, Long version, Path lineageCard, Path out) throws IOException {
        Path dir = checkpoint.toAbsolutePath().normalize();
        try (MomModel model = Checkpoint.loadModel(dir, Device.cpu())) {
            Checkpoint.State state = Checkpoint.readState(dir);
            Source source = new Source(version, state.step(), state.tokensSeen(),
                    lineageCard == null ? null : lineageCard.toAbsolutePath().normalize().toString(),
                    dir.toString(), Manifest.sha256(dir.resolve(Manifest.FILE)));
            return export(model, source, out);
        }
    }

    /** Exports {@code model}'s current weights to {@code out}, which must not exist yet. */
    public static Path export(MomModel model, Source source, Path out) throws IOException {
        Path target = out.toAbsolutePath().normalize();
        if (Files.exists(target)) {
            throw new IOException("export directory " + target + " already exists");
        }
        Path parent = target.getParent();
        Files.createDirectories(parent);
        Path tmp = parent.resolve("." + target.getFileName() + ".tmp-" + UUID.randomUUID());
        Files.createDirectory(tmp);
        try {
            MomConfig config = model.config();
            WeightsLayout layout = WeightsLayout.of(model.params().layout(), OnnxExport.WEIGHTS);
            Map<String, String> digests = new LinkedHashMap<>();
            digests.put(OnnxExport.WEIGHTS, writeWeights(tmp.resolve(OnnxExport.WEIGHTS), model.params(), layout));
            digests.put(OnnxExport.SCORE, Manifest.writeBytes(tmp.resolve(OnnxExport.SCORE),
                    MomGraph.score(config, layout, graphMetadata(config, "score"))));
            digests.put(OnnxExport.DECODE, Manifest.writeBytes(tmp.resolve(OnnxExport.DECODE),
                    MomGraph.decode(config, layout, graphMetadata(config, "decode"))));
            ExportMetadata metadata = new ExportMetadata(ExportMetadata.FORMAT, config, source.version(),
                    source.step(), source.tokensSeen(), source.lineageCard(), source.checkpoint(),
                    source.checkpointChecksum(), Onnx.OPSET, Onnx.IR_VERSION, ExportMetadata.GPT2_TOKENIZER,
                    Instant.now().toString());
            digests.put(OnnxExport.METADATA, Manifest.writeBytes(tmp.resolve(OnnxExport.METADATA),
                    Json.write(metadata).getBytes(StandardCharsets.UTF_8)));
            Manifest.write(tmp, digests);
            // load it as a server will (checks and ONNX Runtime sessions) before it gets its name
            OnnxModel.load(tmp, InferenceOptions.defaults().withThreads(1)).close();
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            syncDirectory(parent);
        } catch (IOException | RuntimeException e) {
            try {
                Checkpoint.delete(tmp);
            } catch (IOException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
        return target;
    }

    private static Map<String, String> graphMetadata(MomConfig config, String graph) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(OnnxExport.CONFIG_KEY, Json.write(config));
        m.put(OnnxExport.GRAPH_KEY, graph);
        m.put("mom.format", ExportMetadata.FORMAT);
        return m;
    }

    /** Writes every parameter as float32 at its place in {@code layout}; returns the file's SHA-256. */
    private static String writeWeights(Path file, Params params, WeightsLayout layout) throws IOException {
        MessageDigest digest = Manifest.newDigest();
        long at = 0;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                NDManager host = TorchRuntime.engine().newBaseManager(Device.cpu());
                NoGrad ignored = new NoGrad()) {
            for (WeightsLayout.Entry e : layout.entries()) {
                writeFully(ch, ByteBuffer.allocate((int) (e.offset() - at)), digest);
                ByteBuffer data = float32Bytes(params.get(e.name()), host);
                if (data.remaining() != e.length()) {
                    throw new IllegalStateException(e.name() + " has " + data.remaining() + " bytes, expected "
                            + e.length());
                }
                requireFinite(e.name(), data);
                writeFully(ch, data, digest);
                at = e.offset() + e.length();
            }
            writeFully(ch, ByteBuffer.allocate((int) (layout.size() - at)), digest);
            ch.force(true);
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    /** A NaN or infinity must never reach a served model. */
    private static void requireFinite(String name, ByteBuffer data) {
        for (int i = data.position(); i < data.limit(); i += Float.BYTES) {
            if (!Float.isFinite(data.getFloat(i))) {
                throw new IllegalStateException("refusing to export: parameter " + name
                        + " contains NaN or infinite values");
            }
        }
    }

    /** The parameter's values as little-endian float32, converted in {@code host}, never in the parameter's manager. */
    private static ByteBuffer float32Bytes(NDArray p, NDManager host) {
        NDArray a = p;
        if (!a.getDevice().equals(Device.cpu())) {
            a = a.toDevice(Device.cpu(), true);
            a.attach(host);
        }
        if (a.getDataType() != DataType.FLOAT32) {
            a = a.toType(DataType.FLOAT32, true);
            a.attach(host);
        }
        return a.toByteBuffer(true).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static void writeFully(FileChannel ch, ByteBuffer buf, MessageDigest digest) throws IOException {
        digest.update(buf.duplicate());
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
    }

    private static void syncDirectory(Path dir) {
        try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
            ch.force(true);
        } catch (IOException ignored) {
            // not every file system can sync a directory; the rename itself is still atomic
        }
    }
}
