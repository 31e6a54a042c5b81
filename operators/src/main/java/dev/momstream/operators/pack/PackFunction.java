package dev.momstream.operators.pack;

import dev.momstream.operators.records.TokenizedDoc;
import dev.momstream.operators.records.Window;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.metrics.Counter;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Tokenized documents to fixed windows (see {@link Packer}). The carry-over between windows is
 * operator list state, so a restore continues the token stream exactly where the checkpoint left
 * it. Counter {@code pack.windows} counts windows emitted.
 */
public final class PackFunction extends ProcessFunction<TokenizedDoc, Window> implements CheckpointedFunction {

    private static final long serialVersionUID = 1L;

    private final int windowLength;

    private transient ListState<Carry> carryState;
    private transient Packer packer;
    private transient Counter windows;

    /** @param windowLength tokens per window: the model's context length plus one */
    public PackFunction(int windowLength) {
        this.windowLength = windowLength;
    }

    @Override
    public void initializeState(FunctionInitializationContext context) throws Exception {
        carryState = context.getOperatorStateStore().getListState(new ListStateDescriptor<>("carry", Carry.class));
        List<Carry> restored = new ArrayList<>();
        carryState.get().forEach(restored::add);
        packer = Packer.restore(windowLength, restored);
    }

    @Override
    public void open(OpenContext context) {
        windows = getRuntimeContext().getMetricGroup().addGroup("pack").counter("windows");
    }

    @Override
    public void processElement(TokenizedDoc doc, Context ctx, Collector<Window> out) {
        packer.add(doc.ref(), doc.tokens(), window -> {
            out.collect(window);
            windows.inc();
        });
    }

    @Override
    public void snapshotState(FunctionSnapshotContext context) throws Exception {
        carryState.update(List.of(packer.carry()));
    }
}
