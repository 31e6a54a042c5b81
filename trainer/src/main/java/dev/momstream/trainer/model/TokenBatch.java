package dev.momstream.trainer.model;

/**
 * Token ids of a batch, row-major [rows, cols], on the host.
 *
 * @param ids {@code rows * cols} token ids
 */
public record TokenBatch(long[] ids, int rows, int cols) {

    public TokenBatch {
        if (rows < 1 || cols < 1 || ids.length != (long) rows * cols) {
            throw new IllegalArgumentException("a batch of " + rows + " x " + cols + " needs "
                    + (long) rows * cols + " ids, got " + ids.length);
        }
    }

    /** Inputs (first {@code n-1}) and targets (last {@code n-1}) of windows of n tokens. */
    public static TokenBatch[] inputsAndTargets(int[][] windows) {
        int rows = windows.length;
        int cols = windows[0].length - 1;
        long[] in = new long[rows * cols];
        long[] out = new long[rows * cols];
        for (int r = 0; r < rows; r++) {
            if (windows[r].length != cols + 1) {
                throw new IllegalArgumentException("window " + r + " has " + windows[r].length
                        + " tokens, expected " + (cols + 1));
            }
            for (int j = 0; j < cols; j++) {
                in[r * cols + j] = windows[r][j];
                out[r * cols + j] = windows[r][j + 1];
            }
        }
        return new TokenBatch[] {new TokenBatch(in, rows, cols), new TokenBatch(out, rows, cols)};
    }

    public int tokens() {
        return rows * cols;
    }
}
