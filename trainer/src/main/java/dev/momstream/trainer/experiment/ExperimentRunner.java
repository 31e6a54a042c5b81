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
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
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

    public static Summary run(Plan plan, Path results, double scale, Launcher launcher, Listener listener)
            throws IOException {
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
            return runAll(plan, results, launcher, listener);
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

    private static Summary runAll(Plan plan, Path results, Launcher launcher, Listener listener) throws IOException {
        long total = plan.runs().stream().mapToLong(RunSpec::steps).sum();
        long done = 0;
        int reused = 0;
        List<RunSpec> pending = new ArrayList<>();
        for (RunSpec r : plan.runs()) {
            if (finished(results, r)) {
                done += r.steps();
                reused++;
            } else {
                pending.add(r);
            }
        }
        Set<String> broken = new HashSet<>();
        Map<String, String> failed = new LinkedHashMap<>();
        Map<String, String> skipped = new LinkedHashMap<>();
        int trained = 0;
        for (int i = 0; i < pending.size(); i++) {
            RunSpec run = pending.get(i);
            if (run.source() != null && broken.contains(run.source().run())) {
                broken.add(run.key());
                skipped.put(run.label(), "the run it starts from did not finish");
                continue;
            }
            Path dir = RunWorker.runDir(results, run.key());
            Files.createDirectories(dir);
            Files.writeString(dir.resolve(RunWorker.SPEC), Json.write(run));
            long base = done;
            int index = reused + i + 1;
            listener.onProgress(done, total, run, index, plan.runs().size());
            try {
                RunResult result = launcher.launch(results, run,
                        steps -> listener.onProgress(base + steps, total, run, index, plan.runs().size()));
                trained++;
                listener.onFinished(run, result);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while running " + run.label(), e);
            } catch (Exception e) {
                broken.add(run.key());
                String reason = e.getMessage() == null ? e.toString() : e.getMessage();
                failed.put(run.label(), reason);
                listener.onFailed(run, reason);
            }
            done = base + run.steps();
        }
        return new Summary(reused, trained, failed, skipped);
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
