package dev.momstream.pipeline.job;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.momstream.kafka.records.RecordJson;
import dev.momstream.kafka.records.TrainMetrics;
import dev.momstream.kafka.settings.KafkaSettings;
import dev.momstream.kafka.topics.Topic;
import dev.momstream.kafka.topics.TopicCatalog;
import dev.momstream.operators.train.LineageCard;
import dev.momstream.operators.train.MetricsRecords;
import dev.momstream.operators.train.RunLayout;
import dev.momstream.pipeline.cluster.LocalFlinkCluster;
import dev.momstream.trainer.checkpoint.Checkpoint;
import dev.momstream.trainer.config.Configs;
import dev.momstream.trainer.run.StepMetrics;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * DiLoCo replicas on a real multi-process Flink cluster ({@link LocalFlinkCluster}: a JobManager
 * and one TaskManager JVM per trainer): a TaskManager killed with SIGKILL changes nothing, and a
 * run stopped with a savepoint continues at another number of trainers from the global weights.
 */
class DiLoCoClusterIT {

    private static final int SYNC_EVERY = 4;
    private static final int STEPS = 24;
    private static final int KILL_AFTER = 12;
    /**
     * Loss continuity across a rescale: the first validation after it may exceed the last one
     * before it by at most this (nats). Continuing from fresh weights would go back to the untrained
     * model's loss, about ln(50257) = 10.8 nats.
     */
    private static final double CONTINUITY_MARGIN = 0.1;
    private static final String TASK_MANAGER = "org.apache.flink.runtime.taskexecutor.TaskManagerRunner";

    @Test
    void aTaskManagerKilledMidRunChangesNeitherTheWeightsNorWhatWasTrained(@TempDir Path dir) throws Exception {
        KafkaSettings kafka = Streams.sharedBroker();
        List<String> docs = Streams.paragraphs(200);
        Path straight = finalCheckpoint(run(kafka, docs, dir.resolve("straight"), null));
        AtomicBoolean killed = new AtomicBoolean();
        Path interrupted = finalCheckpoint(run(kafka, docs, dir.resolve("interrupted"), killed));
        assertTrue(killed.get(), "no TaskManager was killed");

        assertArrayEquals(Files.readAllBytes(straight.resolve(Checkpoint.MODEL)),
                Files.readAllBytes(interrupted.resolve(Checkpoint.MODEL)),
                "the global weights differ after a TaskManager was killed and the job restored");
    }

    /** Two replicas for STEPS steps on topics of their own holding {@code docs}; kills a TaskManager once if asked. */
    private static Path run(KafkaSettings kafka, List<String> docs, Path runDir, AtomicBoolean kill) throws Exception {
        TopicCatalog topics = send(kafka, docs);
        StreamingRun.Listener listener = new StreamingRun.Listener() {
            @Override
            public void metrics(StepMetrics m) {
                // Metrics arrive once their checkpoint completed: there is a checkpoint to restore.
                if (kill != null && m.step() >= KILL_AFTER && kill.compareAndSet(false, true)) {
                    killOneTaskManager();
                }
            }
        };
        RunSummary s = new StreamingRun(options(runDir, STEPS, kafka, topics, 2).build()).run(listener);
        assertEquals(STEPS, s.steps());
        assertEquals(kill != null, s.restores() >= 1, "restores: " + s.restores());
        ExactlyOnceIT.assertExactlyOnce(runDir, Map.of(topics.name(Topic.TEXT_TRAIN) + "/0", 180L));
        return runDir;
    }

    /**
     * Each leg ends with a stop-with-savepoint (aligned: no batch in flight), which the next leg
     * restores at another number of trainers; every offset still ends up in exactly one version.
     */
    @Test
    void twoReplicasContinueAsThreeThenAsOneWithoutALossJump(@TempDir Path dir) throws Exception {
        KafkaSettings kafka = Streams.sharedBroker();
        TopicCatalog topics = send(kafka, Streams.paragraphs(200));
        Path runDir = dir.resolve("run");
        int[][] legs = {{2, 12}, {3, 20}, {1, 28}}; // trainers, stop step
        long stoppedAt = 0;
        double before = Double.NaN;
        for (int[] leg : legs) {
            List<String> notices = new ArrayList<>();
            RunSummary s = new StreamingRun(options(runDir, leg[1], kafka, topics, leg[0]).build())
                    .run(new StreamingRun.Listener() {
                        @Override
                        public void notice(String line) {
                            notices.add(line);
                        }
                    });
            assertEquals(leg[1], s.steps(), leg[0] + " trainers");
            assertTrue(notices.stream().anyMatch(n -> n.startsWith("stopped with savepoint ")),
                    leg[0] + " trainers did not stop with a savepoint: " + notices);
            TreeMap<Long, Double> validations = validations(kafka, topics);
            if (stoppedAt > 0) {
                Map.Entry<Long, Double> after = validations.higherEntry(stoppedAt);
                assertNotNull(after, "no validation after step " + stoppedAt + ": " + validations);
                assertTrue(after.getValue() <= before + CONTINUITY_MARGIN, "continuing at " + leg[0] + " trainers"
                        + " from step " + stoppedAt + " the validation loss went from " + before + " to " + after);
            }
            stoppedAt = s.steps();
            assertNotNull(validations.floorEntry(stoppedAt), "no validation up to step " + stoppedAt);
            before = validations.floorEntry(stoppedAt).getValue();
            assertEquals(before, s.validationLoss(), "the summary's validation loss is not the last committed one,"
                    + " at step " + validations.floorKey(stoppedAt) + ": " + validations);
        }
        ExactlyOnceIT.assertExactlyOnce(runDir, Map.of(topics.name(Topic.TEXT_TRAIN) + "/0", 180L));
    }

    /** Validation losses by step as the run committed them to {@code train.metrics}. */
    private static TreeMap<Long, Double> validations(KafkaSettings kafka, TopicCatalog topics) {
        TreeMap<Long, Double> out = new TreeMap<>();
        for (var r : Streams.readAll(kafka, topics.name(Topic.TRAIN_METRICS))) {
            StepMetrics m = MetricsRecords.toStep(RecordJson.fromJson(r.value(), TrainMetrics.class));
            if (m.valLoss() != null) {
                out.put(m.step(), m.valLoss());
            }
        }
        return out;
    }

    private static TopicCatalog send(KafkaSettings kafka, List<String> docs) {
        TopicCatalog topics = Streams.topics(kafka, 1);
        Streams.send(kafka, topics.name(Topic.TEXT_TRAIN), Streams.utf8(docs.subList(0, 180)));
        Streams.send(kafka, topics.name(Topic.TEXT_EVAL), Streams.utf8(docs.subList(180, 200)));
        return topics;
    }

    private static RunOptions.Builder options(Path runDir, long steps, KafkaSettings kafka, TopicCatalog topics,
                                              int trainers) {
        Configs tiny = Streams.tiny(28);
        Configs configs = new Configs(tiny.model(), tiny.train().toBuilder().outer(SYNC_EVERY, 0.7, 0.9).build());
        // A trainer JVM is much slower to start than a MiniCluster, and the machine is shared.
        return Streams.options(runDir, configs, kafka, topics, steps).timeout(Duration.ofMinutes(10))
                .job(j -> j.checkpointInterval(Duration.ofSeconds(2)).restarts(3, Duration.ofSeconds(1))
                        .trainerParallelism(trainers));
    }

    private static Path finalCheckpoint(Path runDir) throws Exception {
        List<LineageCard> cards = new RunLayout(runDir).cards();
        return Path.of(cards.get(cards.size() - 1).checkpointPath());
    }

    /** SIGKILL to the second TaskManager JVM this test started (the first, if there is one only). */
    private static void killOneTaskManager() {
        List<ProcessHandle> tms = ProcessHandle.current().descendants()
                .filter(p -> commandLine(p).contains(TASK_MANAGER))
                .sorted((a, b) -> Long.compare(b.pid(), a.pid()))
                .toList();
        assertTrue(!tms.isEmpty(), "no TaskManager JVM below this one to kill");
        assertTrue(tms.get(0).destroyForcibly(), "SIGKILL to TaskManager " + tms.get(0).pid() + " failed");
    }

    /**
     * The process's command line from /proc (Linux): {@code ProcessHandle.Info#arguments} found
     * no cluster JVM here.
     */
    private static String commandLine(ProcessHandle p) {
        try {
            return new String(Files.readAllBytes(Path.of("/proc", Long.toString(p.pid()), "cmdline")),
                    StandardCharsets.UTF_8);
        } catch (IOException gone) {
            return "";
        }
    }
}
