package dev.momstream.pipeline.job;

import dev.momstream.kafka.records.Document;
import dev.momstream.kafka.records.RecordJson;
import dev.momstream.kafka.settings.KafkaSettings;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Sends text to an input topic as JSON {@link Document} records (id, text, source, ts), keyed by
 * id. A text whose record would exceed the record size limit is split at paragraph boundaries
 * (then lines, then characters, as a last resort) into parts {@code <id>#<n>}, so that nothing
 * the user sends is dead-lettered as OVERSIZED.
 */
public final class DocumentProducer implements AutoCloseable {

    // Room for the JSON around the text: field names, id, source, ts.
    private static final int ENVELOPE_BYTES = 1024;

    private final KafkaProducer<String, byte[]> producer;
    private final int maxRecordBytes;
    private final List<Future<RecordMetadata>> inFlight = new ArrayList<>();

    public DocumentProducer(KafkaSettings settings, int maxRecordBytes) {
        if (maxRecordBytes <= 2 * ENVELOPE_BYTES) {
            throw new IllegalArgumentException("maxRecordBytes must exceed " + 2 * ENVELOPE_BYTES + ", got " + maxRecordBytes);
        }
        var props = settings.producerProperties();
        // A whole 1 MiB record must fit into one request.
        props.setProperty(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, Integer.toString(maxRecordBytes + ENVELOPE_BYTES));
        props.setProperty(ProducerConfig.LINGER_MS_CONFIG, "20");
        props.setProperty(ProducerConfig.BATCH_SIZE_CONFIG, Integer.toString(256 * 1024));
        // A partition created a moment ago may refuse the first request while later ones land;
        // with one request in flight the idempotent producer cannot get stuck out of sequence.
        props.setProperty(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "1");
        this.producer = new KafkaProducer<>(props, new StringSerializer(), new ByteArraySerializer());
        this.maxRecordBytes = maxRecordBytes;
    }

    /** Sends {@code text} (split if needed) to {@code topic}; returns the number of records. */
    public int send(String topic, String id, String text, String source) {
        List<String> parts = split(text, maxRecordBytes - ENVELOPE_BYTES);
        long now = System.currentTimeMillis();
        for (int i = 0; i < parts.size(); i++) {
            String partId = parts.size() == 1 ? id : id + "#" + i;
            byte[] value = RecordJson.toJsonBytes(new Document(partId, parts.get(i), source, now));
            inFlight.add(producer.send(new ProducerRecord<>(topic, partId, value)));
        }
        return parts.size();
    }

    /** Waits until everything sent so far is acknowledged; throws if anything failed. */
    public void flush() {
        producer.flush();
        try {
            for (Future<RecordMetadata> f : inFlight) {
                f.get();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new KafkaException("interrupted while sending documents", e);
        } catch (ExecutionException e) {
            throw new KafkaException("sending a document failed: " + e.getCause().getMessage(), e.getCause());
        } finally {
            inFlight.clear();
        }
    }

    /** Closes without waiting for records still in flight (they may or may not arrive). */
    public void abort() {
        producer.close(Duration.ZERO);
    }

    @Override
    public void close() {
        try {
            flush();
        } finally {
            producer.close();
        }
    }

    /**
     * {@code text} in pieces whose JSON-escaped UTF-8 form is at most {@code budget} bytes,
     * cut at the coarsest boundary that works: blank lines, then line breaks, then characters.
     */
    public static List<String> split(String text, int budget) {
        List<String> out = new ArrayList<>();
        splitInto(text, budget, 0, out);
        return out;
    }

    private static final String[] SEPARATORS = {"\n\n", "\n"};

    private static void splitInto(String text, int budget, int level, List<String> out) {
        if (escapedBytes(text) <= budget) {
            out.add(text);
            return;
        }
        if (level == SEPARATORS.length) {
            cutByCharacters(text, budget, out);
            return;
        }
        String sep = SEPARATORS[level];
        StringBuilder current = new StringBuilder();
        int currentBytes = 0;
        int sepBytes = escapedBytes(sep);
        for (String piece : text.split(sep, -1)) {
            int pieceBytes = escapedBytes(piece);
            if (current.length() > 0 && currentBytes + sepBytes + pieceBytes > budget) {
                out.add(current.toString());
                current.setLength(0);
                currentBytes = 0;
            }
            if (pieceBytes > budget) {
                splitInto(piece, budget, level + 1, out);
                continue;
            }
            if (current.length() > 0) {
                current.append(sep);
                currentBytes += sepBytes;
            }
            current.append(piece);
            currentBytes += pieceBytes;
        }
        if (current.length() > 0) {
            out.add(current.toString());
        }
        out.removeIf(String::isBlank);
    }

    private static void cutByCharacters(String text, int budget, List<String> out) {
        int start = 0;
        while (start < text.length()) {
            int end = start;
            int bytes = 0;
            while (end < text.length()) {
                int cp = text.codePointAt(end);
                int cpBytes = escapedBytes(new String(Character.toChars(cp)));
                if (bytes + cpBytes > budget) {
                    break;
                }
                bytes += cpBytes;
                end += Character.charCount(cp);
            }
            out.add(text.substring(start, end));
            start = end;
        }
    }

    /** Bytes of {@code s} inside a JSON string: what it costs in the record. */
    static int escapedBytes(String s) {
        String json = RecordJson.toJson(s);
        return json.getBytes(StandardCharsets.UTF_8).length - 2;
    }
}
