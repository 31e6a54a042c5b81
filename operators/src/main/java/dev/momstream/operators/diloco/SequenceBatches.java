package dev.momstream.operators.diloco;

import dev.momstream.operators.records.Batch;
import java.util.List;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Numbers the batches in the order they are made; the next number is operator state, so that a
 * restore numbers the replayed batches exactly as before. Runs at parallelism 1, chained to the
 * batch operator.
 */
public final class SequenceBatches extends ProcessFunction<Batch, NumberedBatch> implements CheckpointedFunction {

    private static final long serialVersionUID = 1L;

    private transient ListState<Long> nextState;
    private transient long next;

    @Override
    public void initializeState(FunctionInitializationContext context) throws Exception {
        nextState = context.getOperatorStateStore().getListState(new ListStateDescriptor<>("next-seq", Types.LONG));
        next = 0;
        for (Long n : nextState.get()) {
            next = Math.max(next, n);
        }
    }

    @Override
    public void processElement(Batch batch, Context ctx, Collector<NumberedBatch> out) {
        out.collect(new NumberedBatch(next++, batch));
    }

    @Override
    public void snapshotState(FunctionSnapshotContext context) throws Exception {
        nextState.update(List.of(next));
    }
}
