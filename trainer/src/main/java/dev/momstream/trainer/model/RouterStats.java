package dev.momstream.trainer.model;

/**
 * Telemetry of one router call.
 *
 * @param chunk chunk index
 * @param round round index within the chunk
 * @param step attention or FFN
 * @param share per class, the fraction of (token, slot) picks it received; the last class is
 *     SKIP when the pool has it
 * @param entropy mean over tokens of the router distribution's entropy (nats)
 * @param skip whether the last class is SKIP
 */
public record RouterStats(int chunk, int round, Step step, double[] share, double entropy, boolean skip) {

    /** Share of picks that went to SKIP (0 when the pool has none). */
    public double skipShare() {
        return skip ? share[share.length - 1] : 0.0;
    }

    /** Label of class {@code i}: the module index, or {@code skip}. */
    public String classLabel(int i) {
        return skip && i == share.length - 1 ? "skip" : Integer.toString(i);
    }
}
