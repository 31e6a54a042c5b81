package dev.momstream.operators.export;

import dev.momstream.kafka.records.ModelEvent;
import dev.momstream.operators.train.LineageCard;
import dev.momstream.operators.train.RunLayout;
import dev.momstream.trainer.checkpoint.Checkpoint;
import dev.momstream.trainer.checkpoint.CheckpointException;
import dev.momstream.trainer.checkpoint.Manifest;
import dev.momstream.trainer.config.Json;
import dev.momstream.trainer.export.OnnxExporter;
import dev.momstream.trainer.io.FileErrors;
import dev.momstream.trainer.onnx.ExportMetadata;
import dev.momstream.trainer.onnx.OnnxModel;
import dev.momstream.trainer.onnx.OnnxModelException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes a published version servable: exports its trainer checkpoint to
 * {@code versions/v<id>/onnx/} (see {@link OnnxExporter}: a hidden temporary directory, loaded
 * back, then renamed, so the directory under its final name is always complete) and returns the
 * event that announces it, with the export's path and manifest checksum. No Flink here; the
 * streaming job calls it from {@link ExportFunction}, off the trainer's thread.
 *
 * <p>An export that already exists (a restore replays the announcement of a version exported
 * before the failure) is reused when it verifies and belongs to this version's checkpoint, else
 * it is moved aside to {@code onnx.refused-<ms>} with the reason logged, and exported again.
 * Failures that retrying can fix (I/O errors, a full disk) are reported and retried with a
 * doubling delay; a version that can never be exported (its checkpoint is gone, corrupt or not
 * the one its lineage card names) is announced without an export and with the reason.
 */
public final class VersionExporter {

    private static final Logger LOG = LoggerFactory.getLogger(VersionExporter.class);

    /** Writes an export of a trainer checkpoint, as {@link OnnxExporter#export(Path, Long, Path, Path)} does. */
    @FunctionalInterface
    public interface Export {
        Path export(Path checkpoint, Long version, Path lineageCard, Path out) throws IOException;
    }

    /** An attempt that failed and will be retried after {@code retryIn}. */
    public record Failure(long version, int attempt, String reason, Duration retryIn) {
    }

    private final RunLayout layout;
    private final int keepVersions;
    private final Export export;
    private final Duration firstRetry;
    private final Duration maxRetry;

    /**
     * @param keepVersions exports kept for the newest this many versions (0 keeps all)
     * @param firstRetry   delay before the first retry; it doubles up to {@code maxRetry}
     */
    public VersionExporter(RunLayout layout, int keepVersions, Export export, Duration firstRetry, Duration maxRetry) {
        this.layout = Objects.requireNonNull(layout, "layout");
        this.keepVersions = keepVersions;
        this.export = Objects.requireNonNull(export, "export");
        this.firstRetry = firstRetry;
        this.maxRetry = maxRetry;
    }

    /**
     * The event announcing {@code published}'s version: servable, or with the reason it never
     * can be. Retries until then, reporting each failed attempt to {@code failures}.
     *
     * @throws InterruptedException when the caller stops it between attempts
     */
    public ModelEvent announce(ModelEvent published, Consumer<Failure> failures) throws InterruptedException {
        Duration wait = firstRetry;
        for (int attempt = 1; ; attempt++) {
            try {
                ModelEvent announced = attempt(published);
                stopIfInterrupted(published);
                if (!announced.servable()) {
                    LOG.error("Version {} of run {} cannot be exported and will not be servable: {}", published.version(),
                            published.runId(), announced.onnxError());
                }
                return announced;
            } catch (IOException | UncheckedIOException e) {
                stopIfInterrupted(published);
                failures.accept(new Failure(published.version(), attempt, reason(e), wait));
                Thread.sleep(wait.toMillis());
                wait = wait.multipliedBy(2).compareTo(maxRetry) > 0 ? maxRetry : wait.multipliedBy(2);
            }
        }
    }

    /**
     * An interrupt (the task is stopping) makes file reads and writes fail: neither that failure
     * nor a refusal it caused may count, the next attempt after the restore decides.
     */
    private static void stopIfInterrupted(ModelEvent e) throws InterruptedException {
        if (Thread.currentThread().isInterrupted()) {
            throw new InterruptedException("stopped while exporting version " + e.version());
        }
    }

    /**
     * One attempt: the announcing event, or an exception for a failure worth retrying.
     */
    ModelEvent attempt(ModelEvent e) throws IOException {
        Path out = layout.onnx(e.version());
        if (Files.exists(out)) {
            String reused = reusable(e, out);
            if (reused != null) {
                return e.withOnnx(out.toString(), reused);
            }
        }
        Path checkpoint = Path.of(e.checkpointPath());
        String refusal = checkpointRefusal(e, checkpoint);
        if (refusal != null) {
            return e.withOnnxError(refusal);
        }
        sweepTemporary(out.getParent());
        long started = System.nanoTime();
        try {
            export.export(checkpoint, e.version(), Path.of(e.lineagePath()), out);
        } catch (CheckpointException refused) {
            return e.withOnnxError(refused.getMessage());
        } catch (RuntimeException bug) {
            // non-finite weights, a graph ONNX Runtime refuses: a retry would export the same
            return e.withOnnxError(bug.getMessage() == null ? bug.toString() : bug.getMessage());
        }
        String checksum = Manifest.sha256(out.resolve(Manifest.FILE));
        LOG.info("Exported version {} of run {} to {} in {} ms", e.version(), e.runId(), out,
                (System.nanoTime() - started) / 1_000_000);
        expire();
        return e.withOnnx(out.toString(), checksum);
    }

    /** Why the checkpoint can never be exported as this version, or null if it can. */
    private static String checkpointRefusal(ModelEvent e, Path checkpoint) throws IOException {
        if (!Files.isDirectory(checkpoint)) {
            return "its trainer checkpoint " + checkpoint + " no longer exists (removed by --keep-versions before it"
                    + " could be exported?)";
        }
        Path card = Path.of(e.lineagePath());
        if (!Files.isRegularFile(card)) {
            return "its lineage card " + card + " is missing, so its checkpoint cannot be checked";
        }
        String recorded = Json.read(Files.readString(card), LineageCard.class).checksum();
        String actual;
        try {
            actual = Manifest.sha256(checkpoint.resolve(Manifest.FILE));
        } catch (java.nio.file.NoSuchFileException missing) {
            return "trainer checkpoint " + checkpoint + " has no " + Manifest.FILE;
        }
        if (!actual.equals(recorded)) {
            return "trainer checkpoint " + checkpoint + " has manifest SHA-256 " + actual + " but lineage card " + card
                    + " recorded " + recorded + ": it is not the checkpoint this version published";
        }
        return null;
    }

    /** The checksum of an existing export if it is this version's, else null (after moving it aside). */
    private String reusable(ModelEvent e, Path out) throws IOException {
        String reason;
        try {
            ExportMetadata m = OnnxModel.verify(out);
            if (Objects.equals(m.version(), e.version()) && e.checkpointPath().equals(m.checkpoint())) {
                return Manifest.sha256(out.resolve(Manifest.FILE));
            }
            reason = "it holds version " + m.version() + " exported from " + m.checkpoint() + ", not version "
                    + e.version() + " from " + e.checkpointPath();
        } catch (OnnxModelException refused) {
            if (Thread.currentThread().isInterrupted()) {
                throw new java.io.InterruptedIOException("stopped while verifying " + out); // not a verdict on it
            }
            reason = refused.getMessage();
        }
        Path aside = out.resolveSibling(RunLayout.ONNX + ".refused-" + System.currentTimeMillis());
        Files.move(out, aside);
        LOG.warn("Version {}: the existing export {} is refused and moved to {}; exporting again. {}", e.version(), out,
                aside, reason);
        return null;
    }

    /** Temporary directories of exports that a crash interrupted. */
    private static void sweepTemporary(Path versionDir) throws IOException {
        if (!Files.isDirectory(versionDir)) {
            return;
        }
        List<Path> leftovers;
        try (Stream<Path> entries = Files.list(versionDir)) {
            leftovers = entries.filter(p -> p.getFileName().toString().startsWith("." + RunLayout.ONNX + ".tmp-")).toList();
        }
        for (Path p : leftovers) {
            Checkpoint.delete(p);
        }
    }

    /** Deletes the exports of all but the newest {@code keepVersions} exported versions. */
    private void expire() throws IOException {
        if (keepVersions <= 0) {
            return;
        }
        List<Long> exported = layout.exportedVersions();
        for (long old : exported.subList(0, Math.max(0, exported.size() - keepVersions))) {
            Path dir = layout.onnx(old);
            Checkpoint.delete(dir);
            try {
                Files.deleteIfExists(dir.getParent());
            } catch (java.nio.file.DirectoryNotEmptyException refusedCopiesKept) {
                // exports refused earlier stay for inspection
            }
        }
    }

    private static String reason(Exception e) {
        Throwable t = e instanceof UncheckedIOException u ? u.getCause() : e;
        if (t instanceof java.nio.file.FileSystemException f) {
            return f.getFile() + ": " + FileErrors.reason(f);
        }
        return t.getMessage() == null ? t.toString() : t.getMessage();
    }
}
