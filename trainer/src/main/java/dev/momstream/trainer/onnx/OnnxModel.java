package dev.momstream.trainer.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.momstream.trainer.checkpoint.CheckpointException;
import dev.momstream.trainer.checkpoint.Manifest;
import dev.momstream.trainer.config.Json;
import dev.momstream.trainer.config.MomConfig;
import dev.momstream.trainer.model.ParamLayout;
import dev.momstream.trainer.model.TokenBatch;
import dev.momstream.trainer.onnx.proto.ModelInfo;
import dev.momstream.trainer.onnx.proto.Onnx;
import dev.momstream.trainer.onnx.proto.ProtoReader.MalformedProtoException;
import java.io.IOException;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * An exported model version on ONNX Runtime: scoring, and decoders for cached generation.
 * Loading checks everything before a session exists: the manifest's digests, the metadata, and
 * that both graphs carry the same configuration and exactly the parameters (names, shapes,
 * places in the weights file) that configuration requires. A refusal names the file at fault.
 * No DJL class is reachable from here, so serving never loads libtorch. Thread-safe.
 */
public final class OnnxModel implements AutoCloseable {
    /** Graph files are small (the weights are external): anything larger is not ours. */
    private static final long MAX_GRAPH_BYTES = 64L << 20;

    private final Path dir;
    private final ExportMetadata metadata;
    private final OrtSession score;
    private final OrtSession decode;
    private final String provider;

    private OnnxModel(Path dir, ExportMetadata metadata, OrtSession score, OrtSession decode, String provider) {
        this.dir = dir;
        this.metadata = metadata;
        this.score = score;
        this.decode = decode;
        this.provider = provider;
    }

    public static OnnxModel load(Path dir, InferenceOptions options) throws OnnxModelException {
        Path d = dir.toAbsolutePath().normalize();
        ExportMetadata metadata = verify(d);
        OrtSessions.Placement placement = OrtSessions.place(options);
        OrtSessions.log(d, placement);
        OrtSession score = open(d, OnnxExport.SCORE, options.scoreThreads(), options, placement);
        try {
            OrtSession decode = open(d, OnnxExport.DECODE, options.decodeThreads(), options, placement);
            return new OnnxModel(d, metadata, score, decode, placement.provider());
        } catch (OnnxModelException e) {
            closeQuietly(score, e);
            throw e;
        }
    }

    /**
     * Checks an export directory without creating sessions: digests, metadata, and both graphs
     * against the configuration. Returns the metadata.
     */
    public static ExportMetadata verify(Path dir) throws OnnxModelException {
        if (Files.exists(dir.resolve("model.safetensors")) && !Files.exists(dir.resolve(OnnxExport.METADATA))) {
            throw new OnnxModelException(dir + " is a trainer checkpoint, not a model export: export it with"
                    + " `mom export " + dir + " --out DIR`, or read it with --checkpoint");
        }
        try {
            Manifest.verify(dir, "model export", OnnxExport.FILES);
        } catch (CheckpointException e) {
            throw new OnnxModelException(e.getMessage(), e);
        }
        ExportMetadata metadata;
        try {
            metadata = Json.read(Files.readString(dir.resolve(OnnxExport.METADATA)), ExportMetadata.class);
            if (metadata.config() == null) {
                throw new IllegalArgumentException("it has no config");
            }
            metadata.config().validate();
        } catch (IOException | IllegalArgumentException e) {
            throw new OnnxModelException("model export " + dir + ": " + OnnxExport.METADATA
                    + " is unreadable: " + e.getMessage(), e);
        }
        if (!ExportMetadata.FORMAT.equals(metadata.format())) {
            throw new OnnxModelException("model export " + dir + ": " + OnnxExport.METADATA + " has format "
                    + metadata.format() + ", expected " + ExportMetadata.FORMAT);
        }
        WeightsLayout weights = WeightsLayout.of(ParamLayout.of(metadata.config()), OnnxExport.WEIGHTS);
        checkGraph(dir, OnnxExport.SCORE, metadata.config(), weights);
        checkGraph(dir, OnnxExport.DECODE, metadata.config(), weights);
        long size;
        try {
            size = Files.size(dir.resolve(OnnxExport.WEIGHTS));
        } catch (IOException e) {
            throw new OnnxModelException("model export " + dir + ": cannot read " + OnnxExport.WEIGHTS, e);
        }
        if (size != weights.size()) {
            throw new OnnxModelException("model export " + dir + ": " + OnnxExport.WEIGHTS + " has "
                    + size + " bytes but the configuration in " + OnnxExport.METADATA + " needs "
                    + weights.size() + ": the weights belong to another configuration");
        }
        return metadata;
    }

    private static void checkGraph(Path dir, String file, MomConfig config, WeightsLayout weights)
            throws OnnxModelException {
        String where = "model export " + dir + ": " + file;
        Path p = dir.resolve(file);
        byte[] bytes;
        try {
            long size = Files.size(p);
            if (size > MAX_GRAPH_BYTES) {
                throw new OnnxModelException(where + " is " + size + " bytes, too large for a graph "
                        + "whose weights are external");
            }
            bytes = Files.readAllBytes(p);
        } catch (OnnxModelException e) {
            throw e;
        } catch (IOException e) {
            throw new OnnxModelException(where + " is unreadable: " + e.getMessage(), e);
        }
        ModelInfo info;
        try {
            info = ModelInfo.parse(bytes);
        } catch (MalformedProtoException e) {
            throw new OnnxModelException(where + " is not a valid ONNX model (" + e.getMessage()
                    + "); the file is corrupt, refusing to load it", e);
        }
        if (info.irVersion() > Onnx.IR_VERSION || info.opsets().getOrDefault("", Long.MAX_VALUE) > Onnx.OPSET) {
            throw new OnnxModelException(where + " has IR version " + info.irVersion() + " and opset "
                    + info.opsets().get("") + "; this reader supports IR <= " + Onnx.IR_VERSION + ", opset <= "
                    + Onnx.OPSET);
        }
        String stored = info.metadata().get(OnnxExport.CONFIG_KEY);
        if (stored == null) {
            throw new OnnxModelException(where + " lacks the " + OnnxExport.CONFIG_KEY + " metadata");
        }
        MomConfig graphConfig;
        try {
            graphConfig = Json.read(stored, MomConfig.class);
        } catch (IllegalArgumentException e) {
            throw new OnnxModelException(where + " has no readable " + OnnxExport.CONFIG_KEY + " metadata: "
                    + e.getMessage(), e);
        }
        if (!config.equals(graphConfig)) {
            throw new OnnxModelException(where + " was exported for a different configuration than "
                    + OnnxExport.METADATA + " describes (" + graphConfig + " vs " + config + ")");
        }
        Map<String, ModelInfo.Initializer> external = new HashMap<>();
        for (ModelInfo.Initializer i : info.initializers()) {
            if (i.location() != null) {
                external.put(i.name(), i);
            }
        }
        for (WeightsLayout.Entry e : weights.entries()) {
            ModelInfo.Initializer i = external.remove(e.name());
            if (i == null) {
                throw new OnnxModelException(where + " lacks the parameter " + e.name()
                        + " that the configuration requires");
            }
            if (!Arrays.equals(i.dims(), e.dims()) || i.dataType() != Onnx.FLOAT
                    || !OnnxExport.WEIGHTS.equals(i.location()) || i.offset() != e.offset()
                    || i.length() != e.length()) {
                throw new OnnxModelException(where + " has parameter " + e.name() + " of shape "
                        + Arrays.toString(i.dims()) + " at " + i.location() + "[" + i.offset() + ", +" + i.length()
                        + "] but the configuration requires float32 " + Arrays.toString(e.dims()) + " at "
                        + OnnxExport.WEIGHTS + "[" + e.offset() + ", +" + e.length() + "]");
            }
        }
        if (!external.isEmpty()) {
            throw new OnnxModelException(where + " has parameters the configuration does not: "
                    + external.keySet());
        }
    }

    private static OrtSession open(Path dir, String file, int threads, InferenceOptions options,
            OrtSessions.Placement placement) throws OnnxModelException {
        try {
            return OrtSessions.open(dir.resolve(file), threads, options, placement);
        } catch (OrtException e) {
            throw new OnnxModelException("model export " + dir + ": ONNX Runtime cannot load " + file + ": "
                    + e.getMessage(), e);
        }
    }

    public ExportMetadata metadata() {
        return metadata;
    }

    public MomConfig config() {
        return metadata.config();
    }

    public Path directory() {
        return dir;
    }

    /** The execution provider the sessions run on ({@code cpu} or {@code cuda:N}). */
    public String provider() {
        return provider;
    }

    /** Next-token logits of every position, row-major [rows, cols, vocab]. */
    public float[] logits(TokenBatch ids) {
        try (Scores s = score(ids, null)) {
            return s.logits();
        }
    }

    /**
     * Mean next-token cross-entropy (nats) of each row of {@code ids} against {@code targets}
     * (same shape; {@link OnnxExport#NO_TARGET} entries are not scored).
     */
    public double[] loss(TokenBatch ids, TokenBatch targets) {
        try (Scores s = score(ids, targets)) {
            return s.loss();
        }
    }

    /**
     * Runs the {@code score} graph; the outputs stay in ONNX Runtime's memory until read.
     *
     * @param targets same shape as {@code ids}, or null to compute logits only
     */
    public Scores score(TokenBatch ids, TokenBatch targets) {
        checkLength(ids.cols());
        checkTokens(ids.ids(), false);
        long[] t;
        if (targets == null) {
            t = new long[ids.tokens()];
            Arrays.fill(t, OnnxExport.NO_TARGET);
        } else {
            if (targets.rows() != ids.rows() || targets.cols() != ids.cols()) {
                throw new IllegalArgumentException("targets are " + targets.rows() + " x " + targets.cols()
                        + " but the inputs are " + ids.rows() + " x " + ids.cols());
            }
            checkTokens(targets.ids(), true);
            t = targets.ids();
        }
        try (OnnxTensor in = ids(ids.ids(), ids.rows(), ids.cols());
                OnnxTensor tt = ids(t, ids.rows(), ids.cols())) {
            return new Scores(score.run(Map.of(OnnxExport.INPUT_IDS, in, OnnxExport.TARGETS, tt)));
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime failed to score with " + dir.resolve(OnnxExport.SCORE)
                    + ": " + e.getMessage(), e);
        }
    }

    /** The outputs of one run of the {@code score} graph. */
    public static final class Scores implements AutoCloseable {
        private final OrtSession.Result result;

        private Scores(OrtSession.Result result) {
            this.result = result;
        }

        /** Next-token logits, row-major [rows, cols, vocab]. */
        public float[] logits() {
            return floats(result, OnnxExport.LOGITS);
        }

        /** Per-row mean cross-entropy of the scored targets (0 for rows without any). */
        public double[] loss() {
            float[] l = floats(result, OnnxExport.LOSS);
            double[] out = new double[l.length];
            for (int i = 0; i < l.length; i++) {
                out[i] = l[i];
            }
            return out;
        }

        @Override
        public void close() {
            result.close();
        }
    }

    /** A decoder with an empty cache for {@code batch} sequences that advance together. */
    public Decoder decoder(int batch) {
        return new Decoder(this, decode, batch);
    }

    void checkLength(int length) {
        if (length < 1 || length > config().contextLength()) {
            throw new IllegalArgumentException("a sequence of " + length + " tokens does not fit the model's "
                    + "context of " + config().contextLength());
        }
    }

    void checkTokens(long[] ids, boolean targets) {
        int vocab = config().vocabSize();
        for (int i = 0; i < ids.length; i++) {
            long v = ids[i];
            if (v >= vocab || (v < 0 && !(targets && v == OnnxExport.NO_TARGET))) {
                throw new IllegalArgumentException((targets ? "target" : "token") + " id " + v + " at position "
                        + i + " is out of range [0, " + vocab + ")");
            }
        }
    }

    static OnnxTensor ids(long[] ids, int rows, int cols) throws OrtException {
        return OnnxTensor.createTensor(OrtEnvironment.getEnvironment(), LongBuffer.wrap(ids),
                new long[] {rows, cols});
    }

    static float[] floats(OrtSession.Result r, String name) {
        OnnxTensor t = (OnnxTensor) r.get(name).orElseThrow(() -> new IllegalStateException("no output " + name));
        var buf = t.getFloatBuffer();
        float[] out = new float[buf.remaining()];
        buf.get(out);
        return out;
    }

    @Override
    public void close() {
        try {
            score.close();
            decode.close();
        } catch (OrtException e) {
            throw new IllegalStateException("closing the sessions of " + dir + ": " + e.getMessage(), e);
        }
    }

    private static void closeQuietly(OrtSession s, Exception cause) {
        try {
            s.close();
        } catch (OrtException e) {
            cause.addSuppressed(e);
        }
    }
}
