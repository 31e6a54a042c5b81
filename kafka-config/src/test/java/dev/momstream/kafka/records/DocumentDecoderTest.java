package dev.momstream.kafka.records;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class DocumentDecoderTest {

    private static final RecordOrigin ORIGIN = new RecordOrigin("text.train", 0, 42, "key-1", 1_000L);
    private static final String POSITION_ID = "text.train-0-42";
    private static final DocumentDecoder DECODER = new DocumentDecoder();

    static Stream<Arguments> rejected() {
        return Stream.of(
                Arguments.of("null value", null, RejectReason.EMPTY),
                Arguments.of("zero bytes", new byte[0], RejectReason.EMPTY),
                Arguments.of("whitespace only", utf8(" \n\t\r  "), RejectReason.EMPTY),
                Arguments.of("byte-order mark only", utf8("\uFEFF"), RejectReason.EMPTY),
                Arguments.of("JSON with blank text", utf8("{\"text\":\"  \\n \"}"), RejectReason.EMPTY),
                Arguments.of("invalid continuation", bytes(0xC3, 0x28), RejectReason.NOT_UTF8),
                Arguments.of("overlong encoding", bytes(0xC0, 0xAF), RejectReason.NOT_UTF8),
                Arguments.of("truncated sequence", bytes('a', 0xE2, 0x82), RejectReason.NOT_UTF8),
                Arguments.of("encoded surrogate", bytes(0xED, 0xA0, 0x80), RejectReason.NOT_UTF8),
                Arguments.of("Latin-1 text", "café".getBytes(StandardCharsets.ISO_8859_1), RejectReason.NOT_UTF8),
                Arguments.of("JSON unpaired surrogate escape", utf8("{\"text\":\"a\\ud800b\"}"), RejectReason.NOT_UTF8),
                Arguments.of("NUL inside text", utf8("abc\u0000def"), RejectReason.BINARY),
                Arguments.of("NUL-containing binary (an ELF header)", bytes(0x7F, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0),
                        RejectReason.BINARY),
                Arguments.of("binary that is not UTF-8 (a PNG header)", bytes(0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A),
                        RejectReason.NOT_UTF8),
                Arguments.of("20% control characters", utf8("\u0001\u0002abcdefgh"), RejectReason.BINARY),
                Arguments.of("NUL escaped in JSON text", utf8("{\"text\":\"a\\u0000b\"}"), RejectReason.BINARY),
                Arguments.of("unterminated JSON", utf8("{\"text\": \"hello"), RejectReason.MALFORMED_JSON),
                Arguments.of("brace-led plain text", utf8("{braces} open this text"), RejectReason.MALFORMED_JSON),
                Arguments.of("JSON without text", utf8("{\"title\":\"x\"}"), RejectReason.MALFORMED_JSON),
                Arguments.of("JSON with numeric text", utf8("{\"text\":5}"), RejectReason.MALFORMED_JSON),
                Arguments.of("JSON with trailing content", utf8("{\"text\":\"a\"} {\"text\":\"b\"}"),
                        RejectReason.MALFORMED_JSON),
                Arguments.of("JSON with duplicate text", utf8("{\"text\":\"a\",\"text\":\"b\"}"), RejectReason.MALFORMED_JSON),
                Arguments.of("JSON with array id", utf8("{\"text\":\"a\",\"id\":[1]}"), RejectReason.MALFORMED_JSON),
                Arguments.of("JSON with object source", utf8("{\"text\":\"a\",\"source\":{}}"), RejectReason.MALFORMED_JSON),
                Arguments.of("JSON with unparsable ts", utf8("{\"text\":\"a\",\"ts\":\"yesterday\"}"),
                        RejectReason.MALFORMED_JSON),
                Arguments.of("JSON with fractional ts", utf8("{\"text\":\"a\",\"ts\":1.5}"), RejectReason.MALFORMED_JSON),
                Arguments.of("deeply nested JSON", utf8("{\"text\":\"a\",\"x\":" + "[".repeat(100_000)),
                        RejectReason.MALFORMED_JSON),
                Arguments.of("one byte over the limit", filled(DocumentDecoder.DEFAULT_MAX_BYTES + 1),
                        RejectReason.OVERSIZED));
    }

    @ParameterizedTest(name = "{0} -> {2}")
    @MethodSource("rejected")
    void rejectsWithTheDocumentedReason(String name, byte[] value, RejectReason reason) {
        DecodeResult.Rejected rejected = assertInstanceOf(DecodeResult.Rejected.class, DECODER.decode(value, ORIGIN));
        assertEquals(reason, rejected.reason(), rejected.deadLetter().detail());
        DeadLetter letter = rejected.deadLetter();
        assertEquals("text.train", letter.sourceTopic());
        assertEquals(0, letter.partition());
        assertEquals(42, letter.offset());
        assertEquals("key-1", letter.key());
        assertEquals(1_000L, letter.ts());
        assertEquals(value == null ? 0 : value.length, letter.payloadSize());
        byte[] expectedPayload = value == null ? new byte[0]
                : Arrays.copyOf(value, Math.min(value.length, DeadLetter.DEFAULT_MAX_PAYLOAD_BYTES));
        assertEquals(Arrays.toString(expectedPayload), Arrays.toString(letter.payloadBytes()));
        assertFalse(letter.detail().isBlank());
    }

    static Stream<Arguments> accepted() {
        return Stream.of(
                Arguments.of("full JSON document", utf8("{\"id\":\"a1\",\"text\":\"hello\",\"source\":\"web\",\"ts\":5}"),
                        new Document("a1", "hello", "web", 5)),
                Arguments.of("JSON with only text", utf8("  {\"text\":\"hi there\",\"lang\":\"en\"}\n"),
                        new Document(POSITION_ID, "hi there", "text.train", 1_000L)),
                Arguments.of("JSON integer id and ISO ts", utf8("{\"id\":17,\"text\":\"x\",\"ts\":\"1970-01-01T00:00:01Z\"}"),
                        new Document("17", "x", "text.train", 1_000L)),
                Arguments.of("JSON null fields", utf8("{\"id\":null,\"text\":\"x\",\"source\":null,\"ts\":null}"),
                        new Document(POSITION_ID, "x", "text.train", 1_000L)),
                Arguments.of("plain text", utf8("Just some text.\nSecond line.\n"),
                        new Document(POSITION_ID, "Just some text.\nSecond line.\n", "text.train", 1_000L)),
                Arguments.of("plain text after a byte-order mark", utf8("\uFEFFbonjour"),
                        new Document(POSITION_ID, "bonjour", "text.train", 1_000L)),
                Arguments.of("JSON array is plain text", utf8("[1, 2, 3]"),
                        new Document(POSITION_ID, "[1, 2, 3]", "text.train", 1_000L)),
                Arguments.of("a few control characters", utf8("page one\fpage two\u001b[0m end"),
                        new Document(POSITION_ID, "page one\fpage two\u001b[0m end", "text.train", 1_000L)),
                Arguments.of("non-ASCII text", utf8("日本語のテキスト ✓ emoji 😀"),
                        new Document(POSITION_ID, "日本語のテキスト ✓ emoji 😀", "text.train", 1_000L)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("accepted")
    void acceptsDocuments(String name, byte[] value, Document expected) {
        assertEquals(new DecodeResult.Accepted(expected), DECODER.decode(value, ORIGIN));
    }

    @Test
    void exactlyAtTheLimitIsAccepted() {
        byte[] value = filled(DocumentDecoder.DEFAULT_MAX_BYTES);
        DecodeResult.Accepted accepted = assertInstanceOf(DecodeResult.Accepted.class, DECODER.decode(value, ORIGIN));
        assertEquals(DocumentDecoder.DEFAULT_MAX_BYTES, accepted.document().text().length());
    }

    @Test
    void withoutAPositionTheIdIsAContentHash() {
        byte[] value = utf8("same text");
        Document first = ((DecodeResult.Accepted) DECODER.decode(value, RecordOrigin.UNKNOWN)).document();
        Document second = ((DecodeResult.Accepted) DECODER.decode(value.clone(), RecordOrigin.ofTopic("t"))).document();
        assertTrue(first.id().matches("sha256-[0-9a-f]{16}"), first.id());
        assertEquals(first.id(), second.id());
        assertEquals("", first.source());
        assertEquals("t", second.source());
        assertEquals(-1, first.ts());
    }

    @Test
    void neverThrowsOnRandomBytes() {
        Random random = new Random(20_240_601);
        byte[] json = utf8("{\"id\":\"x\",\"text\":\"héllo wörld\",\"source\":\"s\",\"ts\":12}");
        DocumentDecoder small = new DocumentDecoder(512, 64);
        int accepted = 0;
        for (int i = 0; i < 10_000; i++) {
            byte[] value = switch (i % 4) {
                case 0 -> randomBytes(random, random.nextInt(700));
                case 1 -> mutate(random, json);
                case 2 -> randomText(random, random.nextInt(200));
                default -> ("{" + randomText(random, random.nextInt(50)).length).getBytes(StandardCharsets.UTF_8);
            };
            DecodeResult result = small.decode(value, i % 2 == 0 ? ORIGIN : RecordOrigin.UNKNOWN);
            assertNotNull(result);
            if (result instanceof DecodeResult.Rejected rejected) {
                assertEquals(value.length, rejected.deadLetter().payloadSize());
                assertTrue(rejected.deadLetter().payloadBytes().length <= 64);
            } else {
                accepted++;
                assertFalse(((DecodeResult.Accepted) result).document().text().isBlank());
            }
        }
        assertTrue(accepted > 1_000, "the fuzz also reaches the accepting paths: " + accepted);
    }

    @Test
    void survivesJavaSerialization() throws IOException, ClassNotFoundException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(new DocumentDecoder(10, 4));
        }
        DocumentDecoder copy;
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            copy = (DocumentDecoder) in.readObject();
        }
        assertEquals(10, copy.maxBytes());
        DecodeResult.Rejected rejected = assertInstanceOf(DecodeResult.Rejected.class,
                copy.decode(utf8("eleven char"), ORIGIN));
        assertEquals(RejectReason.OVERSIZED, rejected.reason());
        assertEquals(4, rejected.deadLetter().payloadBytes().length);
    }

    private static byte[] randomBytes(Random random, int length) {
        byte[] value = new byte[length];
        random.nextBytes(value);
        return value;
    }

    private static byte[] mutate(Random random, byte[] original) {
        byte[] value = original.clone();
        for (int flips = 1 + random.nextInt(3); flips > 0; flips--) {
            value[random.nextInt(value.length)] = (byte) random.nextInt(256);
        }
        return random.nextBoolean() ? value : Arrays.copyOf(value, random.nextInt(value.length + 1));
    }

    /** Random code points, any plane, surrogates excluded, encoded as valid UTF-8. */
    private static byte[] randomText(Random random, int codePoints) {
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < codePoints; i++) {
            int cp = random.nextInt(4) == 0 ? random.nextInt(0x11_0000) : 0x20 + random.nextInt(0x60);
            if (cp < Character.MIN_SURROGATE || cp > Character.MAX_SURROGATE) {
                text.appendCodePoint(cp);
            }
        }
        return utf8(text.toString());
    }

    private static byte[] filled(int length) {
        byte[] value = new byte[length];
        Arrays.fill(value, (byte) 'a');
        return value;
    }

    private static byte[] utf8(String text) {
        return text.getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] bytes(int... values) {
        byte[] out = new byte[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = (byte) values[i];
        }
        return out;
    }
}
