package dev.momstream.pipeline.cli;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.momstream.trainer.config.Configs;
import dev.momstream.trainer.config.Json;
import dev.momstream.trainer.config.ModelSize;
import dev.momstream.trainer.config.MomConfig;
import dev.momstream.trainer.config.Preset;
import dev.momstream.trainer.io.FileErrors;
import dev.momstream.trainer.train.TrainConfig;
import java.io.IOException;
import java.lang.reflect.RecordComponent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import picocli.CommandLine.Option;

/**
 * How a command gets its configuration: a preset at a size, then a config file's
 * {@code model}/{@code train} sections (partial is fine), then {@code --key=value} overrides
 * (model keys such as {@code --K=2 --H=4 --d=128}, train keys such as {@code --lr=3e-3}).
 */
public final class ModelOptions {

    @Option(names = "--preset", defaultValue = "mom",
            description = "vanilla, recurrent, moe, layerskip or mom (default: ${DEFAULT-VALUE}).")
    String preset;

    @Option(names = "--size", defaultValue = "tiny",
            description = "tiny, small, medium or large (default: ${DEFAULT-VALUE}).")
    String size;

    @Option(names = "--config", paramLabel = "FILE",
            description = "JSON with optional \"model\" and \"train\" objects (a run's config.json works).")
    Path config;

    /** The resolved, validated configurations; {@code overrides} are the command's unmatched args. */
    public Configs resolve(List<String> overrides) {
        Configs configs = Configs.of(Preset.parse(preset), ModelSize.parse(size));
        if (config != null) {
            configs = configs.merge(readConfig(config));
        }
        Map<String, String> keys = new LinkedHashMap<>();
        for (String arg : overrides) {
            if (!isOverride(arg)) {
                throw new IllegalArgumentException("'" + arg + "' is not a config override (" + KEYS + ")");
            }
            keys.put(arg.substring(2, arg.indexOf('=')), arg.substring(arg.indexOf('=') + 1));
        }
        return configs.override(keys).validate();
    }

    /** Whether {@code arg} overrides a model or train config key: {@code --key=value}. */
    static boolean isOverride(String arg) {
        int eq = arg.indexOf('=');
        return arg.startsWith("--") && eq > 2 && Configs.accepts(arg.substring(2, eq));
    }

    /** The config file's JSON; errors name the file, and the line and column of a syntax error. */
    private static JsonNode readConfig(Path file) {
        String text;
        try {
            text = Files.readString(file);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read --config " + file + ": " + FileErrors.reason(e), e);
        }
        try {
            return Json.MAPPER.readTree(text);
        } catch (JsonProcessingException e) {
            JsonLocation at = e.getLocation();
            throw new IllegalArgumentException("--config " + file + " is not valid JSON"
                    + (at == null ? "" : " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")")
                    + ": " + e.getOriginalMessage());
        }
    }

    /** The keys that overrides may set, for messages. */
    static final String KEYS = "--key=value; model keys: " + keys(MomConfig.class) + "; train keys: "
            + keys(TrainConfig.class);

    private static String keys(Class<? extends Record> type) {
        return Arrays.stream(type.getRecordComponents()).map(RecordComponent::getName)
                .collect(Collectors.joining(", "));
    }
}
