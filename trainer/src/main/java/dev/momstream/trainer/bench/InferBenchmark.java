package dev.momstream.trainer.bench;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.onnxruntime.OrtSession.SessionOptions.OptLevel;
import dev.momstream.trainer.checkpoint.Checkpoint;
import dev.momstream.trainer.config.ModelSize;
import dev.momstream.trainer.config.MomConfig;
import dev.momstream.trainer.config.Preset;
import dev.momstream.trainer.engine.NoGrad;
import dev.momstream.trainer.export.OnnxExporter;
import dev.momstream.trainer.inspect.ModelReport;
import dev.momstream.trainer.model.MomModel;
import dev.momstream.trainer.model.RoutingPolicy;
import dev.momstream.trainer.model.TokenBatch;
import dev.momstream.trainer.onnx.Decoder;
import dev.momstream.trainer.onnx.Generation;
import dev.momstream.trainer.onnx.Generator;
import dev.momstream.trainer.onnx.InferenceOptions;
import dev.momstream.trainer.onnx.OnnxModel;
import dev.momstream.trainer.onnx.Sampling;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;

/**
 * Inference speed: DJL's eager forward against ONNX Runtime's {@code score} graph on the same
 * weights (batch 1 and 8 at 128 tokens), greedy generation of 128 new tokens with and without
 * the key/value cache, and the time to export. Random weights and tokens; medians.
 *
 * <p>Each measurement has a wall time and the calling thread's CPU time. With one intra-op
 * thread ({@code mom --threads 1}) both engines do all their work on the calling thread, so
 * the CPU time is the work itself, unaffected by other processes on a shared machine.
 */
public final class InferBenchmark {
    public static final int SEQUENCE = 128;
    public static final int PROMPT = 16;
    public static final int NEW_TOKENS = 128;

    private InferBenchmark() {}

    /** One configuration to time. */
    public record Case(String name, MomConfig model) {}

    /** Median wall and calling-thread CPU milliseconds. */
    public record Timing(double wallMs, double cpuMs) {}

    /**
     * One timed configuration.
     *
     * @param djl DJL forward at batch 1 and 8
     * @param ort ONNX Runtime score at batch 1 and 8 (the run; logits stay in its memory)
     * @param cached generation with the cache: {@value #NEW_TOKENS} new tokens after {@value #PROMPT}
     * @param uncached the same, rerunning the whole sequence for every token
     */
    public record Row(String name, long params, double exportMs, Timing[] djl, Timing[] ort, Timing cached,
            Timing uncached) {

        public double scoreSpeedup(int batchIndex, boolean cpu) {
            return ms(djl[batchIndex], cpu) / ms(ort[batchIndex], cpu);
        }

        public double cacheSpeedup(boolean cpu) {
            return ms(uncached, cpu) / ms(cached, cpu);
        }

        public double tokensPerSecond(Timing generation, boolean cpu) {
            return NEW_TOKENS * 1000 / ms(generation, cpu);
        }

        private static double ms(Timing t, boolean cpu) {
            return cpu ? t.cpuMs() : t.wallMs();
        }
    }

    public record Result(String provider, int scoreThreads, int decodeThreads, String optimization, int sequence, int[] batches,
            int repeats, List<Row> rows) {}

    /** One ONNX Runtime setting of the tuning sweep: score at batch 1 and one cached decode step. */
    public record TuneRow(int threads, String optimization, double scoreMs, double decodeStepMs, double loadMs) {}

    public static final int[] BATCHES = {1, 8};

    /**
     * The tiny MoM (the test size, context raised to 256 to hold the prompt and 128 new tokens)
     * and the MoM at GPT-2 small's budget (d 768, 12 layers' worth: B=1, two chunks of 4
     * modules + anchor, T=1, K=1, H=4; 124M parameters).
     */
    public static List<Case> standardCases() {
        MomConfig tiny = Preset.MOM.at(ModelSize.TINY);
        return List.of(
                new Case("tiny-mom", tiny.toBuilder().width(tiny.d(), tiny.heads(), 256).build()),
                new Case("small-mom", Preset.MOM.at(ModelSize.SMALL)));
    }

    public static Result run(List<Case> cases, int repeats, InferenceOptions options, Path work,
            Consumer<Row> progress) throws IOException {
        List<Row> rows = new ArrayList<>();
        for (Case c : cases) {
            Row row = time(c, repeats, options, work);
            rows.add(row);
            progress.accept(row);
        }
        return new Result(options.device(), options.scoreThreads(), options.decodeThreads(),
                options.optimization().name(), SEQUENCE,
                BATCHES, repeats, rows);
    }

    private static Row time(Case c, int repeats, InferenceOptions options, Path work) throws IOException {
        MomConfig m = c.model();
        Path dir = work.resolve(c.name() + "-" + System.nanoTime());
        try (MomModel model = MomModel.create(m, Device.cpu(), DataType.FLOAT32, 1)) {
            long t0 = System.nanoTime();
            OnnxExporter.export(model, OnnxExporter.Source.untrained(), dir);
            double exportMs = (System.nanoTime() - t0) / 1e6;
            Timing[] djl = new Timing[BATCHES.length];
            Timing[] ort = new Timing[BATCHES.length];
            try (OnnxModel onnx = OnnxModel.load(dir, options)) {
                for (int i = 0; i < BATCHES.length; i++) {
                    TokenBatch ids = randomTokens(BATCHES[i], SEQUENCE, m.vocabSize(), i);
                    djl[i] = median(repeats, () -> djlForward(model, ids));
                    ort[i] = median(repeats, () -> onnx.score(ids, null).close());
                }
                int[] prompt = Arrays.stream(randomTokens(1, PROMPT, m.vocabSize(), 9).ids()).mapToInt(v -> (int) v).toArray();
                Timing cached = median(Math.max(1, repeats / 5), () -> generate(onnx, prompt, true));
                Timing uncached = median(1, () -> generate(onnx, prompt, false));
                return new Row(c.name(), ModelReport.of(m).parameters(), exportMs, djl, ort, cached, uncached);
            }
        } finally {
            Checkpoint.delete(dir);
        }
    }

    /**
     * ONNX Runtime's score at batch 1 and one cached decode step (after a 64-token prompt), for
     * each thread count and graph optimisation level: the settings chosen as defaults come from
     * this table.
     */
    public static List<TuneRow> sweep(Case c, int repeats, int[] threads, Path work) throws IOException {
        MomConfig m = c.model();
        Path dir = work.resolve(c.name() + "-sweep-" + System.nanoTime());
        List<TuneRow> rows = new ArrayList<>();
        try (MomModel model = MomModel.create(m, Device.cpu(), DataType.FLOAT32, 1)) {
            OnnxExporter.export(model, OnnxExporter.Source.untrained(), dir);
        }
        try {
            TokenBatch ids = randomTokens(1, SEQUENCE, m.vocabSize(), 1);
            long[] prompt = randomTokens(1, 64, m.vocabSize(), 2).ids();
            for (int t : threads) {
                for (OptLevel level : new OptLevel[] {OptLevel.BASIC_OPT, OptLevel.EXTENDED_OPT, OptLevel.ALL_OPT}) {
                    InferenceOptions o = InferenceOptions.defaults().withThreads(t).withOptimization(level);
                    long t0 = System.nanoTime();
                    try (OnnxModel onnx = OnnxModel.load(dir, o)) {
                        double loadMs = (System.nanoTime() - t0) / 1e6;
                        double score = median(repeats, () -> onnx.score(ids, null).close()).wallMs();
                        double step;
                        try (Decoder d = onnx.decoder(1)) {
                            d.append(prompt, prompt.length);
                            step = median(repeats * 4, () -> {
                                if (d.length() == m.contextLength()) {
                                    throw new IllegalStateException("the sweep filled the context");
                                }
                                d.append(new long[] {1}, 1);
                            }).wallMs();
                        }
                        rows.add(new TuneRow(t, level.name(), score, step, loadMs));
                    }
                }
            }
        } finally {
            Checkpoint.delete(dir);
        }
        return rows;
    }

    private static void djlForward(MomModel model, TokenBatch ids) {
        try (NoGrad ignored = new NoGrad(); NDManager step = model.params().newStepManager()) {
            model.forward(step, ids, false, RoutingPolicy.TOP_K);
        }
    }

    private static void generate(OnnxModel onnx, int[] prompt, boolean cached) {
        Generation g = Generator.generate(onnx, prompt, NEW_TOKENS, Sampling.greedy(), Generator.NONE, cached);
        if (g.tokens().length != NEW_TOKENS) {
            throw new IllegalStateException("generated " + g.tokens().length + " tokens, expected " + NEW_TOKENS);
        }
    }

    /** Median wall and CPU milliseconds of {@code repeats} runs after one warm-up run. */
    private static Timing median(int repeats, Runnable run) {
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        run.run();
        double[] wall = new double[repeats];
        double[] cpu = new double[repeats];
        for (int i = 0; i < repeats; i++) {
            long c0 = threads.getCurrentThreadCpuTime();
            long t0 = System.nanoTime();
            run.run();
            wall[i] = (System.nanoTime() - t0) / 1e6;
            cpu[i] = (threads.getCurrentThreadCpuTime() - c0) / 1e6;
        }
        return new Timing(TrainBenchmark.median(wall), TrainBenchmark.median(cpu));
    }

    private static TokenBatch randomTokens(int rows, int cols, int vocab, long seed) {
        Random r = new Random(seed);
        long[] ids = new long[rows * cols];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = r.nextInt(vocab);
        }
        return new TokenBatch(ids, rows, cols);
    }
}
