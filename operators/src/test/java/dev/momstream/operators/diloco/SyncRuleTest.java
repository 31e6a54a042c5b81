package dev.momstream.operators.diloco;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SyncRuleTest {

    @Test
    void aReplicaWaitsForEveryAnnouncedCheckpointItHasNotTakenAndThatWasNotAborted() {
        assertEquals(List.of(7L, 9L), SyncRule.awaited(List.of(9L, 5L, 7L, 7L), 6, Set.of()));
        assertEquals(List.of(9L), SyncRule.awaited(List.of(9L, 5L, 7L), 6, Set.of(7L)), "7 was aborted");
        assertEquals(List.of(), SyncRule.awaited(List.of(9L, 5L, 7L), 9, Set.of()), "it took 9 (and 7 was abandoned)");
        assertEquals(List.of(), SyncRule.awaited(List.of(), 0, Set.of()), "nothing announced");
    }
}
