package dev.momstream.operators.infer;

import dev.momstream.kafka.records.DocumentScore;
import dev.momstream.kafka.records.InferResponse;
import dev.momstream.kafka.records.ModelEvent;
import dev.momstream.kafka.records.RecordOrigin;
import dev.momstream.kafka.records.ServingEvent;
import dev.momstream.operators.records.RawRecord;
import dev.momstream.trainer.onnx.InferenceOptions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.RejectedExecutionException;
import org.apache.flink.api.common.operators.MailboxExecutor;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.state.StateSnapshotContext;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.TwoInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.util.OutputTag;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves requests (input 1: records of {@code infer.requests}, or documents of a scored topic)
 * on the newest servable model version (input 2: {@code model.events}, broadcast to every
 * subtask). Around its Flink-free core, a {@link ModelHost} (sessions, hot swap) and an
 * {@link InferenceServer} (micro-batches on its own thread), it parses requests (a bad one is
 * answered with an error at once), hands them to the server, and emits what it completes:
 * responses on the main output, or {@link DocumentScore}s on {@link #SCORES} for a scored topic;
 * the host's swaps and refusals go to {@link #EVENTS}.
 *
 * <p><b>Back-pressure.</b> When {@code maxQueued} requests wait, the operator reads no more input
 * (it yields to its mailbox, where completions are emitted, until the server has room), so a
 * burst waits in Kafka, never in memory.
 *
 * <p><b>Nothing accepted is lost.</b> Every request read and not yet answered is in the
 * operator's state at a checkpoint, together with the version being served; a restore loads that
 * version again and recomputes those requests, and the Kafka source resumes after the last one
 * read. Delivery is at least once: a response emitted after the restored checkpoint is emitted
 * again, under the same request id (readers keep the first per id).
 */
public final class InferOperator extends AbstractStreamOperator<InferResponse>
        implements TwoInputStreamOperator<RawRecord, ModelEvent, InferResponse> {

    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(InferOperator.class);

    /** Per-document losses, when the input is a scored topic. */
    public static final OutputTag<DocumentScore> SCORES =
            new OutputTag<>("document-scores", TypeInformation.of(DocumentScore.class));
    /** Versions swapped in or refused. */
    public static final OutputTag<ServingEvent> EVENTS =
            new OutputTag<>("serving-events", TypeInformation.of(ServingEvent.class));

    private final InferSpec spec;

    private transient ListState<RawRecord> pendingState;
    private transient ListState<ServableModel> modelState;
    // requests read and not yet answered, by position, in arrival order
    private transient Map<String, RawRecord> pending;
    private transient ServableModel offered;
    private transient ModelHost host;
    private transient InferenceServer server;
    private transient RequestParser parser;
    private transient MailboxExecutor mailbox;
    private transient volatile boolean closing;
    private transient Counter answered;
    private transient Counter refused;
    private transient String hostName;

    public InferOperator(InferSpec spec) {
        this.spec = spec;
    }

    @Override
    public void setMailboxExecutor(MailboxExecutor executor) {
        super.setMailboxExecutor(executor);
        this.mailbox = executor;
    }

    @Override
    public void initializeState(StateInitializationContext context) throws Exception {
        super.initializeState(context);
        pendingState = context.getOperatorStateStore().getListState(
                new ListStateDescriptor<>("pending-requests", RawRecord.class));
        modelState = context.getOperatorStateStore().getUnionListState(
                new ListStateDescriptor<>("served-model", ServableModel.class));
        pending = new LinkedHashMap<>();
        pendingState.get().forEach(r -> pending.put(position(r), r));
        for (ServableModel m : modelState.get()) {
            if (m.newerThan(offered)) {
                offered = m;
            }
        }
        if (offered == null) {
            offered = spec.initialModel();
        }
    }

    @Override
    public void open() throws Exception {
        super.open();
        hostName = getRuntimeContext().getJobInfo().getJobName() + "/" + getOperatorName() + "/"
                + getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
        MetricGroup group = getMetricGroup().addGroup("serve");
        answered = group.counter("answered");
        refused = group.counter("badRequests");
        parser = new RequestParser(spec.options());
        ServeOptions o = spec.options();
        InferenceOptions inference = InferenceOptions.defaults().withDevice(o.device());
        host = new ModelHost(o.threads() > 0 ? inference.withThreads(o.threads()) : inference, new HostEvents());
        server = new InferenceServer(host, o, d -> inMailbox(() -> emit(d), "emit response"));
        group.gauge("queued", (Gauge<Integer>) server::queued);
        group.gauge("servedVersion", (Gauge<Long>) () -> {
            ServableModel s = host.serving();
            return s == null || s.version() == null ? -1L : s.version();
        });
        if (offered != null) {
            host.offer(offered);
        }
        List<RawRecord> restored = new ArrayList<>(pending.values());
        if (!restored.isEmpty()) {
            LOG.info("{} resubmits {} requests accepted before the restore", hostName, restored.size());
        }
        for (RawRecord r : restored) {
            submit(r);
        }
    }

    @Override
    public void processElement1(StreamRecord<RawRecord> element) throws Exception {
        RawRecord r = element.getValue();
        // in the state before it can wait for room: a checkpoint taken while it waits must hold it
        pending.put(position(r), r);
        submit(r);
    }

    private void submit(RawRecord r) throws InterruptedException {
        RecordOrigin origin = r.origin();
        long now = System.nanoTime();
        RequestParser.Parsed parsed = spec.documents() ? parser.document(origin, r.value(), now)
                : parser.request(origin, r.value(), now);
        if (parsed instanceof RequestParser.Refused bad) {
            refused.inc();
            pending.remove(position(r));
            output(r, bad.response());
            return;
        }
        Request request = ((RequestParser.Accepted) parsed).request();
        while (!server.offer(request)) {
            mailbox.yield(); // runs completions (and checkpoints) until the server has room
        }
    }

    private void emit(InferenceServer.Done d) {
        RawRecord r = pending.remove(d.request().key());
        if (r != null) {
            answered.inc();
            output(r, d.response());
        }
    }

    private void output(RawRecord r, InferResponse response) {
        if (!spec.documents()) {
            output.collect(new StreamRecord<>(response));
            return;
        }
        output.collect(SCORES, new StreamRecord<>(new DocumentScore(response.id(), r.topic(), r.partition(), r.offset(),
                response.loss(), response.perplexity(), response.tokens() == null ? 0 : response.tokens(),
                response.version(), response.error(), response.ts())));
    }

    @Override
    public void processElement2(StreamRecord<ModelEvent> element) {
        ModelEvent e = element.getValue();
        if (!spec.follow() || !e.servable() || (spec.runId() != null && !spec.runId().equals(e.runId()))) {
            return;
        }
        ServableModel m = ServableModel.of(e);
        if (m.newerThan(offered)) {
            offered = m;
            host.offer(m);
        }
    }

    @Override
    public void snapshotState(StateSnapshotContext context) throws Exception {
        super.snapshotState(context);
        pendingState.update(new ArrayList<>(pending.values()));
        modelState.update(offered == null ? List.of() : List.of(offered));
    }

    private void inMailbox(Runnable action, String what) {
        if (closing) {
            return;
        }
        try {
            mailbox.execute(action::run, what);
        } catch (RejectedExecutionException stopped) {
            // the task is closing: what was not emitted is still in the state of its last checkpoint
        }
    }

    private static String position(RawRecord r) {
        return RequestParser.key(r.origin());
    }

    /** The host's swaps and refusals, as events emitted from the task thread. */
    private final class HostEvents implements ModelHost.Listener {
        @Override
        public void swapped(ServableModel from, ServableModel to, double loadMillis) {
            ServingEvent e = new ServingEvent(hostName, ServingEvent.SWAPPED, to.version(), to.path(),
                    from == null ? null : from.version(), loadMillis, null, System.currentTimeMillis());
            inMailbox(() -> output.collect(EVENTS, new StreamRecord<>(e)), "swap event");
        }

        @Override
        public void refused(ServableModel offeredModel, ServableModel serving, String reason) {
            ServingEvent e = new ServingEvent(hostName, ServingEvent.REFUSED, offeredModel.version(), offeredModel.path(),
                    serving == null ? null : serving.version(), null, reason, System.currentTimeMillis());
            inMailbox(() -> output.collect(EVENTS, new StreamRecord<>(e)), "refusal event");
        }
    }

    @Override
    public void close() throws Exception {
        closing = true;
        try {
            super.close();
        } finally {
            if (server != null) {
                server.close();
            }
            if (host != null) {
                host.close();
            }
        }
    }
}
