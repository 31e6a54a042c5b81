package dev.momstream.operators.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.momstream.trainer.config.Json;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class VersionLedgerTest {

    private static TrainerSnapshot snap(long id, String path, long step, long... offsets) {
        Lineage l = new Lineage();
        for (long o : offsets) {
            l.add(new dev.momstream.operators.records.DocRef("in", 0, o));
        }
        return new TrainerSnapshot(id, path, "sum-" + path, step, step * 100, 1000 + id, l.ranges(), null);
    }

    @Test
    void aCompletedCheckpointBecomesTheVersionAndAbsorbsSupersededOnes() {
        VersionLedger ledger = new VersionLedger();
        ledger.add(snap(1, "c1", 10, 0, 1));
        ledger.add(snap(2, "c2", 20, 2, 3));   // checkpoint 2 will be aborted
        ledger.add(snap(3, "c3", 30, 4));
        Publication v3 = ledger.complete(3).orElseThrow();
        assertEquals(3, v3.version());
        assertEquals(0, v3.previousVersion());
        assertEquals(List.of(new SourceRanges("in", 0, List.of(new OffsetRange(0, 4)))), v3.lineage());
        assertTrue(ledger.complete(1).isEmpty(), "a late notification publishes nothing");
        assertTrue(ledger.complete(2).isEmpty());
        assertEquals(Set.of("c3"), ledger.referencedPaths());
    }

    @Test
    void idleCheckpointsPublishNothingAndVersionsOnlyIncrease() {
        VersionLedger ledger = new VersionLedger();
        ledger.add(snap(1, "c1", 0));
        assertTrue(ledger.complete(1).isEmpty(), "nothing trained yet");
        ledger.add(snap(2, "c2", 5, 0));
        assertEquals(2, ledger.complete(2).orElseThrow().version());
        ledger.add(snap(3, "c2", 5));
        assertTrue(ledger.complete(3).isEmpty(), "no step since version 2");
        ledger.add(snap(4, "c4", 6, 1));
        Publication v4 = ledger.complete(4).orElseThrow();
        assertEquals(2, v4.previousVersion());
        assertEquals(5, v4.previousStep());
        assertEquals(4, ledger.lastPublished());
    }

    @Test
    void retentionKeepsTheNewestVersionsAndAnythingStillReferenced() {
        VersionLedger ledger = new VersionLedger();
        for (long id = 1; id <= 4; id++) {
            ledger.add(snap(id, "c" + id, id * 10, id));
            ledger.complete(id).orElseThrow();
        }
        ledger.add(snap(5, "c1", 40)); // a pending snapshot still points at c1 (hypothetically)
        assertEquals(List.of("c2"), ledger.expire(2));
        assertEquals(Set.of("c1", "c3", "c4"), ledger.referencedPaths());
    }

    /** Restored from checkpoint 4, whose state still held 3 as pending although version 3 was published. */
    @Test
    void aRestoreRepublishesVersionsPublishedAfterTheRestoredSnapshotAsThemselves() {
        VersionLedger ledger = new VersionLedger();
        ledger.add(snap(1, "c1", 10, 0));
        ledger.complete(1).orElseThrow();
        ledger.add(snap(2, "c2", 20, 1)); // checkpoint 2 was aborted
        ledger.add(snap(3, "c3", 30, 2));
        ledger.add(snap(4, "c4", 40, 3));
        VersionLedger restored = VersionLedger.of(ledger.state());
        List<Publication> again = restored.restored(4, version -> version == 3);
        assertEquals(List.of(3L, 4L), again.stream().map(Publication::version).toList());
        assertEquals(List.of(new SourceRanges("in", 0, List.of(new OffsetRange(1, 2)))), again.get(0).lineage(),
                "the aborted checkpoint's documents join version 3");
        assertEquals(List.of(new SourceRanges("in", 0, List.of(new OffsetRange(3, 3)))), again.get(1).lineage());
        assertEquals(3, again.get(1).previousVersion());

        // without a card for 3 (its checkpoint never completed), everything joins version 4
        List<Publication> merged = VersionLedger.of(ledger.state()).restored(4, version -> false);
        assertEquals(List.of(4L), merged.stream().map(Publication::version).toList());
        assertEquals(List.of(new SourceRanges("in", 0, List.of(new OffsetRange(1, 3)))), merged.get(0).lineage());
    }

    @Test
    void theLedgerSurvivesItsJsonForm() {
        VersionLedger ledger = new VersionLedger();
        ledger.add(snap(1, "c1", 10, 0));
        ledger.complete(1);
        ledger.add(snap(2, "c2", 20, 1, 2));
        VersionLedger back = VersionLedger.of(Json.read(Json.write(ledger.state()), VersionLedger.State.class));
        assertEquals(ledger.state(), back.state());
        assertEquals(List.of(new SourceRanges("in", 0, List.of(new OffsetRange(1, 2)))),
                back.complete(2).orElseThrow().lineage());
    }
}
