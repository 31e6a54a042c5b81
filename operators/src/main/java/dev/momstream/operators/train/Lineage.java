package dev.momstream.operators.train;

import dev.momstream.operators.records.DocRef;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Which input documents were trained on, per topic partition, kept as offset ranges: rejected
 * records leave gaps, everything else coalesces, so an interval of training stays a few numbers
 * per partition however many documents it consumed. Mutable; not thread-safe.
 */
public final class Lineage {

    private record Partition(String topic, int partition) {
    }

    private static final Comparator<Partition> ORDER =
            Comparator.comparing(Partition::topic).thenComparingInt(Partition::partition);

    // Per partition: first offset of a range -> last offset of that range.
    private final Map<Partition, TreeMap<Long, Long>> ranges = new TreeMap<>(ORDER);

    /** Records one trained document. Adding an offset twice is a bug in the caller and fails. */
    public void add(DocRef ref) {
        add(new Partition(ref.topic(), ref.partition()), ref.offset(), ref.offset());
    }

    /** Adds every range of {@code more} (for merging intervals). */
    public void addAll(List<SourceRanges> more) {
        for (SourceRanges source : more) {
            Partition p = new Partition(source.topic(), source.partition());
            source.ranges().forEach(r -> add(p, r.first(), r.last()));
        }
    }

    public boolean isEmpty() {
        return ranges.isEmpty();
    }

    /** Documents recorded. */
    public long documents() {
        return ranges().stream().mapToLong(SourceRanges::documents).sum();
    }

    /** Every partition's ranges, sorted by topic, partition and offset. */
    public List<SourceRanges> ranges() {
        List<SourceRanges> out = new ArrayList<>();
        ranges.forEach((p, byFirst) -> out.add(new SourceRanges(p.topic(), p.partition(),
                byFirst.entrySet().stream().map(e -> new OffsetRange(e.getKey(), e.getValue())).toList())));
        return out;
    }

    private void add(Partition p, long first, long last) {
        TreeMap<Long, Long> byFirst = ranges.computeIfAbsent(p, k -> new TreeMap<>());
        Map.Entry<Long, Long> before = byFirst.floorEntry(last);
        if (before != null && before.getValue() >= first) {
            throw new IllegalStateException("offsets " + first + ".." + last + " of " + p.topic() + "/" + p.partition()
                    + " overlap offsets already recorded (" + before.getKey() + ".." + before.getValue() + ")");
        }
        long from = first;
        long to = last;
        Map.Entry<Long, Long> left = byFirst.floorEntry(first);
        if (left != null && left.getValue() == first - 1) {
            from = left.getKey();
            byFirst.remove(left.getKey());
        }
        Long rightLast = byFirst.remove(last + 1);
        if (rightLast != null) {
            to = rightLast;
        }
        byFirst.put(from, to);
    }
}
