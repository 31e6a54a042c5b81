package dev.momstream.kafka.settings;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.momstream.kafka.topics.BrokerUnreachableException;
import dev.momstream.kafka.topics.TopicAdmin;
import dev.momstream.kafka.topics.TopicCatalog;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.common.security.auth.SecurityProtocol;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KafkaSettingsTest {

    private static final String JAAS_SECRET = "jaas-pw-7f3a";
    private static final String KEY_SECRET = "key-pw-91c2";
    private static final String TRUSTSTORE_SECRET = "trust-pw-44d0";
    private static final String OVERRIDE_SECRET = "keystore-pw-0b1e";
    private static final List<String> SECRETS = List.of(JAAS_SECRET, KEY_SECRET, TRUSTSTORE_SECRET, OVERRIDE_SECRET);

    @TempDir
    Path tmp;

    @Test
    void loadsAPropertiesFileWithOverrides() throws IOException {
        Path file = Files.writeString(tmp.resolve("kafka.properties"), """
                bootstrap.servers=broker1:9092,broker2:9092
                security.protocol=SSL
                client.id.prefix=exp1
                request.timeout.ms=15000
                ssl.truststore.location=/etc/kafka/truststore.jks
                linger.ms=20
                producer.linger.ms=50
                topics.text.train.partitions=8
                """);

        KafkaSettings settings = KafkaSettings.load(file, List.of("request.timeout.ms=20000", "compression.type=lz4"));

        assertEquals("broker1:9092,broker2:9092", settings.bootstrapServers());
        assertEquals(SecurityProtocol.SSL, settings.securityProtocol());
        assertEquals("exp1", settings.clientIdPrefix());
        assertEquals(Duration.ofSeconds(20), settings.requestTimeout());
        assertEquals(Duration.ofSeconds(60), settings.defaultApiTimeout());
        assertFalse(settings.values().containsKey("topics.text.train.partitions"), "catalog keys stay out");

        Properties producer = settings.producerProperties();
        assertEquals("broker1:9092,broker2:9092", producer.getProperty("bootstrap.servers"));
        assertEquals("SSL", producer.getProperty("security.protocol"));
        assertEquals("20000", producer.getProperty("request.timeout.ms"));
        assertEquals("/etc/kafka/truststore.jks", producer.getProperty("ssl.truststore.location"));
        assertEquals("lz4", producer.getProperty("compression.type"));
        assertEquals("50", producer.getProperty("linger.ms"), "producer.* wins for the producer");
        assertEquals("all", producer.getProperty("acks"));
        assertEquals("true", producer.getProperty("enable.idempotence"));
        assertTrue(producer.getProperty("client.id").startsWith("exp1-producer-"));
        assertFalse(producer.containsKey("producer.linger.ms"));
        assertFalse(producer.containsKey("client.id.prefix"));

        Properties consumer = settings.consumerProperties();
        assertEquals("20", consumer.getProperty("linger.ms"), "unprefixed keys go to every client");
        assertEquals("read_committed", consumer.getProperty("isolation.level"));
        assertEquals("earliest", consumer.getProperty("auto.offset.reset"));
        assertEquals("60000", consumer.getProperty("default.api.timeout.ms"));
        assertEquals("60000", settings.adminProperties().getProperty("default.api.timeout.ms"));
    }

    @Test
    void loadsAYamlFileWithNestingListsAndOverrides() throws IOException {
        Path file = Files.writeString(tmp.resolve("kafka.yaml"), """
                bootstrap.servers:
                  - broker1:9093
                  - broker2:9093
                security.protocol: SASL_SSL
                sasl:
                  mechanism: SCRAM-SHA-512
                consumer:
                  max.poll.records: 100
                topics:
                  prefix: run1.
                """);

        KafkaSettings settings = KafkaSettings.load(file, List.of("sasl.mechanism=PLAIN"));

        assertEquals("broker1:9093,broker2:9093", settings.bootstrapServers());
        assertEquals(SecurityProtocol.SASL_SSL, settings.securityProtocol());
        assertEquals("PLAIN", settings.consumerProperties().getProperty("sasl.mechanism"));
        assertEquals("100", settings.consumerProperties().getProperty("max.poll.records"));
        assertFalse(settings.producerProperties().containsKey("max.poll.records"));
        assertEquals("run1.", TopicCatalog.defaults().withOverrides(SettingsFile.read(file)).prefix(),
                "the same file configures the catalog");
    }

    @Test
    void secretsNeverAppearInToStringLogsOrErrors() throws IOException {
        Path file = Files.writeString(tmp.resolve("secure.yml"), """
                security.protocol: SASL_PLAINTEXT
                sasl.mechanism: PLAIN
                sasl.jaas.config: org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="%s";
                ssl.key.password: %s
                ssl.truststore.password: %s
                """.formatted(JAAS_SECRET, KEY_SECRET, TRUSTSTORE_SECRET));
        int closedPort;
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            closedPort = socket.getLocalPort();
        }

        String shown;
        String error;
        String logged;
        try (LogCapture logs = new LogCapture()) {
            KafkaSettings settings = KafkaSettings.load(file,
                    List.of("bootstrap.servers=127.0.0.1:" + closedPort, "ssl.keystore.password=" + OVERRIDE_SECRET));
            assertEquals(OVERRIDE_SECRET, settings.values().get("ssl.keystore.password"), "passed through untouched");
            assertEquals(KEY_SECRET, settings.adminProperties().getProperty("ssl.key.password"));
            shown = settings.toString();
            BrokerUnreachableException e = assertThrows(BrokerUnreachableException.class,
                    () -> TopicAdmin.ensureTopics(settings, TopicCatalog.defaults(), Duration.ofSeconds(1)));
            error = messages(e);
            logged = logs.text();
        }

        assertTrue(shown.contains("sasl.jaas.config=" + Secrets.MASK), shown);
        assertTrue(shown.contains("sasl.mechanism=PLAIN"), "non-secrets stay readable: " + shown);
        assertTrue(logged.contains("Kafka settings from"), "the settings were logged: " + logged);
        assertTrue(logged.contains("AdminClientConfig values"), "Kafka's client config dump was captured");
        for (String secret : SECRETS) {
            assertFalse(shown.contains(secret), "toString leaks " + secret);
            assertFalse(error.contains(secret), "error leaks " + secret);
            assertFalse(logged.contains(secret), "log leaks " + secret);
        }
    }

    /** A syntax error in the file: named by line and column, its content (the secret on that line) never shown. */
    @Test
    void aMalformedSettingsFileIsNamedButNeverQuoted() throws IOException {
        Path file = Files.writeString(tmp.resolve("broken.yaml"), """
                bootstrap.servers: broker:9092
                sasl:
                  jaas.config: "password=%s
                  mechanism: [PLAIN
                """.formatted(JAAS_SECRET));
        String error;
        String logged;
        try (LogCapture logs = new LogCapture()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> KafkaSettings.load(file, List.of()));
            error = messages(e);
            logged = logs.text();
        }
        assertTrue(error.contains("Settings file " + file + " is not valid YAML at line "), error);
        assertFalse(error.contains(JAAS_SECRET) || error.contains("password="), "error quotes the file: " + error);
        assertFalse(logged.contains(JAAS_SECRET), "log leaks the secret: " + logged);

        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> SettingsFile.read(tmp.resolve("absent.yaml")));
        assertEquals("Cannot read settings file " + tmp.resolve("absent.yaml"), missing.getMessage());
        assertTrue(missing.getCause() instanceof java.nio.file.NoSuchFileException, "the cause says why");
    }

    @Test
    void badValuesAreRejectedWithTheKeyAndABadOverrideDoesNotEchoItsValue() {
        IllegalArgumentException protocol = assertThrows(IllegalArgumentException.class,
                () -> KafkaSettings.of(Map.of("security.protocol", "TLS")));
        assertTrue(protocol.getMessage().contains("security.protocol"), protocol.getMessage());
        IllegalArgumentException timeout = assertThrows(IllegalArgumentException.class,
                () -> KafkaSettings.defaults().with("request.timeout.ms", "soon"));
        assertTrue(timeout.getMessage().contains("request.timeout.ms"), timeout.getMessage());
        IllegalArgumentException override = assertThrows(IllegalArgumentException.class,
                () -> SettingsFile.withOverrides(Map.of(), List.of(OVERRIDE_SECRET)));
        assertFalse(override.getMessage().contains(OVERRIDE_SECRET), override.getMessage());
        IllegalArgumentException format = assertThrows(IllegalArgumentException.class,
                () -> SettingsFile.read(tmp.resolve("kafka.json")));
        assertTrue(format.getMessage().contains(".yaml"), format.getMessage());
    }

    @Test
    void clientPropertiesNeedBootstrapServers() {
        KafkaSettings none = KafkaSettings.defaults();
        assertFalse(none.hasBootstrapServers());
        IllegalStateException e = assertThrows(IllegalStateException.class, none::producerProperties);
        assertTrue(e.getMessage().contains("bootstrap.servers"), e.getMessage());
        assertTrue(none.withBootstrapServers("localhost:9092").hasBootstrapServers());
    }

    @Test
    void secretLookingKeysAreMasked() {
        for (String key : List.of("sasl.jaas.config", "ssl.key.password", "ssl.keystore.password",
                "ssl.truststore.password", "ssl.keystore.key", "sasl.oauthbearer.client.credentials.client.secret",
                "producer.sasl.jaas.config", "my.api.TOKEN")) {
            assertTrue(Secrets.isSecret(key), key);
        }
        for (String key : List.of("bootstrap.servers", "sasl.mechanism", "ssl.truststore.location", "linger.ms")) {
            assertFalse(Secrets.isSecret(key), key);
        }
    }

    private static String messages(Throwable e) {
        StringBuilder all = new StringBuilder();
        for (Throwable t = e; t != null; t = t.getCause()) {
            all.append(t).append('\n');
        }
        return all.toString();
    }
}
