package dev.momstream.kafka.records;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.momstream.kafka.records.DecodeResult.Accepted;
import dev.momstream.kafka.records.DecodeResult.Rejected;
import java.io.Serializable;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.HexFormat;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Turns the raw value of an input record into a {@link Document} or a {@link DeadLetter}. Never
 * throws, holds no client state, and is serializable, so Flink can ship it to its operators.
 *
 * <p>Checks run in this order; the first that fails decides the reason:
 * <ol>
 *   <li>{@link RejectReason#EMPTY}: null or zero bytes.</li>
 *   <li>{@link RejectReason#OVERSIZED}: more than {@code maxBytes} bytes, checked before decoding
 *       so that a huge value costs nothing.</li>
 *   <li>{@link RejectReason#NOT_UTF8}: not valid UTF-8 (strict; nothing is replaced). A leading
 *       byte-order mark is then dropped.</li>
 *   <li>{@link RejectReason#BINARY}: contains U+0000, or more than {@link #MAX_CONTROL_SHARE} of its
 *       characters are control characters other than tab, line feed and carriage return. Real text
 *       has at most a stray form feed or escape; binary that happens to be valid UTF-8 is mostly
 *       ASCII, of which a quarter are control codes.</li>
 *   <li>If the first non-whitespace character is '{', the value claims to be a JSON document:
 *       {@link RejectReason#MALFORMED_JSON} unless it parses as one JSON object with a string field
 *       {@code text} and, when present, a string or integer {@code id}, a string {@code source} and
 *       an integer (epoch ms) or ISO-8601 string {@code ts}. Then the {@code text} field goes
 *       through the BINARY check (JSON escapes can smuggle in NUL; an unpaired surrogate escape is
 *       NOT_UTF8) and is EMPTY when blank. Missing {@code id}, {@code source} or {@code ts} are
 *       filled as for plain text. Plain text that starts with '{' must therefore be sent as JSON.</li>
 *   <li>Otherwise the value is plain text: {@link RejectReason#EMPTY} if it is blank
 *       ({@link String#isBlank}), else a document of the whole text.</li>
 * </ol>
 * A derived id is {@code <topic>-<partition>-<offset>} when the origin has a position, else
 * {@code sha256-} and the first 16 hex digits of the value's SHA-256, so that the same record
 * always gets the same id. A derived source is the origin's topic, a derived ts its timestamp.
 */
public final class DocumentDecoder implements Serializable {

    private static final long serialVersionUID = 1L;

    /** Default {@code maxBytes}: 1 MiB, Kafka's default maximum message size. */
    public static final int DEFAULT_MAX_BYTES = 1_048_576;
    /** Above this share of control characters, valid UTF-8 is classified BINARY. */
    public static final double MAX_CONTROL_SHARE = 0.10;

    private static final int MAX_DETAIL_CHARS = 300;
    private static final int ID_HEX_DIGITS = 16;
    private static final char BYTE_ORDER_MARK = '\uFEFF';

    private final int maxBytes;
    private final int maxDeadLetterPayloadBytes;

    /** A decoder with {@link #DEFAULT_MAX_BYTES} and {@link DeadLetter#DEFAULT_MAX_PAYLOAD_BYTES}. */
    public DocumentDecoder() {
        this(DEFAULT_MAX_BYTES, DeadLetter.DEFAULT_MAX_PAYLOAD_BYTES);
    }

    /**
     * @param maxBytes                  largest accepted value in bytes
     * @param maxDeadLetterPayloadBytes how many bytes of a rejected value its dead letter keeps
     */
    public DocumentDecoder(int maxBytes, int maxDeadLetterPayloadBytes) {
        if (maxBytes < 1 || maxDeadLetterPayloadBytes < 0) {
            throw new IllegalArgumentException("maxBytes must be positive and maxDeadLetterPayloadBytes not negative, got "
                    + maxBytes + " and " + maxDeadLetterPayloadBytes);
        }
        this.maxBytes = maxBytes;
        this.maxDeadLetterPayloadBytes = maxDeadLetterPayloadBytes;
    }

    public int maxBytes() {
        return maxBytes;
    }

    /** Decodes a consumed record, naming it by its topic, partition and offset. */
    public DecodeResult decode(ConsumerRecord<byte[], byte[]> record) {
        return decode(record.value(), RecordOrigin.of(record));
    }

    /** Decodes {@code value} read at {@code origin} ({@link RecordOrigin#UNKNOWN} if unknown). */
    public DecodeResult decode(byte[] value, RecordOrigin origin) {
        if (value == null) {
            return reject(RejectReason.EMPTY, "null value", value, origin);
        }
        if (value.length == 0) {
            return reject(RejectReason.EMPTY, "zero-length value", value, origin);
        }
        if (value.length > maxBytes) {
            return reject(RejectReason.OVERSIZED, value.length + " bytes, limit " + maxBytes, value, origin);
        }
        StrictUtf8 utf8 = StrictUtf8.decode(value);
        if (!utf8.valid()) {
            return reject(RejectReason.NOT_UTF8, "invalid UTF-8 at byte " + utf8.invalidAt(), value, origin);
        }
        String text = utf8.text().charAt(0) == BYTE_ORDER_MARK ? utf8.text().substring(1) : utf8.text();
        DecodeResult notText = rejectIfNotText(text, "value", value, origin);
        if (notText != null) {
            return notText;
        }
        if (text.stripLeading().startsWith("{")) {
            return decodeJson(text, value, origin);
        }
        if (text.isBlank()) {
            return reject(RejectReason.EMPTY, "whitespace-only text", value, origin);
        }
        return new Accepted(new Document(derivedId(value, origin), text, origin.topic(), origin.timestamp()));
    }

    private DecodeResult decodeJson(String json, byte[] value, RecordOrigin origin) {
        JsonNode node;
        try {
            node = RecordJson.MAPPER.readTree(json);
        } catch (JsonProcessingException e) {
            return reject(RejectReason.MALFORMED_JSON, "not valid JSON: " + e.getOriginalMessage(), value, origin);
        }
        JsonNode textNode = node.get("text");
        if (textNode == null || !textNode.isTextual()) {
            return reject(RejectReason.MALFORMED_JSON, "no string field \"text\"", value, origin);
        }
        String text = textNode.textValue();
        DecodeResult notText = rejectIfNotText(text, "field \"text\"", value, origin);
        if (notText != null) {
            return notText;
        }
        if (text.isBlank()) {
            return reject(RejectReason.EMPTY, "field \"text\" is blank", value, origin);
        }
        JsonNode id = node.get("id");
        JsonNode source = node.get("source");
        JsonNode ts = node.get("ts");
        if (isPresent(id) && !(id.isTextual() || id.isIntegralNumber())) {
            return reject(RejectReason.MALFORMED_JSON, "field \"id\" must be a string or an integer", value, origin);
        }
        if (isPresent(source) && !source.isTextual()) {
            return reject(RejectReason.MALFORMED_JSON, "field \"source\" must be a string", value, origin);
        }
        long millis;
        if (!isPresent(ts)) {
            millis = origin.timestamp();
        } else if (ts.isIntegralNumber() && ts.canConvertToLong()) {
            millis = ts.longValue();
        } else if (ts.isTextual()) {
            try {
                millis = Instant.parse(ts.textValue()).toEpochMilli();
            } catch (DateTimeParseException | ArithmeticException e) {
                return reject(RejectReason.MALFORMED_JSON, "field \"ts\" is not an ISO-8601 instant", value, origin);
            }
        } else {
            return reject(RejectReason.MALFORMED_JSON,
                    "field \"ts\" must be epoch milliseconds or an ISO-8601 string", value, origin);
        }
        String docId = isPresent(id) && !id.asText().isBlank() ? id.asText() : derivedId(value, origin);
        String docSource = isPresent(source) ? source.textValue() : origin.topic();
        return new Accepted(new Document(docId, text, docSource, millis));
    }

    /** BINARY or NOT_UTF8 when {@code text} is not text (see the class comment); null when it is. */
    private DecodeResult rejectIfNotText(String text, String what, byte[] value, RecordOrigin origin) {
        int controls = 0;
        int chars = 0;
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            if (cp == 0) {
                return reject(RejectReason.BINARY, what + " contains NUL at char " + i, value, origin);
            }
            if (cp >= Character.MIN_SURROGATE && cp <= Character.MAX_SURROGATE) {
                return reject(RejectReason.NOT_UTF8, what + " has an unpaired surrogate at char " + i, value, origin);
            }
            if (Character.getType(cp) == Character.CONTROL && cp != '\t' && cp != '\n' && cp != '\r') {
                controls++;
            }
            chars++;
            i += Character.charCount(cp);
        }
        if (controls > MAX_CONTROL_SHARE * chars) {
            return reject(RejectReason.BINARY, what + ": " + controls + " of " + chars
                    + " characters are control characters (limit " + MAX_CONTROL_SHARE + ")", value, origin);
        }
        return null;
    }

    private static boolean isPresent(JsonNode node) {
        return node != null && !node.isNull();
    }

    private static String derivedId(byte[] value, RecordOrigin origin) {
        if (origin.hasPosition()) {
            return origin.topic() + "-" + origin.partition() + "-" + origin.offset();
        }
        return "sha256-" + HexFormat.of().formatHex(sha256(value)).substring(0, ID_HEX_DIGITS);
    }

    private static byte[] sha256(byte[] value) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(value);
        } catch (NoSuchAlgorithmException e) {
            // Every Java platform must provide SHA-256.
            throw new IllegalStateException(e);
        }
    }

    private Rejected reject(RejectReason reason, String detail, byte[] value, RecordOrigin origin) {
        String shortDetail = detail.length() > MAX_DETAIL_CHARS ? detail.substring(0, MAX_DETAIL_CHARS) + "..." : detail;
        return new Rejected(DeadLetter.of(origin, reason, shortDetail, value, maxDeadLetterPayloadBytes));
    }
}
