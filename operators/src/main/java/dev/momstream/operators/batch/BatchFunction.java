package dev.momstream.operators.batch;

import dev.momstream.operators.records.Batch;
import dev.momstream.operators.records.Window;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Training windows to batches of {@code windowsPerBatch} (batch size x gradient accumulation),
 * in arrival order; the partial batch is operator state. Runs at parallelism 1, in front of the
 * trainer.
 */
public final class BatchFunction extends ProcessFunction<Window, Batch> implements CheckpointedFunction {

    private static final long serialVersionUID = 1L;

    private final int windowsPerBatch;

    private transient ListState<Window> pendingState;
    private transient List<Window> pending;

    public BatchFunction(int windowsPerBatch) {
        if (windowsPerBatch < 1) {
            throw new IllegalArgumentException("windowsPerBatch must be at least 1, got " + windowsPerBatch);
        }
        this.windowsPerBatch = windowsPerBatch;
    }

    @Override
    public void initializeState(FunctionInitializationContext context) throws Exception {
        pendingState = context.getOperatorStateStore().getListState(new ListStateDescriptor<>("pending-windows", Window.class));
        pending = new ArrayList<>();
        pendingState.get().forEach(pending::add);
    }

    @Override
    public void processElement(Window window, Context ctx, Collector<Batch> out) {
        pending.add(window);
        if (pending.size() == windowsPerBatch) {
            out.collect(new Batch(pending.toArray(Window[]::new)));
            pending.clear();
        }
    }

    @Override
    public void snapshotState(FunctionSnapshotContext context) throws Exception {
        pendingState.update(pending);
    }
}
