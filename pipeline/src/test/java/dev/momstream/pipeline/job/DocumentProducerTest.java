package dev.momstream.pipeline.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.momstream.kafka.records.DecodeResult;
import dev.momstream.kafka.records.DocumentDecoder;
import dev.momstream.kafka.records.RecordJson;
import dev.momstream.kafka.records.RecordOrigin;
import dev.momstream.kafka.records.RejectReason;
import dev.momstream.trainer.data.Content;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

/** What the producer puts on the wire is what the job's decoder accepts, or dead-letters for the right reason. */
class DocumentProducerTest {

    private static final int LIMIT = 1_048_576;
    private static final DocumentDecoder DECODER = new DocumentDecoder(LIMIT, 4096);

    @Test
    void escapedSizesAreWhatJacksonWrites() {
        Random r = new Random(3);
        String alphabet = "ab \"\\\n\t\r\b\f\u0001\u001f\u007f\u00e9\u20ac\uD83D\uDE00/<";
        for (int n = 0; n < 200; n++) {
            StringBuilder sb = new StringBuilder();
            for (int i = r.nextInt(50); i > 0; i--) {
                int at = r.nextInt(alphabet.length() - 1);
                sb.append(Character.isHighSurrogate(alphabet.charAt(at)) ? alphabet.substring(at, at + 2)
                        : Character.isLowSurrogate(alphabet.charAt(at)) ? "x" : alphabet.charAt(at));
            }
            String s = sb.toString();
            assertEquals(RecordJson.toJson(s).getBytes(StandardCharsets.UTF_8).length - 2,
                    DocumentProducer.escapedBytes(s), s);
        }
    }

    @Test
    void aThreeMegabyteLineIsCutAtSpacesIntoRecordsTheDecoderAccepts() {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; sb.length() < 3_000_000; i++) {
            sb.append("caf\u00e9").append(i % 977).append(i % 50 == 0 ? " \"quoted\" " : " ");
        }
        String line = sb.toString().strip();
        List<ProducerRecord<String, byte[]>> records = DocumentProducer.records("t", "z-long-line.txt", line,
                "corpus", 1L, LIMIT);

        int part = DocumentProducer.MAX_PART_BYTES;
        int escaped = DocumentProducer.escapedBytes(line);
        assertTrue(records.size() > escaped / part && records.size() <= escaped / (part - 1024) + 1,
                records.size() + " records for " + escaped + " bytes: parts at most 1 KiB below " + part);
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < records.size(); i++) {
            ProducerRecord<String, byte[]> r = records.get(i);
            assertEquals("z-long-line.txt#" + i, r.key());
            assertTrue(r.value().length <= DocumentProducer.MAX_PART_BYTES, "record " + i + ": " + r.value().length);
            var accepted = assertInstanceOf(DecodeResult.Accepted.class, DECODER.decode(r.value(), RecordOrigin.UNKNOWN));
            assertEquals(r.key(), accepted.document().id());
            texts.add(accepted.document().text());
        }
        assertEquals(line, String.join(" ", texts), "cut at spaces, nothing lost or changed");
    }

    @Test
    void underASmallLimitARecordWithItsKeyAndFramingStaysBelowIt() {
        int limit = 4096;
        String id = "a/deeply/nested/directory/".repeat(20) + "file.txt";
        List<ProducerRecord<String, byte[]>> records = DocumentProducer.records("t", id, "x\u00e9\"\n".repeat(5000),
                "corpus", 1L, limit);
        DocumentDecoder decoder = new DocumentDecoder(limit, 4096);
        for (ProducerRecord<String, byte[]> r : records) {
            assertTrue(r.value().length + r.key().getBytes(StandardCharsets.UTF_8).length + 128 <= limit,
                    "value " + r.value().length + " with a key of " + r.key().length() + " bytes");
            assertInstanceOf(DecodeResult.Accepted.class, decoder.decode(r.value(), RecordOrigin.UNKNOWN));
        }
    }

    @Test
    void bytesThatAreNotUtf8TravelAsTheyAreAndAreDeadLetteredAsSuch() {
        byte[] latin1 = "caf\u00e9 au lait".getBytes(StandardCharsets.ISO_8859_1);
        ProducerRecord<String, byte[]> small = DocumentProducer.rawRecord("t", "d-latin1.txt",
                new Content.NotUtf8(latin1, 3), LIMIT);
        assertArrayEquals(latin1, small.value());
        assertEquals("d-latin1.txt", small.key());
        var rejected = assertInstanceOf(DecodeResult.Rejected.class, DECODER.decode(small.value(), RecordOrigin.UNKNOWN));
        assertEquals(RejectReason.NOT_UTF8, rejected.reason());
        assertEquals("invalid UTF-8 at byte 3", rejected.deadLetter().detail());

        // 5 MB of valid two-byte characters, then one invalid byte: the record is the limit's worth ending past it
        byte[] big = new byte[5_000_001];
        for (int i = 0; i + 1 < big.length; i += 2) {
            big[i] = (byte) 0xC3;
            big[i + 1] = (byte) 0xA9;
        }
        big[4_000_000] = (byte) 0xFF;
        ProducerRecord<String, byte[]> window = DocumentProducer.rawRecord("t", "big.txt",
                new Content.NotUtf8(big, 4_000_000), LIMIT);
        assertTrue(window.value().length <= LIMIT - 128 - "big.txt".length(), "length " + window.value().length);
        int from = 4_000_000 - indexOfInvalid(window.value());
        assertTrue(from > 0 && from % 2 == 0, "starts on a character boundary: " + from);
        assertTrue(Arrays.equals(big, from, from + window.value().length, window.value(), 0, window.value().length));
        var windowed = assertInstanceOf(DecodeResult.Rejected.class, DECODER.decode(window.value(), RecordOrigin.UNKNOWN));
        assertEquals(RejectReason.NOT_UTF8, windowed.reason());
        assertEquals("invalid UTF-8 at byte " + (4_000_000 - from), windowed.deadLetter().detail());
    }

    @Test
    void textThatIsOnlyWhitespaceStillMakesARecordForTheDeadLetterTopic() {
        List<ProducerRecord<String, byte[]>> records = DocumentProducer.records("t", "blank.txt", "\n \n".repeat(400_000),
                "corpus", 1L, LIMIT);
        assertEquals(1, records.size());
        var rejected = assertInstanceOf(DecodeResult.Rejected.class,
                DECODER.decode(records.get(0).value(), RecordOrigin.UNKNOWN));
        assertEquals(RejectReason.EMPTY, rejected.reason());
    }

    private static int indexOfInvalid(byte[] bytes) {
        for (int i = 0; i < bytes.length; i++) {
            if (bytes[i] == (byte) 0xFF) {
                return i;
            }
        }
        throw new AssertionError("the invalid byte is not in the record");
    }
}
