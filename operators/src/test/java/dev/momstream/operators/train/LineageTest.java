package dev.momstream.operators.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.momstream.operators.records.DocRef;
import java.util.List;
import org.junit.jupiter.api.Test;

class LineageTest {

    @Test
    void offsetsCoalesceIntoRangesWithGapsWhereRecordsWereRejected() {
        Lineage lineage = new Lineage();
        for (long o : new long[] {0, 1, 2, 4, 5, 9, 3, 7}) {
            lineage.add(new DocRef("in", 1, o));
        }
        lineage.add(new DocRef("in", 0, 42));
        assertEquals(List.of(
                new SourceRanges("in", 0, List.of(new OffsetRange(42, 42))),
                new SourceRanges("in", 1, List.of(new OffsetRange(0, 5), new OffsetRange(7, 7), new OffsetRange(9, 9)))),
                lineage.ranges());
        assertEquals(9, lineage.documents());
    }

    @Test
    void mergingIntervalsJoinsAdjacentRangesAndRefusesOverlaps() {
        Lineage merged = new Lineage();
        merged.addAll(List.of(new SourceRanges("in", 0, List.of(new OffsetRange(0, 9)))));
        merged.addAll(List.of(new SourceRanges("in", 0, List.of(new OffsetRange(10, 19), new OffsetRange(30, 31)))));
        assertEquals(List.of(new SourceRanges("in", 0, List.of(new OffsetRange(0, 19), new OffsetRange(30, 31)))),
                merged.ranges());
        assertThrows(IllegalStateException.class, () -> merged.add(new DocRef("in", 0, 15)));
        assertThrows(IllegalStateException.class,
                () -> merged.addAll(List.of(new SourceRanges("in", 0, List.of(new OffsetRange(25, 30))))));
    }
}
