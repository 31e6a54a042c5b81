package dev.momstream.pipeline.job;

import dev.momstream.operators.train.RunLayout;
import dev.momstream.trainer.checkpoint.Checkpoint;
import dev.momstream.trainer.config.Configs;
import dev.momstream.trainer.config.Json;
import dev.momstream.trainer.io.DirectoryLock;
import dev.momstream.trainer.run.MetricsLog;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A streaming run's directory:
 * <pre>
 * mom.lock            held by the one process writing here (see {@link DirectoryLock}), with its PID
 * run.json            run id and the configurations it started with, written once its job started
 * config.json         the same configurations in the trainer's format (what `mom eval` reads)
 * kafka/              the embedded broker's data, when the run started one
 * flink-checkpoints/  Flink's checkpoints (&lt;job id&gt;/chk-&lt;n&gt;), the newest retained on cancel; a stop
 *                     of several trainers' savepoints (savepoints/savepoint-&lt;n&gt;)
 * flink-tmp/          the MiniCluster's temporary files, removed on a clean stop, and after kill -9
 *                     at the next start
 * flink-cluster/      the local multi-process cluster of a run with several trainers: conf/, log/
 * sync/               the trainers' synchronisation rounds (several trainers)
 * checkpoints/        trainer checkpoints, ckpt-&lt;checkpoint id&gt;/ (with several trainers replica-&lt;k&gt;/ and
 *                     global/ in it)
 * versions/           lineage cards, v&lt;version&gt;.json
 * metrics.jsonl       one line per logged step (the offline run's format), plus plots
 * </pre>
 * A run continues where it stopped when started again on the same directory: same run id, same
 * configurations, restored from the newest retained Flink checkpoint. A directory whose job never
 * started holds no {@code run.json}, and one whose job never completed a checkpoint holds
 * nothing to continue from: both start a new run.
 */
public final class RunDirectory {

    public static final String RUN_FILE = "run.json";
    public static final String CONFIG_FILE = "config.json";
    public static final String KAFKA = "kafka";
    public static final String FLINK_CHECKPOINTS = "flink-checkpoints";
    public static final String FLINK_TMP = "flink-tmp";
    public static final String FLINK_CLUSTER = "flink-cluster";
    /** Where a run of replicas keeps the savepoints its stops take, in {@code flink-checkpoints/}. */
    public static final String SAVEPOINTS = "savepoints";
    private static final Pattern CHK = Pattern.compile("(?:chk|savepoint)-(\\d+)");
    private static final Pattern TRAINER_CHECKPOINT = Pattern.compile("ckpt-(\\d+)");
    private static final Pattern UNSAFE = Pattern.compile("[^a-zA-Z0-9._-]");

    /**
     * What {@code run.json} holds.
     *
     * @param diloco whether the run trains DiLoCo replicas (it started with more than one trainer;
     *               it keeps doing so with any number of them, also one)
     */
    public record RunInfo(String runId, Configs configs, long createdAt, boolean diloco) {
    }

    private final Path dir;

    public RunDirectory(Path dir) {
        this.dir = dir.toAbsolutePath().normalize();
    }

    public Path path() {
        return dir;
    }

    public RunLayout layout() {
        return new RunLayout(dir);
    }

    public Path metricsFile() {
        return dir.resolve(MetricsLog.FILE);
    }

    public Path flinkCluster() {
        return dir.resolve(FLINK_CLUSTER);
    }

    public Path kafkaData() {
        return dir.resolve(KAFKA);
    }

    /** The run's identity, if it has started before. */
    public Optional<RunInfo> info() throws IOException {
        Path file = dir.resolve(RUN_FILE);
        return Files.exists(file) ? Optional.of(Json.read(Files.readString(file), RunInfo.class)) : Optional.empty();
    }

    /** A new run for this directory: a fresh run id derived from the directory name; nothing is written. */
    public RunInfo newRun(Configs configs, boolean diloco) {
        String base = UNSAFE.matcher(dir.getFileName().toString()).replaceAll("_");
        return new RunInfo(base + "-" + UUID.randomUUID().toString().substring(0, 8), configs,
                System.currentTimeMillis(), diloco);
    }

    /** Makes this directory the run {@code info} (once its job has started). */
    public void record(RunInfo info) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve(RUN_FILE), Json.write(info));
        Files.writeString(dir.resolve(CONFIG_FILE), Json.write(info.configs()));
    }

    /**
     * Removes {@code flink-tmp/}: a clean stop leaves nothing there, so what is left belongs to a
     * run that was killed (the caller holds the directory's lock, so no live run uses it).
     *
     * @return how many files were removed
     */
    public long removeFlinkTmp() throws IOException {
        Path tmp = dir.resolve(FLINK_TMP);
        if (!Files.exists(tmp, LinkOption.NOFOLLOW_LINKS)) {
            return 0;
        }
        List<Path> doomed;
        try (Stream<Path> walk = Files.walk(tmp)) {
            doomed = walk.sorted(Comparator.reverseOrder()).toList();
        }
        long files = doomed.stream().filter(p -> !Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)).count();
        for (Path p : doomed) {
            Files.deleteIfExists(p);
        }
        return files;
    }

    public Path savepoints() {
        return dir.resolve(FLINK_CHECKPOINTS).resolve(SAVEPOINTS);
    }

    /**
     * Renames a savepoint that Flink wrote into {@link #savepoints()} after its checkpoint id
     * ({@code savepoint-<id>}), so that it orders with the retained checkpoints (a file-system
     * savepoint refers to its files relatively, so it can move).
     */
    public Path adoptSavepoint(Path written) throws IOException {
        Path named = savepoints().resolve("savepoint-" + RestorePoint.checkpointId(written));
        return Files.move(written, named, StandardCopyOption.ATOMIC_MOVE);
    }

    /**
     * The newest retained Flink checkpoint ({@code flink-checkpoints/<job>/chk-<n>} with metadata)
     * or savepoint ({@code flink-checkpoints/savepoints/savepoint-<n>}), by checkpoint id.
     */
    public Optional<Path> latestRetainedCheckpoint() throws IOException {
        Path root = dir.resolve(FLINK_CHECKPOINTS);
        if (!Files.isDirectory(root)) {
            return Optional.empty();
        }
        try (Stream<Path> walk = Files.walk(root, 2)) {
            return walk.filter(p -> CHK.matcher(p.getFileName().toString()).matches())
                    .filter(p -> Files.exists(p.resolve(RestorePoint.METADATA)))
                    .max(Comparator.comparingLong(RunDirectory::checkpointId));
        }
    }

    /**
     * The trainer's step in a retained Flink checkpoint: that of the newest trainer checkpoint
     * written at or before it (a checkpoint with no step since the previous one reuses that one's
     * files, and later ones were never completed). With DiLoCo replicas, the global weights' step
     * ({@code ckpt-<id>/global/}).
     */
    public long restoredStep(Path retained) throws IOException {
        long id = checkpointId(retained);
        Path checkpoints = layout().checkpoints();
        Optional<Path> trainer = Optional.empty();
        if (Files.isDirectory(checkpoints)) {
            try (Stream<Path> entries = Files.list(checkpoints)) {
                trainer = entries.mapToLong(RunDirectory::trainerCheckpointId).filter(n -> n >= 0 && n <= id).boxed()
                        .sorted(Comparator.reverseOrder()).map(this::stepRecord).flatMap(Optional::stream).findFirst();
            }
        }
        return Checkpoint.readState(trainer.orElseThrow(() -> new IllegalStateException(retained + " is a retained"
                + " Flink checkpoint, but " + checkpoints + " holds no trainer checkpoint written at or before it")))
                .step();
    }

    /**
     * Where trainer checkpoint {@code ckpt-<n>} records its step: in itself, or with DiLoCo replicas
     * in its global weights; neither when it holds only replicas' files (replica 0 reused older ones).
     */
    private Optional<Path> stepRecord(long n) {
        return Stream.of(layout().checkpoint(n), layout().globalCheckpoint(n))
                .filter(p -> Files.exists(p.resolve(Checkpoint.STATE))).findFirst();
    }

    private static long trainerCheckpointId(Path p) {
        Matcher m = TRAINER_CHECKPOINT.matcher(p.getFileName().toString());
        return m.matches() ? Long.parseLong(m.group(1)) : -1;
    }

    /** The id of a retained Flink checkpoint ({@code chk-<id>}) or adopted savepoint, -1 for another name. */
    static long checkpointId(Path chk) {
        Matcher m = CHK.matcher(chk.getFileName().toString());
        return m.matches() ? Long.parseLong(m.group(1)) : -1;
    }
}
