package dev.momstream.pipeline.report;

import dev.momstream.trainer.run.StepMetrics;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.knowm.xchart.HeatMapChart;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

/** PNG plots of a run's metrics (XChart): the loss curve and the routing heat map (round x module). */
public final class Plots {
    public static final String LOSS = "loss.png";
    public static final String ROUTING = "routing.png";

    private Plots() {}

    /** Renders every plot the rows support into {@code dir}; returns the files written. */
    public static List<Path> renderRun(List<StepMetrics> rows, Path dir) throws IOException {
        List<Path> out = new ArrayList<>();
        if (rows.stream().anyMatch(r -> !r.skipped())) {
            out.add(lossCurve(rows, dir.resolve(LOSS)));
        }
        if (rows.stream().anyMatch(r -> r.shares() != null && !r.shares().isEmpty())) {
            out.add(routingHeatMap(rows, dir.resolve(ROUTING)));
        }
        return out;
    }

    /** Training loss per step and validation loss where evaluated. */
    public static Path lossCurve(List<StepMetrics> rows, Path file) throws IOException {
        List<StepMetrics> trained = rows.stream().filter(r -> Double.isFinite(r.loss())).toList();
        List<StepMetrics> evaluated = rows.stream().filter(r -> r.valLoss() != null && Double.isFinite(r.valLoss()))
                .toList();
        XYChart chart = Charts.xy("training loss" + (evaluated.isEmpty() ? "" : " and validation loss"), "step",
                "loss (nats)");
        XYSeries train = chart.addSeries("training", trained.stream().map(StepMetrics::step).toList(),
                trained.stream().map(StepMetrics::loss).toList());
        train.setMarker(SeriesMarkers.NONE);
        if (!evaluated.isEmpty()) {
            chart.addSeries("validation", evaluated.stream().map(StepMetrics::step).toList(),
                    evaluated.stream().map(StepMetrics::valLoss).toList())
                    .setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
        }
        return Charts.save(chart, file);
    }

    /**
     * Mean routing share over the last quarter of the logged steps: one row per (chunk, step,
     * round), one column per module (and SKIP).
     */
    public static Path routingHeatMap(List<StepMetrics> rows, Path file) throws IOException {
        List<StepMetrics> tail = rows.subList(rows.size() - Math.max(1, rows.size() / 4), rows.size());
        Map<String, Map<String, Double>> cells = new LinkedHashMap<>();
        TreeMap<String, Integer> columns = new TreeMap<>(Plots::compareClasses);
        int counted = 0;
        for (StepMetrics r : tail) {
            if (r.shares() == null || r.shares().isEmpty()) {
                continue;
            }
            counted++;
            for (Map.Entry<String, Double> e : r.shares().entrySet()) {
                int cut = e.getKey().lastIndexOf('.');
                columns.put(e.getKey().substring(cut + 1), 0);
                cells.computeIfAbsent(e.getKey().substring(0, cut), k -> new LinkedHashMap<>())
                        .merge(e.getKey().substring(cut + 1), e.getValue(), Double::sum);
            }
        }
        List<String> rowKeys = new ArrayList<>(cells.keySet());
        rowKeys.sort(Plots::compareRows);
        List<String> colKeys = new ArrayList<>(columns.keySet());
        double[][] share = new double[rowKeys.size()][colKeys.size()];
        for (int r = 0; r < rowKeys.size(); r++) {
            for (int c = 0; c < colKeys.size(); c++) {
                Double sum = cells.get(rowKeys.get(r)).get(colKeys.get(c));
                share[r][c] = sum == null ? Double.NaN : sum / counted;
            }
        }
        return Charts.save(routing("routing share per round (mean of the last " + counted + " logged steps)",
                rowKeys, colKeys, share), file);
    }

    /** A routing heat map: rows like {@code c0.r2.attn}, columns module indices and {@code skip}. */
    static HeatMapChart routing(String title, List<String> rowKeys, List<String> colKeys, double[][] share) {
        List<String> rows = rowKeys.stream().map(r -> r.replace('.', ' ')).toList();
        List<String> cols = colKeys.stream().map(c -> c.equals("skip") ? "SKIP" : "m" + c).toList();
        return Charts.heatMap(title, rows, cols, share, "0.00", Math.max(420, 110 + 70 * cols.size()),
                Math.max(260, 110 + 26 * rows.size()));
    }

    /** Rows like c0.r2.attn: by chunk, then attention before FFN, then round. */
    static int compareRows(String a, String b) {
        String[] x = a.split("\\.");
        String[] y = b.split("\\.");
        int c = Integer.compare(Integer.parseInt(x[0].substring(1)), Integer.parseInt(y[0].substring(1)));
        if (c != 0) {
            return c;
        }
        c = x[2].compareTo(y[2]);
        return c != 0 ? c : Integer.compare(Integer.parseInt(x[1].substring(1)), Integer.parseInt(y[1].substring(1)));
    }

    /** Module indices numerically, SKIP last. */
    private static int compareClasses(String a, String b) {
        if (a.equals(b)) {
            return 0;
        }
        if (a.equals("skip")) {
            return 1;
        }
        if (b.equals("skip")) {
            return -1;
        }
        return Integer.compare(Integer.parseInt(a), Integer.parseInt(b));
    }
}
