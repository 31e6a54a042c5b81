package dev.momstream.operators.diloco;

import dev.momstream.operators.train.Lineage;
import dev.momstream.operators.train.SourceRanges;
import dev.momstream.trainer.diloco.ReplicaCheckpoint;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;

/**
 * How a job with a new number of replicas continues from the old replicas' entries of one
 * checkpoint (pure bookkeeping; {@link ReplicaCheckpoint#merge} does the tensors).
 *
 * <p>{@link SyncRule} leaves two kinds of checkpoint: all replicas in the same round, or some
 * waiting in round n with their pseudo-gradient sent while the others are past it. The newest
 * global weights (of round {@code E}, the highest among the entries) hold every replica's training
 * up to that round; a replica still waiting in round E has trained nothing since, so it is
 * <em>caught up</em>: its pseudo-gradient counts as zero. Every other replica's training since
 * round E is in no global weights yet: the new global weights are the old replicas' mean (their
 * pseudo-gradients absorbed, the outer momentum kept for the next round), and the documents and
 * tokens of that training are added to what the next published version holds.
 *
 * @param globalFrom   the entry whose global weights the merge starts from
 * @param olds         every old replica, in index order, with whether it is caught up
 * @param step         the new replicas' step: the furthest old replica's
 * @param epoch        the round the new global weights count as: {@code step / syncEvery}
 * @param globalTokens tokens in the new global weights
 * @param pending      documents in the new global weights that replica 0's last snapshot did not
 *                     count: replica 0's next version must name them
 */
public record Rescale(ReplicaEntry globalFrom, List<ReplicaCheckpoint.Old> olds, long step, long epoch,
                      long globalTokens, List<SourceRanges> pending) {

    public static Rescale of(List<ReplicaEntry> entries, int syncEvery) {
        List<ReplicaEntry> sorted = entries.stream().sorted(Comparator.comparingInt(ReplicaEntry::replica)).toList();
        int replicas = sorted.size();
        for (int k = 0; k < replicas; k++) {
            ReplicaEntry e = sorted.get(k);
            if (e.replica() != k || e.replicas() != replicas || e.checkpointId() != sorted.get(0).checkpointId()
                    || !e.generation().equals(sorted.get(0).generation())) {
                throw new IllegalStateException("the restored checkpoint holds replica entries that do not belong"
                        + " together: " + sorted.stream().map(x -> "replica " + x.replica() + "/" + x.replicas()
                        + " of checkpoint " + x.checkpointId() + " (" + x.generation() + ")").toList());
            }
        }
        long newest = sorted.stream().mapToLong(ReplicaEntry::epoch).max().orElseThrow();
        ReplicaEntry globalFrom = sorted.stream().filter(e -> e.epoch() == newest).findFirst().orElseThrow();
        Lineage pending = new Lineage();
        long tokens = globalFrom.globalTokens();
        long step = 0;
        List<ReplicaCheckpoint.Old> olds = new java.util.ArrayList<>();
        for (ReplicaEntry e : sorted) {
            boolean caughtUp = e.epoch() < newest;
            if (caughtUp && !(e.epoch() == newest - 1 && e.waiting() && e.step() == newest * syncEvery)) {
                throw new IllegalStateException("replica " + e.replica() + " of checkpoint " + e.checkpointId()
                        + " is in round " + e.epoch() + " at step " + e.step() + " while replica "
                        + globalFrom.replica() + " is past round " + newest + ": not a consistent checkpoint");
            }
            if (!caughtUp) {
                pending.addAll(e.roundLineage());
                tokens += e.tokensSeen() - e.tokensAtSync();
            }
            step = Math.max(step, e.step());
            olds.add(new ReplicaCheckpoint.Old(Path.of(e.path()), caughtUp));
        }
        if (sorted.get(0).epoch() < newest) {
            pending.addAll(globalFrom.lastRoundLineage());
        }
        return new Rescale(globalFrom, List.copyOf(olds), step, step / syncEvery, tokens, pending.ranges());
    }
}
