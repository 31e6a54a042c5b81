package dev.momstream.pipeline.report;

import dev.momstream.trainer.run.StepMetrics;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.Path2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import javax.imageio.ImageIO;

/** PNG plots of a run's metrics: the loss curve and the routing heat map (round x module). */
public final class Plots {
    public static final String LOSS = "loss.png";
    public static final String ROUTING = "routing.png";
    private static final Color TRAIN = new Color(31, 119, 180);
    private static final Color VALIDATION = new Color(255, 127, 14);

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
        int w = 900;
        int h = 500;
        int left = 70;
        int right = 20;
        int top = 40;
        int bottom = 50;
        BufferedImage img = canvas(w, h);
        Graphics2D g = graphics(img);
        double minStep = rows.get(0).step();
        double maxStep = Math.max(minStep + 1, rows.get(rows.size() - 1).step());
        double lo = Double.MAX_VALUE;
        double hi = -Double.MAX_VALUE;
        for (StepMetrics r : rows) {
            for (double v : new double[] {r.loss(), r.valLoss() == null ? Double.NaN : r.valLoss()}) {
                if (Double.isFinite(v)) {
                    lo = Math.min(lo, v);
                    hi = Math.max(hi, v);
                }
            }
        }
        double pad = Math.max(1e-3, (hi - lo) * 0.05);
        lo -= pad;
        hi += pad;
        Axes axes = new Axes(left, top, w - left - right, h - top - bottom, minStep, maxStep, lo, hi);
        axes.draw(g, "step", "loss (nats)");
        g.setColor(Color.BLACK);
        g.drawString("training loss" + (rows.stream().anyMatch(r -> r.valLoss() != null) ? " and validation loss" : ""),
                w / 2 - 120, 18);
        Path2D line = new Path2D.Double();
        boolean started = false;
        for (StepMetrics r : rows) {
            if (!Double.isFinite(r.loss())) {
                continue;
            }
            double x = axes.x(r.step());
            double y = axes.y(r.loss());
            if (started) {
                line.lineTo(x, y);
            } else {
                line.moveTo(x, y);
                started = true;
            }
        }
        g.setColor(TRAIN);
        g.setStroke(new BasicStroke(1.5f));
        g.draw(line);
        g.setColor(VALIDATION);
        for (StepMetrics r : rows) {
            if (r.valLoss() != null && Double.isFinite(r.valLoss())) {
                int x = (int) axes.x(r.step());
                int y = (int) axes.y(r.valLoss());
                g.fillOval(x - 4, y - 4, 8, 8);
            }
        }
        legend(g, w - right - 170, top + 10);
        return write(img, g, file);
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
                String row = e.getKey().substring(0, cut);
                String col = e.getKey().substring(cut + 1);
                columns.put(col, 0);
                cells.computeIfAbsent(row, k -> new LinkedHashMap<>()).merge(col, e.getValue(), Double::sum);
            }
        }
        List<String> rowKeys = new ArrayList<>(cells.keySet());
        rowKeys.sort(Plots::compareRows);
        List<String> colKeys = new ArrayList<>(columns.keySet());
        int cellW = 64;
        int cellH = 26;
        int left = 130;
        int top = 60;
        int w = left + cellW * colKeys.size() + 30;
        int h = top + cellH * rowKeys.size() + 30;
        BufferedImage img = canvas(Math.max(w, 420), h);
        Graphics2D g = graphics(img);
        g.setColor(Color.BLACK);
        g.drawString("routing share per round (mean of the last " + counted + " logged steps)", 10, 20);
        for (int c = 0; c < colKeys.size(); c++) {
            g.drawString(colKeys.get(c).equals("skip") ? "SKIP" : "m" + colKeys.get(c),
                    left + c * cellW + cellW / 2 - 12, top - 8);
        }
        for (int r = 0; r < rowKeys.size(); r++) {
            String row = rowKeys.get(r);
            g.setColor(Color.BLACK);
            g.drawString(row.replace('.', ' '), 10, top + r * cellH + cellH / 2 + 5);
            for (int c = 0; c < colKeys.size(); c++) {
                Double sum = cells.get(row).get(colKeys.get(c));
                int x = left + c * cellW;
                int y = top + r * cellH;
                if (sum == null) {
                    g.setColor(new Color(235, 235, 235));
                    g.fillRect(x, y, cellW - 2, cellH - 2);
                    continue;
                }
                double share = sum / counted;
                g.setColor(shade(share));
                g.fillRect(x, y, cellW - 2, cellH - 2);
                g.setColor(share > 0.55 ? Color.WHITE : Color.BLACK);
                g.drawString(String.format("%.2f", share), x + cellW / 2 - 14, y + cellH / 2 + 5);
            }
        }
        return write(img, g, file);
    }

    /** Rows like c0.r2.attn: by chunk, then attention before FFN, then round. */
    private static int compareRows(String a, String b) {
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

    private static Color shade(double share) {
        double s = Math.max(0, Math.min(1, share));
        return new Color((int) (247 - 239 * s), (int) (251 - 203 * s), (int) (255 - 148 * s));
    }

    private static void legend(Graphics2D g, int x, int y) {
        g.setColor(TRAIN);
        g.fillRect(x, y, 18, 4);
        g.setColor(Color.BLACK);
        g.drawString("training", x + 25, y + 6);
        g.setColor(VALIDATION);
        g.fillOval(x + 5, y + 14, 8, 8);
        g.setColor(Color.BLACK);
        g.drawString("validation", x + 25, y + 22);
    }

    private static BufferedImage canvas(int w, int h) {
        return new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    }

    private static Graphics2D graphics(BufferedImage img) {
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, img.getWidth(), img.getHeight());
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        return g;
    }

    private static Path write(BufferedImage img, Graphics2D g, Path file) throws IOException {
        g.dispose();
        ImageIO.write(img, "png", file.toFile());
        return file;
    }

    /** A plot area with linear axes and tick labels. */
    private record Axes(int left, int top, int width, int height, double x0, double x1, double y0, double y1) {
        double x(double v) {
            return left + (v - x0) / (x1 - x0) * width;
        }

        double y(double v) {
            return top + height - (v - y0) / (y1 - y0) * height;
        }

        void draw(Graphics2D g, String xLabel, String yLabel) {
            g.setColor(new Color(230, 230, 230));
            for (int i = 0; i <= 5; i++) {
                int yy = top + i * height / 5;
                g.drawLine(left, yy, left + width, yy);
            }
            g.setColor(Color.BLACK);
            g.drawRect(left, top, width, height);
            for (int i = 0; i <= 5; i++) {
                double yv = y1 - i * (y1 - y0) / 5;
                g.drawString(String.format("%.2f", yv), 10, top + i * height / 5 + 5);
                double xv = x0 + i * (x1 - x0) / 5;
                g.drawString(String.format("%.0f", xv), left + i * width / 5 - 10, top + height + 18);
            }
            g.drawString(xLabel, left + width / 2 - 10, top + height + 40);
            g.drawString(yLabel, 10, top - 10);
        }
    }
}
