package dev.momstream.trainer.config;

import com.fasterxml.jackson.databind.JsonNode;
import dev.momstream.trainer.train.TrainConfig;
import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * A model and how it is trained: what a run's or a checkpoint's {@code config.json} holds, and
 * what every command resolves from a preset at a size, then a config file, then
 * {@code key=value} overrides. Serializable, so that Flink ships it to the train operator as is.
 */
public record Configs(MomConfig model, TrainConfig train) implements Serializable {
    private static final long serialVersionUID = 1L;

    public Configs {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(train, "train");
    }

    /** The preset at the size, trained with the default {@link TrainConfig}. */
    public static Configs of(Preset preset, ModelSize size) {
        return new Configs(preset.at(size), TrainConfig.defaults());
    }

    /** Whether {@code key} names a model or a train setting (or a paper symbol alias of one). */
    public static boolean accepts(String key) {
        return Overrides.accepts(MomConfig.class, key) || Overrides.accepts(TrainConfig.class, key);
    }

    /**
     * These configs with a config file's {@code model} and {@code train} objects applied; either
     * may be absent or partial.
     */
    public Configs merge(JsonNode file) {
        return new Configs(Overrides.merge(model, file.get("model")), Overrides.merge(train, file.get("train")));
    }

    /**
     * These configs with {@code key=value} overrides, each applied to the config that has the key;
     * a key that neither has fails, listing the model's keys.
     */
    public Configs override(Map<String, String> overrides) {
        Map<String, String> modelKeys = new LinkedHashMap<>();
        Map<String, String> trainKeys = new LinkedHashMap<>();
        overrides.forEach((k, v) -> (Overrides.accepts(TrainConfig.class, k) ? trainKeys : modelKeys).put(k, v));
        return new Configs(Overrides.apply(model, modelKeys), Overrides.apply(train, trainKeys));
    }

    public Configs withTrain(TrainConfig t) {
        return new Configs(model, t);
    }

    /** Throws {@link IllegalArgumentException} naming every problem of the model, then of the training. */
    public Configs validate() {
        model.validate();
        train.validate();
        return this;
    }

    /** SHA-256 of the compact JSON of both: identifies the configuration in lineage and names. */
    public String hash() {
        return Json.hash(this);
    }

    /** Tokens per training window: the context plus the next token of its last position. */
    public int windowLength() {
        return model.contextLength() + 1;
    }

    /** Windows per optimizer step: batch size times gradient accumulation. */
    public int windowsPerStep() {
        return train.batchSize() * train.gradAccum();
    }
}
