package dev.momstream.operators.diloco;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.momstream.operators.train.OffsetRange;
import dev.momstream.operators.train.SourceRanges;
import java.util.List;
import org.junit.jupiter.api.Test;

/** How old replicas' entries combine when the number of replicas changes. */
class RescaleTest {

    private static final int H = 10;

    private static List<SourceRanges> docs(long first, long last) {
        return List.of(new SourceRanges("in", 0, List.of(new OffsetRange(first, last))));
    }

    /** An entry of replica {@code k} of 2 at checkpoint 7. */
    private static ReplicaEntry entry(int k, long step, long epoch, boolean waiting, long tokensSinceSync,
                                     List<SourceRanges> round, List<SourceRanges> lastRound) {
        return new ReplicaEntry(k, 2, "p2-fresh", 7, "/run/checkpoints/ckpt-7/replica-" + k, "sum", step,
                1000 + tokensSinceSync, 1000, epoch, waiting, epoch * H, 5000, round, lastRound, List.of(), null);
    }

    @Test
    void replicasInTheSameRoundAreAveragedWithTheirTrainingSinceTheRoundPending() {
        Rescale r = Rescale.of(List.of(
                entry(1, 14, 1, false, 40, docs(20, 23), docs(0, 9)),
                entry(0, 17, 1, false, 70, docs(10, 16), docs(0, 9))), H);
        assertEquals(0, r.globalFrom().replica());
        assertEquals(List.of(false, false), r.olds().stream().map(o -> o.caughtUp()).toList());
        assertEquals(17, r.step(), "the furthest replica's step");
        assertEquals(1, r.epoch());
        assertEquals(5000 + 40 + 70, r.globalTokens());
        assertEquals(List.of(new SourceRanges("in", 0, List.of(new OffsetRange(10, 16), new OffsetRange(20, 23)))),
                r.pending());
    }

    @Test
    void aReplicaWaitingInTheRoundItsPeerFinishedIsCaughtUpAndTheRoundIsPendingForReplica0() {
        // replica 0 sent its pseudo-gradient of round 2 and waited; replica 1 finished round 2 and trained on
        Rescale r = Rescale.of(List.of(
                entry(0, 20, 1, true, 100, docs(30, 39), docs(0, 9)),
                entry(1, 23, 2, false, 30, docs(50, 52), docs(30, 49))), H);
        assertEquals(1, r.globalFrom().replica(), "the newest global weights");
        assertEquals(List.of(true, false), r.olds().stream().map(o -> o.caughtUp()).toList());
        assertEquals(23, r.step());
        assertEquals(5000 + 30, r.globalTokens());
        assertEquals(docs(30, 52), r.pending(), "round 2 (not in replica 0's last snapshot) and replica 1's training since");
    }

    @Test
    void aReplicaARoundBehindThatDidNotWaitInItIsRefused() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Rescale.of(List.of(
                entry(0, 17, 1, false, 70, docs(10, 16), docs(0, 9)),
                entry(1, 23, 2, false, 30, docs(50, 52), docs(30, 49))), H));
        assertTrue(e.getMessage().contains("not a consistent checkpoint"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> Rescale.of(List.of(
                entry(0, 17, 1, false, 70, docs(10, 16), docs(0, 9))), H), "replica 1's entry is missing");
    }
}
