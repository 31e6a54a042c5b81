package dev.momstream.operators.train;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.LongPredicate;

/**
 * Decides which checkpoints become model versions. Pure bookkeeping, kept (as {@link State}) in
 * the train operator's Flink state, so that it survives restores.
 *
 * <p>Rules: a snapshot is pending until its checkpoint completes; the completed checkpoint
 * becomes version = its id if it trained steps since the last version (an idle checkpoint
 * publishes nothing); versions only increase; pending snapshots older than a completed one are
 * superseded (their checkpoints were aborted, or their notification was skipped) and their
 * lineage is merged into the new version, because its weights include that training.
 */
public final class VersionLedger {

    /** A published version whose trainer checkpoint is still on disk. */
    public record Retained(long version, String path, long step) {
    }

    /** The ledger's persistent form. */
    public record State(long lastPublished, long lastPublishedStep, List<TrainerSnapshot> pending,
                        List<Retained> retained) {
        public State {
            pending = List.copyOf(pending);
            retained = List.copyOf(retained);
        }
    }

    private long lastPublished;
    private long lastPublishedStep;
    private final List<TrainerSnapshot> pending = new ArrayList<>();
    private final List<Retained> retained = new ArrayList<>();

    /** An empty ledger: nothing published. */
    public VersionLedger() {
    }

    public static VersionLedger of(State state) {
        VersionLedger ledger = new VersionLedger();
        ledger.lastPublished = state.lastPublished();
        ledger.lastPublishedStep = state.lastPublishedStep();
        ledger.pending.addAll(state.pending());
        ledger.retained.addAll(state.retained());
        return ledger;
    }

    public State state() {
        return new State(lastPublished, lastPublishedStep, pending, retained);
    }

    /** Records the snapshot of a checkpoint in progress; ids must increase. */
    public void add(TrainerSnapshot snapshot) {
        long newest = latest().map(TrainerSnapshot::checkpointId).orElse(lastPublished);
        if (snapshot.checkpointId() <= newest) {
            throw new IllegalStateException("checkpoint " + snapshot.checkpointId() + " is not newer than " + newest);
        }
        pending.add(snapshot);
    }

    /** The newest snapshot not yet resolved, if any. */
    public Optional<TrainerSnapshot> latest() {
        return pending.isEmpty() ? Optional.empty() : Optional.of(pending.get(pending.size() - 1));
    }

    /**
     * Checkpoint {@code checkpointId} completed: the version to publish, if it trained anything
     * new. Unknown or old ids (a late notification) publish nothing.
     */
    public Optional<Publication> complete(long checkpointId) {
        TrainerSnapshot done = pending.stream().filter(s -> s.checkpointId() == checkpointId).findFirst().orElse(null);
        if (done == null || checkpointId <= lastPublished) {
            return Optional.empty();
        }
        Lineage merged = new Lineage();
        List<TrainerSnapshot> resolved = pending.stream().filter(s -> s.checkpointId() <= checkpointId).toList();
        resolved.forEach(s -> merged.addAll(s.lineage()));
        pending.removeAll(resolved);
        if (done.step() <= lastPublishedStep) {
            if (!merged.isEmpty()) {
                throw new IllegalStateException("checkpoint " + checkpointId + " has lineage but no new steps");
            }
            return Optional.empty();
        }
        Publication publication = new Publication(done, lastPublished, lastPublishedStep, merged.ranges());
        lastPublished = checkpointId;
        lastPublishedStep = done.step();
        retained.add(new Retained(checkpointId, done.path(), done.step()));
        return Optional.of(publication);
    }

    /**
     * After a restore from checkpoint {@code checkpointId}, which completed: the versions to
     * publish again, oldest first. A completion notification may arrive after the next snapshot,
     * so the restored state can still hold as pending a snapshot whose version was published
     * before the failure ({@code published} says which); such a version is republished as itself,
     * with its own lineage, rather than merged into the next one, which would name its documents
     * twice. Older pending snapshots that were never published (aborted checkpoints) still merge
     * into the next version.
     */
    public List<Publication> restored(long checkpointId, LongPredicate published) {
        List<Publication> out = new ArrayList<>();
        for (TrainerSnapshot s : List.copyOf(pending)) {
            long id = s.checkpointId();
            if (id == checkpointId || (id < checkpointId && published.test(id))) {
                complete(id).ifPresent(out::add);
            }
        }
        return out;
    }

    /**
     * Forgets all but the newest {@code keep} retained versions (0 keeps all) and returns the
     * trainer checkpoint paths that nothing references any more.
     */
    public List<String> expire(int keep) {
        if (keep <= 0 || retained.size() <= keep) {
            return List.of();
        }
        List<Retained> dropped = new ArrayList<>(retained.subList(0, retained.size() - keep));
        retained.removeAll(dropped);
        Set<String> live = referencedPaths();
        return dropped.stream().map(Retained::path).filter(p -> !live.contains(p)).distinct().toList();
    }

    /** Every trainer checkpoint path a pending snapshot or a retained version points at. */
    public Set<String> referencedPaths() {
        Set<String> paths = new HashSet<>();
        pending.forEach(s -> paths.add(s.path()));
        retained.forEach(r -> paths.add(r.path()));
        return paths;
    }

    public long lastPublished() {
        return lastPublished;
    }

    public long lastPublishedStep() {
        return lastPublishedStep;
    }
}
