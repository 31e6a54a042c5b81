package dev.momstream.pipeline.cli;

import dev.momstream.trainer.config.Json;
import dev.momstream.trainer.config.ModelSize;
import dev.momstream.trainer.experiment.ChildJvm;
import dev.momstream.trainer.experiment.ExperimentRunner;
import dev.momstream.trainer.experiment.Grid;
import dev.momstream.trainer.experiment.GridFile;
import dev.momstream.trainer.experiment.Plan;
import dev.momstream.trainer.experiment.RunResult;
import dev.momstream.trainer.experiment.RunSpec;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code mom experiment}: the declared grids of offline runs, resumable, each run in a JVM of its own. */
@Command(name = "experiment", mixinStandardHelpOptions = true,
        description = "Run the grids of offline training runs declared in FILEs (experiments/*.yaml): every arm on the "
                + "same token budget, evaluation set and seeds. Finished runs are not redone; interrupted ones "
                + "continue from their checkpoint. Then: mom report DIR.",
        footer = {"", "Example: ./mom --threads 1 experiment experiments/*.yaml --jobs 2",
            "         ./mom experiment experiments/depth-width.yaml --scale 100 --size small --device gpu"})
public final class ExperimentCommand implements Callable<Integer> {

    @Parameters(paramLabel = "FILE", arity = "1..*", description = "Grid files (.yaml, .yml or .json).")
    List<Path> files;

    @Option(names = "--out", paramLabel = "DIR", defaultValue = "runs/experiments",
            description = "Results directory (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--scale", defaultValue = "1", paramLabel = "F",
            description = "Multiply token budgets, evaluation sets and intervals by F (default: ${DEFAULT-VALUE}).")
    double scale;

    @Option(names = "--size", paramLabel = "SIZE",
            description = "Model width of every arm (tiny, small, medium, large) instead of each grid's own.")
    String size;

    @Option(names = "--heap", defaultValue = "768m", paramLabel = "SIZE",
            description = "Heap of each run's JVM, pre-touched so that memory growth is libtorch's (default: ${DEFAULT-VALUE}).")
    String heap;

    @Option(names = "--jobs", defaultValue = "1", paramLabel = "N",
            description = "Runs at a time, each in its own JVM (default: ${DEFAULT-VALUE}). On a CPU: at most the cores"
                    + " divided by --threads; tokens/s are then measured next to each other.")
    int jobs;

    @Option(names = "--dry-run", description = "List the planned runs and which are finished; train nothing.")
    boolean dryRun;

    @Mixin
    DeviceOption device;

    @Option(names = "--json", description = "Print the summary as JSON.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        List<Grid> grids = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        for (Path f : files) {
            try {
                grids.add(GridFile.read(f));
            } catch (IllegalArgumentException e) {
                problems.add(e.getMessage());
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(String.join("\n", problems));
        }
        if (jobs < 1) {
            throw new IllegalArgumentException("--jobs must be at least 1, got " + jobs);
        }
        Path dir = OutDirectory.check(out);
        Plan plan = Plan.of(grids, scale, size == null ? null : ModelSize.parse(size));
        if (dryRun) {
            printPlan(plan, dir);
            return 0;
        }
        ExperimentRunner.Summary summary;
        long total = 0;
        long finished = 0; // the ETA counts from here: finished runs took no time now
        for (RunSpec r : plan.runs()) {
            total += r.steps();
            finished += ExperimentRunner.finished(dir, r) ? r.steps() : 0;
        }
        try (Progress progress = Progress.start("experiment", total, finished)) {
            summary = ExperimentRunner.run(plan, dir, scale, new ChildJvm(device.name, MomCli.threads(), heap),
                    new ExperimentRunner.Listener() {
                        @Override
                        public void onProgress(long done, long all, RunSpec run, int index, int runs) {
                            progress.update(done, "run " + index + "/" + runs + " " + run.label());
                        }

                        @Override
                        public void onFinished(RunSpec run, RunResult result) {
                            System.err.printf("%n%s: validation loss %.4f%n", run.label(), result.finalValLoss());
                        }

                        @Override
                        public void onFailed(RunSpec run, String reason) {
                            System.err.printf("%nerror: %s failed: %s%n", run.label(), reason);
                        }
                    }, jobs);
        }
        if (json) {
            System.out.println(Json.write(summary));
        } else {
            System.out.printf("%d runs: %d finished before, %d trained now, %d failed, %d skipped%n",
                    plan.runs().size(), summary.reused(), summary.trained(), summary.failed().size(),
                    summary.skipped().size());
            summary.failed().forEach((run, why) -> System.out.println("failed  " + run + ": " + why));
            summary.skipped().forEach((run, why) -> System.out.println("skipped " + run + ": " + why));
            System.out.println("results in " + dir + "; report: ./mom report " + dir);
        }
        return summary.failed().isEmpty() && summary.skipped().isEmpty() ? 0 : 1;
    }

    private static void printPlan(Plan plan, Path dir) throws java.io.IOException {
        long steps = 0;
        long left = 0;
        for (RunSpec r : plan.runs()) {
            boolean done = ExperimentRunner.finished(dir, r);
            steps += r.steps();
            left += done ? 0 : r.steps();
            System.out.printf("%-8s %s  %5d steps  %s%n", done ? "done" : "pending", r.key(), r.steps(),
                    String.join(", ", r.labels()));
        }
        System.out.printf("%d runs, %d steps, %d steps left%n", plan.runs().size(), steps, left);
    }
}
