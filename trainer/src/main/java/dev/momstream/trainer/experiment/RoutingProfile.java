package dev.momstream.trainer.experiment;

import dev.momstream.trainer.config.MomConfig;
import dev.momstream.trainer.model.RouterStats;
import dev.momstream.trainer.model.Step;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Routing of a model over an evaluation set: per router call (chunk, round, attention or FFN)
 * the share of picks each class received, token-weighted over the batches.
 *
 * @param shares keyed {@code c<chunk>.r<round>.<attn|ffn>}: the share of every module, then
 *     of SKIP when the pool has it
 * @param skipRate mean SKIP share over the router calls whose pools have SKIP (0 if none)
 * @param entropy mean router entropy over tokens and calls (nats)
 * @param attnPicks real (non-SKIP) attention modules a token runs per round, averaged over calls
 *     (K when the pool has no router or no SKIP)
 * @param ffnPicks the same for FFN modules
 */
public record RoutingProfile(Map<String, double[]> shares, double skipRate, double entropy,
        double attnPicks, double ffnPicks) {

    /** Module {@code m}'s share of chunk {@code c}'s {@code step} picks, averaged over rounds: [chunk][module]. */
    public double[][] usage(MomConfig c, Step step) {
        int modules = step == Step.ATTN ? c.attnModules() : c.ffnModules();
        double[][] out = new double[c.chunks()][modules];
        for (int ch = 0; ch < c.chunks(); ch++) {
            for (int h = 0; h < c.rounds(); h++) {
                double[] s = shares.get(key(ch, h, step));
                for (int m = 0; m < modules; m++) {
                    out[ch][m] += s == null ? 1.0 / modules : s[m] / c.rounds();
                }
            }
        }
        return out;
    }

    static String key(int chunk, int round, Step step) {
        return "c" + chunk + ".r" + round + "." + step.id;
    }

    /** Accumulates router telemetry batch by batch. */
    public static final class Builder {
        private final Map<String, double[]> sums = new LinkedHashMap<>();
        private final Map<String, Boolean> skips = new LinkedHashMap<>();
        private final Map<String, Step> steps = new LinkedHashMap<>();
        private double entropySum;
        private double entropyWeight;
        private long tokens;

        /** One batch's router calls, over {@code batchTokens} tokens. */
        public void add(List<RouterStats> calls, long batchTokens) {
            tokens += batchTokens;
            for (RouterStats s : calls) {
                String k = key(s.chunk(), s.round(), s.step());
                double[] acc = sums.computeIfAbsent(k, x -> new double[s.share().length]);
                for (int i = 0; i < acc.length; i++) {
                    acc[i] += s.share()[i] * batchTokens;
                }
                skips.put(k, s.skip());
                steps.put(k, s.step());
                entropySum += s.entropy() * batchTokens;
                entropyWeight += batchTokens;
            }
        }

        public RoutingProfile build(MomConfig c) {
            Map<String, double[]> shares = new LinkedHashMap<>();
            double skip = 0;
            int skipCalls = 0;
            double[] picks = {0, 0};
            int[] calls = {0, 0};
            for (Map.Entry<String, double[]> e : sums.entrySet()) {
                double[] s = e.getValue().clone();
                for (int i = 0; i < s.length; i++) {
                    s[i] /= tokens;
                }
                shares.put(e.getKey(), s);
                double skipShare = skips.get(e.getKey()) ? s[s.length - 1] : 0;
                if (skips.get(e.getKey())) {
                    skip += skipShare;
                    skipCalls++;
                }
                int i = steps.get(e.getKey()) == Step.ATTN ? 0 : 1;
                picks[i] += c.topK() * (1 - skipShare);
                calls[i]++;
            }
            return new RoutingProfile(shares, skipCalls == 0 ? 0 : skip / skipCalls,
                    entropyWeight == 0 ? 0 : entropySum / entropyWeight,
                    calls[0] == 0 ? c.topK() : picks[0] / calls[0],
                    calls[1] == 0 ? c.topK() : picks[1] / calls[1]);
        }
    }
}
