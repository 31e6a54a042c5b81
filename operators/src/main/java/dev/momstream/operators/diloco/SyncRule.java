package dev.momstream.operators.diloco;

import java.util.Collection;
import java.util.List;
import java.util.Set;

/**
 * When a replica may finish a synchronisation round, so that every Flink checkpoint holds the
 * replicas in the same round. Flink takes each replica's snapshot when the checkpoint's barrier
 * reaches it, and with unaligned checkpoints a replica waiting for its peers still takes one; so
 * without a rule one replica could snapshot before round n while another, which has already
 * finished round n (with the first one's pseudo-gradient, sent after its snapshot), snapshots
 * after it. Restored with the same replicas that checkpoint replays exactly (the round's files are
 * still there); but its global weights would hold training that, for the first replica, lies after
 * the checkpoint, and no other number of replicas could continue from it.
 *
 * <p>The rule: each replica announces, with its round-n file, the checkpoints it took while still
 * training towards round n. A replica finishes round n only once it has itself taken each of
 * those checkpoints, or a newer one (the older was then abandoned), or heard that it was aborted.
 * Checkpoints are then of two kinds only: every replica before round n (training, or waiting in
 * it with its own file written), or some replicas waiting in round n with their file written and
 * the others past it. A replica waiting at a synchronisation keeps taking checkpoints and reading
 * its input, so the checkpoints it waits for reach it: the rule cannot deadlock, also with aligned
 * barriers (savepoints).
 */
public final class SyncRule {

    private SyncRule() {
    }

    /**
     * The announced checkpoints this replica must still take (or see aborted) before it finishes
     * the round; empty when it may finish now.
     *
     * @param announced      every replica's announced checkpoint ids of this round
     * @param lastSnapshot   the newest checkpoint this replica has taken, 0 if none
     * @param aborted        checkpoints this replica heard were aborted
     */
    public static List<Long> awaited(Collection<Long> announced, long lastSnapshot, Set<Long> aborted) {
        return announced.stream().filter(id -> id > lastSnapshot && !aborted.contains(id)).distinct().sorted().toList();
    }
}
