package dev.momstream.operators.pack;

import dev.momstream.operators.records.TokenizedDoc;
import dev.momstream.operators.records.Window;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import org.apache.flink.api.common.operators.MailboxExecutor;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.metrics.Counter;
import org.apache.flink.runtime.io.network.api.writer.ResultPartitionWriter;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.state.StateSnapshotContext;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;

/**
 * Tokenized documents to fixed windows (see {@link Packer}), handed on only while the task's
 * output has room. One large document makes thousands of windows (a 1 MiB record 6,000 to
 * 16,000 at context 32); pushed out in one call, they would block the task on network buffers mid-record,
 * where it takes no checkpoint until downstream has read them all: never, once the trainer parks
 * at its stop step. Windows not yet handed on wait in a queue instead, and go out in mails as
 * the output frees up; between mails the task runs checkpoints, and Flink reads no input while
 * the output is full. The queue and the packer's carry-over are operator state, so a restore
 * hands on exactly what was waiting, then continues the token stream where the checkpoint left
 * it. Counter {@code pack.windows} counts windows handed on.
 */
public final class PackOperator extends AbstractStreamOperator<Window>
        implements OneInputStreamOperator<TokenizedDoc, Window> {

    private static final long serialVersionUID = 1L;

    private final int windowLength;

    // Flink state, declared in initializeState and written in snapshotState only.
    private transient ListState<Carry> carryState;
    private transient ListState<Window> waitingState;

    private transient Packer packer;
    private transient ArrayDeque<Window> waiting;
    private transient MailboxExecutor mailbox;
    private transient boolean resumeScheduled;
    private transient Counter windows;

    /** @param windowLength tokens per window: the model's context length plus one */
    public PackOperator(int windowLength) {
        this.windowLength = windowLength;
    }

    @Override
    public void initializeState(StateInitializationContext context) throws Exception {
        super.initializeState(context);
        carryState = context.getOperatorStateStore().getListState(new ListStateDescriptor<>("carry", Carry.class));
        waitingState = context.getOperatorStateStore().getListState(
                new ListStateDescriptor<>("waiting-windows", Window.class));
        List<Carry> restored = new ArrayList<>();
        carryState.get().forEach(restored::add);
        packer = Packer.restore(windowLength, restored);
        waiting = new ArrayDeque<>();
        waitingState.get().forEach(waiting::add);
    }

    /** Flink hands every operator its mailbox; handing on waiting windows later needs it. */
    @Override
    public void setMailboxExecutor(MailboxExecutor executor) {
        super.setMailboxExecutor(executor);
        this.mailbox = executor;
    }

    @Override
    public void open() throws Exception {
        super.open();
        windows = getMetricGroup().addGroup("pack").counter("windows");
        if (!waiting.isEmpty()) {
            mailbox.execute(this::handOn, "pack: hand on restored windows");
        }
    }

    @Override
    public void processElement(StreamRecord<TokenizedDoc> element) {
        TokenizedDoc doc = element.getValue();
        packer.add(doc.ref(), doc.tokens(), waiting::add);
        handOn();
    }

    /** Hands on waiting windows, oldest first, while the output has room; then waits for room. */
    private void handOn() {
        while (!waiting.isEmpty()) {
            Optional<CompletableFuture<?>> full = fullOutput();
            if (full.isPresent()) {
                if (!resumeScheduled) {
                    resumeScheduled = true;
                    full.get().thenRun(this::resumeLater);
                }
                return;
            }
            output.collect(new StreamRecord<>(waiting.poll()));
            windows.inc();
        }
    }

    /** Called when the output has room again, on a network thread: the mailbox thread hands on. */
    private void resumeLater() {
        try {
            mailbox.execute(() -> {
                resumeScheduled = false;
                handOn();
            }, "pack: hand on waiting windows");
        } catch (RejectedExecutionException closed) {
            // the task has ended; what was waiting is in its last checkpoint
        }
    }

    /** A future of the first task output without room for a record, if any. */
    private Optional<CompletableFuture<?>> fullOutput() {
        for (ResultPartitionWriter writer : getContainingTask().getEnvironment().getAllWriters()) {
            if (!writer.isAvailable()) {
                return Optional.of(writer.getAvailableFuture());
            }
        }
        return Optional.empty();
    }

    @Override
    public void snapshotState(StateSnapshotContext context) throws Exception {
        super.snapshotState(context);
        carryState.update(List.of(packer.carry()));
        waitingState.update(new ArrayList<>(waiting));
    }
}
