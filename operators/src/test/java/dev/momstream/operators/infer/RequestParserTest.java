package dev.momstream.operators.infer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.momstream.kafka.records.InferRequest;
import dev.momstream.kafka.records.InferResponse;
import dev.momstream.kafka.records.RecordOrigin;
import dev.momstream.trainer.data.Gpt2Tokenizer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class RequestParserTest {

    private final RequestParser parser = new RequestParser(ServeOptions.defaults().toBuilder().limits(200, 20, 100).build());
    private long offset;

    private RequestParser.Parsed parse(String key, String json) {
        return parser.request(new RecordOrigin("infer.requests", 0, offset++, key, 0),
                json == null ? null : json.getBytes(StandardCharsets.UTF_8), 7);
    }

    private InferResponse refused(String key, String json) {
        InferResponse r = assertInstanceOf(RequestParser.Refused.class, parse(key, json)).response();
        assertEquals(InferResponse.ERROR, r.status());
        return r;
    }

    private Request accepted(String json) {
        return assertInstanceOf(RequestParser.Accepted.class, parse(null, json)).request();
    }

    @Test
    void everyBadRequestIsRefusedWithItsReasonUnderAnIdItsSenderKnows() {
        assertEquals("k1", refused("k1", "{\"id\":").id());
        assertTrue(refused("k1", "{\"id\":").error().startsWith("not a valid request: "));
        InferResponse noKey = refused(null, "garbage");
        assertEquals("infer.requests/0/" + (offset - 1), noKey.id(), "without id or key, its position names it");
        assertTrue(refused("k", null).error().contains("empty request"));
        InferResponse unknown = refused("k", "{\"id\":\"x\",\"type\":\"translate\",\"text\":\"a b\"}");
        assertEquals("x", unknown.id());
        assertEquals("unknown request type 'translate': expected score or generate", unknown.error());
        assertEquals("the request has no text", refused("k", "{\"id\":\"x\",\"type\":\"score\"}").error());
        assertTrue(refused("k", "{\"id\":\"x\",\"type\":\"score\",\"text\":\"" + "word ".repeat(40) + "\"}")
                .error().contains("more than the limit of 200"));
        String longText = "word" + " word".repeat(24);
        assertEquals(25, Gpt2Tokenizer.encode(longText).length);
        assertEquals("the text is too long: 25 tokens, more than the limit of 20",
                refused("k", "{\"id\":\"x\",\"type\":\"score\",\"text\":\"" + longText + "\"}").error());
        assertTrue(refused("k", "{\"id\":\"x\",\"type\":\"score\",\"text\":\"hi\"}").error()
                .contains("scoring needs at least 2"));
        String sampling = refused("k", "{\"id\":\"x\",\"type\":\"generate\",\"text\":\"a\",\"maxNewTokens\":101,"
                + "\"temperature\":-1,\"topP\":0}").error();
        assertTrue(sampling.contains("maxNewTokens=101 must be between 0 and 100") && sampling.contains("temperature=-1.0")
                && sampling.contains("topP=0.0"), sampling);
    }

    @Test
    void goodRequestsAreTokenizedWithTheirDefaults() {
        Request s = accepted("{\"id\":\"s\",\"type\":\"score\",\"text\":\"Fellow citizens\"}");
        assertEquals("s", s.id());
        assertEquals("infer.requests/0/0", s.key());
        assertArrayEquals(Gpt2Tokenizer.encode("Fellow citizens"), s.tokens());
        assertEquals(7, s.arrivedNanos());

        Request g = accepted("{\"id\":\"g\",\"type\":\"generate\",\"text\":\"\",\"seed\":5}");
        assertArrayEquals(new int[] {Gpt2Tokenizer.END_OF_TEXT}, g.tokens(), "an empty prompt starts after end-of-text");
        assertEquals(InferRequest.DEFAULT_MAX_NEW_TOKENS, g.maxNewTokens());
        assertEquals(1.0, g.sampling().temperature());
        assertEquals(50, g.sampling().topK());
        assertEquals(5, g.sampling().seed());
        assertTrue(accepted("{\"id\":\"g\",\"type\":\"generate\",\"text\":\"a\",\"greedy\":true}").sampling().isGreedy());
        assertNotEquals(accepted("{\"id\":\"1\",\"type\":\"generate\",\"text\":\"a\"}").sampling().seed(),
                accepted("{\"id\":\"2\",\"type\":\"generate\",\"text\":\"a\"}").sampling().seed(),
                "without a seed each request gets a fresh one");
    }

    @Test
    void documentsOfAScoredTopicAreScoreRequestsNamedByTheirIdOrPosition() {
        RecordOrigin at = new RecordOrigin("text.train", 2, 9, null, 0);
        Request json = assertInstanceOf(RequestParser.Accepted.class, parser.document(at,
                "{\"id\":\"doc-1\",\"text\":\"Fellow citizens of the Senate\"}".getBytes(StandardCharsets.UTF_8), 0))
                .request();
        assertEquals("doc-1", json.id());
        assertTrue(json.isScore());
        Request plain = assertInstanceOf(RequestParser.Accepted.class,
                parser.document(at, "Fellow citizens".getBytes(StandardCharsets.UTF_8), 0)).request();
        assertEquals("text.train-2-9", plain.id(), "the decoder names a plain-text document by its position");
        InferResponse binary = assertInstanceOf(RequestParser.Refused.class,
                parser.document(at, new byte[] {0, 0, 0, 0, 1}, 0)).response();
        assertTrue(binary.error().startsWith("BINARY: "), binary.error());
        assertEquals("text.train/2/9", binary.id());
    }
}
