package dev.momstream.operators.train;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.momstream.kafka.records.ModelEvent;
import dev.momstream.kafka.records.TrainMetrics;
import dev.momstream.operators.records.Batch;
import dev.momstream.operators.records.DocRef;
import dev.momstream.operators.records.Window;
import dev.momstream.trainer.checkpoint.Checkpoint;
import dev.momstream.trainer.checkpoint.CheckpointException;
import dev.momstream.trainer.checkpoint.Manifest;
import dev.momstream.trainer.config.Json;
import dev.momstream.trainer.run.StepMetrics;
import dev.momstream.trainer.train.EvalResult;
import dev.momstream.trainer.train.StepResult;
import dev.momstream.trainer.train.Trainer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.Set;
import org.apache.flink.api.common.operators.MailboxExecutor;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.common.state.OperatorStateStore;
import org.apache.flink.runtime.execution.SuppressRestartsException;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.state.StateSnapshotContext;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.TwoInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.util.OutputTag;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Owns the model and the trainer: one optimizer step per training batch (input 1), validation on
 * the first validation windows that arrive (input 2, kept in state), a trainer checkpoint per
 * Flink checkpoint, and a published model version per completed checkpoint. Runs at parallelism
 * 1 (one trainer per JVM: DJL lets only one gradient collector record at a time per process).
 *
 * <p><b>State.</b> Tensors stay out of Flink state: {@link #snapshotState} writes the trainer
 * checkpoint to {@code checkpoints/ckpt-<id>/} (or reuses the previous one when no step ran since)
 * and keeps only its path, manifest checksum, step and the lineage since the previous snapshot
 * (the {@link VersionLedger}, as JSON). A restore checks the checksum, then loads that checkpoint.
 * A refused restore (a corrupt or mismatched checkpoint, state that would reuse versions) fails
 * the job at once with the file and the reason: Flink's restarts would refuse the same way.
 * The snapshot runs on the task thread between steps, so a checkpoint waits at most one step
 * (150-400 ms for the tiny model on this machine) plus the write; keep steps far below the
 * checkpoint timeout by sizing {@code batchSize x gradAccum}.
 *
 * <p><b>Publication.</b> {@link #notifyCheckpointComplete} publishes the checkpoint as model
 * version = checkpoint id: it writes {@code versions/v<id>.json} ({@link LineageCard}) and emits a
 * {@link ModelEvent} on {@link #EVENTS}. That event rides in the exactly-once sink's transaction of
 * the next checkpoint, which may abort; so a restore from checkpoint n (which completed by
 * definition) publishes version n again, rewriting an identical card and re-sending an identical
 * event. A version whose notification came only after checkpoint n's snapshot (its event rode in
 * the aborted transaction too; its card is on disk) is republished first, as itself. Each
 * version's event is thereby committed exactly once, and never for a checkpoint that did not
 * complete.
 *
 * <p><b>Stopping.</b> With {@code stopAtStep = N}, batches after step N are held in state and the
 * operator parks: a mail that sleeps briefly and re-enqueues itself keeps the task from reading
 * input while checkpoints and their notifications still run between those mails. Back-pressure
 * then stops the sources, nothing is consumed without being trained, and a continued run
 * (restored with a higher stop step) trains the held batches (one per mail, the same way) before
 * what was in flight. The next completed checkpoint publishes the version with step N. While the
 * task is still restoring it does not park: Flink only reports it running, and checkpoints it,
 * once the in-flight batches of an unaligned checkpoint are consumed, so those are held instead.
 * (Flink refuses checkpoints for operators that select their inputs, hence the mails.)
 */
public final class TrainOperator extends AbstractStreamOperator<TrainMetrics>
        implements TwoInputStreamOperator<Batch, Window, TrainMetrics> {

    private static final long serialVersionUID = 1L;
    private static final long PARK_MILLIS = 100;
    // Hides AbstractStreamOperator's logger, which logs under Flink's name.
    private static final Logger LOG = LoggerFactory.getLogger(TrainOperator.class);

    /** Published model versions, for {@code model.events}. */
    public static final OutputTag<ModelEvent> EVENTS = new OutputTag<>("model-events", TypeInformation.of(ModelEvent.class));

    private final TrainSpec spec;

    // Flink state, declared in initializeState and written in snapshotState only.
    private transient ListState<String> ledgerState;
    private transient ListState<int[]> evalState;
    private transient ListState<Batch> heldState;

    private transient RunLayout layout;
    private transient Trainer trainer;
    private transient VersionLedger ledger;
    private transient Lineage sinceSnapshot;
    private transient List<int[]> evalWindows;
    private transient List<Batch> held;
    private transient MailboxExecutor mailbox;
    private transient Validation lastValidation;
    private transient TrainerSnapshot lastSaved;
    private transient List<Publication> republish;
    private transient TrainGauges gauges;
    private transient String configHash;
    private transient boolean parkLogged;

    public TrainOperator(TrainSpec spec) {
        this.spec = spec;
    }

    @Override
    public void initializeState(StateInitializationContext context) throws Exception {
        super.initializeState(context);
        OperatorStateStore store = context.getOperatorStateStore();
        ledgerState = store.getListState(new ListStateDescriptor<>("ledger", Types.STRING));
        evalState = store.getListState(new ListStateDescriptor<>("eval-windows",
                PrimitiveArrayTypeInfo.INT_PRIMITIVE_ARRAY_TYPE_INFO));
        heldState = store.getListState(new ListStateDescriptor<>("held-batches", Batch.class));
        layout = spec.layout();
        sinceSnapshot = new Lineage();
        evalWindows = new ArrayList<>();
        evalState.get().forEach(evalWindows::add);
        held = new ArrayList<>();
        heldState.get().forEach(held::add);
        List<String> saved = new ArrayList<>();
        ledgerState.get().forEach(saved::add);
        try {
            if (saved.isEmpty()) {
                startFresh();
            } else {
                restore(saved.get(0), context.getRestoredCheckpointId());
            }
        } catch (CheckpointException | Refusal e) {
            // the same files and state refuse the same way however often Flink retries: fail the
            // job at once, with the file and the reason as its cause
            throw new SuppressRestartsException(e);
        }
    }

    /** A state this operator will not start from: retrying cannot change it. */
    private static final class Refusal extends IllegalStateException {
        private static final long serialVersionUID = 1L;

        Refusal(String message) {
            super(message);
        }
    }

    private void startFresh() throws IOException {
        long published = layout.highestVersion();
        if (published > 0) {
            throw new Refusal("Run directory " + layout.runDir() + " already holds published versions"
                    + " (up to v" + published + ") but this job starts without state: resume it from its retained"
                    + " Flink checkpoint, or use a new run directory. Starting over would reuse version numbers.");
        }
        layout.sweepCheckpoints(Set.of()); // leftovers of attempts that never completed a checkpoint
        trainer = Trainer.fresh(spec.configs(), spec.options().device());
        ledger = new VersionLedger();
        LOG.info("Train operator of run {} starts a fresh model on {}", spec.runId(), spec.options().device());
    }

    private void restore(String ledgerJson, OptionalLong restoredId) throws IOException {
        ledger = VersionLedger.of(Json.read(ledgerJson, VersionLedger.State.class));
        TrainerSnapshot snap = ledger.latest()
                .orElseThrow(() -> new Refusal("the restored train state names no trainer checkpoint"));
        if (restoredId.isPresent() && restoredId.getAsLong() != snap.checkpointId()) {
            throw new Refusal("restored Flink checkpoint " + restoredId.getAsLong()
                    + " holds the trainer snapshot of checkpoint " + snap.checkpointId());
        }
        long published = layout.highestVersion();
        if (published > snap.checkpointId()) {
            throw new Refusal("version v" + published + " was published after checkpoint "
                    + snap.checkpointId() + ", which this job restores: restore the latest checkpoint instead,"
                    + " or versions would be reused for different weights");
        }
        Path dir = Path.of(snap.path());
        String checksum = Checkpoint.verify(dir);
        if (!checksum.equals(snap.checksum())) {
            throw new CheckpointException("trainer checkpoint " + dir + " has manifest SHA-256 " + checksum
                    + " but Flink checkpoint " + snap.checkpointId() + " recorded " + snap.checksum()
                    + "; refusing to restore different weights");
        }
        trainer = Trainer.restore(dir, spec.options().device());
        lastSaved = snap;
        lastValidation = snap.validation();
        republish = ledger.restored(snap.checkpointId(), version -> Files.exists(layout.card(version)));
        layout.sweepCheckpoints(ledger.referencedPaths());
        LOG.info("Train operator of run {} restored checkpoint {} at step {} from {}", spec.runId(),
                snap.checkpointId(), snap.step(), dir);
    }

    @Override
    public void open() throws Exception {
        super.open();
        gauges = new TrainGauges(getMetricGroup().addGroup("train"));
        configHash = trainer.configs().hash();
        if (republish != null) {
            republish.forEach(this::publish);
            republish = null;
        }
        drain(); // batches a stopped run held come before anything still in flight
    }

    /** Flink hands every operator its mailbox; draining and parking need it. */
    @Override
    public void setMailboxExecutor(MailboxExecutor executor) {
        super.setMailboxExecutor(executor);
        this.mailbox = executor;
    }

    private boolean stopped() {
        return spec.options().stopAtStep() > 0 && trainer.state().step() >= spec.options().stopAtStep();
    }

    @Override
    public void processElement1(StreamRecord<Batch> element) {
        held.add(element.getValue());
        drain();
    }

    /**
     * Trains the oldest held batch unless stopped; while batches remain held, continues in a mail,
     * so that the task reads no input (back-pressure) but runs checkpoints in between.
     */
    private void drain() {
        if (held.isEmpty()) {
            return;
        }
        if (!stopped()) {
            train(held.remove(0));
        }
        if (!held.isEmpty() && (!stopped() || getContainingTask().isRunning())) {
            mailbox.execute(this::drainLater, "train held batches");
        }
    }

    private void drainLater() throws InterruptedException {
        if (stopped()) {
            if (!parkLogged) {
                LOG.info("Reached step {}: holding the next batch, reading no input until the job stops",
                        trainer.state().step());
                parkLogged = true;
            }
            Thread.sleep(PARK_MILLIS); // parked; cancellation interrupts this
        }
        drain();
    }

    private void train(Batch batch) {
        StepResult result = trainer.step(batch.microBatches(trainer.config().batchSize()));
        for (Window window : batch.windows()) {
            for (DocRef doc : window.docs()) {
                sinceSnapshot.add(doc);
            }
        }
        gauges.step(result);
        long done = trainer.state().step();
        boolean last = done == spec.options().stopAtStep();
        boolean validate = last || (spec.options().evalEvery() > 0 && done % spec.options().evalEvery() == 0);
        Validation validation = validate ? validate(done) : null;
        if (validation != null || last || done % spec.options().metricsEvery() == 0) {
            StepMetrics m = StepMetrics.of(result, trainer.state().tokensSeen(),
                    validation == null ? null : validation.loss());
            output.collect(new StreamRecord<>(MetricsRecords.toRecord(spec.runId(), m)));
        }
    }

    /** Keeps the first {@code evalWindows} validation windows, so that the set stays fixed. */
    @Override
    public void processElement2(StreamRecord<Window> element) {
        if (evalWindows.size() < spec.options().evalWindows()) {
            evalWindows.add(element.getValue().tokens());
            gauges.evalWindows.inc();
        }
    }

    /** Validation loss on the kept windows; null while there are none. Never touches the weights. */
    private Validation validate(long step) {
        if (evalWindows.isEmpty()) {
            return null;
        }
        int rows = trainer.config().batchSize();
        List<int[][]> batches = new ArrayList<>();
        for (int i = 0; i < evalWindows.size(); i += rows) {
            batches.add(evalWindows.subList(i, Math.min(i + rows, evalWindows.size())).toArray(int[][]::new));
        }
        EvalResult result = trainer.evaluate(batches);
        lastValidation = new Validation(step, result.loss(), result.tokens());
        gauges.validated(lastValidation);
        return lastValidation;
    }

    @Override
    public void snapshotState(StateSnapshotContext context) throws Exception {
        super.snapshotState(context);
        ledger.add(saveTrainer(context.getCheckpointId()));
        sinceSnapshot = new Lineage();
        ledgerState.update(List.of(Json.write(ledger.state())));
        evalState.update(evalWindows);
        heldState.update(held);
    }

    private TrainerSnapshot saveTrainer(long checkpointId) throws IOException {
        long step = trainer.state().step();
        long tokens = trainer.state().tokensSeen();
        long now = System.currentTimeMillis();
        List<SourceRanges> lineage = sinceSnapshot.ranges();
        if (lastSaved != null && lastSaved.step() == step && Files.isDirectory(Path.of(lastSaved.path()))) {
            // No step since: the weights on disk are these weights. Idle checkpoints write nothing.
            return new TrainerSnapshot(checkpointId, lastSaved.path(), lastSaved.checksum(), step, tokens, now, lineage,
                    lastValidation);
        }
        Path dir = layout.checkpoint(checkpointId);
        if (Files.exists(dir)) {
            if (ledger.referencedPaths().contains(dir.toString())) {
                throw new IllegalStateException("trainer checkpoint " + dir + " is still referenced");
            }
            Checkpoint.delete(dir); // left by an attempt whose checkpoint never completed
        }
        long started = System.nanoTime();
        ObjectNode cursor = Json.MAPPER.createObjectNode()
                .put("runId", spec.runId())
                .put("checkpointId", checkpointId);
        cursor.set("lineageSincePreviousSnapshot", Json.MAPPER.valueToTree(lineage));
        Checkpoint.save(trainer, dir, cursor);
        String checksum = Manifest.sha256(dir.resolve(Manifest.FILE));
        LOG.info("Trainer checkpoint {} (step {}) written in {} ms", dir, step, (System.nanoTime() - started) / 1_000_000);
        lastSaved = new TrainerSnapshot(checkpointId, dir.toString(), checksum, step, tokens, now, lineage,
                lastValidation);
        return lastSaved;
    }

    @Override
    public void notifyCheckpointComplete(long checkpointId) throws Exception {
        super.notifyCheckpointComplete(checkpointId);
        ledger.complete(checkpointId).ifPresent(this::publish);
    }

    private void publish(Publication publication) {
        try {
            Path card = layout.writeCard(LineageCard.of(spec.runId(), configHash, publication));
            output.collect(EVENTS, new StreamRecord<>(publication.event(spec.runId(), card, configHash)));
            for (String expired : ledger.expire(spec.options().keepVersions())) {
                Checkpoint.delete(Path.of(expired));
            }
            layout.sweepCheckpoints(ledger.referencedPaths());
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot publish version " + publication.version(), e);
        }
        gauges.published(publication.version());
        LOG.info("Published model version {} of run {} (step {}, {} new documents)", publication.version(),
                spec.runId(), publication.snapshot().step(),
                publication.lineage().stream().mapToLong(SourceRanges::documents).sum());
    }

    @Override
    public void close() throws Exception {
        try {
            super.close();
        } finally {
            if (trainer != null) {
                trainer.close();
                trainer = null;
            }
        }
    }
}
