package dev.momstream.trainer.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.training.GradientCollector;
import dev.momstream.trainer.checkpoint.Checkpoint;
import dev.momstream.trainer.config.Configs;
import dev.momstream.trainer.engine.Gradients;
import dev.momstream.trainer.engine.NoGrad;
import dev.momstream.trainer.engine.TorchRandom;
import dev.momstream.trainer.engine.TorchRuntime;
import dev.momstream.trainer.model.Forward;
import dev.momstream.trainer.model.MomModel;
import dev.momstream.trainer.model.RouterStats;
import dev.momstream.trainer.model.RoutingPolicy;
import dev.momstream.trainer.model.TokenBatch;
import java.io.IOException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Optimizer steps on a {@link MomModel}: gradient accumulation, global-norm clipping, AdamW,
 * the learning-rate schedule, and the guard that keeps non-finite losses and gradients away
 * from the weights. Randomness (dropout) is reseeded from (seed, step, micro-batch) before every
 * forward, so a resumed run replays exactly what an uninterrupted one would have done.
 *
 * <p>A trainer owns its model: closing the trainer closes the model. {@link #fresh} and
 * {@link #restore} make one on a device named as the command line names it.
 */
public final class Trainer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Trainer.class);

    private final MomModel model;
    private final TrainConfig config;
    private final AdamW optimizer;
    private final LrSchedule schedule;
    private final TrainState state;

    /**
     * A trainer of a freshly initialised model (seeded by the training seed) on {@code device}:
     * {@code cpu}, {@code gpu} or {@code gpu:N}. {@code configs.train().totalSteps()} is the
     * schedule's horizon.
     */
    public static Trainer fresh(Configs configs, String device) {
        configs.validate();
        TrainConfig train = configs.train();
        return new Trainer(MomModel.create(configs.model(), TorchRuntime.device(device), DataType.FLOAT32,
                train.seed()), train);
    }

    /** The trainer a checkpoint holds (model, optimizer moments, counters), verified first, on {@code device}. */
    public static Trainer restore(Path checkpoint, String device) throws IOException {
        return Checkpoint.loadTrainer(checkpoint, TorchRuntime.device(device));
    }

    /** A trainer of {@code model} (which it then owns) for a fresh run. */
    public Trainer(MomModel model, TrainConfig config) {
        this(model, config, TrainState.initial());
    }

    /**
     * A trainer of {@code model} that continues from {@code state}. It owns the model from here
     * on, also when this constructor fails.
     */
    public Trainer(MomModel model, TrainConfig config, TrainState state) {
        this.model = model;
        try {
            this.config = config.validate();
            this.optimizer = new AdamW(model.params(), config);
        } catch (RuntimeException e) {
            model.close();
            throw e;
        }
        this.schedule = new LrSchedule(config);
        this.state = state;
    }

    /**
     * One optimizer step over {@code microBatches} (each: windows of context+1 tokens; their
     * count should equal {@code gradAccum}).
     */
    public StepResult step(List<int[][]> microBatches) {
        long started = System.nanoTime();
        long step = state.step;
        double lr = schedule.at(step);
        Map<String, NDArray> params = model.params().all();
        Gradients.zero(params.values());

        double lossSum = 0;
        double auxSum = 0;
        long tokens = 0;
        List<RouterStats> routers = List.of();
        String bad = null;
        int micro = 0;
        for (int[][] windows : microBatches) {
            TokenBatch[] io = TokenBatch.inputsAndTargets(windows);
            tokens += io[0].tokens();
            TorchRandom.seed(Seeds.mix(config.seed(), step, micro++));
            try (NDManager m = model.params().newStepManager();
                    GradientCollector collector = TorchRuntime.engine().newGradientCollector()) {
                Forward f = model.forward(m, io[0], true, RoutingPolicy.TOP_K);
                NDArray ce = f.crossEntropy(io[1]);
                NDArray loss = ce.add(f.aux().mul(scalar(m, model.config().auxLossCoef(), ce)));
                double ceValue = value(ce);
                double lossValue = value(loss);
                if (!Double.isFinite(lossValue)) {
                    bad = "non-finite loss " + lossValue;
                    break;
                }
                collector.backward(loss.div(scalar(m, microBatches.size(), loss)));
                lossSum += ceValue;
                auxSum += value(f.aux());
                routers = f.routers();
            }
        }

        double gradNorm = Double.NaN;
        try (NDManager m = model.params().newStepManager(); NoGrad ignored = new NoGrad()) {
            Map<String, NDArray> grads = new HashMap<>();
            if (bad == null) {
                gradNorm = Math.sqrt(sumOfSquares(params, grads, m));
                if (!Double.isFinite(gradNorm)) {
                    bad = "non-finite gradient norm " + gradNorm;
                }
            }
            if (bad == null) {
                double scale = config.gradClip() > 0 && gradNorm > config.gradClip()
                        ? config.gradClip() / gradNorm : 1.0;
                optimizer.update(grads, lr, scale, m);
                state.consecutiveBad = 0;
            }
        }
        double millis = (System.nanoTime() - started) / 1e6;
        state.step++;
        state.tokensSeen += tokens;
        int n = Math.max(1, microBatches.size());
        if (bad != null) {
            Gradients.zero(params.values());
            state.skippedSteps++;
            state.consecutiveBad++;
            LOG.warn("step {} skipped: {} ({} consecutive, {} in total)", step, bad,
                    state.consecutiveBad, state.skippedSteps);
            if (state.consecutiveBad >= config.maxBadSteps()) {
                throw new TrainingDivergedException("training stopped: " + state.consecutiveBad
                        + " consecutive steps had a non-finite loss or gradient (last: " + bad
                        + " at step " + step + "); lower the learning rate or check the data");
            }
            return new StepResult(step, Double.NaN, Double.NaN, lr, gradNorm, tokens, millis, true,
                    routers);
        }
        return new StepResult(step, lossSum / n, auxSum / n, lr, gradNorm, tokens, millis, false,
                routers);
    }

    /**
     * Collects every parameter's gradient into {@code grads} (a zero tensor where none was
     * recorded) and returns the squared global norm. The per-tensor sums are added on the host
     * in parameter order, so the result does not depend on which tensors had a gradient before:
     * a resumed run, whose gradient buffers are created afresh, clips exactly like an
     * uninterrupted one.
     */
    private static double sumOfSquares(Map<String, NDArray> params, Map<String, NDArray> grads,
            NDManager m) {
        NDList squares = new NDList(params.size());
        for (Map.Entry<String, NDArray> e : params.entrySet()) {
            NDArray g = Gradients.of(e.getValue());
            if (g == null) {
                g = m.zeros(e.getValue().getShape(), e.getValue().getDataType());
            } else {
                g.attach(m);
            }
            grads.put(e.getKey(), g);
            squares.add(g.square().sum());
        }
        double total = 0;
        for (double v : NDArrays.stack(squares).toType(DataType.FLOAT64, false).toDoubleArray()) {
            total += v;
        }
        return total;
    }

    /** A scalar of {@code like}'s type that lives (for autograd) until {@code m} closes. */
    private static NDArray scalar(NDManager m, double v, NDArray like) {
        return m.create(v).toType(like.getDataType(), false);
    }

    static double value(NDArray scalar) {
        return scalar.toType(DataType.FLOAT64, false).getDouble();
    }

    /** Mean cross-entropy (nats) over {@code batches} of windows, without dropout or gradients. */
    public EvalResult evaluate(Iterable<int[][]> batches) {
        return Evaluator.evaluate(model, batches);
    }

    public MomModel model() {
        return model;
    }

    public TrainConfig config() {
        return config;
    }

    /** The model's and this trainer's configuration. */
    public Configs configs() {
        return new Configs(model.config(), config);
    }

    public AdamW optimizer() {
        return optimizer;
    }

    public LrSchedule schedule() {
        return schedule;
    }

    /** Counters that a checkpoint carries. */
    public TrainState state() {
        return state;
    }

    /** Closes the optimizer's moments and the model. */
    @Override
    public void close() {
        try {
            optimizer.close();
        } finally {
            model.close();
        }
    }
}
