package dev.momstream.kafka.settings;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;

/**
 * Reads a settings file into flat {@code key -> value} pairs and applies {@code key=value}
 * overrides.
 *
 * <p>{@code .properties} files are read as UTF-8. In {@code .yaml}/{@code .yml} files nested
 * mappings are joined with dots ({@code sasl: {mechanism: PLAIN}} is {@code sasl.mechanism=PLAIN}),
 * lists of scalars become comma-separated values (a list of bootstrap servers) and null values are
 * left out.
 *
 * <p>Errors name the file and, for a syntax error, the line and column, but never quote the file:
 * the offending line may be the one holding a password.
 */
public final class SettingsFile {

    private static final YAMLMapper YAML = new YAMLMapper();

    private SettingsFile() {
    }

    /** The flat key/value pairs of {@code file}: YAML in file order, properties sorted by key. */
    public static Map<String, String> read(Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        try {
            if (name.endsWith(".properties")) {
                return readProperties(file);
            }
            if (name.endsWith(".yaml") || name.endsWith(".yml")) {
                Map<String, String> out = new LinkedHashMap<>();
                try (InputStream in = Files.newInputStream(file)) {
                    flatten("", YAML.readTree(in), out, file);
                }
                return Collections.unmodifiableMap(out);
            }
        } catch (JsonProcessingException e) {
            // The parser's message quotes the offending line: neither it nor the exception is passed on.
            JsonLocation at = e.getLocation();
            throw new IllegalArgumentException("Settings file " + file + " is not valid YAML"
                    + (at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr())
                    + " (its content is not shown: it may hold secrets)");
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("Settings file " + file + " is not valid UTF-8");
        } catch (IOException e) {
            throw new IllegalArgumentException("Cannot read settings file " + file, e);
        }
        throw new IllegalArgumentException(
                "Settings file " + file + " must end in .properties, .yaml or .yml");
    }

    /** {@code file}'s pairs with {@code overrides} ({@code key=value} each) applied on top. */
    public static Map<String, String> read(Path file, List<String> overrides) {
        return withOverrides(read(file), overrides);
    }

    /** A copy of {@code values} with {@code overrides} ({@code key=value} each) applied on top. */
    public static Map<String, String> withOverrides(Map<String, String> values, List<String> overrides) {
        Map<String, String> out = new LinkedHashMap<>(values);
        for (String override : overrides) {
            int eq = override.indexOf('=');
            if (eq <= 0 || override.substring(0, eq).isBlank()) {
                // The value may be a secret: name only the key part, if any.
                throw new IllegalArgumentException("Override must be key=value, got "
                        + (eq < 0 ? "a value without '='" : "an empty key"));
            }
            out.put(override.substring(0, eq).strip(), override.substring(eq + 1));
        }
        return Collections.unmodifiableMap(out);
    }

    private static Map<String, String> readProperties(Path file) throws IOException {
        Properties props = new Properties();
        try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            props.load(reader);
        }
        Map<String, String> out = new LinkedHashMap<>();
        props.stringPropertyNames().stream().sorted().forEach(k -> out.put(k, props.getProperty(k)));
        return Collections.unmodifiableMap(out);
    }

    private static void flatten(String prefix, JsonNode node, Map<String, String> out, Path file) {
        if (node == null || node.isNull() || node.isMissingNode()) {
            return;
        }
        if (node.isObject()) {
            node.properties().forEach(e ->
                    flatten(prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey(), e.getValue(), out, file));
        } else if (node.isArray()) {
            List<String> items = new ArrayList<>();
            for (JsonNode item : node) {
                if (item.isContainerNode()) {
                    throw new IllegalArgumentException(
                            "Settings file " + file + ": list '" + prefix + "' may only hold plain values");
                }
                items.add(item.asText());
            }
            out.put(prefix, String.join(",", items));
        } else if (prefix.isEmpty()) {
            throw new IllegalArgumentException("Settings file " + file + " must hold a mapping of keys");
        } else {
            out.put(prefix, node.asText());
        }
    }
}
