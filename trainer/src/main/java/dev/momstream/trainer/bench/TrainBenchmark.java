package dev.momstream.trainer.bench;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.momstream.trainer.config.MomConfig;
import dev.momstream.trainer.config.ModelSize;
import dev.momstream.trainer.config.Preset;
import dev.momstream.trainer.engine.NoGrad;
import dev.momstream.trainer.engine.TorchRuntime;
import dev.momstream.trainer.inspect.ModelReport;
import dev.momstream.trainer.model.MomModel;
import dev.momstream.trainer.train.StepResult;
import dev.momstream.trainer.train.TrainConfig;
import dev.momstream.trainer.train.Trainer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;

/**
 * Training speed of named configurations: ms per optimizer step, tokens/s and model FLOPs
 * utilisation against this machine's measured matrix-multiply peak. Steps run on random token
 * windows, so no data loading is timed.
 */
public final class TrainBenchmark {
    private TrainBenchmark() {}

    /** One configuration to time. */
    public record Case(String name, MomConfig model, int batch) {}

    /**
     * One timed configuration.
     *
     * @param n modules per pool (N_A = N_F), 0 for vanilla
     * @param mfu model FLOPs (analytic, K picks per step) per second over the measured peak
     */
    public record Row(String name, String preset, int n, int k, int h, long params, int batch,
            int context, double msPerStep, double tokensPerSec, double mfu) {}

    public record Result(String device, double peakGflops, int measuredSteps, List<Row> rows) {}

    /**
     * The standard set: vanilla and MoM at tiny size and at a wider CPU-feasible size, then K=1
     * with N in {2, 4, 8} at H=4. The sweep uses vocabulary 8192, so that module work and not
     * the head dominates, and 4096 tokens per step: each module's weight gradient is a full
     * d x 4d write per round whatever its token count, so with only a few hundred tokens per
     * step that fixed cost, which grows with N, would hide the sparse compute being measured.
     */
    public static List<Case> standardCases() {
        List<Case> cases = new ArrayList<>();
        cases.add(new Case("tiny-vanilla", Preset.VANILLA.at(ModelSize.TINY), 8));
        cases.add(new Case("tiny-mom", Preset.MOM.at(ModelSize.TINY), 8));
        cases.add(new Case("wide-vanilla", wide(Preset.VANILLA), 4));
        cases.add(new Case("wide-mom", wide(Preset.MOM), 4));
        for (int n : new int[] {2, 4, 8}) {
            MomConfig c = wide(Preset.MOM).toBuilder().vocabSize(8192).pools(n, n, 1, 4, true).build();
            cases.add(new Case("k1-n" + n + "-h4", c, 32));
        }
        return cases;
    }

    /** d 256, 8 heads, context 128, with the tiny layouts (4 vanilla layers' worth). */
    private static MomConfig wide(Preset p) {
        return p.at(ModelSize.TINY).toBuilder().width(256, 8, 128).router(p.at(ModelSize.TINY).router(), 64).build();
    }

    /** Times every case on {@code deviceName} ({@code cpu}, {@code gpu} or {@code gpu:N}). */
    public static Result run(List<Case> cases, int warmup, int steps, String deviceName, Consumer<Row> progress) {
        Device device = TorchRuntime.device(deviceName);
        double peak = peakGflops(device);
        List<Row> rows = new ArrayList<>();
        for (Case c : cases) {
            Row row = time(c, warmup, steps, device, peak);
            rows.add(row);
            progress.accept(row);
        }
        return new Result(device.toString(), peak, steps, rows);
    }

    private static Row time(Case c, int warmup, int steps, Device device, double peakGflops) {
        MomConfig m = c.model();
        double[] ms = new double[steps];
        try (RandomSteps trainer = new RandomSteps(c, device, warmup, warmup + steps)) {
            for (int i = 0; i < warmup + steps; i++) {
                StepResult r = trainer.step();
                if (i >= warmup) {
                    ms[i - warmup] = r.millis();
                }
            }
        }
        double median = median(ms);
        double tokensPerSec = c.batch() * (double) m.contextLength() * 1000 / median;
        ModelReport report = ModelReport.of(m);
        double mfu = report.trainFlopsPerToken() * tokensPerSec / (peakGflops * 1e9);
        int n = m.chunks() == 0 ? 0 : m.attnModules();
        return new Row(c.name(), presetName(m), n, m.chunks() == 0 ? 0 : m.topK(),
                m.chunks() == 0 ? 0 : m.rounds(), report.parameters(), c.batch(), m.contextLength(),
                median, tokensPerSec, mfu);
    }

    /** A trainer of a case stepping on random token windows (seeded): the work the benchmarks time. */
    public static final class RandomSteps implements AutoCloseable {
        private final Case c;
        private final Trainer trainer;
        private final Random random = new Random(7);

        /** @param totalSteps the learning-rate schedule's length (steps beyond it train at its end) */
        public RandomSteps(Case c, Device device, int warmup, int totalSteps) {
            this.c = c;
            TrainConfig t = TrainConfig.defaults().toBuilder().batch(c.batch(), 1).warmupSteps(warmup)
                    .totalSteps(totalSteps).seed(1).maxBadSteps(1000).build();
            this.trainer = new Trainer(MomModel.create(c.model(), device, DataType.FLOAT32, 1), t);
        }

        public StepResult step() {
            int[][] windows = new int[c.batch()][c.model().contextLength() + 1];
            for (int[] w : windows) {
                for (int j = 0; j < w.length; j++) {
                    w[j] = random.nextInt(c.model().vocabSize());
                }
            }
            return trainer.step(List.<int[][]>of(windows));
        }

        public long tokensPerStep() {
            return (long) c.batch() * c.model().contextLength();
        }

        @Override
        public void close() {
            trainer.close();
        }
    }

    private static String presetName(MomConfig m) {
        return m.chunks() == 0 ? "vanilla" : "mom";
    }

    static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    /**
     * The best of eight float32 2048^3 matrix products, in GFLOP/s: this machine's attainable
     * peak, the denominator of MFU. (A VM's nominal peak is unknown and turbo-dependent.)
     */
    public static double peakGflops(Device device) {
        int n = 2048;
        double best = Double.MAX_VALUE;
        try (NDManager m = TorchRuntime.engine().newBaseManager(device); NoGrad ignored = new NoGrad()) {
            NDArray a = m.randomNormal(new Shape(n, n));
            NDArray b = m.randomNormal(new Shape(n, n));
            for (int i = 0; i < 9; i++) {
                long t0 = System.nanoTime();
                try (NDArray c = a.matMul(b)) {
                    c.getFloat(0, 0);
                }
                if (i > 0) {
                    best = Math.min(best, (System.nanoTime() - t0) / 1e9);
                }
            }
        }
        return 2.0 * n * n * n / best / 1e9;
    }
}
