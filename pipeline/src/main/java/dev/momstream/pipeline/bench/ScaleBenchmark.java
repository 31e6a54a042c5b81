package dev.momstream.pipeline.bench;

import dev.momstream.operators.train.LineageCard;
import dev.momstream.operators.train.RunLayout;
import dev.momstream.pipeline.job.Feed;
import dev.momstream.pipeline.job.RunDirectory;
import dev.momstream.pipeline.job.RunOptions;
import dev.momstream.pipeline.job.StreamingRun;
import dev.momstream.trainer.config.Configs;
import dev.momstream.trainer.inspect.ModelReport;
import dev.momstream.trainer.run.MetricsLog;
import dev.momstream.trainer.run.StepMetrics;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Data-parallel scaling on the local multi-process cluster: one trainer for {@code steps} steps,
 * then two DiLoCo replicas for {@code steps / 2} steps each (the same tokens) for each
 * {@code syncEvery}. Every leg is a whole {@code mom run} (embedded broker, bundled corpus, one
 * TaskManager JVM per trainer) in a run directory of its own; tokens/s comes from the committed
 * metrics' timestamps after the warm-up steps, the time in synchronisation from the replicas'
 * per-round log lines, and the validation loss from the final version's lineage card.
 */
public final class ScaleBenchmark {

    private static final Pattern ROUND = Pattern.compile("Replica (\\d+) finished round \\d+ at step (\\d+) .*: (\\d+)"
            + " ms writing, (\\d+) ms waiting, (\\d+) ms averaging");

    /**
     * @param configs     model and training configuration (every leg)
     * @param steps       steps of the single trainer; each of two replicas trains half of them
     * @param warmupSteps steps (of the single trainer; half for replicas) before measuring
     * @param syncEvery   the values of {@code syncEvery} to measure two replicas at
     * @param evalWindows validation windows at the last step
     * @param workDir     where the legs' run directories go
     */
    public record Options(Configs configs, int steps, int warmupSteps, List<Integer> syncEvery, int evalWindows,
                          Path workDir) {
        public Options {
            List<String> problems = new ArrayList<>();
            if (steps < 4 || steps % 2 != 0) {
                problems.add("steps=" + steps + " must be even and at least 4");
            }
            if (warmupSteps < 2 || warmupSteps % 2 != 0 || warmupSteps >= steps) {
                problems.add("warmupSteps=" + warmupSteps + " must be even, at least 2 and below steps=" + steps);
            }
            for (int h : syncEvery) {
                if (h < 1 || (steps / 2) % h != 0) {
                    problems.add("syncEvery=" + h + " must divide steps / 2 = " + steps / 2
                            + " (replicas stop at a synchronisation)");
                }
            }
            if (!problems.isEmpty()) {
                throw new IllegalArgumentException(String.join("; ", problems));
            }
            syncEvery = List.copyOf(syncEvery);
        }
    }

    /**
     * One leg.
     *
     * @param trainers        trainers (TaskManager JVMs)
     * @param syncEvery       inner steps between synchronisations (0: one trainer, no synchronisation)
     * @param steps           steps of each trainer
     * @param tokens          tokens trained by all trainers together
     * @param tokensPerSec    all trainers together, after the warm-up
     * @param rounds          synchronisation rounds measured (replica 0's, after the warm-up)
     * @param writeMs         mean per round: writing the pseudo-gradient
     * @param waitMs          mean per round: waiting for the peer's
     * @param averageMs       mean per round: reading and averaging them, the outer step
     * @param syncShare       share of replica 0's measured time spent in rounds (writing, waiting, averaging)
     * @param validationLoss  validation loss of the final weights
     */
    public record Leg(int trainers, int syncEvery, long steps, long tokens, double tokensPerSec, int rounds,
                      double writeMs, double waitMs, double averageMs, double syncShare, double validationLoss) {
    }

    /** The legs: one trainer first, then two replicas per {@code syncEvery}. */
    public record Result(long parameters, int batchSize, int gradAccum, int contextLength, int warmupSteps,
                         List<Leg> legs) {
    }

    private ScaleBenchmark() {
    }

    public static Result run(Options o) throws Exception {
        List<Leg> legs = new ArrayList<>();
        legs.add(leg(o, 1, 0));
        for (int h : o.syncEvery()) {
            legs.add(leg(o, 2, h));
        }
        return new Result(ModelReport.of(o.configs().model()).parameters(), o.configs().train().batchSize(),
                o.configs().train().gradAccum(), o.configs().model().contextLength(), o.warmupSteps(), legs);
    }

    private static Leg leg(Options o, int trainers, int syncEvery) throws Exception {
        Path runDir = o.workDir().resolve("p" + trainers + (syncEvery > 0 ? "-sync" + syncEvery : "") + "-"
                + System.currentTimeMillis());
        long steps = o.steps() / trainers;
        long warmup = o.warmupSteps() / trainers;
        Configs configs = syncEvery == 0 ? o.configs() : new Configs(o.configs().model(),
                o.configs().train().toBuilder().outer(syncEvery, o.configs().train().outerLr(),
                        o.configs().train().outerMomentum()).build());
        new StreamingRun(RunOptions.builder(runDir, configs)
                .feed(Feed.bundled())
                .localCluster(trainers == 1)
                .trainer(t -> t.stopAtStep(steps).eval((int) steps, o.evalWindows()))
                .job(j -> j.trainerParallelism(trainers))
                .timeout(Duration.ofHours(2))
                .build()).run(new StreamingRun.Listener() { });
        List<StepMetrics> rows = MetricsLog.read(runDir.resolve(MetricsLog.FILE));
        StepMetrics from = rows.stream().filter(r -> r.step() >= warmup).findFirst().orElseThrow();
        StepMetrics to = rows.get(rows.size() - 1);
        double seconds = (to.time() - from.time()) / 1000.0;
        // the final version's card: the run stops once that version is published, which can be
        // before the metrics of the last step are read
        List<LineageCard> cards = new RunLayout(runDir).cards();
        LineageCard last = cards.get(cards.size() - 1);
        if (last.validationLoss() == null || last.step() != steps) {
            throw new IllegalStateException("the leg at " + trainers + " trainers published no validated version at"
                    + " step " + steps + " (last: v" + last.version() + " at step " + last.step() + ")");
        }
        long[] sums = new long[4]; // rounds, write, wait, average: replica 0's, after the warm-up
        try (Stream<Path> logs = Files.list(new RunDirectory(runDir).flinkCluster().resolve("log"))) {
            for (Path log : logs.filter(p -> p.getFileName().toString().matches("taskmanager-\\d+\\.log")).toList()) {
                for (String line : Files.readAllLines(log)) {
                    Matcher m = ROUND.matcher(line);
                    if (m.find() && m.group(1).equals("0") && Long.parseLong(m.group(2)) > from.step()) {
                        sums[0]++;
                        for (int i = 1; i < 4; i++) {
                            sums[i] += Long.parseLong(m.group(2 + i));
                        }
                    }
                }
            }
        }
        int rounds = (int) sums[0];
        double perRound = Math.max(1, rounds);
        return new Leg(trainers, syncEvery, steps, last.tokensSeen(), (to.tokens() - from.tokens()) / seconds, rounds,
                sums[1] / perRound, sums[2] / perRound, sums[3] / perRound,
                (sums[1] + sums[2] + sums[3]) / 1000.0 / seconds, last.validationLoss());
    }
}
