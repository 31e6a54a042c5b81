package dev.momstream.pipeline.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.momstream.kafka.records.EvalMetrics;
import dev.momstream.kafka.records.RecordJson;
import dev.momstream.kafka.settings.KafkaSettings;
import dev.momstream.kafka.topics.Topic;
import dev.momstream.kafka.topics.TopicCatalog;
import dev.momstream.operators.train.LineageCard;
import dev.momstream.operators.train.RunLayout;
import dev.momstream.trainer.config.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The session the README shows, as a user runs it: `mom run` trains (its own JVM, embedded
 * broker), `mom serve --run` serves its versions as they are published (another JVM), and
 * `mom ask` asks while it trains and sees the answering version change.
 */
class ServeCliIT {

    private static final Pattern VERSION = Pattern.compile("\\(v(\\d+), ");
    private static final Duration PATIENCE = Duration.ofMinutes(6);

    /** A `mom` command in a JVM of its own, as the launcher starts it; its output goes to a file. */
    private record Mom(Process process, Path log) implements AutoCloseable {

        static Mom start(Path dir, String name, String... args) throws IOException {
            List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xmx2g", "-Dai.djl.offline=true", "-DOPT_OUT_TRACKING=true", "-Dai.djl.pytorch.num_interop_threads=1",
                    "--add-opens=java.base/java.util=ALL-UNNAMED", "--add-opens=java.base/java.lang=ALL-UNNAMED",
                    "-cp", System.getProperty("java.class.path"), MomCli.class.getName()));
            command.addAll(List.of(args));
            Path log = dir.resolve(name + ".log");
            ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
            pb.environment().putAll(Map.of("MALLOC_ARENA_MAX", "1", "MALLOC_MMAP_MAX_", "0",
                    "MALLOC_TRIM_THRESHOLD_", "68719476736"));
            return new Mom(pb.start(), log);
        }

        String output() throws IOException {
            return Files.readString(log);
        }

        /** Waits until its output has a line matching {@code line}; fails if it exits first. */
        String await(Predicate<String> line, String what) throws Exception {
            long deadline = System.nanoTime() + PATIENCE.toNanos();
            while (System.nanoTime() < deadline) {
                for (String l : output().split("\n")) {
                    if (line.test(l)) {
                        return l;
                    }
                }
                if (!process.isAlive()) {
                    throw new AssertionError("it exited with " + process.exitValue() + " before " + what + ":\n" + output());
                }
                Thread.sleep(500);
            }
            throw new AssertionError("waited " + PATIENCE.toMinutes() + " minutes for " + what + ":\n" + output());
        }

        /** SIGTERM, as Ctrl-C: a graceful stop. */
        @Override
        public void close() throws Exception {
            process.destroy();
            if (!process.waitFor(90, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor();
            }
        }
    }

    @Test
    void askWhileItTrainsAndWatchTheVersionChange(@TempDir Path dir) throws Exception {
        Path run = dir.resolve("run");
        try (Mom training = Mom.start(dir, "run", "run", "--steps", "0", "--out", run.toString(), "--d=32", "--heads=2",
                "--contextLength=32", "--batchSize=4", "--warmupSteps=2", "--checkpoint-interval", "3",
                "--eval-every", "5", "--eval-windows", "16")) {
            training.await(l -> l.startsWith("Kafka: "), "the run's broker");
            RunLayout layout = new RunLayout(run);
            long deadline = System.nanoTime() + PATIENCE.toNanos();
            while (layout.exportedVersions().isEmpty() && System.nanoTime() < deadline && training.process().isAlive()) {
                Thread.sleep(500);
            }
            assertTrue(!layout.exportedVersions().isEmpty(), "no version was exported:\n" + training.output());

            try (Mom serving = Mom.start(dir, "serve", "serve", "--run", run.toString(), "--eval-windows", "16",
                    "--checkpoint-interval", "2")) {
                String bootstrap = serving.await(l -> l.startsWith("Kafka: "), "the serve's broker").substring(7).trim();
                serving.await(l -> l.startsWith("serving v"), "the first version to serve");

                TreeSet<Long> answered = new TreeSet<>();
                deadline = System.nanoTime() + PATIENCE.toNanos();
                while (answered.size() < 2 && System.nanoTime() < deadline) {
                    CliRun ask = CliRun.of("ask", "--dir", run.toString(), "--greedy", "--max-new-tokens", "8",
                            "Fellow citizens");
                    assertEquals(0, ask.exit(), ask.err());
                    assertTrue(ask.out().startsWith("Fellow citizens"), ask.out());
                    Matcher m = VERSION.matcher(ask.out());
                    assertTrue(m.find(), "the answer names no version: " + ask.out());
                    answered.add(Long.parseLong(m.group(1)));
                    Thread.sleep(2000);
                }
                assertTrue(answered.size() >= 2, "the answering version never changed: " + answered + "\n"
                        + serving.output());

                CliRun score = CliRun.of("ask", "--bootstrap-servers", bootstrap, "--score",
                        "Fellow citizens of the Senate and of the House of Representatives", "--json");
                assertEquals(0, score.exit(), score.err());
                JsonNode response = Json.MAPPER.readTree(score.out());
                assertTrue(response.get("loss").asDouble() > 0 && response.get("version").asLong() >= answered.first(),
                        score.out());
                CliRun bad = CliRun.of("ask", "--bootstrap-servers", bootstrap, "--max-new-tokens", "5000", "x");
                assertEquals(1, bad.exit());
                assertTrue(bad.err().contains("maxNewTokens=5000 must be between 0 and 1024"), bad.err());

                // every version it served was evaluated, on train.metrics and in its lineage card
                List<EvalMetrics> evals = evalMetrics(bootstrap);
                assertTrue(!evals.isEmpty(), "no evaluation on train.metrics:\n" + serving.output());
                LineageCard card = layout.cards().stream().filter(c -> c.version() == evals.get(0).version())
                        .findFirst().orElseThrow();
                assertEquals(evals.get(0).loss(), card.evaluations().get(0).loss(), 1e-12);
                assertEquals("text.eval", card.evaluations().get(0).dataset());
            }
        }
    }

    private static List<EvalMetrics> evalMetrics(String bootstrap) {
        KafkaSettings kafka = KafkaSettings.defaults().withBootstrapServers(bootstrap);
        String topic = TopicCatalog.defaults().name(Topic.TRAIN_METRICS);
        List<EvalMetrics> out = new ArrayList<>();
        long deadline = System.nanoTime() + PATIENCE.toNanos();
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(kafka.consumerProperties(),
                new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> parts = consumer.partitionsFor(topic).stream()
                    .map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
            while (out.isEmpty() && System.nanoTime() < deadline) {
                for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
                    if (EvalMetrics.class.getSimpleName().equals(RecordJson.typeOf(r.headers()))) {
                        out.add(RecordJson.fromJson(r.value(), EvalMetrics.class));
                    }
                }
            }
        }
        return out;
    }
}
