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
 */
public record RunLayout(Path runDir) {

    public static final String CHECKPOINTS = "checkpoints";
    public static final String VERSIONS = "versions";
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

    public Path card(long version) {
        return versions().resolve("v" + version + ".json");
    }

    /**
     * Writes a card atomically (temporary file, then rename): a reader never sees half of one. A
     * card already on disk as it would be written (a version republished after a restore) is left
     * as it is, so that a restore writes nothing here: it then succeeds on a full disk.
     */
    public Path writeCard(LineageCard card) throws IOException {
        Path target = card(card.version());
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

    private List<Path> cardFiles() throws IOException {
        if (!Files.isDirectory(versions())) {
            return List.of();
        }
        try (Stream<Path> entries = Files.list(versions())) {
            return entries.filter(p -> CARD.matcher(p.getFileName().toString()).matches()).toList();
        }
    }
}
