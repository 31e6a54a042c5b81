package dev.momstream.operators.diloco;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.momstream.kafka.records.TrainMetrics;
import dev.momstream.operators.records.DocRef;
import dev.momstream.operators.records.Window;
import dev.momstream.operators.train.Lineage;
import dev.momstream.operators.train.LineageCard;
import dev.momstream.operators.train.MetricsRecords;
import dev.momstream.operators.train.Publication;
import dev.momstream.operators.train.RunLayout;
import dev.momstream.operators.train.SourceRanges;
import dev.momstream.operators.train.TrainOperator;
import dev.momstream.operators.train.TrainSpec;
import dev.momstream.operators.train.TrainerSnapshot;
import dev.momstream.operators.train.Validation;
import dev.momstream.operators.train.VersionLedger;
import dev.momstream.trainer.checkpoint.Checkpoint;
import dev.momstream.trainer.checkpoint.CheckpointException;
import dev.momstream.trainer.config.Json;
import dev.momstream.trainer.diloco.GlobalWeights;
import dev.momstream.trainer.diloco.ReplicaCheckpoint;
import dev.momstream.trainer.engine.TorchRuntime;
import dev.momstream.trainer.run.StepMetrics;
import dev.momstream.trainer.train.EvalResult;
import dev.momstream.trainer.train.StepResult;
import dev.momstream.trainer.train.TrainConfig;
import dev.momstream.trainer.train.Trainer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeMap;
import org.apache.flink.api.common.operators.MailboxExecutor;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.OperatorStateStore;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.state.StateSnapshotContext;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.TwoInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One replica of data-parallel training with DiLoCo (Douillard et al., arXiv 2311.08105): P of
 * these run as the P subtasks of the train vertex, one per TaskManager JVM. Each trains the
 * batches whose sequence number is its index modulo P ({@link BySequence}) with its own AdamW;
 * after every {@code syncEvery} inner steps it sends its pseudo-gradient through the run's shared
 * storage ({@link RoundFiles}), waits for its peers' and applies the outer Nesterov step to the
 * global weights ({@link GlobalWeights}), which every replica computes identically and continues
 * from. docs/SCALING.md gives the design; in short:
 *
 * <p><b>Waiting.</b> A replica waiting for its peers polls their files from processing-time
 * timers, never by blocking its thread: meanwhile it reads its input (batches are held in state,
 * not trained), answers checkpoint barriers, aligned or not, and takes checkpoint notifications.
 * A peer held up by a checkpoint therefore never waits for it, and {@link SyncRule} keeps every
 * checkpoint in one round.
 *
 * <p><b>State.</b> Each replica's snapshot writes its replica checkpoint
 * ({@code checkpoints/ckpt-<id>/replica-<k>/}: its weights, AdamW moments, counters, and the
 * global weights and outer momentum) and keeps in a union list a {@link ReplicaEntry} with its
 * path, checksum and position in the schedule. Restored with the same number of replicas, each
 * takes its own entry back and replays exactly. With another number, every new replica merges all
 * old entries ({@link Rescale}).
 *
 * <p><b>Publication.</b> Replica 0 publishes the global weights: at each snapshot it writes them
 * as a model checkpoint ({@code checkpoints/ckpt-<id>/global/}) when they changed, and the
 * {@link VersionLedger} makes a completed checkpoint a version, with a lineage card naming the
 * documents every replica trained into those weights. Replica 0 also validates the global
 * weights (after synchronisations at or past an {@code evalEvery} multiple, and at the stop step)
 * and sends the metrics, its own training loss per step.
 *
 * <p><b>Stopping.</b> The stop step must be a synchronisation step; there every replica finishes
 * the round and then holds what arrives, up to {@link #MAX_HELD_STOPPED_TOKENS}, so that a stop's
 * savepoint (aligned) can pass; beyond that it parks like {@link TrainOperator}, reading no input.
 */
public final class ReplicaOperator extends AbstractStreamOperator<TrainMetrics>
        implements TwoInputStreamOperator<NumberedBatch, Window, TrainMetrics> {

    private static final long serialVersionUID = 1L;
    private static final Logger LOG = LoggerFactory.getLogger(ReplicaOperator.class);
    private static final long PARK_MILLIS = 100;
    /**
     * Tokens a stopped replica holds before it parks (64 MiB of them). Until then it reads its
     * input, so that the aligned barrier of a stop's savepoint reaches it and the savepoint holds
     * no batch in flight; beyond, it reads none (back-pressure), and a savepoint cannot complete.
     */
    static final long MAX_HELD_STOPPED_TOKENS = 16L << 20;
    private static final long MAX_POLL_MILLIS = 50;

    private final TrainSpec spec;

    // Flink state, declared in initializeState and written in snapshotState only. Union lists:
    // after a change of the number of replicas each new replica reads every old one's.
    private transient ListState<String> entryState;
    private transient ListState<String> ledgerState;
    private transient ListState<int[]> evalState;
    private transient ListState<NumberedBatch> heldState;

    private transient int replica;
    private transient int replicas;
    private transient TrainConfig train;
    private transient RunLayout layout;
    private transient RoundFiles rounds;
    private transient String generation;
    private transient ReplicaCheckpoint.Replica model;
    private transient MailboxExecutor mailbox;
    private transient SyncGauges gauges;
    private transient String configHash;

    // where this replica stands in the schedule
    private transient long epoch;
    private transient long tokensAtSync;
    private transient long globalStep;
    private transient long globalTokens;
    private transient Lineage roundLineage;
    private transient List<SourceRanges> lastRoundLineage;
    private transient List<Long> announced;
    private transient boolean waiting;
    private transient long pollMillis;
    private transient long waitStarted;
    private transient long writeNanos;
    private transient StepMetrics waitingRow;

    // checkpoints
    private transient long lastSnapshot;
    private transient Set<Long> aborted;
    private transient TreeMap<Long, ReplicaEntry> taken;

    private transient List<NumberedBatch> held;
    private transient boolean parkLogged;

    // replica 0 only: publication and validation
    private transient VersionLedger ledger;
    private transient Lineage pending;
    private transient List<int[]> evalWindows;
    private transient Validation lastValidation;
    private transient TrainerSnapshot lastGlobal;
    private transient List<Publication> republish;
    private transient List<String> orphans;

    public ReplicaOperator(TrainSpec spec) {
        this.spec = spec;
    }

    @Override
    public void initializeState(StateInitializationContext context) throws Exception {
        super.initializeState(context);
        OperatorStateStore store = context.getOperatorStateStore();
        entryState = store.getUnionListState(new ListStateDescriptor<>("replicas", Types.STRING));
        ledgerState = store.getUnionListState(new ListStateDescriptor<>("replica-ledger", Types.STRING));
        evalState = store.getUnionListState(new ListStateDescriptor<>("replica-eval-windows",
                PrimitiveArrayTypeInfo.INT_PRIMITIVE_ARRAY_TYPE_INFO));
        heldState = store.getUnionListState(new ListStateDescriptor<>("replica-held-batches", NumberedBatch.class));
        replica = getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
        replicas = getRuntimeContext().getTaskInfo().getNumberOfParallelSubtasks();
        train = spec.configs().train();
        layout = spec.layout();
        rounds = new RoundFiles(layout.sync());
        roundLineage = new Lineage();
        lastRoundLineage = List.of();
        announced = new ArrayList<>();
        aborted = new HashSet<>();
        taken = new TreeMap<>();
        pending = new Lineage();
        evalWindows = new ArrayList<>();
        held = new ArrayList<>();
        List<ReplicaEntry> entries = new ArrayList<>();
        for (String json : entryState.get()) {
            entries.add(Json.read(json, ReplicaEntry.class));
        }
        if (entries.isEmpty()) {
            startFresh();
        } else {
            restore(entries, context.getRestoredCheckpointId());
        }
    }

    private void startFresh() throws IOException {
        if (replica == 0) {
            long published = layout.highestVersion();
            if (published > 0) {
                throw new IllegalStateException("Run directory " + layout.runDir() + " already holds published"
                        + " versions (up to v" + published + ") but this job starts without state: resume it from its"
                        + " retained Flink checkpoint, or use a new run directory. Starting over would reuse version"
                        + " numbers.");
            }
            layout.sweepNestedCheckpoints(Set.of()); // leftovers of attempts that never completed a checkpoint
            ledger = new VersionLedger();
        }
        // Every replica starts from the same weights: the seed decides them.
        Trainer trainer = Trainer.fresh(spec.configs(), spec.options().device());
        model = new ReplicaCheckpoint.Replica(trainer, GlobalWeights.of(trainer.model().params()));
        generation = "p" + replicas + "-fresh";
        LOG.info("Replica {} of {} of run {} starts a fresh model on {}", replica, replicas, spec.runId(),
                spec.options().device());
    }

    private void restore(List<ReplicaEntry> entries, OptionalLong restoredId) throws Exception {
        long checkpointId = entries.get(0).checkpointId();
        if (restoredId.isPresent() && restoredId.getAsLong() != checkpointId) {
            throw new IllegalStateException("restored Flink checkpoint " + restoredId.getAsLong()
                    + " holds the replica snapshots of checkpoint " + checkpointId);
        }
        lastSnapshot = checkpointId;
        List<String> ledgers = new ArrayList<>();
        ledgerState.get().forEach(ledgers::add);
        if (replica == 0) {
            if (ledgers.size() != 1) {
                throw new IllegalStateException("the restored state holds " + ledgers.size() + " version ledgers");
            }
            ledger = VersionLedger.of(Json.read(ledgers.get(0), VersionLedger.State.class));
            long published = layout.highestVersion();
            if (published > checkpointId) {
                throw new IllegalStateException("version v" + published + " was published after checkpoint "
                        + checkpointId + ", which this job restores: restore the latest checkpoint instead, or versions"
                        + " would be reused for different weights");
            }
            evalState.get().forEach(evalWindows::add);
            lastGlobal = ledger.latest().orElse(null);
            lastValidation = lastGlobal == null ? null : lastGlobal.validation();
        }
        List<NumberedBatch> all = new ArrayList<>();
        heldState.get().forEach(all::add);
        all.stream().filter(b -> BySequence.replica(b.seq(), replicas) == replica)
                .sorted(Comparator.comparingLong(NumberedBatch::seq)).forEach(held::add);
        boolean same = entries.size() == replicas && entries.stream().allMatch(e -> e.replicas() == replicas);
        if (same) {
            resume(entries.stream().filter(e -> e.replica() == replica).findFirst().orElseThrow(
                    () -> new IllegalStateException("the restored state has no entry of replica " + replica)));
        } else {
            rescale(entries, checkpointId);
        }
        if (replica == 0) {
            republish = ledger.restored(checkpointId, version -> Files.exists(layout.card(version)));
            Set<String> keep = new HashSet<>(ledger.referencedPaths());
            entries.forEach(e -> keep.add(e.path()));
            layout.sweepNestedCheckpoints(keep);
            rounds.deleteGenerationsBut(generation);
        }
    }

    /** The same replicas: this one continues from its own entry, and replays exactly. */
    private void resume(ReplicaEntry mine) throws IOException {
        Path dir = Path.of(mine.path());
        String checksum = ReplicaCheckpoint.verify(dir);
        if (!checksum.equals(mine.checksum())) {
            throw new CheckpointException("replica checkpoint " + dir + " has manifest SHA-256 " + checksum
                    + " but Flink checkpoint " + mine.checkpointId() + " recorded " + mine.checksum()
                    + "; refusing to restore different weights");
        }
        model = ReplicaCheckpoint.load(dir, spec.options().device());
        generation = mine.generation();
        epoch = mine.epoch();
        waiting = mine.waiting();
        tokensAtSync = mine.tokensAtSync();
        globalStep = mine.globalStep();
        globalTokens = mine.globalTokens();
        roundLineage.addAll(mine.roundLineage());
        lastRoundLineage = mine.lastRoundLineage();
        announced.addAll(mine.announced());
        waitingRow = mine.waitingRow();
        taken.put(mine.checkpointId(), mine);
        LOG.info("Replica {} of {} of run {} restored checkpoint {} at step {} (round {}{})", replica, replicas,
                spec.runId(), mine.checkpointId(), mine.step(), epoch, waiting ? ", waiting for its peers" : "");
    }

    /** Another number of replicas: every new replica merges all old ones the same way. */
    private void rescale(List<ReplicaEntry> entries, long checkpointId) throws IOException {
        Rescale plan = Rescale.of(entries, train.syncEvery());
        model = ReplicaCheckpoint.merge(plan.olds(), Path.of(plan.globalFrom().path()), plan.step(),
                spec.options().device());
        generation = "p" + replicas + "-c" + checkpointId;
        epoch = plan.epoch();
        globalStep = plan.step();
        globalTokens = plan.globalTokens();
        lastRoundLineage = List.of();
        if (replica == 0) {
            pending.addAll(plan.pending());
            // the old replicas' checkpoints, deleted once this job has completed a checkpoint of its own
            orphans = entries.stream().map(ReplicaEntry::path).toList();
        }
        LOG.info("Replica {} of {} of run {} continues checkpoint {} of {} replicas at step {}: the global weights"
                        + " moved to the old replicas' mean; AdamW moments are their mean", replica, replicas,
                spec.runId(), checkpointId, entries.size(), plan.step());
    }

    @Override
    public void open() throws Exception {
        super.open();
        gauges = new SyncGauges(getMetricGroup().addGroup("train"));
        configHash = model.trainer().configs().hash();
        if (republish != null) {
            republish.forEach(this::publish);
            republish = null;
        }
        if (waiting) {
            waiting = false; // a replay of the round: its file is there, or written again
            beginRound();
        } else {
            drain(); // batches held at the checkpoint come before anything still in flight
        }
    }

    /** Flink hands every operator its mailbox; draining and parking need it. */
    @Override
    public void setMailboxExecutor(MailboxExecutor executor) {
        super.setMailboxExecutor(executor);
        this.mailbox = executor;
    }

    /** Whether this replica has sent its pseudo-gradient and waits for its peers (for tests). */
    boolean waiting() {
        return waiting;
    }

    private Trainer trainer() {
        return model.trainer();
    }

    private long step() {
        return trainer().state().step();
    }

    private boolean stopped() {
        return spec.options().stopAtStep() > 0 && step() >= spec.options().stopAtStep();
    }

    @Override
    public void processElement1(StreamRecord<NumberedBatch> element) {
        held.add(element.getValue());
        drain();
    }

    /**
     * Trains the oldest held batch unless stopped or waiting for peers; while batches remain held
     * (and no synchronisation began), continues in a mail, so that the task reads no input
     * (back-pressure) but runs checkpoints in between. Waiting replicas read on: see the class.
     */
    private void drain() {
        if (waiting || held.isEmpty()) {
            return;
        }
        if (!stopped()) {
            train(held.remove(0));
            if (waiting) {
                return;
            }
        }
        if (!held.isEmpty() && (!stopped() || (holdsTooMuch() && getContainingTask().isRunning()))) {
            mailbox.execute(this::drainLater, "train held batches");
        }
    }

    private boolean holdsTooMuch() {
        long tokens = 0;
        for (NumberedBatch b : held) {
            for (Window w : b.batch().windows()) {
                tokens += w.tokens().length;
            }
        }
        return tokens > MAX_HELD_STOPPED_TOKENS;
    }

    private void drainLater() throws InterruptedException {
        if (stopped() && !waiting && holdsTooMuch()) {
            if (!parkLogged) {
                LOG.info("Replica {} reached step {} and holds {} batches: reading no more input until the job stops",
                        replica, step(), held.size());
                parkLogged = true;
            }
            Thread.sleep(PARK_MILLIS); // parked; cancellation interrupts this
        }
        drain();
    }

    private void train(NumberedBatch numbered) {
        if (BySequence.replica(numbered.seq(), replicas) != replica) {
            throw new IllegalStateException("replica " + replica + " of " + replicas + " received batch "
                    + numbered.seq() + ", which belongs to replica " + BySequence.replica(numbered.seq(), replicas));
        }
        StepResult result = trainer().step(numbered.batch().microBatches(train.batchSize()));
        for (Window window : numbered.batch().windows()) {
            for (DocRef doc : window.docs()) {
                roundLineage.add(doc);
            }
        }
        gauges.step(result);
        long done = step();
        // tokens of every replica: they all train batches of the same size
        StepMetrics row = StepMetrics.of(result, globalTokens + replicas * (trainer().state().tokensSeen() - tokensAtSync),
                null);
        if (done % train.syncEvery() == 0) {
            waitingRow = replica == 0 ? row : null;
            beginRound();
        } else if (replica == 0 && done % spec.options().metricsEvery() == 0) {
            output.collect(new StreamRecord<>(MetricsRecords.toRecord(spec.runId(), row)));
        }
    }

    /** Sends this replica's pseudo-gradient for the round of the current step, then waits for its peers. */
    private void beginRound() {
        long round = step() / train.syncEvery();
        long started = System.nanoTime();
        try (NDManager m = trainer().model().params().newStepManager()) {
            Map<String, NDArray> delta = model.global().pseudoGradient(trainer().model().params(), m);
            rounds.write(new RoundFiles.Info(round, replica, replicas, generation, step(),
                    trainer().state().tokensSeen() - tokensAtSync, roundLineage.ranges(), announced), delta);
        } catch (IOException e) {
            throw new UncheckedIOException("replica " + replica + " cannot write its pseudo-gradient of round " + round, e);
        }
        writeNanos = System.nanoTime() - started;
        gauges.exchanged(writeNanos);
        waiting = true;
        waitStarted = System.nanoTime();
        pollMillis = 1;
        poll();
    }

    /** One look at the round's files: finishes the round when it may, else looks again a little later. */
    private void poll() {
        long round = step() / train.syncEvery();
        try {
            if (rounds.complete(generation, round, replicas)) {
                List<RoundFiles.Info> infos = new ArrayList<>();
                for (int k = 0; k < replicas; k++) {
                    infos.add(rounds.info(generation, round, k, replicas));
                }
                List<Long> awaited = SyncRule.awaited(infos.stream().flatMap(i -> i.announced().stream()).toList(),
                        lastSnapshot, aborted);
                if (awaited.isEmpty()) {
                    finishRound(round, infos);
                    return;
                }
                LOG.debug("Replica {} waits for checkpoints {} before finishing round {}", replica, awaited, round);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("replica " + replica + " cannot read round " + round, e);
        }
        long now = getProcessingTimeService().getCurrentProcessingTime();
        getProcessingTimeService().registerTimer(now + pollMillis, t -> poll());
        pollMillis = Math.min(MAX_POLL_MILLIS, pollMillis * 2);
    }

    private void finishRound(long round, List<RoundFiles.Info> infos) throws IOException {
        long started = System.nanoTime();
        long waitNanos = started - waitStarted;
        gauges.waited(waitNanos);
        var params = trainer().model().params();
        Map<String, long[]> shapes = new java.util.LinkedHashMap<>();
        params.layout().specs().forEach(s -> shapes.put(s.name(), s.shape()));
        try (GlobalWeights.Mean delta = new GlobalWeights.Mean(params); NDManager m = params.newStepManager()) {
            for (int k = 0; k < replicas; k++) {
                try (NDManager cpu = TorchRuntime.engine().newBaseManager(Device.cpu()); NDManager file = m.newSubManager()) {
                    Map<String, NDArray> d = rounds.delta(generation, round, k, shapes, cpu);
                    Map<String, NDArray> onDevice = new java.util.LinkedHashMap<>();
                    d.forEach((name, a) -> {
                        NDArray x = a.toDevice(params.device(), false);
                        x.attach(file);
                        onDevice.put(name, x);
                    });
                    delta.add(onDevice);
                }
            }
            model.global().outerStep(delta, train.outerLr(), train.outerMomentum(), m);
        }
        model.global().assignTo(params);
        Lineage all = new Lineage();
        long tokens = 0;
        for (RoundFiles.Info info : infos) {
            all.addAll(info.lineage());
            tokens += info.tokens();
        }
        long previousGlobalStep = globalStep;
        epoch = round;
        globalStep = step();
        globalTokens += tokens;
        lastRoundLineage = all.ranges();
        if (replica == 0) {
            pending.addAll(lastRoundLineage);
        }
        roundLineage = new Lineage();
        announced = new ArrayList<>();
        tokensAtSync = trainer().state().tokensSeen();
        waiting = false;
        long averageNanos = System.nanoTime() - started;
        gauges.synchronised(averageNanos);
        // ScaleBenchmark reads the times from this line
        LOG.info("Replica {} finished round {} at step {} ({} replicas, {} documents): {} ms writing, {} ms waiting,"
                        + " {} ms averaging", replica, round, globalStep, replicas, all.documents(), writeNanos / 1_000_000,
                waitNanos / 1_000_000, averageNanos / 1_000_000);
        if (waitingRow != null) {
            Validation v = validateAfter(previousGlobalStep);
            StepMetrics r = waitingRow;
            output.collect(new StreamRecord<>(MetricsRecords.toRecord(spec.runId(), new StepMetrics(r.step(), r.loss(),
                    r.aux(), r.lr(), r.gradNorm(), globalTokens, r.tokensPerSec(), r.skipRate(), r.routerEntropy(),
                    r.shares(), r.skipped(), v == null ? null : v.loss(), System.currentTimeMillis()))));
            waitingRow = null;
        }
        drain();
    }

    /** Validates the global weights when this synchronisation reached an {@code evalEvery} multiple or the stop step. */
    private Validation validateAfter(long previousGlobalStep) {
        int every = spec.options().evalEvery();
        boolean boundary = every > 0 && globalStep / every > previousGlobalStep / every;
        if (!(boundary || globalStep == spec.options().stopAtStep()) || evalWindows.isEmpty()) {
            return null;
        }
        int rows = train.batchSize();
        List<int[][]> batches = new ArrayList<>();
        for (int i = 0; i < evalWindows.size(); i += rows) {
            batches.add(evalWindows.subList(i, Math.min(i + rows, evalWindows.size())).toArray(int[][]::new));
        }
        EvalResult result = trainer().evaluate(batches);
        lastValidation = new Validation(globalStep, result.loss(), result.tokens());
        gauges.validated(lastValidation);
        return lastValidation;
    }

    /** Keeps the first {@code evalWindows} validation windows (only replica 0 receives any). */
    @Override
    public void processElement2(StreamRecord<Window> element) {
        if (evalWindows.size() < spec.options().evalWindows()) {
            evalWindows.add(element.getValue().tokens());
        }
    }

    @Override
    public void snapshotState(StateSnapshotContext context) throws Exception {
        super.snapshotState(context);
        long id = context.getCheckpointId();
        if (!waiting) {
            announced.add(id);
        }
        lastSnapshot = id;
        ReplicaEntry entry = saveReplica(id);
        taken.put(id, entry);
        entryState.update(List.of(Json.write(entry)));
        heldState.update(held);
        if (replica == 0) {
            ledger.add(saveGlobal(id));
            pending = new Lineage();
            ledgerState.update(List.of(Json.write(ledger.state())));
            evalState.update(evalWindows);
        } else {
            ledgerState.update(List.of());
            evalState.update(List.of());
        }
    }

    private ReplicaEntry saveReplica(long id) throws IOException {
        ReplicaEntry previous = taken.isEmpty() ? null : taken.lastEntry().getValue();
        String path;
        String checksum;
        if (previous != null && previous.step() == step() && previous.epoch() == epoch
                && previous.waiting() == waiting && Files.isDirectory(Path.of(previous.path()))) {
            path = previous.path(); // nothing trained or synchronised since: the files on disk are these
            checksum = previous.checksum();
        } else {
            Path dir = layout.replicaCheckpoint(id, replica);
            Checkpoint.delete(dir); // left by an attempt whose checkpoint never completed
            ObjectNode cursor = Json.MAPPER.createObjectNode().put("runId", spec.runId()).put("checkpointId", id)
                    .put("replica", replica).put("replicas", replicas);
            long started = System.nanoTime();
            ReplicaCheckpoint.save(model, dir, cursor);
            LOG.info("Replica checkpoint {} (step {}) written in {} ms", dir, step(),
                    (System.nanoTime() - started) / 1_000_000);
            path = dir.toString();
            checksum = ReplicaCheckpoint.verify(dir);
        }
        return new ReplicaEntry(replica, replicas, generation, id, path, checksum, step(),
                trainer().state().tokensSeen(), tokensAtSync, epoch, waiting, globalStep, globalTokens,
                roundLineage.ranges(), lastRoundLineage, announced, waiting ? waitingRow : null);
    }

    /** Replica 0: the global weights as a model checkpoint (unless unchanged), as the ledger's snapshot. */
    private TrainerSnapshot saveGlobal(long id) throws IOException {
        long now = System.currentTimeMillis();
        List<SourceRanges> lineage = pending.ranges();
        if (lastGlobal != null && lastGlobal.step() == globalStep && Files.isDirectory(Path.of(lastGlobal.path()))) {
            lastGlobal = new TrainerSnapshot(id, lastGlobal.path(), lastGlobal.checksum(), globalStep, globalTokens, now,
                    lineage, lastValidation);
            return lastGlobal;
        }
        Path dir = layout.globalCheckpoint(id);
        Checkpoint.delete(dir);
        ObjectNode cursor = Json.MAPPER.createObjectNode().put("runId", spec.runId()).put("checkpointId", id)
                .put("replicas", replicas).put("round", epoch);
        cursor.set("lineageSincePreviousSnapshot", Json.MAPPER.valueToTree(lineage));
        var params = trainer().model().params();
        Checkpoint.saveModel(trainer().configs(), model.global().weights(),
                Checkpoint.modelState(globalStep, globalTokens, train.seed(), params.dtype(), cursor), dir);
        lastGlobal = new TrainerSnapshot(id, dir.toString(), Checkpoint.verifyModel(dir), globalStep, globalTokens, now,
                lineage, lastValidation);
        return lastGlobal;
    }

    @Override
    public void notifyCheckpointComplete(long checkpointId) throws Exception {
        super.notifyCheckpointComplete(checkpointId);
        ReplicaEntry done = taken.get(checkpointId);
        if (done != null) {
            // Older replica checkpoints and rounds before this checkpoint's can no longer be restored or replayed.
            for (ReplicaEntry old : List.copyOf(taken.headMap(checkpointId).values())) {
                if (!old.path().equals(done.path())) {
                    layout.deleteNested(Path.of(old.path()));
                }
                taken.remove(old.checkpointId());
            }
            for (long r = done.epoch() - 1; r > 0 && Files.isDirectory(rounds.dir(generation, r, replica)); r--) {
                rounds.delete(generation, r, replica);
            }
        }
        aborted.removeIf(id -> id <= checkpointId);
        if (replica == 0) {
            if (orphans != null && done != null) {
                for (String old : orphans) {
                    layout.deleteNested(Path.of(old));
                }
                orphans = null;
            }
            ledger.complete(checkpointId).ifPresent(this::publish);
        }
    }

    @Override
    public void notifyCheckpointAborted(long checkpointId) throws Exception {
        super.notifyCheckpointAborted(checkpointId);
        if (checkpointId > lastSnapshot) {
            aborted.add(checkpointId);
        }
    }

    private void publish(Publication publication) {
        TrainerSnapshot s = publication.snapshot();
        try {
            Path card = layout.writeCard(LineageCard.of(spec.runId(), configHash, publication));
            output.collect(TrainOperator.EVENTS, new StreamRecord<>(publication.event(spec.runId(), card, configHash)));
            for (String expired : ledger.expire(spec.options().keepVersions())) {
                layout.deleteNested(Path.of(expired));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot publish version " + publication.version(), e);
        }
        gauges.published(publication.version());
        LOG.info("Published model version {} of run {} from {} replicas (step {}, {} new documents)",
                publication.version(), spec.runId(), replicas, s.step(),
                publication.lineage().stream().mapToLong(SourceRanges::documents).sum());
    }

    @Override
    public void close() throws Exception {
        try {
            super.close();
        } finally {
            if (model != null) {
                model.close();
                model = null;
            }
        }
    }
}
