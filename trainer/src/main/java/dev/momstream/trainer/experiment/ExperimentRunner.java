package dev.momstream.trainer.experiment;

import dev.momstream.trainer.config.Json;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorCompletionService;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.LongConsumer;

/**
 * Runs a {@link Plan} into a results directory: {@code runs/<key>/} per run and
 * {@code <grid>.grid.json} per grid (its declaration and which run is which arm and seed). A
 * run whose {@code result.json} exists is finished and not redone; an interrupted one continues
 * from its newest checkpoint. A run that fails is reported and the runs built from it are
 * skipped; the others go on. One process at a time may use a results directory.
 */
public final class ExperimentRunner {
    public static final String LOCK = ".lock";
    public static final String GRID_SUFFIX = ".grid.json";

    /** How a run is executed: in a child JVM (measuring its memory) or in this one (tests). */
    @FunctionalInterface
    public interface Launcher {
        RunResult launch(Path results, RunSpec spec, LongConsumer progress) throws Exception;
    }

    /** Progress over the whole plan, in optimizer steps. */
    public interface Listener {
        /** {@code done} of {@code total} steps of the plan; {@code run} is the run in progress. */
        void onProgress(long done, long total, RunSpec run, int index, int runs);

        default void onFinished(RunSpec run, RunResult result) {}

        default void onFailed(RunSpec run, String reason) {}
    }

    /**
     * What an invocation did.
     *
     * @param reused runs that had finished before
     * @param trained runs finished now
     * @param failed run label -> reason
     * @param skipped run label -> why it was not started (its source failed)
     */
    public record Summary(int reused, int trained, Map<String, String> failed, Map<String, String> skipped) {}

    /** One grid's declaration and runs, as {@code <grid>.grid.json} stores it. */
    public record GridIndex(Grid grid, double scale, Map<String, Map<Long, String>> runs) {}

    private ExperimentRunner() {}

    /** Runs the plan one run at a time. */
    public static Summary run(Plan plan, Path results, double scale, Launcher launcher, Listener listener)
            throws IOException {
        return run(plan, results, scale, launcher, listener, 1);
    }

    /**
     * Runs the plan, up to {@code jobs} runs at once (a run starts once the run it starts from has
     * finished); the listener is called from several threads, one call at a time.
     */
    public static Summary run(Plan plan, Path results, double scale, Launcher launcher, Listener listener, int jobs)
            throws IOException {
        if (jobs < 1) {
            throw new IllegalArgumentException("jobs must be at least 1, got " + jobs);
        }
        Files.createDirectories(results);
        try (FileChannel lockFile = FileChannel.open(results.resolve(LOCK), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE); FileLock lock = tryLock(lockFile)) {
            if (lock == null) {
                throw new IOException("another mom experiment is running on " + results + " (it holds " + LOCK
                        + "); wait for it or use another --out");
            }
            for (Plan.GridRuns g : plan.grids()) {
                Path index = results.resolve(g.grid().name() + GRID_SUFFIX);
                Files.writeString(index, Json.write(new GridIndex(g.grid(), scale, g.keys())));
            }
            return runAll(plan, results, launcher, listener, jobs);
        }
    }

    /** The lock, or null when another process, or this one, holds it. */
    private static FileLock tryLock(FileChannel file) throws IOException {
        try {
            return file.tryLock();
        } catch (OverlappingFileLockException e) {
            return null;
        }
    }

    private static Summary runAll(Plan plan, Path results, Launcher launcher, Listener listener, int jobs)
            throws IOException {
        Progress progress = new Progress(plan, listener);
        int reused = 0;
        List<RunSpec> pending = new ArrayList<>();
        for (RunSpec r : plan.runs()) {
            if (finished(results, r)) {
                progress.reused(r);
                reused++;
            } else {
                pending.add(r);
            }
        }
        Set<String> waitingFor = new HashSet<>(pending.stream().map(RunSpec::key).toList());
        Set<String> broken = new HashSet<>();
        Map<String, String> failed = new LinkedHashMap<>();
        Map<String, String> skipped = new LinkedHashMap<>();
        int trained = 0;
        ExecutorService pool = Executors.newFixedThreadPool(jobs, r -> new Thread(r, "experiment-run"));
        ExecutorCompletionService<Finished> done = new ExecutorCompletionService<>(pool);
        int running = 0;
        int started = 0;
        try {
            while (!pending.isEmpty() || running > 0) {
                // start, in plan order, every run whose source has finished, up to `jobs` at once
                for (var it = pending.iterator(); it.hasNext() && running < jobs; ) {
                    RunSpec run = it.next();
                    String source = run.source() == null ? null : run.source().run();
                    if (source != null && broken.contains(source)) {
                        it.remove();
                        waitingFor.remove(run.key());
                        broken.add(run.key());
                        skipped.put(run.label(), "the run it starts from did not finish");
                    } else if (source == null || !waitingFor.contains(source)) {
                        it.remove();
                        Path dir = RunWorker.runDir(results, run.key());
                        Files.createDirectories(dir);
                        Files.writeString(dir.resolve(RunWorker.SPEC), Json.write(run));
                        progress.started(run, reused + ++started);
                        done.submit(() -> launch(launcher, results, run, progress));
                        running++;
                    }
                }
                if (running == 0) {
                    if (pending.isEmpty()) {
                        break; // the last ones were skipped
                    }
                    throw new IllegalStateException("no run of the plan can start: " + pending.get(0).label()
                            + " waits for a run that is not planned before it");
                }
                Finished f = done.take().get();
                running--;
                waitingFor.remove(f.run().key());
                progress.finished(f);
                if (f.result() != null) {
                    trained++;
                } else {
                    broken.add(f.run().key());
                    failed.put(f.run().label(), f.failure());
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while running the grid", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Error error) {
                throw error; // the launcher's own failures are Exceptions, recorded as failed runs
            }
            throw new IOException("interrupted while running the grid", e.getCause());
        } finally {
            pool.shutdownNow(); // interrupts the launchers, whose child JVMs end with them
        }
        return new Summary(reused, trained, failed, skipped);
    }

    /** A run's outcome: its result, or why it failed. */
    private record Finished(RunSpec run, RunResult result, String failure) {}

    private static Finished launch(Launcher launcher, Path results, RunSpec run, Progress progress)
            throws InterruptedException {
        try {
            return new Finished(run, launcher.launch(results, run, steps -> progress.at(run, steps)), null);
        } catch (InterruptedException e) {
            throw e;
        } catch (Exception e) {
            return new Finished(run, null, e.getMessage() == null ? e.toString() : e.getMessage());
        }
    }

    /** Steps done over the plan, summed over finished runs and those in progress; reports to the listener. */
    private static final class Progress {
        private final Plan plan;
        private final Listener listener;
        private final long total;
        private final Map<String, Long> inProgress = new LinkedHashMap<>();
        private final Map<String, Integer> index = new HashMap<>();
        private long finished;

        Progress(Plan plan, Listener listener) {
            this.plan = plan;
            this.listener = listener;
            this.total = plan.runs().stream().mapToLong(RunSpec::steps).sum();
        }

        synchronized void started(RunSpec run, int i) {
            index.put(run.key(), i);
            at(run, 0);
        }

        synchronized void at(RunSpec run, long steps) {
            inProgress.put(run.key(), steps);
            long done = finished + inProgress.values().stream().mapToLong(Long::longValue).sum();
            listener.onProgress(done, total, run, index.get(run.key()), plan.runs().size());
        }

        synchronized void reused(RunSpec run) {
            finished += run.steps();
        }

        synchronized void finished(Finished f) {
            inProgress.remove(f.run().key());
            finished += f.run().steps();
            if (f.result() != null) {
                listener.onFinished(f.run(), f.result());
            } else {
                listener.onFailed(f.run(), f.failure());
            }
        }
    }

    /** Whether {@code run} has its {@code result.json} (of this very run). */
    public static boolean finished(Path results, RunSpec run) throws IOException {
        Path dir = RunWorker.runDir(results, run.key());
        return Files.exists(dir.resolve(RunResult.FILE)) && RunResult.read(dir).key().equals(run.key());
    }

    /** Every grid index in {@code results}: what {@code mom report} reads. */
    public static List<GridIndex> indexes(Path results) throws IOException {
        List<GridIndex> out = new ArrayList<>();
        try (var files = Files.list(results)) {
            for (Path p : files.filter(f -> f.getFileName().toString().endsWith(GRID_SUFFIX)).sorted().toList()) {
                try {
                    out.add(Json.read(Files.readString(p), GridIndex.class));
                } catch (IllegalArgumentException e) {
                    throw new IOException(p + " is not a grid index: " + e.getMessage(), e);
                }
            }
        }
        return out;
    }
}
