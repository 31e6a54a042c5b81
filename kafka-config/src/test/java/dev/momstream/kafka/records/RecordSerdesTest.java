package dev.momstream.kafka.records;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serializer;
import org.junit.jupiter.api.Test;

class RecordSerdesTest {

    private static final TrainMetrics METRICS = new TrainMetrics("run-1", 120, 3.25, 0.01, 3e-4, 1.5, 4200.0,
            1_966_080, 0.125, 0.69, Map.of("attn.3", 0.4, "ffn.7", 0.6), false, 3.4, 1_700_000_000_000L);
    private static final ModelEvent EVENT = new ModelEvent("run-1", 17, 1200, 19_660_800,
            "file:///runs/run-1/chk-17", "file:///runs/run-1/lineage-17.json", "sha256:ab12", 3.1, 1_700_000_100_000L);
    private static final DeadLetter DEAD = DeadLetter.of(new RecordOrigin("text.train", 2, 99, "k", 5L),
            RejectReason.BINARY, "contains NUL", new byte[] {1, 0, 2}, 4096);

    @Test
    void everyRecordTypeRoundTripsThroughItsKafkaSerde() {
        assertEquals(METRICS, roundTrip(new RecordSerdes.TrainMetricsSerializer(),
                new RecordSerdes.TrainMetricsDeserializer(), METRICS));
        assertEquals(EVENT, roundTrip(new RecordSerdes.ModelEventSerializer(),
                new RecordSerdes.ModelEventDeserializer(), EVENT));
        assertEquals(DEAD, roundTrip(new RecordSerdes.DeadLetterSerializer(),
                new RecordSerdes.DeadLetterDeserializer(), DEAD));
        Document doc = new Document("doc-1", "Hello, wörld ✓", "crawler", 1_700_000_000_000L);
        DecodeResult decoded = roundTrip(new RecordSerdes.DocumentSerializer(),
                new RecordSerdes.DocumentDeserializer(), doc);
        assertEquals(new DecodeResult.Accepted(doc), decoded);
    }

    @Test
    void everyRecordTypeRoundTripsThroughTheStaticHelpers() {
        assertEquals(METRICS, RecordJson.fromJson(RecordJson.toJson(METRICS), TrainMetrics.class));
        assertEquals(EVENT, RecordJson.fromJson(RecordJson.toJsonBytes(EVENT), ModelEvent.class));
        assertEquals(DEAD, RecordJson.fromJson(RecordJson.toJson(DEAD), DeadLetter.class));
        Document doc = new Document("d", "t", "s", -1);
        assertEquals(doc, RecordJson.fromJson(RecordJson.toJson(doc), Document.class));
    }

    @Test
    void jsonHasTheDocumentedShape() {
        assertEquals("{\"id\":\"d\",\"text\":\"t\",\"source\":\"s\",\"ts\":7}",
                RecordJson.toJson(new Document("d", "t", "s", 7)));
        assertTrue(RecordJson.toJson(METRICS).contains("\"moduleShares\":{\"attn.3\":0.4,\"ffn.7\":0.6}"));
        assertTrue(RecordJson.toJson(DEAD).contains("\"reason\":\"BINARY\""));
    }

    @Test
    void nonFiniteMetricsAndMissingValidationLossSurvive() {
        TrainMetrics diverged = new TrainMetrics("r", 1, Double.NaN, Double.POSITIVE_INFINITY, 0, Double.NaN, 0, 0, 0,
                0, null, true, null, 0);
        TrainMetrics back = RecordJson.fromJson(RecordJson.toJson(diverged), TrainMetrics.class);
        assertTrue(Double.isNaN(back.loss()));
        assertEquals(Double.POSITIVE_INFINITY, back.auxLoss());
        assertEquals(Map.of(), back.moduleShares());
        assertTrue(back.skipped());
        assertNull(back.valLoss());

        ModelEvent unvalidated = new ModelEvent("r", 2, 20, 100, "c", "l", "h", null, 0);
        assertEquals(unvalidated, RecordJson.fromJson(RecordJson.toJson(unvalidated), ModelEvent.class));
    }

    @Test
    void servableEventsCarryTheirExportAndOlderEventsReadAsNotServable() {
        ModelEvent servable = EVENT.withOnnx("/runs/run-1/versions/v17/onnx", "ab".repeat(32));
        ModelEvent back = RecordJson.fromJson(RecordJson.toJson(servable), ModelEvent.class);
        assertEquals(servable, back);
        assertTrue(back.servable());
        assertFalse(RecordJson.toJson(servable).contains("\"servable\""), RecordJson.toJson(servable));
        ModelEvent failed = EVENT.withOnnxError("checkpoint gone");
        assertEquals(failed, RecordJson.fromJson(RecordJson.toJson(failed), ModelEvent.class));
        assertFalse(failed.servable());

        String before = RecordJson.toJson(EVENT).replace(",\"onnxPath\":null,\"onnxChecksum\":null,\"onnxError\":null", "");
        assertFalse(before.contains("onnx"), before);
        assertEquals(EVENT, RecordJson.fromJson(before, ModelEvent.class));
        assertThrows(SerializationException.class, () -> RecordJson.fromJson(
                RecordJson.toJson(servable).replace("\"onnxChecksum\":\"" + "ab".repeat(32) + "\"", "\"onnxChecksum\":null"),
                ModelEvent.class));
    }

    @Test
    void readersTolerateNewFieldsButNotMissingNumbersOrGarbage() {
        String withExtra = RecordJson.toJson(EVENT).replace("{", "{\"addedLater\":true,");
        assertEquals(EVENT, RecordJson.fromJson(withExtra, ModelEvent.class));
        assertThrows(SerializationException.class,
                () -> RecordJson.fromJson("{\"runId\":\"r\",\"checkpointPath\":\"c\",\"lineagePath\":\"l\",\"configHash\":\"h\"}",
                        ModelEvent.class));
        SerializationException garbage = assertThrows(SerializationException.class,
                () -> new RecordSerdes.TrainMetricsDeserializer().deserialize("train.metrics", new byte[] {(byte) 0xff}));
        assertTrue(garbage.getMessage().contains("TrainMetrics"), garbage.getMessage());
        assertNull(new RecordSerdes.ModelEventDeserializer().deserialize("model.events", null));
        assertNull(new RecordSerdes.ModelEventSerializer().serialize("model.events", null));
    }

    @Test
    void deadLetterKeepsAtMostTheConfiguredPrefixAndTheOriginalSize() {
        byte[] value = "0123456789".getBytes(StandardCharsets.US_ASCII);
        DeadLetter letter = DeadLetter.of(RecordOrigin.UNKNOWN, RejectReason.OVERSIZED, "too big", value, 4);
        assertArrayEquals(Arrays.copyOf(value, 4), letter.payloadBytes());
        assertEquals(10, letter.payloadSize());
        assertEquals("", letter.sourceTopic());
        assertEquals(-1, letter.offset());
        DeadLetter tombstone = DeadLetter.of(RecordOrigin.UNKNOWN, RejectReason.EMPTY, "null value", null, 4);
        assertEquals("", tombstone.payload());
        assertEquals(0, tombstone.payloadSize());
    }

    @Test
    void documentDeserializerTurnsBadBytesIntoADeadLetter() {
        DecodeResult result = new RecordSerdes.DocumentDeserializer()
                .deserialize("text.train", new byte[] {(byte) 0xc3, (byte) 0x28});
        DecodeResult.Rejected rejected = assertInstanceOf(DecodeResult.Rejected.class, result);
        assertEquals(RejectReason.NOT_UTF8, rejected.reason());
        assertEquals("text.train", rejected.deadLetter().sourceTopic());
    }

    private static <T, R> R roundTrip(Serializer<T> serializer, Deserializer<R> deserializer, T value) {
        return deserializer.deserialize("topic", serializer.serialize("topic", value));
    }
}
