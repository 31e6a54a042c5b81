package dev.momstream.trainer.config;

import com.fasterxml.jackson.annotation.JsonAlias;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.lang.reflect.Field;
import java.lang.reflect.RecordComponent;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeSet;

/**
 * Changes fields of a configuration record through its JSON form, so that a {@code key=value}
 * override or a partial config file is parsed exactly like a full config. Keys are record
 * component names or their {@link JsonAlias aliases}; unknown keys are errors.
 */
public final class Overrides {
    private Overrides() {}

    /** Whether {@code key} names a component (or alias) of {@code type}. */
    public static boolean accepts(Class<? extends Record> type, String key) {
        return canonical(type).containsKey(key);
    }

    /** The component name {@code key} stands for in {@code type} (itself, or the component of an alias), or null. */
    public static String componentName(Class<? extends Record> type, String key) {
        return canonical(type).get(key);
    }

    /** {@code config} with {@code key=value} overrides; a value is read as JSON when it parses. */
    public static <T extends Record> T apply(T config, Map<String, String> overrides) {
        ObjectNode current = Json.MAPPER.valueToTree(config);
        Map<String, String> names = canonical(config.getClass());
        ObjectNode partial = Json.MAPPER.createObjectNode();
        for (Map.Entry<String, String> e : overrides.entrySet()) {
            JsonNode existing = current.get(names.getOrDefault(e.getKey(), e.getKey()));
            partial.set(e.getKey(), parseValue(existing, e.getValue()));
        }
        return merge(config, partial);
    }

    /** {@code config} with the fields present in {@code partial} (a JSON object) replaced. */
    public static <T extends Record> T merge(T config, JsonNode partial) {
        if (partial == null || partial.isNull()) {
            return config;
        }
        @SuppressWarnings("unchecked")
        Class<T> type = (Class<T>) config.getClass();
        if (!partial.isObject()) {
            throw new IllegalArgumentException("expected a JSON object for " + type.getSimpleName()
                    + ", got " + partial.getNodeType());
        }
        Map<String, String> names = canonical(type);
        ObjectNode tree = Json.MAPPER.valueToTree(config);
        for (Iterator<Map.Entry<String, JsonNode>> it = partial.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String name = names.get(e.getKey());
            if (name == null) {
                throw new IllegalArgumentException("unknown " + type.getSimpleName() + " key '"
                        + e.getKey() + "' (known: " + new TreeSet<>(names.keySet()) + ")");
            }
            tree.set(name, e.getValue());
        }
        try {
            return Json.MAPPER.treeToValue(tree, type);
        } catch (Exception ex) {
            throw new IllegalArgumentException("bad " + type.getSimpleName() + " value: "
                    + ex.getMessage(), ex);
        }
    }

    private static JsonNode parseValue(JsonNode current, String text) {
        if (current != null && current.isTextual()) {
            return TextNode.valueOf(text);
        }
        try {
            return Json.MAPPER.readTree(text);
        } catch (Exception notJson) {
            return TextNode.valueOf(text);
        }
    }

    private static Map<String, String> canonical(Class<?> type) {
        Map<String, String> names = new LinkedHashMap<>();
        for (RecordComponent c : type.getRecordComponents()) {
            names.put(c.getName(), c.getName());
            // @JsonAlias does not target record components: it lands on the backing field.
            JsonAlias alias = field(type, c.getName()).getAnnotation(JsonAlias.class);
            if (alias != null) {
                for (String a : alias.value()) {
                    names.put(a, c.getName());
                }
            }
        }
        return names;
    }

    private static Field field(Class<?> type, String name) {
        try {
            return type.getDeclaredField(name);
        } catch (NoSuchFieldException e) {
            throw new IllegalStateException(e);
        }
    }
}
