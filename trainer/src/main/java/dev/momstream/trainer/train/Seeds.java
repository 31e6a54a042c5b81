package dev.momstream.trainer.train;

/** Derives independent seeds from (seed, step, micro-batch) with SplitMix64 finalisers. */
public final class Seeds {
    private Seeds() {}

    public static long mix(long seed, long step, long micro) {
        return splitMix(splitMix(splitMix(seed) ^ step) ^ micro);
    }

    static long splitMix(long z) {
        z += 0x9E3779B97F4A7C15L;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
