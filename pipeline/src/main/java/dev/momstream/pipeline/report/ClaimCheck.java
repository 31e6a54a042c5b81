package dev.momstream.pipeline.report;

import dev.momstream.trainer.experiment.Grid;

/**
 * A claim tested on paired seeds: the per-seed difference {@code arm - other} of the chosen loss,
 * its mean, standard deviation and 95% interval, and the verdict the interval gives.
 *
 * @param difference the per-seed differences (nats)
 * @param verdict {@code reproduced}, {@code contradicted} or {@code inconclusive}
 */
record ClaimCheck(Grid.Claim claim, Spread difference, String verdict) {
    static final String REPRODUCED = "reproduced";
    static final String CONTRADICTED = "contradicted";
    static final String INCONCLUSIVE = "inconclusive";

    /**
     * {@code lower}: reproduced when the whole interval is below 0, contradicted when it is above
     * 0; {@code similar}: reproduced when the interval lies within ±tolerance, contradicted when it
     * lies wholly outside. Fewer than two paired seeds give no interval: inconclusive.
     */
    static ClaimCheck of(Grid.Claim claim, Spread d) {
        String verdict;
        if (d.n() < 2) {
            verdict = INCONCLUSIVE;
        } else if (claim.kind().equals("lower")) {
            verdict = d.high() < 0 ? REPRODUCED : d.low() > 0 ? CONTRADICTED : INCONCLUSIVE;
        } else {
            double t = claim.tolerance();
            verdict = d.low() > -t && d.high() < t ? REPRODUCED
                    : d.low() >= t || d.high() <= -t ? CONTRADICTED : INCONCLUSIVE;
        }
        return new ClaimCheck(claim, d, verdict);
    }
}
