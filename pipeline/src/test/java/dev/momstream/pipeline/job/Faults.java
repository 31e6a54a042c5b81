package dev.momstream.pipeline.job;

import dev.momstream.kafka.records.TrainMetrics;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.UnaryOperator;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.state.CheckpointListener;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;

/**
 * Failures injected into a real job, each firing exactly once per test: the record of having
 * fired lives in this JVM (the MiniCluster's), outside the operator instances a restart recreates.
 */
final class Faults {

    private static final long NOT_FIRED = -1;
    // A tiny model trains 20 steps in about as long as the first checkpoint takes to complete;
    // from the step a fault waits for until it fires, steps are slowed to this pace so that
    // checkpoints complete in between on a fast or slow machine alike.
    private static final long PACE_MILLIS = 500;
    // Per fault: NOT_FIRED, or what it fired at (a step count or a checkpoint id).
    private static final Map<String, AtomicLong> FIRED = new ConcurrentHashMap<>();

    private Faults() {
    }

    /**
     * Throws once from the train task (it is chained to it) after step {@code steps}, or later if
     * no checkpoint has completed yet: the restart must restore one.
     */
    static Taps failAfterStep(long steps) {
        return new Tap(arm(), steps, false).taps();
    }

    /**
     * Fails, once, the first checkpoint taken after step {@code steps} and after a completed
     * checkpoint (so that there is one to restore): by throwing in its own snapshot, in a task of
     * its own downstream of the trainer, so that the trainer's snapshot of that checkpoint has
     * already run.
     */
    static Taps failCheckpointAfterStep(long steps) {
        return new Tap(arm(), steps, true).taps();
    }

    /**
     * Keeps the train task starting for {@code delay} longer (a chained operator that waits in
     * its {@code open}), as loading a large model would: meanwhile no checkpoint can begin.
     */
    static Taps slowStart(Duration delay) {
        return new Taps(metrics -> metrics.map(new SlowOpen(delay.toMillis())).name("slow-start").uid("slow-start")
                .setParallelism(1));
    }

    static boolean fired(Taps taps) {
        return firedAt(taps) != NOT_FIRED;
    }

    /** The checkpoint id a {@link #failCheckpointAfterStep} fault failed. */
    static long failedCheckpoint(Taps taps) {
        return firedAt(taps);
    }

    private static long firedAt(Taps taps) {
        return FIRED.get(((Tap) taps.metrics()).id).get();
    }

    private static String arm() {
        String id = UUID.randomUUID().toString();
        FIRED.put(id, new AtomicLong(NOT_FIRED));
        return id;
    }

    private static boolean fire(String id, long at) {
        return FIRED.get(id).compareAndSet(NOT_FIRED, at);
    }

    /** Splices a pass-through operator that fails as configured. */
    private record Tap(String id, long afterSteps, boolean inCheckpoint) implements UnaryOperator<DataStream<TrainMetrics>> {

        Taps taps() {
            return new Taps(this);
        }

        @Override
        public DataStream<TrainMetrics> apply(DataStream<TrainMetrics> metrics) {
            SingleOutputStreamOperator<TrainMetrics> tapped = metrics.map(new Pace(id, afterSteps))
                    .name("fault-pace").uid("fault-pace").setParallelism(1)
                    .map(new FailingMap(id, afterSteps, inCheckpoint))
                    .name("fault").uid("fault").setParallelism(1);
            return inCheckpoint ? tapped.disableChaining() : tapped;
        }
    }

    /**
     * Chained to the trainer, so sleeping here holds the train task between steps (checkpoints
     * still run in between): from step {@code afterSteps} until the fault fires.
     */
    static final class Pace implements MapFunction<TrainMetrics, TrainMetrics> {
        private final String id;
        private final long afterSteps;

        Pace(String id, long afterSteps) {
            this.id = id;
            this.afterSteps = afterSteps;
        }

        @Override
        public TrainMetrics map(TrainMetrics m) throws InterruptedException {
            if (m.step() + 1 >= afterSteps && FIRED.get(id).get() == NOT_FIRED) {
                Thread.sleep(PACE_MILLIS);
            }
            return m;
        }
    }

    static final class SlowOpen extends RichMapFunction<TrainMetrics, TrainMetrics> {
        private final long millis;

        SlowOpen(long millis) {
            this.millis = millis;
        }

        @Override
        public void open(OpenContext context) throws InterruptedException {
            Thread.sleep(millis);
        }

        @Override
        public TrainMetrics map(TrainMetrics m) {
            return m;
        }
    }

    static final class FailingMap implements MapFunction<TrainMetrics, TrainMetrics>, CheckpointedFunction,
            CheckpointListener {
        private final String id;
        private final long afterSteps;
        private final boolean inCheckpoint;
        private transient long stepsSeen;
        private transient boolean checkpointed;

        FailingMap(String id, long afterSteps, boolean inCheckpoint) {
            this.id = id;
            this.afterSteps = afterSteps;
            this.inCheckpoint = inCheckpoint;
        }

        @Override
        public TrainMetrics map(TrainMetrics m) {
            stepsSeen = Math.max(stepsSeen, m.step() + 1);
            if (!inCheckpoint && checkpointed && stepsSeen >= afterSteps && fire(id, stepsSeen)) {
                throw new IllegalStateException("injected failure after step " + stepsSeen);
            }
            return m;
        }

        @Override
        public void snapshotState(FunctionSnapshotContext context) {
            if (inCheckpoint && checkpointed && stepsSeen >= afterSteps && fire(id, context.getCheckpointId())) {
                throw new IllegalStateException("injected failure in checkpoint " + context.getCheckpointId());
            }
        }

        @Override
        public void initializeState(FunctionInitializationContext context) {
        }

        @Override
        public void notifyCheckpointComplete(long completed) {
            checkpointed = true;
        }
    }
}
