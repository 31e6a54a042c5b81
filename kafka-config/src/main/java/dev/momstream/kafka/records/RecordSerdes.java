package dev.momstream.kafka.records;

import java.util.Objects;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * Kafka serializers and deserializers for every record type, each with a public no-argument
 * constructor so that it can also be named in {@code key/value.(de)serializer} settings.
 */
public final class RecordSerdes {

    private RecordSerdes() {
    }

    /** Writes {@link Document}s as JSON. */
    public static final class DocumentSerializer extends JsonSerializer<Document> {
    }

    /**
     * Reads documents (JSON or plain text) through a {@link DocumentDecoder}: never throws, turns bad
     * values into {@link DecodeResult.Rejected}. Kafka's deserializer API carries no partition or
     * offset, so documents without id get a content-hash id; use {@link DocumentDecoder#decode(
     * org.apache.kafka.clients.consumer.ConsumerRecord)} on byte-array records to name them by position.
     */
    public static final class DocumentDeserializer implements Deserializer<DecodeResult> {

        private final DocumentDecoder decoder;

        public DocumentDeserializer() {
            this(new DocumentDecoder());
        }

        public DocumentDeserializer(DocumentDecoder decoder) {
            this.decoder = Objects.requireNonNull(decoder, "decoder");
        }

        @Override
        public DecodeResult deserialize(String topic, byte[] data) {
            return decoder.decode(data, RecordOrigin.ofTopic(topic));
        }
    }

    /** Writes {@link TrainMetrics} as JSON. */
    public static final class TrainMetricsSerializer extends JsonSerializer<TrainMetrics> {
    }

    /** Reads {@link TrainMetrics} from JSON. */
    public static final class TrainMetricsDeserializer extends JsonDeserializer<TrainMetrics> {
        public TrainMetricsDeserializer() {
            super(TrainMetrics.class);
        }
    }

    /** Writes {@link ModelEvent}s as JSON. */
    public static final class ModelEventSerializer extends JsonSerializer<ModelEvent> {
    }

    /** Reads {@link ModelEvent}s from JSON. */
    public static final class ModelEventDeserializer extends JsonDeserializer<ModelEvent> {
        public ModelEventDeserializer() {
            super(ModelEvent.class);
        }
    }

    /** Writes {@link DeadLetter}s as JSON. */
    public static final class DeadLetterSerializer extends JsonSerializer<DeadLetter> {
    }

    /** Reads {@link DeadLetter}s from JSON. */
    public static final class DeadLetterDeserializer extends JsonDeserializer<DeadLetter> {
        public DeadLetterDeserializer() {
            super(DeadLetter.class);
        }
    }
}
