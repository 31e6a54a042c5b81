package dev.momstream.operators.train;

import dev.momstream.trainer.config.Configs;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Everything the train operator needs, shipped with the job graph as typed records.
 *
 * @param runId   names the run in metrics, events and lineage
 * @param runDir  the run directory (see {@link RunLayout}); must be on a file system that every
 *                TaskManager and the client can reach
 * @param configs the model and its training (of a new run; a restored trainer keeps the
 *                configuration its checkpoint holds)
 * @param options how the operator trains, validates, reports and retains
 */
public record TrainSpec(String runId, String runDir, Configs configs, TrainOptions options) implements Serializable {

    private static final long serialVersionUID = 1L;

    public TrainSpec {
        Objects.requireNonNull(runId, "runId");
        Objects.requireNonNull(runDir, "runDir");
        Objects.requireNonNull(options, "options");
        configs.validate();
    }

    public RunLayout layout() {
        return new RunLayout(Path.of(runDir));
    }
}
