package dev.momstream.pipeline.report;

import java.util.List;

/**
 * Mean and spread of a few values (one per seed), and the two-sided 95% interval of their mean
 * by Student's t: with three seeds the interval is wide (t = 4.30), which is the honest width.
 *
 * @param n values
 * @param mean their mean (NaN when n = 0)
 * @param sd sample standard deviation (NaN when n < 2)
 */
record Spread(int n, double mean, double sd) {
    /** t quantiles 0.975 for 1..10 degrees of freedom. */
    private static final double[] T975 = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228};

    static Spread of(List<Double> values) {
        int n = values.size();
        double mean = values.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
        double ss = values.stream().mapToDouble(v -> (v - mean) * (v - mean)).sum();
        return new Spread(n, mean, n < 2 ? Double.NaN : Math.sqrt(ss / (n - 1)));
    }

    /** Half-width of the 95% interval of the mean (NaN with fewer than two values). */
    double halfWidth() {
        if (n < 2) {
            return Double.NaN;
        }
        double t = n - 1 <= T975.length ? T975[n - 2] : 1.96;
        return t * sd / Math.sqrt(n);
    }

    double low() {
        return mean - halfWidth();
    }

    double high() {
        return mean + halfWidth();
    }

    /** {@code 5.123 ± 0.012 (3)}: mean, standard deviation over seeds, count. */
    String format(String pattern) {
        if (n == 0) {
            return "not run";
        }
        String m = String.format(pattern, mean);
        return n < 2 ? m + " (1 seed)" : m + " ± " + String.format(pattern.replace("+", ""), sd) + " (" + n + ")";
    }
}
