package dev.momstream.pipeline.report;

import dev.momstream.trainer.experiment.Grid;

/**
 * A claim tested on paired seeds: the per-seed difference {@code arm - other} of the chosen loss,
 * its mean, standard deviation and 95% interval, and the verdict the interval gives.
 *
 * @param difference the per-seed differences (nats)
 * @param verdict {@code reproduced}, {@code contradicted}, {@code inconclusive} or {@code not run}
 */
record ClaimCheck(Grid.Claim claim, Spread difference, String verdict) {
    static final String REPRODUCED = "reproduced";
    static final String CONTRADICTED = "contradicted";
    static final String INCONCLUSIVE = "inconclusive";
    static final String NOT_RUN = "not run";

    /**
     * {@code lower}: reproduced when the whole interval is below 0, contradicted when it is above
     * 0; {@code similar}: reproduced when the interval lies within ±tolerance, contradicted when it
     * lies wholly outside. Fewer than two paired seeds give no interval: inconclusive; none: not run.
     */
    static ClaimCheck of(Grid.Claim claim, Spread d) {
        String verdict;
        if (d.n() == 0) {
            verdict = NOT_RUN;
        } else if (d.n() < 2) {
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

    /** Whether the mean difference points the claim's way (lower, or within the tolerance). */
    boolean sideOfClaim() {
        return claim.kind().equals("lower") ? difference.mean() < 0 : Math.abs(difference.mean()) < claim.tolerance();
    }

    /** The verdict and its grounds in one sentence, for readers who skip the table. */
    String sentence() {
        String arms = "`" + claim.arm() + "` - `" + claim.other() + "`"
                + (claim.metric().equals("removed") ? " (right after removal)" : "");
        return switch (verdict) {
            case NOT_RUN -> "not run: no seed of both arms has finished.";
            case REPRODUCED, CONTRADICTED -> String.format("%s: %s = %+.4f nats, 95%% interval [%+.4f, %+.4f] "
                    + "over %d seeds.", verdict, arms, difference.mean(), difference.low(), difference.high(),
                    difference.n());
            default -> difference.n() < 2
                    ? String.format("inconclusive: %s = %+.4f nats on one seed, %s the claim; one seed gives no "
                            + "interval.", arms, difference.mean(), sideOfClaim() ? "on the side of" : "against")
                    : String.format("inconclusive: %s = %+.4f nats, 95%% interval [%+.4f, %+.4f] over %d seeds "
                            + "straddles the claim's boundary.", arms, difference.mean(), difference.low(),
                            difference.high(), difference.n());
        };
    }
}
