package dev.momstream.pipeline.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.momstream.kafka.records.DeadLetter;
import dev.momstream.kafka.records.RecordJson;
import dev.momstream.kafka.records.RejectReason;
import dev.momstream.kafka.settings.KafkaSettings;
import dev.momstream.kafka.topics.Topic;
import dev.momstream.kafka.topics.TopicCatalog;
import dev.momstream.operators.train.RunLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad input goes to the dead-letter topic with its reason, good input to training; nothing is lost. */
class DeadLetterIT {

    private static final int LIMIT = 4096;
    private static final int STEPS = 20;

    @Test
    void everyBadRecordIsDeadLetteredWithItsReasonAndEveryGoodOneIsTrained(@TempDir Path dir) throws Exception {
        KafkaSettings kafka = Streams.sharedBroker();
        TopicCatalog topics = Streams.topics(kafka, 1);
        Map<Integer, RejectReason> bad = new TreeMap<>(Map.of(
                5, RejectReason.EMPTY, 9, RejectReason.EMPTY, 13, RejectReason.EMPTY,
                17, RejectReason.NOT_UTF8, 21, RejectReason.NOT_UTF8,
                25, RejectReason.BINARY, 29, RejectReason.BINARY,
                33, RejectReason.OVERSIZED, 37, RejectReason.OVERSIZED,
                41, RejectReason.MALFORMED_JSON));
        Map<Integer, byte[]> values = Map.of(
                5, new byte[0],
                13, " \n\t ".getBytes(StandardCharsets.UTF_8),
                17, new byte[] {'a', (byte) 0xC3, '(', 'b'},
                21, "caf\u00e9 au lait".getBytes(StandardCharsets.ISO_8859_1),
                25, "abc\0def".getBytes(StandardCharsets.UTF_8),
                29, controlCharacters(),
                33, "a".repeat(LIMIT + 1).getBytes(StandardCharsets.UTF_8),
                37, binary(3 * LIMIT),
                41, "{\"text\": unquoted}".getBytes(StandardCharsets.UTF_8));
        List<String> good = Streams.sentences(300);
        List<byte[]> records = new ArrayList<>();
        int nextGood = 0;
        for (int offset = 0; offset < 260; offset++) {
            records.add(bad.containsKey(offset) ? values.get(offset)
                    : good.get(nextGood++).getBytes(StandardCharsets.UTF_8)); // offset 9 stays null: a tombstone
        }
        Streams.send(kafka, topics.name(Topic.TEXT_TRAIN), records);
        Streams.send(kafka, topics.name(Topic.TEXT_EVAL), Streams.utf8(good.subList(280, 300)));

        RunSummary s = new StreamingRun(Streams.options(dir.resolve("run"), Streams.tiny(STEPS), kafka, topics, STEPS)
                .job(j -> j.maxRecordBytes(LIMIT)).build()).run(new StreamingRun.Listener() { });

        Map<String, Long> expectedCounts = bad.values().stream()
                .collect(Collectors.groupingBy(RejectReason::name, TreeMap::new, Collectors.counting()));
        assertEquals(expectedCounts, s.deadLetters());
        Map<Long, RejectReason> lettered = new TreeMap<>();
        for (var r : Streams.readAll(kafka, topics.name(Topic.TEXT_DEADLETTER))) {
            DeadLetter d = RecordJson.fromJson(r.value(), DeadLetter.class);
            assertEquals(topics.name(Topic.TEXT_TRAIN), d.sourceTopic());
            assertEquals(null, lettered.put(d.offset(), d.reason()), "offset " + d.offset() + " dead-lettered twice");
        }
        Map<Long, RejectReason> expected = new TreeMap<>();
        bad.forEach((offset, reason) -> expected.put(offset.longValue(), reason));
        assertEquals(expected, lettered);

        // Training: every good record up to the frontier, no bad one; the frontier is past the bad ones.
        Set<Long> trained = Streams.trainedOffsets(new RunLayout(dir.resolve("run")).cards())
                .getOrDefault(topics.name(Topic.TEXT_TRAIN) + "/0", Set.of());
        long frontier = trained.stream().mapToLong(Long::longValue).max().orElse(-1);
        assertTrue(frontier > 41, "training stopped at offset " + frontier + ", before the bad records were all read");
        Set<Long> goodUpToFrontier = new TreeSet<>();
        for (long o = 0; o <= frontier; o++) {
            if (!bad.containsKey((int) o)) {
                goodUpToFrontier.add(o);
            }
        }
        assertEquals(goodUpToFrontier, trained);
    }

    /** Valid UTF-8 that is mostly control characters: binary in disguise. */
    private static byte[] controlCharacters() {
        byte[] b = new byte[64];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) (i % 2 == 0 ? 0x01 + i % 8 : 'x');
        }
        return b;
    }

    private static byte[] binary(int size) {
        byte[] b = new byte[size];
        Arrays.fill(b, (byte) 0xFF);
        return b;
    }
}
