package dev.momstream.trainer.train;

import dev.momstream.trainer.model.RouterStats;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Aggregates of routing telemetry for metrics and logs. */
public final class RoutingSummary {
    private RoutingSummary() {}

    public static double skipRate(List<RouterStats> calls) {
        double sum = 0;
        int n = 0;
        for (RouterStats s : calls) {
            if (s.skip()) {
                sum += s.skipShare();
                n++;
            }
        }
        return n == 0 ? 0 : sum / n;
    }

    /**
     * Share of picks of every class of every router call, keyed
     * {@code c<chunk>.r<round>.<attn|ffn>.<module|skip>}, e.g. {@code c0.r2.ffn.skip}: the
     * numbers behind the routing heat map (round x module).
     */
    public static Map<String, Double> shares(List<RouterStats> calls) {
        Map<String, Double> out = new LinkedHashMap<>();
        for (RouterStats s : calls) {
            for (int i = 0; i < s.share().length; i++) {
                out.put("c" + s.chunk() + ".r" + s.round() + "." + s.step().id + "." + s.classLabel(i),
                        s.share()[i]);
            }
        }
        return out;
    }

    public static double meanEntropy(List<RouterStats> calls) {
        return calls.stream().mapToDouble(RouterStats::entropy).average().orElse(0);
    }
}
