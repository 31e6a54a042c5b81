package dev.momstream.trainer.experiment;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A grid killed in the middle of a run and run again: finished runs are not redone, the
 * interrupted one continues from its checkpoint (a pruned run killed before its pruning was
 * recorded prunes again), and every result equals an uninterrupted grid's.
 * (Runs in this JVM; ExperimentKillIT kills a run's own JVM.)
 */
class ExperimentResumeTest {
    @TempDir
    Path dir;

    /** A grid of three small runs: 8 steps of 4 x 16 tokens, checkpoints every 2 steps. */
    static final String GRID = """
            name: resume
            tokens: 512
            seeds: [3]
            eval: {every: 4, tokens: 128}
            checkpointEvery: 2
            model: {d: 16, heads: 2, context: 16, routerDim: 8}
            train: {batchSize: 4, warmupSteps: 2}
            arms:
              - name: vanilla
                preset: vanilla
              - name: mom
                model: {B: 0, C: 1, T: 0, anchor: false, N_A: 4, N_F: 4, H: 2, skip: true}
              - name: half
                prune: {from: mom, ffn: 0.5}
                tokens: 128
            """;

    /** Thrown from a progress callback: stops the grid as a kill would (it is not an Exception). */
    static final class Kill extends Error {
        Kill() {
            super("killed");
        }
    }

    static Plan plan(Path dir) throws IOException {
        Path file = dir.resolve("resume.yaml");
        Files.writeString(file, GRID);
        return Plan.of(List.of(GridFile.read(file)), 1, null);
    }

    private static ExperimentRunner.Summary run(Plan plan, Path results, ExperimentRunner.Launcher launcher)
            throws IOException {
        return ExperimentRunner.run(plan, results, 1, launcher, (done, total, run, index, runs) -> { });
    }

    private static RunResult launchHere(Path results, RunSpec spec, java.util.function.LongConsumer progress)
            throws IOException {
        return RunWorker.execute(results, spec, "cpu", false, progress);
    }

    @Test
    void aKilledGridContinuesWhereItStoppedAndEndsWithTheSameResults() throws IOException {
        Plan plan = plan(dir);
        Path whole = dir.resolve("whole");
        ExperimentRunner.Summary first = run(plan, whole, ExperimentResumeTest::launchHere);
        assertEquals(3, first.trained());

        Path parts = dir.resolve("parts");
        String mom = plan.runs().get(1).key();
        assertThrows(Kill.class, () -> run(plan, parts, (results, spec, progress) ->
                launchHere(results, spec, done -> {
                    progress.accept(done);
                    if (spec.key().equals(mom) && done == 5) {
                        throw new Kill(); // after step 5; the newest checkpoint is step 4
                    }
                })));
        assertTrue(Files.exists(RunWorker.runDir(parts, plan.runs().get(0).key()).resolve(RunResult.FILE)));
        assertTrue(Files.notExists(RunWorker.runDir(parts, mom).resolve(RunResult.FILE)));

        Map<String, Long> firstStep = new LinkedHashMap<>();
        String half = plan.runs().get(2).key();
        assertThrows(Kill.class, () -> run(plan, parts, (results, spec, progress) ->
                launchHere(results, spec, done -> {
                    firstStep.putIfAbsent(spec.key(), done);
                    progress.accept(done);
                    if (spec.key().equals(half) && done == 1) {
                        throw new Kill();
                    }
                })));
        assertEquals(List.of(mom, half), List.copyOf(firstStep.keySet()), "vanilla not redone");
        assertEquals(5L, firstStep.get(mom), "continued after the checkpoint of step 4");

        // as if killed while the pruned model was being saved: a torn step-0 checkpoint, no pruning.json
        Path halfDir = RunWorker.runDir(parts, half);
        Files.delete(halfDir.resolve(RunWorker.PRUNING));
        Path model = halfDir.resolve("checkpoints").resolve("step-00000000").resolve("model.safetensors");
        Files.write(model, Arrays.copyOf(Files.readAllBytes(model), 100));
        ExperimentRunner.Summary again = run(plan, parts, ExperimentResumeTest::launchHere);
        assertEquals(2, again.reused());
        assertEquals(1, again.trained(), "the pruned run removes the modules again");

        for (RunSpec r : plan.runs()) {
            RunResult a = RunResult.read(RunWorker.runDir(whole, r.key()));
            RunResult b = RunResult.read(RunWorker.runDir(parts, r.key()));
            assertEquals(a.finalValLoss(), b.finalValLoss(), r.label());
            assertEquals(a.finalTrainLoss(), b.finalTrainLoss(), r.label());
            assertEquals(a.curve(), b.curve(), r.label());
            assertEquals(a.routing().shares().keySet(), b.routing().shares().keySet());
            a.routing().shares().forEach((k, v) -> assertArrayEquals(v, b.routing().shares().get(k), k));
            assertNull(b.memory(), "not measured in a shared JVM");
        }
        RunResult pruned = RunResult.read(halfDir);
        RunResult whole2 = RunResult.read(RunWorker.runDir(whole, half));
        assertArrayEquals(whole2.pruning().ffn(), pruned.pruning().ffn());
        assertEquals(2, pruned.pruning().ffn()[0].length);
        assertEquals(2, pruned.configs().model().ffnModules());
        assertEquals(whole2.pruning().lossAfterRemoval(), pruned.pruning().lossAfterRemoval());
        // the checkpoints that are kept: each run's last, and the pruned run's source step
        try (var s = Files.list(RunWorker.runDir(parts, plan.runs().get(0).key()).resolve("checkpoints"))) {
            assertEquals(List.of("step-00000008"), s.map(p -> p.getFileName().toString()).sorted().toList());
        }
    }

    @Test
    void aSecondRunnerOnTheSameDirectoryIsRefused() throws IOException {
        Plan plan = plan(dir);
        Path results = dir.resolve("busy");
        Files.createDirectories(results);
        try (FileChannel f = FileChannel.open(results.resolve(ExperimentRunner.LOCK), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE); FileLock held = f.lock()) {
            IOException e = assertThrows(IOException.class, () -> run(plan, results, ExperimentResumeTest::launchHere));
            assertTrue(e.getMessage().contains("another mom experiment is running on " + results), e.getMessage());
        }
    }

    @Test
    void aFailedRunIsReportedAndTheRunsBuiltFromItAreSkipped() throws IOException {
        Plan plan = plan(dir);
        String mom = plan.runs().get(1).key();
        ExperimentRunner.Summary s = run(plan, dir.resolve("failing"), (results, spec, progress) -> {
            if (spec.key().equals(mom)) {
                throw new IOException("disk full");
            }
            return launchHere(results, spec, progress);
        });
        assertEquals(Map.of("resume/mom/s3", "disk full"), s.failed());
        assertEquals(Map.of("resume/half/s3", "the run it starts from did not finish"), s.skipped());
        assertEquals(1, s.trained());
    }

    @Test
    void runsGoInParallelWhereTheirSourcesAllowAndEndWithTheSameResults() throws IOException {
        Plan plan = plan(dir);
        ExperimentRunner.Summary one = run(plan, dir.resolve("serial"), ExperimentResumeTest::launchHere);
        String mom = plan.runs().get(1).key();
        String half = plan.runs().get(2).key();
        java.util.Set<String> running = java.util.concurrent.ConcurrentHashMap.newKeySet();
        java.util.Set<String> overlapped = java.util.concurrent.ConcurrentHashMap.newKeySet();
        java.util.List<Long> progress = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        ExperimentRunner.Summary two = ExperimentRunner.run(plan, dir.resolve("parallel"), 1, (results, spec, p) -> {
            running.add(spec.key());
            overlapped.addAll(running.size() > 1 ? running : List.of());
            assertTrue(!spec.key().equals(half) || Files.exists(RunWorker.runDir(results, mom).resolve(RunResult.FILE)),
                    "the pruned run started before the run it prunes had finished");
            try {
                synchronized (ExperimentResumeTest.class) { // DJL trains one model per JVM at a time; ChildJvm has a JVM per run
                    return launchHere(results, spec, p);
                }
            } finally {
                running.remove(spec.key());
            }
        }, (done, total, run, index, runs) -> progress.add(done), 2);
        assertEquals(one.trained(), two.trained(), "failed: " + two.failed());
        assertTrue(overlapped.contains(plan.runs().get(0).key()) && overlapped.contains(mom),
                "vanilla and mom, which depend on nothing, ran at the same time: " + overlapped);
        for (int i = 1; i < progress.size(); i++) {
            assertTrue(progress.get(i) >= progress.get(i - 1), "progress went back: " + progress);
        }
        for (RunSpec r : plan.runs()) {
            RunResult a = RunResult.read(RunWorker.runDir(dir.resolve("serial"), r.key()));
            RunResult b = RunResult.read(RunWorker.runDir(dir.resolve("parallel"), r.key()));
            assertEquals(a.finalValLoss(), b.finalValLoss(), r.label());
            assertEquals(a.curve(), b.curve(), r.label());
        }
    }
}
