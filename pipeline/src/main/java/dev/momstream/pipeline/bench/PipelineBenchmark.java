package dev.momstream.pipeline.bench;

import dev.momstream.operators.pack.Packer;
import dev.momstream.operators.records.DocRef;
import dev.momstream.operators.records.Window;
import dev.momstream.pipeline.job.Feed;
import dev.momstream.pipeline.job.RunOptions;
import dev.momstream.pipeline.job.RunSummary;
import dev.momstream.pipeline.job.StreamingRun;
import dev.momstream.trainer.checkpoint.Checkpoint;
import dev.momstream.trainer.config.Configs;
import dev.momstream.trainer.config.Json;
import dev.momstream.trainer.data.Corpus;
import dev.momstream.trainer.data.CorpusEntry;
import dev.momstream.trainer.data.Gpt2Tokenizer;
import dev.momstream.trainer.run.MetricsLog;
import dev.momstream.trainer.run.StepMetrics;
import dev.momstream.trainer.train.TrainConfig;
import dev.momstream.trainer.train.Trainer;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * Tokens per second of the trainer alone (pre-tokenized windows, a plain loop) against the same
 * model and batch trained end to end: embedded Kafka broker, the Flink job on a MiniCluster with
 * exactly-once checkpoints, and the train operator. Both are measured over the same steps after
 * the same warm-up, in one JVM; the end-to-end rate comes from the committed metrics' timestamps,
 * so it includes waiting for data and the checkpoints' pauses.
 *
 * <p>The trainer-alone steps are split around the end-to-end leg (the first half before it, the
 * second half after it, resumed from a checkpoint of the first), so that a machine whose speed
 * drifts during the run, as shared cloud machines do, does not favour either side.
 */
public final class PipelineBenchmark {

    /**
     * @param configs            model and training configuration (both sides)
     * @param warmupSteps        steps before measuring
     * @param measuredSteps      steps measured
     * @param checkpointInterval the pipeline's Flink checkpoint interval
     * @param device             trainer device
     * @param workDir            where the pipeline's run directory goes
     * @param exportVersions     whether the pipeline exports every version to ONNX (as runs do)
     */
    public record Options(Configs configs, int warmupSteps, int measuredSteps, Duration checkpointInterval,
                          String device, Path workDir, boolean exportVersions) {
        public Options {
            if (warmupSteps < 1 || measuredSteps < 4) {
                throw new IllegalArgumentException("warmupSteps must be at least 1 and measuredSteps at least 4"
                        + " (the trainer-alone steps are split in two halves around the pipeline)");
            }
        }
    }

    /**
     * Both rates and their ratio (the target is at least 0.95); the trainer-alone rate is that of
     * both its halves together, each half's rate is given too.
     */
    public record Result(int batchSize, int gradAccum, int contextLength, int warmupSteps, int measuredSteps,
                         double trainerTokensPerSec, double trainerBeforeTokensPerSec,
                         double trainerAfterTokensPerSec, double pipelineTokensPerSec, double ratio,
                         double checkpointIntervalSeconds, long checkpointsCompleted, long versionsPublished,
                         String device) {
    }

    private PipelineBenchmark() {
    }

    public static Result run(Options o) throws Exception {
        List<List<int[][]>> batches = batches(o);
        int split = o.warmupSteps() + o.measuredSteps() / 2;
        Path resumeFrom = o.workDir().resolve("trainer-alone-" + System.currentTimeMillis());
        Timed before;
        Piped piped;
        Timed after;
        try {
            before = trainerAlone(o, batches, null, split, resumeFrom);
            piped = endToEnd(o);
            after = trainerAlone(o, batches, resumeFrom, batches.size(), null);
        } finally {
            Checkpoint.delete(resumeFrom);
        }
        double alone = (before.tokens() + after.tokens()) / (before.seconds() + after.seconds());
        TrainConfig t = o.configs().train();
        return new Result(t.batchSize(), t.gradAccum(), o.configs().model().contextLength(), o.warmupSteps(),
                o.measuredSteps(), alone, before.rate(), after.rate(), piped.rate(), piped.rate() / alone,
                o.checkpointInterval().toMillis() / 1000.0, piped.checkpoints(), piped.versions(), o.device());
    }

    private record Timed(long tokens, double seconds) {
        double rate() {
            return tokens / seconds;
        }
    }

    /**
     * Trains up to step {@code until}: a fresh model (timed after the warm-up steps) or one resumed
     * from {@code resume} (timed after its first step, which allocates afresh), saved to
     * {@code save} when given.
     */
    private static Timed trainerAlone(Options o, List<List<int[][]>> batches, Path resume, int until, Path save)
            throws IOException {
        try (Trainer trainer = resume == null ? Trainer.fresh(o.configs(), o.device())
                : Trainer.restore(resume, o.device())) {
            int step = (int) trainer.state().step();
            int untimed = step + (resume == null ? o.warmupSteps() : 1);
            for (; step < untimed; step++) {
                trainer.step(batches.get(step));
            }
            long tokens = 0;
            long start = System.nanoTime();
            for (; step < until; step++) {
                tokens += trainer.step(batches.get(step)).tokens();
            }
            Timed timed = new Timed(tokens, (System.nanoTime() - start) / 1e9);
            if (save != null) {
                Checkpoint.save(trainer, save, Json.MAPPER.createObjectNode());
            }
            return timed;
        }
    }

    /** The bundled corpus packed exactly as the pipeline packs it, cut into the steps' micro-batches. */
    private static List<List<int[][]>> batches(Options o) {
        TrainConfig train = o.configs().train();
        int perStep = train.batchSize() * train.gradAccum();
        int needed = (o.warmupSteps() + o.measuredSteps()) * perStep;
        Packer packer = new Packer(o.configs().model().contextLength() + 1);
        List<int[]> windows = new ArrayList<>();
        DocRef none = new DocRef("bench", 0, 0);
        for (CorpusEntry d : Corpus.bundled().trainEntries()) {
            String text = ((CorpusEntry.InMemory) d).text(); // the bundled corpus is in memory
            packer.add(none, Gpt2Tokenizer.encode(text), (Window w) -> windows.add(w.tokens()));
            if (windows.size() >= needed) {
                break;
            }
        }
        List<List<int[][]>> out = new ArrayList<>();
        for (int s = 0; s < o.warmupSteps() + o.measuredSteps(); s++) {
            List<int[][]> micro = new ArrayList<>();
            for (int m = 0; m < train.gradAccum(); m++) {
                int from = (s * train.gradAccum() + m) * train.batchSize();
                micro.add(windows.subList(from, from + train.batchSize()).toArray(int[][]::new));
            }
            out.add(micro);
        }
        return out;
    }

    private record Piped(double rate, long checkpoints, long versions) {
    }

    private static Piped endToEnd(Options o) throws Exception {
        Path runDir = o.workDir().resolve("run-" + System.currentTimeMillis());
        long steps = o.warmupSteps() + o.measuredSteps();
        RunSummary summary = new StreamingRun(RunOptions.builder(runDir, o.configs())
                .feed(Feed.bundled())
                // no validation passes: the trainer-alone loop has none either
                .trainer(t -> t.device(o.device()).stopAtStep(steps).eval(0, 0))
                .job(j -> j.checkpointInterval(o.checkpointInterval()).exportVersions(o.exportVersions()))
                .build()).run(new StreamingRun.Listener() { });
        List<StepMetrics> rows = MetricsLog.read(runDir.resolve(MetricsLog.FILE));
        StepMetrics from = rows.get(o.warmupSteps() - 1);
        StepMetrics to = rows.get((int) steps - 1);
        double seconds = (to.time() - from.time()) / 1000.0;
        return new Piped((to.tokens() - from.tokens()) / seconds, summary.checkpointsCompleted(),
                summary.versionsPublished());
    }
}
