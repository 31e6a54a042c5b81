package dev.momstream.pipeline.job;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.InetAddress;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A job on a MiniCluster of this JVM. */
class FlinkSessionIT {

    /**
     * Flink only starts the MiniCluster's shutdown when the job ends. A run that returned before
     * it finished released its directory while the MiniCluster still deleted files there, and the
     * next run on that directory failed on a file that vanished under it (seen in CI).
     */
    @Test
    void closingWaitsUntilTheMiniClusterHasShutDownAndRemovedItsFiles(@TempDir Path dir) throws Exception {
        FlinkSession.Submitted submitted = FlinkSession.local(new Configuration(), dir, 1,
                InetAddress.getLoopbackAddress(), "sequence",
                env -> env.fromSequence(1, 1_000).sinkTo(new DiscardingSink<>()));
        submitted.client().getJobExecutionResult().get(60, TimeUnit.SECONDS);
        submitted.close();
        assertEquals(List.of(), Streams.files(dir.resolve(RunDirectory.FLINK_TMP)));
    }

}
