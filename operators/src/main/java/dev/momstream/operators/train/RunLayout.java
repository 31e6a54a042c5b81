package dev.momstream.operators.train;

import dev.momstream.trainer.checkpoint.Checkpoint;
import dev.momstream.trainer.config.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Where a run keeps its files: trainer checkpoints under {@code checkpoints/ckpt-<checkpoint id>/},
 * lineage cards under {@code versions/v<version>.json} and ONNX exports under
 * {@code versions/v<version>/onnx/}. Data-parallel replicas write
 * {@code checkpoints/ckpt-<id>/replica-<k>/} each, replica 0 also the published global weights
 * {@code checkpoints/ckpt-<id>/global/}, and they synchronise through {@code sync/}.
 */
public record RunLayout(Path runDir) {

    public static final String CHECKPOINTS = "checkpoints";
    public static final String VERSIONS = "versions";
    public static final String SYNC = "sync";
    public static final String ONNX = "onnx";
    private static final Pattern CARD = Pattern.compile("v(\\d+)\\.json");
    private static final Pattern VERSION_DIR = Pattern.compile("v(\\d+)");

    public RunLayout {
        runDir = runDir.toAbsolutePath().normalize();
    }

    public Path checkpoints() {
        return runDir.resolve(CHECKPOINTS);
    }

    public Path versions() {
        return runDir.resolve(VERSIONS);
    }

    /** The trainer checkpoint written at Flink checkpoint {@code checkpointId}. */
    public Path checkpoint(long checkpointId) {
        return checkpoints().resolve("ckpt-" + checkpointId);
    }

    /** Replica {@code replica}'s checkpoint at Flink checkpoint {@code checkpointId}. */
    public Path replicaCheckpoint(long checkpointId, int replica) {
        return checkpoint(checkpointId).resolve("replica-" + replica);
    }

    /** The replicas' global weights published from Flink checkpoint {@code checkpointId}. */
    public Path globalCheckpoint(long checkpointId) {
        return checkpoint(checkpointId).resolve("global");
    }

    /** Where the data-parallel replicas exchange their pseudo-gradients. */
    public Path sync() {
        return runDir.resolve(SYNC);
    }

    /** Whether {@code path} lies in this run directory (a run deletes nothing outside it). */
    public boolean contains(Path path) {
        return path.toAbsolutePath().normalize().startsWith(runDir);
    }

    public Path card(long version) {
        return versions().resolve("v" + version + ".json");
    }

    /** The ONNX export of {@code version}. */
    public Path onnx(long version) {
        return versions().resolve("v" + version).resolve(ONNX);
    }

    /** Every version with an ONNX export directory, ascending. */
    public List<Long> exportedVersions() throws IOException {
        if (!Files.isDirectory(versions())) {
            return List.of();
        }
        try (Stream<Path> entries = Files.list(versions())) {
            return entries.filter(p -> Files.isDirectory(p.resolve(ONNX)))
                    .map(p -> VERSION_DIR.matcher(p.getFileName().toString()))
                    .filter(Matcher::matches)
                    .map(m -> Long.parseLong(m.group(1)))
                    .sorted()
                    .toList();
        }
    }

    /**
     * Writes a card atomically (temporary file, then rename): a reader never sees half of one. A
     * card rewritten without evaluations (a version republished after a restore) keeps those the
     * existing card has; a card already on disk as it would be written is left as it is, so that a
     * restore writes nothing here and then succeeds on a full disk.
     */
    public Path writeCard(LineageCard card) throws IOException {
        Path target = card(card.version());
        if (card.evaluations().isEmpty() && Files.exists(target)) {
            card = card.keepingEvaluationsOf(Json.read(Files.readString(target), LineageCard.class));
        }
        String json = Json.write(card);
        if (Files.exists(target) && Files.readString(target).equals(json)) {
            return target;
        }
        Files.createDirectories(versions());
        Path tmp = Files.createTempFile(versions(), ".v" + card.version() + "-", ".tmp");
        try {
            Files.writeString(tmp, json);
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
        return target;
    }

    /** Adds (or replaces, for the same dataset) an evaluation to the card of {@code version}. */
    public Path addEvaluation(long version, LineageCard.Evaluation evaluation) throws IOException {
        LineageCard card = Json.read(Files.readString(card(version)), LineageCard.class);
        return writeCard(card.withEvaluation(evaluation));
    }

    /** Every card in the run, by version. */
    public List<LineageCard> cards() throws IOException {
        List<LineageCard> out = new ArrayList<>();
        for (Path file : cardFiles()) {
            out.add(Json.read(Files.readString(file), LineageCard.class));
        }
        out.sort(Comparator.comparingLong(LineageCard::version));
        return out;
    }

    /** The highest version with a card, 0 if there is none. */
    public long highestVersion() throws IOException {
        long highest = 0;
        for (Path file : cardFiles()) {
            Matcher m = CARD.matcher(file.getFileName().toString());
            if (m.matches()) {
                highest = Math.max(highest, Long.parseLong(m.group(1)));
            }
        }
        return highest;
    }

    /**
     * Deletes every trainer checkpoint directory (and leftover temporary one from a crash) that
     * is not in {@code keep}; returns how many.
     */
    public int sweepCheckpoints(Set<String> keep) throws IOException {
        if (!Files.isDirectory(checkpoints())) {
            return 0;
        }
        List<Path> doomed;
        try (Stream<Path> entries = Files.list(checkpoints())) {
            doomed = entries.filter(p -> {
                String name = p.getFileName().toString();
                return (name.startsWith("ckpt-") || name.startsWith(".ckpt-")) && !keep.contains(p.toString());
            }).toList();
        }
        for (Path dir : doomed) {
            Checkpoint.delete(dir);
        }
        return doomed.size();
    }

    /**
     * As {@link #sweepCheckpoints} for the replicas' nested checkpoints: deletes every directory
     * in {@code checkpoints/ckpt-<id>/} (and temporary one) that is not in {@code keep}, then every
     * {@code ckpt-<id>} left empty, and every leftover temporary {@code .ckpt-*}; returns how many.
     */
    public int sweepNestedCheckpoints(Set<String> keep) throws IOException {
        if (!Files.isDirectory(checkpoints())) {
            return 0;
        }
        int deleted = 0;
        for (Path parent : list(checkpoints())) {
            String name = parent.getFileName().toString();
            if (name.startsWith(".ckpt-")) {
                Checkpoint.delete(parent);
                deleted++;
            } else if (name.startsWith("ckpt-") && Files.isDirectory(parent)) {
                for (Path child : list(parent)) {
                    if (!keep.contains(child.toString())) {
                        Checkpoint.delete(child);
                        deleted++;
                    }
                }
                deleteIfEmpty(parent);
            }
        }
        return deleted;
    }

    /** Deletes a nested checkpoint directory of this run, and its {@code ckpt-<id>} once empty. */
    public void deleteNested(Path dir) throws IOException {
        if (!contains(dir)) {
            return;
        }
        Checkpoint.delete(dir);
        deleteIfEmpty(dir.getParent());
    }

    private static void deleteIfEmpty(Path dir) throws IOException {
        try {
            Files.deleteIfExists(dir);
        } catch (java.nio.file.DirectoryNotEmptyException stillUsed) {
            // another replica's checkpoint is in it
        }
    }

    private static List<Path> list(Path dir) throws IOException {
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.toList();
        }
    }

    private List<Path> cardFiles() throws IOException {
        if (!Files.isDirectory(versions())) {
            return List.of();
        }
        try (Stream<Path> entries = Files.list(versions())) {
            return entries.filter(p -> CARD.matcher(p.getFileName().toString()).matches()).toList();
        }
    }
}
