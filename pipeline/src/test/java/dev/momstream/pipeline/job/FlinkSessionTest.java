package dev.momstream.pipeline.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What {@code mom run --jobmanager} ships to a cluster, from this test JVM's class path. */
class FlinkSessionTest {

    /**
     * The native engines and Flink stay on the cluster's class path. A shipped ONNX Runtime jar
     * would be loaded child-first by the job's class loader, and the next job class loader on
     * that TaskManager could not load its native library again.
     */
    @Test
    void theJobShipsItsOwnJarsButNoNativeEngineFlinkOrLogging() throws Exception {
        List<String> names = FlinkSession.jobJars().stream().map(j -> Path.of(j).getFileName().toString()).toList();
        List<String> clusterOwned = names.stream().filter(n -> n.startsWith("onnxruntime") || n.startsWith("pytorch-")
                || n.startsWith("api-0.") || n.startsWith("flink-runtime") || n.startsWith("flink-core")
                || n.startsWith("log4j-")).toList();
        assertEquals(List.of(), clusterOwned, "jars the cluster provides, shipped with the job");
        assertTrue(names.stream().anyMatch(n -> n.startsWith("kafka-clients-")), names.toString());
        assertTrue(names.stream().anyMatch(n -> n.startsWith("flink-connector-kafka-")), names.toString());
        assertTrue(names.stream().anyMatch(n -> n.startsWith("mom-trainer-") || n.startsWith("mom-job-classes-")),
                "the project's own classes: " + names);
    }
}
