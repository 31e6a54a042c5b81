package dev.momstream.pipeline.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.momstream.kafka.settings.KafkaSettings;
import dev.momstream.kafka.topics.TopicCatalog;
import dev.momstream.operators.diloco.ReplicaOperator;
import dev.momstream.operators.train.TrainOperator;
import dev.momstream.operators.train.TrainOptions;
import dev.momstream.operators.train.TrainSpec;
import dev.momstream.trainer.config.Configs;
import dev.momstream.trainer.config.ModelSize;
import dev.momstream.trainer.config.Preset;
import java.util.Map;
import java.util.stream.Collectors;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.graph.StreamEdge;
import org.apache.flink.streaming.api.graph.StreamNode;
import org.apache.flink.streaming.api.operators.SimpleOperatorFactory;
import org.junit.jupiter.api.Test;

/**
 * The job's shape at one and at several trainers: one trainer is the single-trainer operator of
 * before (the path whose weights ExactlyOnceIT pins bitwise), several are numbered DiLoCo replicas.
 */
class PretrainingJobTest {

    private static final Configs TINY = Configs.of(Preset.MOM, ModelSize.TINY);

    @Test
    void oneTrainerIsTheSingleTrainerOperatorWithNoNumbering() {
        JobConfig c = config(1, false);
        Map<String, StreamNode> nodes = graph(c);
        StreamNode train = nodes.get("train");
        assertEquals(TrainOperator.class, operator(train));
        assertEquals(1, train.getParallelism());
        assertFalse(nodes.containsKey("sequence"), nodes.keySet().toString());
        assertFalse(nodes.containsKey("train-replicas"), nodes.keySet().toString());
    }

    @Test
    void severalTrainersAreReplicasFedNumberedBatches() {
        JobConfig c = config(3, true);
        Map<String, StreamNode> nodes = graph(c);
        StreamNode replicas = nodes.get("train-replicas");
        assertEquals(ReplicaOperator.class, operator(replicas));
        assertEquals(3, replicas.getParallelism());
        assertEquals(JobOptions.MAX_TRAINERS, replicas.getMaxParallelism());
        assertEquals(1, nodes.get("sequence").getParallelism());
        assertFalse(nodes.containsKey("train"), nodes.keySet().toString());
        // a replica training from mails, or parked at its stop step, reads no input: an aligned
        // barrier would never reach it (a partitionCustom edge is aligned whatever the settings)
        for (StreamEdge in : replicas.getInEdges()) {
            assertTrue(in.supportsUnalignedCheckpoints(), in + " takes aligned barriers only");
        }
    }

    @Test
    void oneReplicaKeepsEveryEdgeOfTheTrainerAllToAll() {
        // a run of replicas continued at P = 1 restores in-flight data of P > 1: forward edges
        // (what Flink makes of 1 -> 1 edges by default) could not take it
        StreamNode replica = graph(config(1, true)).get("train-replicas");
        for (StreamEdge edge : replica.getInEdges()) {
            assertFalse(edge.getPartitioner().isPointwise(), edge.toString());
        }
        for (StreamEdge edge : replica.getOutEdges()) {
            assertFalse(edge.getPartitioner().isPointwise(), edge.toString());
        }
    }

    @Test
    void severalTrainersThatAreNotReplicasAreRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> config(2, false));
        assertTrue(e.getMessage().contains("DiLoCo"), e.getMessage());
    }

    private static JobConfig config(int trainers, boolean diloco) {
        TrainSpec spec = new TrainSpec("r1", "/tmp/never-written", TINY, TrainOptions.defaults());
        return new JobConfig(spec, KafkaSettings.defaults().withBootstrapServers("127.0.0.1:9"),
                TopicCatalog.defaults(), JobOptions.defaults().toBuilder().trainerParallelism(trainers).build(), diloco);
    }

    /** The stream graph's nodes by uid (the job is defined, not run). */
    private static Map<String, StreamNode> graph(JobConfig c) {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(new Configuration());
        PretrainingJob.define(env, c, Taps.none());
        return env.getStreamGraph().getStreamNodes().stream().filter(n -> n.getTransformationUID() != null)
                .collect(Collectors.toMap(StreamNode::getTransformationUID, n -> n));
    }

    private static Class<?> operator(StreamNode node) {
        return ((SimpleOperatorFactory<?>) node.getOperatorFactory()).getOperator().getClass();
    }
}
