package dev.momstream.pipeline.report;

import java.awt.Color;
import java.awt.Font;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import org.knowm.xchart.HeatMapChart;
import org.knowm.xchart.HeatMapChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.Styler;

/** The chart styles of our PNGs (XChart), in one place: sizes, fonts, colours, how a file is written. */
final class Charts {
    static final int WIDTH = 720;
    static final int HEIGHT = 420;
    private static final Font FONT = new Font(Font.SANS_SERIF, Font.PLAIN, 11);
    /** White (0) to dark blue (1), the colours of the routing and loss heat maps. */
    private static final Color[] SCALE = {new Color(247, 251, 255), new Color(107, 174, 214), new Color(8, 48, 107)};

    static {
        System.setProperty("java.awt.headless", "true");
    }

    private Charts() {}

    static XYChart xy(String title, String xTitle, String yTitle) {
        XYChart c = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title).xAxisTitle(xTitle)
                .yAxisTitle(yTitle).build();
        style(c.getStyler());
        c.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
        c.getStyler().setErrorBarsColorSeriesColor(true);
        c.getStyler().setMarkerSize(6);
        return c;
    }

    static CategoryChart bars(String title, String xTitle, String yTitle) {
        CategoryChart c = new CategoryChartBuilder().width(WIDTH).height(HEIGHT).title(title).xAxisTitle(xTitle)
                .yAxisTitle(yTitle).build();
        style(c.getStyler());
        c.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
        c.getStyler().setLegendLayout(Styler.LegendLayout.Horizontal);
        c.getStyler().setErrorBarsColorSeriesColor(true);
        return c;
    }

    /**
     * A heat map of {@code values[row][column]} (NaN = no value, drawn grey so that it does not read
     * as the lowest value), with the values printed in the cells and the legend's range in the same
     * format; rows are drawn top to bottom in the order given.
     */
    static HeatMapChart heatMap(String title, List<String> rows, List<String> columns, double[][] values,
            String format, int width, int height) {
        HeatMapChart c = new HeatMapChartBuilder().width(width).height(height).title(title).build();
        style(c.getStyler());
        c.getStyler().setShowValue(true);
        c.getStyler().setValueFont(FONT);
        c.getStyler().setRangeColors(SCALE);
        c.getStyler().setHeatMapValueDecimalPattern(format);
        c.getStyler().setDecimalPattern(format);
        c.getStyler().setPlotBackgroundColor(new Color(215, 215, 215));
        c.getStyler().setLegendVisible(true);
        c.getStyler().setPlotContentSize(1.0);
        List<Number[]> cells = new ArrayList<>();
        double lo = Double.MAX_VALUE;
        double hi = -Double.MAX_VALUE;
        for (int r = 0; r < rows.size(); r++) {
            for (int k = 0; k < columns.size(); k++) {
                double v = values[r][k];
                if (Double.isFinite(v)) {
                    // XChart's y axis grows upwards: the first row goes on top
                    cells.add(new Number[] {k, rows.size() - 1 - r, v});
                    lo = Math.min(lo, v);
                    hi = Math.max(hi, v);
                }
            }
        }
        if (lo <= hi) {
            // the legend prints its two ends as plain doubles: round them outwards to the cells' decimals
            int d = decimals(format);
            BigDecimal min = BigDecimal.valueOf(lo).setScale(d, RoundingMode.FLOOR);
            BigDecimal max = BigDecimal.valueOf(hi).setScale(d, RoundingMode.CEILING);
            c.getStyler().setMin(min.doubleValue());
            BigDecimal unit = BigDecimal.ONE.movePointLeft(d);
            c.getStyler().setMax((max.compareTo(min) > 0 ? max : min.add(unit)).doubleValue());
        }
        List<String> yLabels = new ArrayList<>(rows);
        java.util.Collections.reverse(yLabels);
        c.addSeries(title, columns, yLabels, cells);
        return c;
    }

    /** The digits after the point of a decimal pattern like {@code 0.000}. */
    private static int decimals(String format) {
        int point = format.indexOf('.');
        return point < 0 ? 0 : format.length() - point - 1;
    }

    static Path save(Chart<?, ?> chart, Path file) throws IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        BitmapEncoder.saveBitmap(chart, file.toString(), BitmapEncoder.BitmapFormat.PNG);
        return file;
    }

    private static void style(Styler s) {
        s.setChartBackgroundColor(Color.WHITE);
        s.setPlotBackgroundColor(Color.WHITE);
        s.setChartTitleFont(FONT.deriveFont(Font.BOLD, 12f));
        s.setLegendFont(FONT);
        s.setLegendBorderColor(Color.WHITE);
        s.setToolTipsEnabled(false);
        if (s instanceof org.knowm.xchart.style.AxesChartStyler a) {
            a.setAxisTitleFont(FONT);
            a.setAxisTickLabelsFont(FONT);
            a.setPlotGridLinesColor(new Color(230, 230, 230));
        }
    }
}
