package dev.momstream.trainer.experiment;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each run in a JVM of its own: a run's JVM killed with SIGKILL in the middle of training, then the
 * grid run again: the finished run is not redone, the killed one continues from its checkpoint, and
 * every result equals that of a grid that ran without interruption; memory is measured.
 */
class ExperimentKillIT {
    @TempDir
    Path dir;

    private static ExperimentRunner.Summary run(Plan plan, Path results, ExperimentRunner.Launcher launcher,
            ExperimentRunner.Listener listener) throws IOException {
        return ExperimentRunner.run(plan, results, 1, launcher, listener);
    }

    @Test
    void aKilledRunJvmIsContinuedAndEndsWithTheSameResults() throws IOException {
        Plan plan = ExperimentResumeTest.plan(dir);
        ChildJvm jvm = new ChildJvm("cpu", 1, "512m");
        Path whole = dir.resolve("whole");
        assertEquals(3, run(plan, whole, jvm, (done, total, r, i, n) -> { }).trained());

        Path parts = dir.resolve("parts");
        String mom = plan.runs().get(1).key();
        AtomicBoolean killed = new AtomicBoolean();
        ExperimentRunner.Summary interrupted = run(plan, parts, jvm, (done, total, r, i, n) -> {
            long steps = done - plan.runs().get(0).steps();
            if (r.key().equals(mom) && steps >= 5 && killed.compareAndSet(false, true)) {
                ProcessHandle.current().children().forEach(ProcessHandle::destroyForcibly); // SIGKILL
            }
        });
        assertTrue(killed.get());
        assertEquals(1, interrupted.failed().size(), interrupted.toString());
        assertTrue(interrupted.failed().get("resume/mom/s3").contains("exited with 137"), interrupted.toString());

        ExperimentRunner.Summary again = run(plan, parts, jvm, (done, total, r, i, n) -> { });
        assertEquals(1, again.reused());
        assertEquals(2, again.trained());
        for (RunSpec r : plan.runs()) {
            RunResult a = RunResult.read(RunWorker.runDir(whole, r.key()));
            RunResult b = RunResult.read(RunWorker.runDir(parts, r.key()));
            assertEquals(a.finalValLoss(), b.finalValLoss(), r.label());
            assertEquals(a.curve(), b.curve(), r.label());
            if (r.steps() >= RunWorker.WARM_STEPS + RunWorker.MEASURED_STEPS) {
                assertNotNull(b.memory(), r.label());
                assertTrue(b.memory().stepPeakBytes() > 0 && b.memory().trainingBytes() > b.memory().stepPeakBytes(),
                        b.memory().toString());
            }
        }
        // the second JVM continued after a checkpoint: the steps since it are logged twice, the others once
        long lines = Files.readAllLines(RunWorker.runDir(parts, mom).resolve("metrics.jsonl")).size();
        long steps = plan.runs().get(1).steps();
        assertTrue(lines > steps && lines < 2 * steps, lines + " metrics lines for " + steps + " steps");
    }
}
