package dev.momstream.kafka.embedded;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/** The files of one embedded broker under its data directory. */
final class BrokerFiles {

    static final String HOST = "127.0.0.1";
    private static final int TAIL_BYTES = 8192;
    // Kafka's 128 MiB default dedupe buffer alone would fill a small heap; 8 MiB ran fine at -Xmx64m.
    private static final String DEDUPE_BUFFER_BYTES = Integer.toString(8 * 1024 * 1024);
    private static final String LOG4J_CONFIG = """
            status = warn
            appender.out.type = Console
            appender.out.name = out
            appender.out.layout.type = PatternLayout
            appender.out.layout.pattern = [%d] %p %m (%c)%n
            rootLogger.level = info
            rootLogger.appenderRef.out.ref = out
            """;

    private final Path dataDir;

    BrokerFiles(Path dataDir) {
        this.dataDir = dataDir;
    }

    Path serverProperties() {
        return dataDir.resolve("server.properties");
    }

    Path log4jConfig() {
        return dataDir.resolve("log4j2-broker.properties");
    }

    /** The broker's stdout and stderr, appended across restarts. */
    Path logFile() {
        return dataDir.resolve("broker.log");
    }

    /** Kafka's {@code log.dirs}: partitions and the KRaft metadata log. */
    Path kafkaData() {
        return dataDir.resolve("kafka-data");
    }

    /** Deletes the partitions and the metadata log: the next start formats empty data. */
    void deleteKafkaData() {
        if (!Files.exists(kafkaData())) {
            return;
        }
        try (Stream<Path> walk = Files.walk(kafkaData())) {
            for (Path p : (Iterable<Path>) walk.sorted(Comparator.reverseOrder())::iterator) {
                Files.delete(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot delete the embedded broker's data in " + kafkaData(), e);
        }
    }

    boolean formatted() {
        return Files.exists(kafkaData().resolve("meta.properties"));
    }

    /** Writes {@code server.properties} and the broker's logging config. */
    void write(int brokerPort, int controllerPort, Map<String, String> extra) {
        Map<String, String> props = new LinkedHashMap<>();
        // Combined mode: this one process is the whole cluster, broker and KRaft controller.
        props.put("process.roles", "broker,controller");
        props.put("node.id", "1");
        props.put("controller.quorum.voters", "1@" + HOST + ":" + controllerPort);
        props.put("listeners", "PLAINTEXT://" + HOST + ":" + brokerPort + ",CONTROLLER://" + HOST + ":" + controllerPort);
        props.put("advertised.listeners", "PLAINTEXT://" + HOST + ":" + brokerPort);
        props.put("controller.listener.names", "CONTROLLER");
        props.put("inter.broker.listener.name", "PLAINTEXT");
        props.put("listener.security.protocol.map", "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT");
        props.put("log.dirs", kafkaData().toString());
        // Internal topics default to 3 replicas, which one broker cannot host.
        props.put("offsets.topic.replication.factor", "1");
        props.put("transaction.state.log.replication.factor", "1");
        props.put("transaction.state.log.min.isr", "1");
        props.put("share.coordinator.state.topic.replication.factor", "1");
        props.put("share.coordinator.state.topic.min.isr", "1");
        // No one else will join a group on a dev broker: don't wait 3 s for them.
        props.put("group.initial.rebalance.delay.ms", "0");
        props.put("log.cleaner.dedupe.buffer.size", DEDUPE_BUFFER_BYTES);
        // After a kill -9 the restarted broker cannot register until its old session expires
        // (9 s by default). Heartbeats never leave this process, so 4 s is still ample.
        props.put("broker.session.timeout.ms", "4000");
        props.put("broker.heartbeat.interval.ms", "1000");
        // The topic catalog is the single source of truth: a typo must fail, not create a topic.
        props.put("auto.create.topics.enable", "false");
        props.putAll(extra);
        String text = props.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue())
                .collect(Collectors.joining("\n", "# Written by EmbeddedKafka at every start.\n", "\n"));
        try {
            Files.createDirectories(dataDir);
            Files.writeString(serverProperties(), text, StandardCharsets.UTF_8);
            Files.writeString(log4jConfig(), LOG4J_CONFIG, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write the broker config under " + dataDir, e);
        }
    }

    /** The last lines of {@link #logFile()}, for error messages; empty when there is none. */
    String logTail() {
        Path log = logFile();
        if (!Files.exists(log)) {
            return "";
        }
        try (RandomAccessFile file = new RandomAccessFile(log.toFile(), "r")) {
            long start = Math.max(0, file.length() - TAIL_BYTES);
            byte[] bytes = new byte[(int) (file.length() - start)];
            file.seek(start);
            file.readFully(bytes);
            String tail = new String(bytes, StandardCharsets.UTF_8);
            // Drop the partial first line when the tail starts mid-file.
            return start > 0 && tail.indexOf('\n') >= 0 ? tail.substring(tail.indexOf('\n') + 1) : tail;
        } catch (IOException e) {
            return "(cannot read " + log + ": " + e.getMessage() + ")";
        }
    }
}
