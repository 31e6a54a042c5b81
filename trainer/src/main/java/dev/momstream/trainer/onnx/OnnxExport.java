package dev.momstream.trainer.onnx;

import java.util.Set;

/**
 * The files of an exported model version and the names of its graphs' inputs and outputs:
 * the contract between the exporter and every reader.
 *
 * <p>{@value #SCORE}: inputs {@code input_ids} and {@code targets} (int64 [batch, sequence];
 * a target of -1 is not scored), outputs {@code logits} (float [batch, sequence, vocab]) and
 * {@code loss} (float [batch]: mean next-token cross-entropy over each sequence's scored
 * targets, 0 when it has none). When every target is -1 the loss is not computed at all, so
 * scoring for logits alone costs no log-softmax over the vocabulary.
 *
 * <p>{@value #DECODE}: inputs {@code input_ids} (int64 [batch, new]) and one {@code past.<slot>.key}
 * / {@code past.<slot>.value} pair per {@link CacheLayout} slot (float [batch, heads, past,
 * headDim]; past = 0 for a fresh sequence); outputs {@code logits} of the last new position
 * (float [batch, vocab]) and the {@code present.<slot>.key/value} caches with the new positions
 * appended. Every sequence of a batch shares one past length.
 */
public final class OnnxExport {
    private OnnxExport() {}

    public static final String SCORE = "score.onnx";
    public static final String DECODE = "decode.onnx";
    public static final String WEIGHTS = "weights.bin";
    public static final String METADATA = "metadata.json";

    /** What an export needs: its manifest must list (and verify) each of these. */
    public static final Set<String> FILES = Set.of(SCORE, DECODE, WEIGHTS, METADATA);

    public static final String INPUT_IDS = "input_ids";
    public static final String TARGETS = "targets";
    public static final String LOGITS = "logits";
    public static final String LOSS = "loss";

    /** A target that is not scored. */
    public static final long NO_TARGET = -1;

    /** Metadata key (ONNX {@code metadata_props}) holding the model configuration as JSON. */
    public static final String CONFIG_KEY = "mom.config";
    public static final String GRAPH_KEY = "mom.graph";
}
