package dev.momstream.operators.train;

/** Consecutive Kafka offsets, both ends included. */
public record OffsetRange(long first, long last) {

    public OffsetRange {
        if (first < 0 || last < first) {
            throw new IllegalArgumentException("bad offset range " + first + ".." + last);
        }
    }

    public long count() {
        return last - first + 1;
    }
}
