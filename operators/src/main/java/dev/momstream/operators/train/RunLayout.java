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
 * Where the train operator keeps its files in a run directory: trainer checkpoints under
 * {@code checkpoints/ckpt-<checkpoint id>/} and lineage cards under {@code versions/v<version>.json}.
 * Data-parallel replicas write {@code checkpoints/ckpt-<id>/replica-<k>/} each, replica 0 also the
 * published global weights {@code checkpoints/ckpt-<id>/global/}, and they synchronise through
 * {@code sync/}.
 */
public record RunLayout(Path runDir) {

    public static final String CHECKPOINTS = "checkpoints";
    public static final String VERSIONS = "versions";
    public static final String SYNC = "sync";
    private static final Pattern CARD = Pattern.compile("v(\\d+)\\.json");

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

    /** Writes a card atomically (temporary file, then rename): a reader never sees half of one. */
    public Path writeCard(LineageCard card) throws IOException {
        Files.createDirectories(versions());
        Path target = card(card.version());
        Path tmp = Files.createTempFile(versions(), ".v" + card.version() + "-", ".tmp");
        try {
            Files.writeString(tmp, Json.write(card));
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
        return target;
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
