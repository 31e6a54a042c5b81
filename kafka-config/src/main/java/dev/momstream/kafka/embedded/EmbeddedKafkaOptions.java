package dev.momstream.kafka.embedded;

import java.io.File;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * How {@link EmbeddedKafka} runs its broker.
 *
 * @param dataDir            where the broker keeps everything: config, data, {@code broker.log}.
 *                           Reused as it is when it already holds a formatted broker.
 * @param maxHeap            the child JVM's {@code -Xmx}, such as {@code 512m} (default; ~370 MB
 *                           resident when idle)
 * @param transactionVersion the {@code transaction.version} feature set at format time: 1 (default)
 *                           or 2. Kafka 4 formats with 2, but after every Flink restore the Kafka
 *                           connector's committer then logged a spurious "producer is already
 *                           fenced ... signals data loss" ERROR although nothing was lost; version
 *                           1 does not. Only applies when the data dir is formatted.
 * @param startTimeout       how long start-up (format included) may take; default 120 s (10 to 18
 *                           s is typical here, more on a busy machine)
 * @param stopTimeout        how long a graceful stop may take before the broker is killed; default 30 s
 * @param classpath          the child JVM's class path; default: this JVM's, made absolute. It must
 *                           hold {@code kafka_2.13} and this module. A thin jar works as it is: the
 *                           JVM follows the {@code Class-Path} of a jar's manifest.
 * @param brokerProperties   extra {@code server.properties} entries; they win over the generated ones
 */
public record EmbeddedKafkaOptions(Path dataDir, String maxHeap, int transactionVersion, Duration startTimeout,
                                   Duration stopTimeout, List<String> classpath, Map<String, String> brokerProperties) {

    private static final Pattern HEAP = Pattern.compile("[1-9][0-9]*[kKmMgG]?");

    public EmbeddedKafkaOptions {
        dataDir = Objects.requireNonNull(dataDir, "dataDir").toAbsolutePath();
        if (!HEAP.matcher(maxHeap).matches()) {
            throw new IllegalArgumentException("maxHeap must look like 512m or 1g, got '" + maxHeap + "'");
        }
        if (transactionVersion < 1 || transactionVersion > 2) {
            throw new IllegalArgumentException("transactionVersion must be 1 or 2, got " + transactionVersion);
        }
        if (startTimeout.isNegative() || startTimeout.isZero() || stopTimeout.isNegative()) {
            throw new IllegalArgumentException("startTimeout must be positive and stopTimeout not negative");
        }
        classpath = classpath.stream().map(e -> Path.of(e).toAbsolutePath().toString()).toList();
        if (classpath.isEmpty()) {
            throw new IllegalArgumentException("classpath is empty");
        }
        brokerProperties = Map.copyOf(new TreeMap<>(brokerProperties));
    }

    /** The defaults described above, storing under {@code dataDir}. */
    public static EmbeddedKafkaOptions defaults(Path dataDir) {
        List<String> classpath = Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(e -> !e.isBlank())
                .toList();
        return new EmbeddedKafkaOptions(dataDir, "512m", 1, Duration.ofSeconds(120), Duration.ofSeconds(30),
                classpath, Map.of());
    }

    public EmbeddedKafkaOptions withMaxHeap(String heap) {
        return new EmbeddedKafkaOptions(dataDir, heap, transactionVersion, startTimeout, stopTimeout, classpath,
                brokerProperties);
    }

    public EmbeddedKafkaOptions withTransactionVersion(int version) {
        return new EmbeddedKafkaOptions(dataDir, maxHeap, version, startTimeout, stopTimeout, classpath,
                brokerProperties);
    }

    public EmbeddedKafkaOptions withStartTimeout(Duration timeout) {
        return new EmbeddedKafkaOptions(dataDir, maxHeap, transactionVersion, timeout, stopTimeout, classpath,
                brokerProperties);
    }

    public EmbeddedKafkaOptions withStopTimeout(Duration timeout) {
        return new EmbeddedKafkaOptions(dataDir, maxHeap, transactionVersion, startTimeout, timeout, classpath,
                brokerProperties);
    }

    public EmbeddedKafkaOptions withClasspath(List<String> entries) {
        return new EmbeddedKafkaOptions(dataDir, maxHeap, transactionVersion, startTimeout, stopTimeout, entries,
                brokerProperties);
    }

    public EmbeddedKafkaOptions withBrokerProperty(String key, String value) {
        Map<String, String> props = new TreeMap<>(brokerProperties);
        props.put(key, value);
        return new EmbeddedKafkaOptions(dataDir, maxHeap, transactionVersion, startTimeout, stopTimeout, classpath,
                props);
    }
}
