package dev.momstream.trainer.experiment;

import dev.momstream.trainer.checkpoint.Checkpoint;
import dev.momstream.trainer.config.Json;
import dev.momstream.trainer.config.MomConfig;
import dev.momstream.trainer.data.TokenCorpus;
import dev.momstream.trainer.data.WindowSampler;
import dev.momstream.trainer.engine.TorchRuntime;
import dev.momstream.trainer.inspect.ModelReport;
import dev.momstream.trainer.model.ModulePruning;
import dev.momstream.trainer.model.MomModel;
import dev.momstream.trainer.model.Step;
import dev.momstream.trainer.run.MetricsLog;
import dev.momstream.trainer.run.OfflineRun;
import dev.momstream.trainer.run.StepMetrics;
import dev.momstream.trainer.train.EvalResult;
import dev.momstream.trainer.train.Evaluator;
import dev.momstream.trainer.train.Trainer;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.LongConsumer;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one {@link RunSpec} in its directory, {@code <results>/runs/<key>/}: an offline run
 * ({@link OfflineRun}, resumed from its newest checkpoint when one exists), started fresh, by
 * two-phase init from another run's checkpoint, or from another run's final model with modules
 * removed; then the final model's validation loss and routing on the evaluation set, and
 * {@code result.json}. Runs in a child JVM of its own (see {@link #main}), so that its peak memory
 * is its own, or in the caller's JVM without the memory measurement.
 */
public final class RunWorker {
    private static final Logger LOG = LoggerFactory.getLogger(RunWorker.class);
    public static final String RUNS = "runs";
    public static final String SPEC = "run.json";
    static final String MEMORY = "memory.json";
    static final String PRUNING = "pruning.json";
    /** Steps before the measured ones (allocator and thread pools warm), and steps measured. */
    static final int WARM_STEPS = 2;
    static final int MEASURED_STEPS = 3;
    static final String METHOD = "Linux VmHWM of the run's own JVM (heap pre-touched, so only native memory grows): "
            + "after " + WARM_STEPS + " warm-up steps malloc_trim(0) and a reset of the high-water mark, then "
            + MEASURED_STEPS + " training steps";

    private RunWorker() {}

    public static Path runDir(Path results, String key) {
        return results.resolve(RUNS).resolve(key);
    }

    /**
     * Trains {@code spec} (or continues it) and writes its {@code result.json}.
     *
     * @param measureMemory measure the peak memory of training steps (only meaningful in a JVM of the run's own)
     * @param progress steps of this run done so far, after each step
     */
    public static RunResult execute(Path results, RunSpec spec, String device, boolean measureMemory,
            LongConsumer progress) throws IOException {
        Path dir = runDir(results, spec.key());
        TorchRuntime.engine();
        TokenCorpus corpus = CorpusCache.bundled(results);
        Optional<PeakMemory> probe = measureMemory && !Files.exists(dir.resolve(MEMORY)) ? PeakMemory.open()
                : Optional.empty();
        if (measureMemory && probe.isEmpty() && !Files.exists(dir.resolve(MEMORY))) {
            LOG.warn("peak memory is not measured: needs Linux (/proc/self/clear_refs) and glibc");
        }
        long before = probe.isPresent() ? probe.get().resident() : 0;
        List<int[][]> validation = WindowSampler.sequentialBatches(corpus.validation(), spec.configs().windowLength(),
                spec.configs().train().batchSize(), spec.evalTokens());
        Path initFrom = null;
        if (spec.source() != null && spec.source().kind().equals(RunSpec.Source.TWO_PHASE)) {
            initFrom = sourceCheckpoint(results, spec.source());
        } else if (spec.source() != null && !Files.exists(dir.resolve(PRUNING))) {
            prune(results, spec, device, validation, dir);
        }
        OfflineRun.Options options = new OfflineRun.Options(spec.configs(), dir, spec.steps(), spec.evalEvery(),
                spec.evalTokens(), spec.checkpointEvery(), true, initFrom, device);
        OfflineRun.run(corpus, options, new OfflineRun.Listener() {
            private long first = -1;
            private long between;

            @Override
            public void onStep(StepMetrics m) {
                first = first < 0 ? m.step() : first;
                long done = m.step() - first + 1;
                try {
                    if (probe.isPresent() && done == WARM_STEPS) {
                        between = probe.get().reset();
                    } else if (probe.isPresent() && done == WARM_STEPS + MEASURED_STEPS) {
                        long peak = probe.get().peak();
                        Files.writeString(dir.resolve(MEMORY), Json.write(new RunResult.Memory(peak - between,
                                peak - before, MEASURED_STEPS, METHOD)));
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                progress.accept(m.step() + 1);
            }
        });
        RunResult result = summarize(spec, dir, device, validation);
        tidy(spec, dir);
        result.write(dir);
        return result;
    }

    /** Two-phase init and pruning start from a checkpoint that their source run kept. */
    private static Path sourceCheckpoint(Path results, RunSpec.Source source) throws IOException {
        Path dir = runDir(results, source.run()).resolve(OfflineRun.CHECKPOINTS).resolve(OfflineRun.name(source.step()));
        if (!Files.isDirectory(dir)) {
            throw new IOException("this run starts from " + dir + ", which does not exist: its run must finish first"
                    + " (or, if it finished under another plan that did not keep that step, delete its "
                    + RunResult.FILE + " to train it again)");
        }
        return dir;
    }

    /**
     * The pruned model as this run's step-0 checkpoint: the source's final model without the
     * least-used modules of each chunk (by routing share on the evaluation set), with fresh AdamW
     * moments; {@code pruning.json} records what went and the validation loss before and after.
     * It is written last, so a run killed on the way prunes again (a step-0 checkpoint saved by that
     * attempt is replaced).
     */
    private static void prune(Path results, RunSpec spec, String device, List<int[][]> validation, Path dir)
            throws IOException {
        RunSpec.Source s = spec.source();
        try (MomModel source = Checkpoint.loadModel(sourceCheckpoint(results, s), device)) {
            RoutingProfile.Builder routing = new RoutingProfile.Builder();
            EvalResult before = Evaluator.evaluate(source, validation, routing::add);
            RoutingProfile profile = routing.build(source.config());
            ModulePruning.Removal removal = new ModulePruning.Removal(
                    ModulePruning.leastUsed(profile.usage(source.config(), Step.ATTN), s.attnRemoved()),
                    ModulePruning.leastUsed(profile.usage(source.config(), Step.FFN), s.ffnRemoved()));
            try (Trainer trainer = new Trainer(ModulePruning.prune(source, removal), spec.configs().train())) {
                if (!trainer.model().config().equals(spec.configs().model())) {
                    throw new IllegalStateException("pruning gave " + trainer.model().config() + ", the plan expects "
                            + spec.configs().model());
                }
                EvalResult after = trainer.evaluate(validation);
                Path start = dir.resolve(OfflineRun.CHECKPOINTS).resolve(OfflineRun.name(0));
                if (Files.exists(start)) {
                    Checkpoint.delete(start);
                }
                Checkpoint.save(trainer, start, Json.MAPPER.valueToTree(new WindowSampler.Cursor(0, 0)));
                Files.writeString(dir.resolve(PRUNING), Json.write(new RunResult.Pruning(removal.attention(),
                        removal.ffn(), before.loss(), after.loss())));
                LOG.info("removed {} from {}: validation loss {} -> {}", removal, s.run(), before.loss(), after.loss());
            }
        }
    }

    private static RunResult summarize(RunSpec spec, Path dir, String device, List<int[][]> validation)
            throws IOException {
        Map<Long, StepMetrics> byStep = new LinkedHashMap<>();
        Path metrics = dir.resolve(MetricsLog.FILE);
        if (Files.exists(metrics)) {
            for (StepMetrics m : MetricsLog.read(metrics)) {
                byStep.put(m.step(), m); // a resumed run logs the steps after its checkpoint again
            }
        }
        List<StepMetrics> rows = byStep.values().stream().filter(m -> m.step() < spec.steps()).toList();
        RunResult.Pruning pruning = Files.exists(dir.resolve(PRUNING))
                ? Json.read(Files.readString(dir.resolve(PRUNING)), RunResult.Pruning.class) : null;
        List<RunResult.Point> curve = new ArrayList<>();
        if (pruning != null) {
            curve.add(new RunResult.Point(0, spec.tokensOffset(), pruning.lossAfterRemoval()));
        }
        rows.stream().filter(m -> m.valLoss() != null).forEach(m ->
                curve.add(new RunResult.Point(m.step() + 1, spec.tokensOffset() + m.tokens(), m.valLoss())));
        List<StepMetrics> trained = rows.stream().filter(m -> !m.skipped()).toList();
        int tail = Math.max(1, trained.size() / 10);
        double trainLoss = trained.stream().skip(Math.max(0, trained.size() - tail)).mapToDouble(StepMetrics::loss)
                .average().orElse(Double.NaN);
        double[] speeds = trained.stream().mapToDouble(StepMetrics::tokensPerSec).sorted().toArray();
        double tokensPerSec = speeds.length == 0 ? Double.NaN : speeds[speeds.length / 2];

        MomConfig c = spec.configs().model();
        Path last = dir.resolve(OfflineRun.CHECKPOINTS).resolve(OfflineRun.name(spec.steps()));
        RoutingProfile.Builder routing = new RoutingProfile.Builder();
        EvalResult eval;
        try (MomModel model = Checkpoint.loadModel(last, device)) {
            eval = Evaluator.evaluate(model, validation, routing::add);
        }
        RoutingProfile profile = routing.build(c);
        ModelReport report = ModelReport.of(c);
        double forward = ModelReport.forwardFlops(c, profile.attnPicks(), profile.ffnPicks());
        RunResult.Flops flops = new RunResult.Flops(3 * forward, forward, report.forwardFlopsPerToken(),
                2.0 * c.d() * c.vocabSize());
        RunResult.Memory memory = Files.exists(dir.resolve(MEMORY))
                ? Json.read(Files.readString(dir.resolve(MEMORY)), RunResult.Memory.class) : null;
        return new RunResult(spec.key(), spec.labels(), spec.configs(), spec.steps(), spec.steps() * spec.tokensPerStep(),
                spec.tokensOffset(), report.parameters(), report.depth(), flops, curve, eval.loss(), trainLoss,
                tokensPerSec, memory, profile, pruning, device, Integer.getInteger("ai.djl.pytorch.num_threads", 0));
    }

    /** Deletes the checkpoints that neither the end of the run nor a run built from it needs. */
    private static void tidy(RunSpec spec, Path dir) throws IOException {
        Set<String> keep = new HashSet<>();
        keep.add(OfflineRun.name(spec.steps()));
        spec.keepSteps().forEach(s -> keep.add(OfflineRun.name(s)));
        Path checkpoints = dir.resolve(OfflineRun.CHECKPOINTS);
        List<Path> drop;
        try (Stream<Path> s = Files.list(checkpoints)) {
            drop = s.filter(p -> p.getFileName().toString().matches("step-\\d{8,}")
                    && !keep.contains(p.getFileName().toString())).toList();
        }
        for (Path p : drop) {
            Checkpoint.delete(p);
        }
    }

    /**
     * A run in a JVM of its own: {@code RunWorker RESULTS KEY DEVICE MEASURE}. Prints
     * {@code progress <steps done>} lines on standard output and exits when its standard input
     * closes (its parent died).
     */
    public static void main(String[] args) {
        if (args.length != 4) {
            System.err.println("usage: RunWorker RESULTS_DIR RUN_KEY DEVICE MEASURE_MEMORY");
            System.exit(2);
        }
        Thread orphan = new Thread(() -> {
            try (InputStream in = System.in) {
                while (in.read() >= 0) {
                    // the parent never writes; end of input means it is gone
                }
            } catch (IOException ignored) {
                // same: the pipe is gone
            }
            Runtime.getRuntime().halt(3);
        }, "parent-watch");
        orphan.setDaemon(true);
        orphan.start();
        try {
            Path results = Path.of(args[0]);
            RunSpec spec = Json.read(Files.readString(runDir(results, args[1]).resolve(SPEC)), RunSpec.class);
            execute(results, spec, args[2], Boolean.parseBoolean(args[3]), done -> {
                System.out.println("progress " + done);
                System.out.flush();
            });
            System.exit(0);
        } catch (Exception | Error e) {
            System.err.println("error: " + e);
            e.printStackTrace(System.err);
            System.exit(1);
        }
    }
}
