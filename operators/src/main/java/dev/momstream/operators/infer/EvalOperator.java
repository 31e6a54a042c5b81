package dev.momstream.operators.infer;

import dev.momstream.kafka.records.EvalMetrics;
import dev.momstream.kafka.records.ModelEvent;
import dev.momstream.operators.records.Window;
import dev.momstream.operators.train.LineageCard;
import dev.momstream.operators.train.RunLayout;
import dev.momstream.trainer.config.Json;
import dev.momstream.trainer.onnx.Evaluation;
import dev.momstream.trainer.onnx.InferenceOptions;
import dev.momstream.trainer.onnx.OnnxModel;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.state.StateSnapshotContext;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.TwoInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Streaming evaluation: every servable version (input 2, {@code model.events}) is evaluated on
 * ONNX Runtime on a fixed set of validation windows (input 1: {@code text.eval}, tokenized and
 * packed as the pretraining job does), and its loss and perplexity go out as
 * {@link EvalMetrics} (for {@code train.metrics}) and into the version's lineage card.
 *
 * <p>The set is the first {@code windows} windows that arrive, as the trainer keeps them, so that
 * the two losses of a version can be compared. A version waits until the set is full, or until
 * no window has come for {@code settle} (the topic holds fewer); the set is frozen at the first
 * evaluation, so that every version is measured on the same windows. The evaluation runs on this
 * operator's task thread, which serves nothing else. Pending versions and the set are in the
 * operator's state, so a restore evaluates what it had not evaluated yet.
 */
public final class EvalOperator extends AbstractStreamOperator<EvalMetrics>
        implements TwoInputStreamOperator<Window, ModelEvent, EvalMetrics> {

    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(EvalOperator.class);
    private static final long CHECK_MILLIS = 1000;
    private static final int ROWS_PER_CALL = 8;

    private final EvalSpec spec;

    private transient ListState<int[]> windowState;
    private transient ListState<ServableModel> pendingState;
    private transient ListState<Boolean> frozenState;
    private transient List<int[]> windows;
    private transient List<ServableModel> pending;
    private transient boolean frozen;
    private transient long lastWindowAt;
    private transient boolean checkScheduled;

    public EvalOperator(EvalSpec spec) {
        this.spec = spec;
    }

    @Override
    public void initializeState(StateInitializationContext context) throws Exception {
        super.initializeState(context);
        var store = context.getOperatorStateStore();
        windowState = store.getListState(new ListStateDescriptor<>("eval-windows",
                PrimitiveArrayTypeInfo.INT_PRIMITIVE_ARRAY_TYPE_INFO));
        pendingState = store.getListState(new ListStateDescriptor<>("pending-versions", ServableModel.class));
        frozenState = store.getListState(new ListStateDescriptor<>("frozen", Types.BOOLEAN));
        windows = new ArrayList<>();
        windowState.get().forEach(windows::add);
        pending = new ArrayList<>();
        pendingState.get().forEach(pending::add);
        frozenState.get().forEach(f -> frozen |= f);
        if (!context.isRestored() && spec.initialModel() != null) {
            pending.add(spec.initialModel());
        }
    }

    @Override
    public void open() throws Exception {
        super.open();
        lastWindowAt = System.currentTimeMillis();
        scheduleCheck();
    }

    @Override
    public void processElement1(StreamRecord<Window> element) {
        if (!frozen && windows.size() < spec.windows()) {
            windows.add(element.getValue().tokens());
            lastWindowAt = System.currentTimeMillis();
            evaluateIfReady();
        }
    }

    @Override
    public void processElement2(StreamRecord<ModelEvent> element) {
        ModelEvent e = element.getValue();
        if (spec.follow() && e.servable() && (spec.runId() == null || spec.runId().equals(e.runId()))) {
            pending.add(ServableModel.of(e));
            evaluateIfReady();
            scheduleCheck();
        }
    }

    private void scheduleCheck() {
        if (!checkScheduled && !pending.isEmpty()) {
            checkScheduled = true;
            getProcessingTimeService().registerTimer(getProcessingTimeService().getCurrentProcessingTime() + CHECK_MILLIS,
                    time -> {
                        checkScheduled = false;
                        evaluateIfReady();
                        scheduleCheck();
                    });
        }
    }

    private void evaluateIfReady() {
        boolean ready = windows.size() == spec.windows() || frozen
                || (!windows.isEmpty() && System.currentTimeMillis() - lastWindowAt >= spec.settle().toMillis());
        if (!ready) {
            return;
        }
        frozen = true;
        for (ServableModel m : List.copyOf(pending)) {
            evaluate(m);
            pending.remove(m);
        }
    }

    private void evaluate(ServableModel m) {
        if (alreadyOnCard(m)) {
            return; // evaluated before this job (or before a restore) on the same dataset
        }
        if (!Files.isDirectory(Path.of(m.path()))) {
            LOG.info("Not evaluating {}: its export {} is gone (--keep-versions)", m.label(), m.path());
            return;
        }
        List<int[][]> batches = new ArrayList<>();
        for (int i = 0; i < windows.size(); i += ROWS_PER_CALL) {
            batches.add(windows.subList(i, Math.min(windows.size(), i + ROWS_PER_CALL)).toArray(int[][]::new));
        }
        long started = System.nanoTime();
        Evaluation e;
        try (OnnxModel model = m.open(InferenceOptions.defaults().withDevice(spec.device()).withThreads(1))) {
            e = Evaluation.ofWindows(model, batches, done -> { });
        } catch (IOException | RuntimeException failed) {
            LOG.warn("Cannot evaluate {} ({}): {}", m.label(), m.path(), failed.getMessage());
            return;
        }
        long now = System.currentTimeMillis();
        LOG.info("Evaluated {} on {} ({} windows, {} tokens): loss {} in {} ms", m.label(), spec.dataset(),
                windows.size(), e.tokens(), String.format("%.4f", e.loss()), (System.nanoTime() - started) / 1_000_000);
        if (m.lineageCard() != null && m.version() != null) {
            Path card = Path.of(m.lineageCard());
            try {
                new RunLayout(card.getParent().getParent()).addEvaluation(m.version(), new LineageCard.Evaluation(
                        spec.dataset(), e.loss(), e.perplexity(), e.tokens(), windows.size(), m.path(), now));
            } catch (IOException | RuntimeException failed) {
                LOG.warn("Cannot add the evaluation of {} to its lineage card {}: {}", m.label(), card, failed.toString());
            }
        }
        output.collect(new StreamRecord<>(new EvalMetrics(m.runId() == null ? "" : m.runId(), m.version(), m.step(),
                spec.dataset(), e.loss(), e.perplexity(), e.tokens(), windows.size(), m.path(), now)));
    }

    private boolean alreadyOnCard(ServableModel m) {
        if (m.lineageCard() == null || !Files.exists(Path.of(m.lineageCard()))) {
            return false;
        }
        try {
            LineageCard card = Json.read(Files.readString(Path.of(m.lineageCard())), LineageCard.class);
            return card.evaluations().stream().anyMatch(e -> e.dataset().equals(spec.dataset())
                    && e.model().equals(m.path()) && e.windows() == windows.size());
        } catch (IOException | RuntimeException unreadable) {
            return false;
        }
    }

    @Override
    public void snapshotState(StateSnapshotContext context) throws Exception {
        super.snapshotState(context);
        windowState.update(windows);
        pendingState.update(pending);
        frozenState.update(List.of(frozen));
    }
}
