package dev.momstream.operators.train;

import java.util.List;

/** The offsets of one topic partition whose documents were trained on, as sorted disjoint ranges. */
public record SourceRanges(String topic, int partition, List<OffsetRange> ranges) {

    public SourceRanges {
        ranges = List.copyOf(ranges);
    }

    /** How many documents the ranges name. */
    public long documents() {
        return ranges.stream().mapToLong(OffsetRange::count).sum();
    }
}
