package dev.momstream.operators.diloco;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.momstream.operators.train.SourceRanges;
import dev.momstream.trainer.checkpoint.Checkpoint;
import dev.momstream.trainer.checkpoint.CheckpointException;
import dev.momstream.trainer.checkpoint.Manifest;
import dev.momstream.trainer.checkpoint.SafeTensors;
import dev.momstream.trainer.checkpoint.SealedDirectory;
import dev.momstream.trainer.config.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The replicas' rendezvous on the run's shared storage: for each synchronisation round, every
 * replica writes {@code <generation>/round-<n>/replica-<k>/} with its pseudo-gradient
 * ({@value #DELTA}), what it trained in the round ({@value #INFO}) and a SHA-256 manifest, as a
 * sealed directory (renamed into place complete, so a directory that exists is whole). Readers
 * verify every digest before they use a byte.
 *
 * <p>The files stay until every replica's completed checkpoint is past their round: a replica
 * restored to before a round replays it and finds its peers' files. A file is written once: a
 * replica that replays a round keeps the file already there (and says whether it trained the same
 * bits), so that every replica averages the same pseudo-gradients even where the hardware does
 * not repeat a computation exactly. A {@code generation} names one numbering of rounds: a change
 * of the number of replicas starts a new one.
 */
public final class RoundFiles {

    private static final Logger LOG = LoggerFactory.getLogger(RoundFiles.class);
    public static final String DELTA = "delta.safetensors";
    public static final String INFO = "round.json";
    private static final Set<String> FILES = Set.of(DELTA, INFO);

    /**
     * What a replica trained in one round.
     *
     * @param round      the round: its synchronisation step divided by {@code syncEvery}
     * @param replica    the replica's index
     * @param replicas   how many replicas synchronise in this round
     * @param generation the numbering of rounds this file belongs to
     * @param step       the replica's step at the synchronisation
     * @param tokens     tokens the replica trained on since the previous synchronisation
     * @param lineage    the documents those were
     * @param announced  Flink checkpoints the replica took since the previous synchronisation,
     *                   while still training: its peers take those before they finish this round
     *                   (see {@link SyncRule})
     */
    public record Info(long round, int replica, int replicas, String generation, long step, long tokens,
                       List<SourceRanges> lineage, List<Long> announced) {
        public Info {
            lineage = List.copyOf(lineage);
            announced = List.copyOf(announced);
        }
    }

    private final Path root;

    /** @param root the run's synchronisation directory; each generation is a directory in it */
    public RoundFiles(Path root) {
        this.root = root;
    }

    public Path dir(String generation, long round, int replica) {
        return root.resolve(generation).resolve("round-" + round).resolve("replica-" + replica);
    }

    /**
     * Writes a replica's round unless a whole one is already there (a replay): returns the SHA-256
     * of the pseudo-gradient file that stays. A file there that fails its check is moved aside and
     * replaced.
     */
    public String write(Info info, Map<String, NDArray> delta) throws IOException {
        Path dir = dir(info.generation(), info.round(), info.replica());
        if (Files.exists(dir)) {
            try {
                String kept = Manifest.verify(dir, "round file", FILES).get(DELTA);
                LOG.info("Round {} of replica {} was written before this replay; keeping it", info.round(),
                        info.replica());
                return kept;
            } catch (CheckpointException bad) {
                Path aside = dir.resolveSibling(dir.getFileName() + ".refused-" + System.currentTimeMillis());
                LOG.warn("Moving aside {}: {}", dir, bad.getMessage());
                Files.move(dir, aside, StandardCopyOption.ATOMIC_MOVE);
            }
        }
        Map<String, String> digests = new LinkedHashMap<>();
        SealedDirectory.write(dir, tmp -> {
            digests.put(INFO, Manifest.writeBytes(tmp.resolve(INFO), Json.write(info).getBytes(StandardCharsets.UTF_8)));
            digests.put(DELTA, SafeTensors.write(tmp.resolve(DELTA), delta, Map.of("round", Long.toString(info.round()))));
            return digests;
        });
        return digests.get(DELTA);
    }

    /** Whether every replica of the round has written its directory. */
    public boolean complete(String generation, long round, int replicas) {
        for (int k = 0; k < replicas; k++) {
            if (!Files.isDirectory(dir(generation, round, k))) {
                return false;
            }
        }
        return true;
    }

    /** A replica's round, verified: its info, checked to be the round asked for. */
    public Info info(String generation, long round, int replica, int replicas) throws IOException {
        Path dir = dir(generation, round, replica);
        Manifest.verify(dir, "round file", FILES);
        Info info;
        try {
            info = Json.read(Files.readString(dir.resolve(INFO)), Info.class);
        } catch (IllegalArgumentException e) {
            throw new CheckpointException("round file " + dir + ": " + INFO + " is unreadable: " + e.getMessage(), e);
        }
        if (info.round() != round || info.replica() != replica || info.replicas() != replicas
                || !info.generation().equals(generation)) {
            throw new CheckpointException("round file " + dir + " holds round " + info.round() + " of replica "
                    + info.replica() + " of " + info.replicas() + " (" + info.generation() + "), not round " + round
                    + " of replica " + replica + " of " + replicas + " (" + generation + ")");
        }
        return info;
    }

    /**
     * A replica's pseudo-gradient (names and shapes checked against {@code expected}, every value
     * finite), in {@code manager}. Call {@link #info} first: it verifies the digests.
     */
    public Map<String, NDArray> delta(String generation, long round, int replica, Map<String, long[]> expected,
                                      NDManager manager) throws IOException {
        return Checkpoint.readTensors(dir(generation, round, replica), DELTA, expected, manager);
    }

    /** Deletes a replica's round directory, and the round's directory once no replica's is left. */
    public void delete(String generation, long round, int replica) throws IOException {
        Path dir = dir(generation, round, replica);
        Checkpoint.delete(dir);
        try {
            Files.deleteIfExists(dir.getParent());
        } catch (DirectoryNotEmptyException othersLeft) {
            // the other replicas delete theirs
        }
    }

    /** Deletes every generation but {@code keep} (rounds of replicas that no checkpoint can restore). */
    public void deleteGenerationsBut(String keep) throws IOException {
        if (!Files.isDirectory(root)) {
            return;
        }
        List<Path> doomed;
        try (Stream<Path> entries = Files.list(root)) {
            doomed = entries.filter(p -> !p.getFileName().toString().equals(keep)).toList();
        }
        for (Path p : doomed) {
            try {
                Checkpoint.delete(p);
            } catch (NoSuchFileException gone) {
                // deleted meanwhile
            }
        }
    }
}
