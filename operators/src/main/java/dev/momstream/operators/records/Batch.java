package dev.momstream.operators.records;

import java.util.ArrayList;
import java.util.List;

/** One optimizer step's training windows (batchSize x gradAccum), in arrival order. */
public record Batch(Window[] windows) {

    /** The windows' tokens split into micro-batches of {@code batchSize} rows each. */
    public List<int[][]> microBatches(int batchSize) {
        if (windows.length % batchSize != 0) {
            throw new IllegalStateException(windows.length + " windows do not split into micro-batches of " + batchSize);
        }
        List<int[][]> out = new ArrayList<>();
        for (int start = 0; start < windows.length; start += batchSize) {
            int[][] rows = new int[batchSize][];
            for (int r = 0; r < batchSize; r++) {
                rows[r] = windows[start + r].tokens();
            }
            out.add(rows);
        }
        return out;
    }
}
