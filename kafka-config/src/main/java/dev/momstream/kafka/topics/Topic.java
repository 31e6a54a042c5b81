package dev.momstream.kafka.topics;

import java.util.Arrays;
import java.util.Optional;

/** The logical topics of the system; their specs live in {@link TopicCatalog}. */
public enum Topic {
    /** Input documents for training. */
    TEXT_TRAIN("text.train"),
    /** Held-out documents for validation. */
    TEXT_EVAL("text.eval"),
    /** Records rejected by a decoder, with the reason. */
    TEXT_DEADLETTER("text.deadletter"),
    /** Training metrics, one record per logged step. */
    TRAIN_METRICS("train.metrics"),
    /** Published checkpoints. */
    MODEL_EVENTS("model.events"),
    /** Inference requests. */
    INFER_REQUESTS("infer.requests"),
    /** Inference responses. */
    INFER_RESPONSES("infer.responses"),
    /** What the model hosts of the inference job did: versions swapped in or refused. */
    INFER_EVENTS("infer.events"),
    /** Per-document losses of a scored input topic under the newest model version. */
    TEXT_SCORES("text.scores");

    private final String baseName;

    Topic(String baseName) {
        this.baseName = baseName;
    }

    /** The topic's name without any namespace prefix, for example {@code text.train}. */
    public String baseName() {
        return baseName;
    }

    /** The topic whose base name is {@code baseName}, if any. */
    public static Optional<Topic> ofBaseName(String baseName) {
        return Arrays.stream(values()).filter(t -> t.baseName.equals(baseName)).findFirst();
    }
}
