package dev.momstream.kafka.records;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;
import org.apache.kafka.common.errors.SerializationException;

/**
 * JSON for every record type, usable with or without Kafka clients (Flink operators call it
 * directly). Unknown fields are ignored so that older readers accept newer writers; a missing
 * number is an error rather than a silent 0; duplicate keys and trailing content are errors.
 */
public final class RecordJson {

    // Thread-safe once built. String length is bounded by the callers' byte limits, not by Jackson.
    static final ObjectMapper MAPPER = JsonMapper.builder(JsonFactory.builder()
                    .streamReadConstraints(StreamReadConstraints.builder().maxStringLength(Integer.MAX_VALUE).build())
                    .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                    .build())
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    /**
     * Kafka header naming a record's type (its class's simple name, e.g. {@code TrainMetrics}), so
     * that a topic can carry more than one: {@code train.metrics} holds {@link TrainMetrics} and
     * {@link EvalMetrics}. Records written before the header existed carry none.
     */
    public static final String TYPE_HEADER = "mom.type";

    private RecordJson() {
    }

    /** The type a record's {@link #TYPE_HEADER} names, or null when it has none. */
    public static String typeOf(org.apache.kafka.common.header.Headers headers) {
        org.apache.kafka.common.header.Header h = headers.lastHeader(TYPE_HEADER);
        return h == null ? null : new String(h.value(), java.nio.charset.StandardCharsets.UTF_8);
    }

    /** {@code record} as a JSON string. */
    public static String toJson(Object record) {
        try {
            return MAPPER.writeValueAsString(record);
        } catch (JsonProcessingException e) {
            throw new SerializationException("Cannot write " + record.getClass().getSimpleName() + " as JSON", e);
        }
    }

    /** {@code record} as UTF-8 JSON bytes. */
    public static byte[] toJsonBytes(Object record) {
        try {
            return MAPPER.writeValueAsBytes(record);
        } catch (JsonProcessingException e) {
            throw new SerializationException("Cannot write " + record.getClass().getSimpleName() + " as JSON", e);
        }
    }

    /** Reads a {@code type} from JSON text. */
    public static <T> T fromJson(String json, Class<T> type) {
        try {
            return MAPPER.readValue(json, type);
        } catch (IOException | IllegalArgumentException e) {
            throw readFailure(type, e);
        }
    }

    /** Reads a {@code type} from UTF-8 JSON bytes. */
    public static <T> T fromJson(byte[] json, Class<T> type) {
        try {
            return MAPPER.readValue(json, type);
        } catch (IOException | IllegalArgumentException e) {
            throw readFailure(type, e);
        }
    }

    private static SerializationException readFailure(Class<?> type, Exception e) {
        return new SerializationException("Not a valid " + type.getSimpleName() + " JSON: " + e.getMessage(), e);
    }
}
