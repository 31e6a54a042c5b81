package dev.momstream.pipeline.job;

import dev.momstream.kafka.records.Document;
import dev.momstream.kafka.records.RecordJson;
import dev.momstream.kafka.settings.KafkaSettings;
import dev.momstream.trainer.data.Content;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
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
 * Sends documents to an input topic, keyed by id. Text goes as JSON {@link Document} records
 * (id, text, source, ts); a text whose record would exceed {@value #MAX_PART_BYTES} bytes (or a
 * smaller record size limit) is split at paragraph boundaries (then lines, then words, then
 * characters, as a last resort) into parts {@code <id>#<n>}, so that nothing the user sends is
 * dead-lettered as OVERSIZED. The parts stay far below the 1 MiB limit on purpose: the job's
 * packer turns a record into windows within one call, and a Flink task blocked on output buffers
 * in the middle of a record cannot take a checkpoint barrier. A 1 MiB record (~250 k tokens) held
 * checkpoints back until the trainer had consumed all its windows, and forever once the trainer
 * stopped at its last step; 64 KiB of windows fit into Flink's overdraft buffers. Bytes that are
 * not valid UTF-8 go as they are, as the record value: the job's decoder then dead-letters them
 * as NOT_UTF8 with the offset, under the document's id as key, instead of training on a guess. Of
 * such bytes beyond the limit, the record keeps the limit's worth that ends just past the first
 * invalid byte (a dead letter keeps only the first few KiB anyway; the file stays where it is).
 */
public final class DocumentProducer implements AutoCloseable {

    /** The largest record of text this producer writes, whatever the limit (see above). */
    static final int MAX_PART_BYTES = 64 * 1024;
    /** The smallest record limit: room for an id, the JSON fields and some text. */
    private static final int MIN_RECORD_BYTES = 2048;
    /**
     * Kafka's framing of one record in its batch (batch and record headers, varints): a broker's
     * {@code message.max.bytes} (1 MiB + 12 by default) counts it and the key, the decoder's
     * limit counts the value only, so the value stays this much plus the key below the limit.
     */
    private static final int KAFKA_FRAMING_BYTES = 128;

    /** Where a text too large for one record is cut, coarsest first; characters are the last resort. */
    private static final String[] SEPARATORS = {"\n\n", "\n", " "};
    /** The most one code point costs inside a JSON string: a six-byte escape (backslash, u, four hex digits). */
    private static final int MAX_ESCAPED_CHAR_BYTES = 6;

    private final KafkaProducer<String, byte[]> producer;
    private final int maxRecordBytes;
    private final List<Future<RecordMetadata>> inFlight = new ArrayList<>();

    public DocumentProducer(KafkaSettings settings, int maxRecordBytes) {
        if (maxRecordBytes < MIN_RECORD_BYTES) {
            throw new IllegalArgumentException("maxRecordBytes must be at least " + MIN_RECORD_BYTES + ", got "
                    + maxRecordBytes);
        }
        var props = settings.producerProperties();
        // A whole record of the limit must fit into one request.
        props.setProperty(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, Integer.toString(maxRecordBytes + MIN_RECORD_BYTES));
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
        return sendAll(records(topic, id, text, source, System.currentTimeMillis(), maxRecordBytes));
    }

    /** Sends a document's content: its text as {@link #send(String, String, String, String)}, or its bytes as they are. */
    public int send(String topic, String id, Content content, String source) {
        if (content instanceof Content.Text text) {
            return send(topic, id, text.text(), source);
        }
        return sendAll(List.of(rawRecord(topic, id, (Content.NotUtf8) content, maxRecordBytes)));
    }

    private int sendAll(List<ProducerRecord<String, byte[]>> records) {
        for (ProducerRecord<String, byte[]> r : records) {
            inFlight.add(producer.send(r));
        }
        return records.size();
    }

    /**
     * The JSON records of {@code text}: one, or parts {@code <id>#<n>} when one would exceed
     * {@link #MAX_PART_BYTES} or {@code maxRecordBytes} with its key and Kafka's framing. A text
     * of nothing but whitespace still makes one record, for the job to dead-letter as EMPTY.
     */
    static List<ProducerRecord<String, byte[]>> records(String topic, String id, String text, String source, long ts,
                                                        int maxRecordBytes) {
        String widestId = id + "#" + Integer.MAX_VALUE;
        int budget = Math.min(maxRecordBytes, MAX_PART_BYTES) - KAFKA_FRAMING_BYTES - utf8Length(widestId)
                - RecordJson.toJsonBytes(new Document(widestId, "", source, ts)).length;
        if (budget < MIN_RECORD_BYTES / 2) {
            throw new IllegalArgumentException("document " + id + ": its id and source leave too little room for text"
                    + " in records of " + Math.min(maxRecordBytes, MAX_PART_BYTES) + " bytes");
        }
        List<String> parts = split(text, budget);
        if (parts.isEmpty()) {
            parts = List.of(text.substring(0, 0));
        }
        List<ProducerRecord<String, byte[]>> out = new ArrayList<>();
        for (int i = 0; i < parts.size(); i++) {
            String partId = parts.size() == 1 ? id : id + "#" + i;
            out.add(new ProducerRecord<>(topic, partId,
                    RecordJson.toJsonBytes(new Document(partId, parts.get(i), source, ts))));
        }
        return out;
    }

    /** The record of bytes that are not UTF-8: all of them, or the limit's worth ending past the first invalid byte. */
    static ProducerRecord<String, byte[]> rawRecord(String topic, String id, Content.NotUtf8 content,
                                                    int maxRecordBytes) {
        byte[] bytes = content.bytes();
        int room = maxRecordBytes - KAFKA_FRAMING_BYTES - utf8Length(id);
        int from = 0;
        if (bytes.length > room && content.invalidAt() > room - 4) {
            // start on a character boundary, so that the first invalid byte is the real one
            from = content.invalidAt() - (room - 4);
            while (from < content.invalidAt() && (bytes[from] & 0xC0) == 0x80) {
                from++;
            }
        }
        return new ProducerRecord<>(topic, id, Arrays.copyOfRange(bytes, from, Math.min(bytes.length, from + room)));
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
     * {@code text} in pieces whose JSON-escaped UTF-8 form is at most {@code budget} bytes, cut
     * at the coarsest boundary that works: blank lines, then line breaks, then spaces, then
     * characters. The separators at the cuts are dropped, and so are blank pieces.
     */
    public static List<String> split(String text, int budget) {
        if (budget < MAX_ESCAPED_CHAR_BYTES) {
            throw new IllegalArgumentException("budget " + budget + " is below one character's " + MAX_ESCAPED_CHAR_BYTES
                    + " bytes");
        }
        List<String> out = new ArrayList<>();
        splitInto(text, budget, 0, out);
        return out;
    }

    private static void splitInto(String text, int budget, int level, List<String> out) {
        if (escapedBytes(text) <= budget) {
            if (level == 0 || !text.isBlank()) {
                out.add(text);
            }
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
                addUnlessBlank(current.toString(), out);
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
        addUnlessBlank(current.toString(), out);
    }

    private static void addUnlessBlank(String piece, List<String> out) {
        if (!piece.isBlank()) {
            out.add(piece);
        }
    }

    private static void cutByCharacters(String text, int budget, List<String> out) {
        int start = 0;
        while (start < text.length()) {
            int end = start;
            int bytes = 0;
            while (end < text.length()) {
                int cp = text.codePointAt(end);
                int cpBytes = escapedBytes(cp);
                if (bytes + cpBytes > budget) {
                    break;
                }
                bytes += cpBytes;
                end += Character.charCount(cp);
            }
            addUnlessBlank(text.substring(start, end), out);
            start = end;
        }
    }

    /** Bytes of {@code s} inside a JSON string as {@link RecordJson} writes it: what it costs in the record. */
    static int escapedBytes(String s) {
        int bytes = 0;
        for (int i = 0; i < s.length(); ) {
            int cp = s.codePointAt(i);
            bytes += escapedBytes(cp);
            i += Character.charCount(cp);
        }
        return bytes;
    }

    /** Jackson's default escaping: quote and backslash, short escapes for five controls, six-byte escapes for the other controls. */
    private static int escapedBytes(int cp) {
        if (cp == '"' || cp == '\\' || cp == '\b' || cp == '\t' || cp == '\n' || cp == '\f' || cp == '\r') {
            return 2;
        }
        if (cp < 0x20) {
            return MAX_ESCAPED_CHAR_BYTES;
        }
        if (cp < 0x80) {
            return 1;
        }
        if (cp < 0x800) {
            return 2;
        }
        return cp < 0x10000 ? 3 : 4;
    }

    private static int utf8Length(String s) {
        return s.getBytes(StandardCharsets.UTF_8).length;
    }
}
