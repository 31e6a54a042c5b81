package dev.momstream.operators.export;

import dev.momstream.kafka.records.ModelEvent;
import dev.momstream.operators.train.RunLayout;
import dev.momstream.trainer.export.OnnxExporter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.streaming.api.functions.async.ResultFuture;
import org.apache.flink.streaming.api.functions.async.RichAsyncFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The streaming job's export step, between the trainer's published versions and
 * {@code model.events}: each version is exported to ONNX on a thread of its own (never the
 * trainer's) by a {@link VersionExporter}, and its event goes on only then, carrying the export's
 * path and checksum. Run it in an ordered {@code AsyncDataStream} so that events leave in
 * version order.
 *
 * <p><b>Exactly once.</b> Flink's async operator keeps every event not yet passed on in its
 * checkpointed state and re-invokes this function for them after a restore; an event passed on
 * before a checkpoint's barrier rides in that checkpoint's sink transaction. The trainer sends a
 * version's event once after the checkpoint that completes it (or again after a restore, see
 * {@code TrainOperator}), so each version's announcement is committed exactly once: either it was
 * passed on before the restored checkpoint (committed with it, not in the restored queue, not
 * republished), or it is in the restored queue or republished, and passed on again. An export
 * that already exists is reused, so the replay exports nothing twice.
 *
 * <p>Metrics (group {@code export}): counters {@code exported}, {@code notServable},
 * {@code failedAttempts}; gauge {@code lastExportedVersion}.
 */
public final class ExportFunction extends RichAsyncFunction<ModelEvent, ModelEvent> {

    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(ExportFunction.class);
    private static final Duration FIRST_RETRY = Duration.ofSeconds(1);
    private static final Duration MAX_RETRY = Duration.ofMinutes(1);

    private final String runDir;
    private final int keepVersions;
    private final boolean enabled;

    private transient ExecutorService executor;
    private transient VersionExporter exporter;
    private transient Counter exported;
    private transient Counter notServable;
    private transient Counter failedAttempts;
    private transient volatile long lastExportedVersion;

    /**
     * @param enabled      false passes events on unchanged (not servable), so that a run can switch
     *                     export off and still restore state written with it on
     * @param keepVersions exports kept for the newest this many versions (0 keeps all)
     */
    public ExportFunction(String runDir, int keepVersions, boolean enabled) {
        this.runDir = runDir;
        this.keepVersions = keepVersions;
        this.enabled = enabled;
    }

    @Override
    public void open(OpenContext context) throws Exception {
        super.open(context);
        executor = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "onnx-export");
            t.setDaemon(true);
            return t;
        });
        exporter = new VersionExporter(new RunLayout(Path.of(runDir)), keepVersions, OnnxExporter::export, FIRST_RETRY,
                MAX_RETRY);
        MetricGroup group = getRuntimeContext().getMetricGroup().addGroup("export");
        exported = group.counter("exported");
        notServable = group.counter("notServable");
        failedAttempts = group.counter("failedAttempts");
        group.gauge("lastExportedVersion", (Gauge<Long>) () -> lastExportedVersion);
    }

    @Override
    public void asyncInvoke(ModelEvent published, ResultFuture<ModelEvent> result) {
        if (!enabled) {
            result.complete(List.of(published));
            return;
        }
        executor.execute(() -> {
            try {
                ModelEvent announced = exporter.announce(published, this::report);
                if (announced.servable()) {
                    exported.inc();
                    lastExportedVersion = announced.version();
                } else {
                    notServable.inc();
                }
                result.complete(List.of(announced));
            } catch (InterruptedException stopping) {
                // the task is closing: the event stays in the operator's state for the next attempt
                Thread.currentThread().interrupt();
            } catch (RuntimeException bug) {
                result.completeExceptionally(bug);
            }
        });
    }

    private void report(VersionExporter.Failure f) {
        failedAttempts.inc();
        LOG.warn("Exporting version {} failed (attempt {}), retrying in {} s: {}", f.version(), f.attempt(),
                f.retryIn().toSeconds(), f.reason());
    }

    @Override
    public void close() throws Exception {
        try {
            super.close();
        } finally {
            if (executor != null) {
                executor.shutdownNow();
                executor.awaitTermination(1, TimeUnit.MINUTES); // an interrupted export stops at its next write
            }
        }
    }
}
