package io.edgesplit.bench.report;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

/**
 * A line chart written as PNG with the JDK alone (headless AWT): series of points, optional
 * vertical markers, linear axes with round ticks, a legend under the plot. Enough for a benchmark
 * report; nothing interactive.
 */
public final class LineChart {
    private static final Color[] PALETTE = {new Color(0, 110, 220), new Color(230, 120, 0), new Color(0, 150, 60),
        new Color(200, 30, 40), new Color(130, 60, 180), new Color(120, 90, 50), new Color(220, 60, 160), new Color(90, 90, 90)};

    /** A series; {@code step} draws it as a staircase (a value holds until the next). */
    public record Series(String name, double[] x, double[] y, boolean dashed, boolean step) {
        public Series {
            if (x.length != y.length) {
                throw new IllegalArgumentException("series " + name + ": " + x.length + " x values, " + y.length + " y values");
            }
        }
    }

    /** A vertical line at {@code x}, in the colour of series {@code seriesIndex} (-1: grey). */
    public record Marker(double x, String label, int seriesIndex) {}

    private final String title;
    private final String xLabel;
    private final String yLabel;
    private final List<Series> series = new ArrayList<>();
    private final List<Marker> markers = new ArrayList<>();
    private double yMin = Double.NaN;

    public LineChart(String title, String xLabel, String yLabel) {
        this.title = title;
        this.xLabel = xLabel;
        this.yLabel = yLabel;
    }

    public LineChart add(Series s) {
        series.add(s);
        return this;
    }

    public LineChart line(String name, double[] x, double[] y) {
        return add(new Series(name, x, y, false, false));
    }

    public LineChart mark(Marker m) {
        markers.add(m);
        return this;
    }

    /** The y axis starts here instead of at the data's minimum (0 for rates). */
    public LineChart yFrom(double min) {
        this.yMin = min;
        return this;
    }

    public int seriesCount() {
        return series.size();
    }

    /** A round tick step giving about {@code n} ticks over {@code span}. */
    static double tickStep(double span, int n) {
        double raw = span / n;
        double mag = Math.pow(10, Math.floor(Math.log10(raw)));
        for (double m : new double[] {1, 2, 5, 10}) {
            if (m * mag >= raw) {
                return m * mag;
            }
        }
        return 10 * mag;
    }

    public void write(Path png) throws IOException {
        int w = 1000;
        int left = 80;
        int right = 30;
        int top = 40;
        int legendRows = (series.size() + 2) / 3;
        int bottom = 60 + 18 * legendRows;
        int h = 520 + 18 * legendRows;
        double x0 = Double.MAX_VALUE;
        double x1 = -Double.MAX_VALUE;
        double y0 = Double.MAX_VALUE;
        double y1 = -Double.MAX_VALUE;
        for (Series s : series) {
            for (int i = 0; i < s.x().length; i++) {
                if (Double.isFinite(s.x()[i]) && Double.isFinite(s.y()[i])) {
                    x0 = Math.min(x0, s.x()[i]);
                    x1 = Math.max(x1, s.x()[i]);
                    y0 = Math.min(y0, s.y()[i]);
                    y1 = Math.max(y1, s.y()[i]);
                }
            }
        }
        for (Marker m : markers) {
            x0 = Math.min(x0, m.x());
            x1 = Math.max(x1, m.x());
        }
        if (x0 > x1) {
            x0 = 0;
            x1 = 1;
            y0 = 0;
            y1 = 1;
        }
        if (!Double.isNaN(yMin)) {
            y0 = Math.min(yMin, y0);
        }
        if (x1 - x0 < 1e-12) {
            x1 = x0 + 1;
        }
        if (y1 - y0 < 1e-12) {
            y1 = y0 + 1;
        }
        y1 += (y1 - y0) * 0.05;
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, w, h);
        int pw = w - left - right;
        int ph = h - top - bottom;
        double fx0 = x0;
        double fx1 = x1;
        double fy0 = y0;
        double fy1 = y1;
        java.util.function.DoubleToIntFunction px = v -> (int) Math.round(left + (v - fx0) / (fx1 - fx0) * pw);
        java.util.function.DoubleToIntFunction py = v -> (int) Math.round(top + ph - (v - fy0) / (fy1 - fy0) * ph);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        g.setColor(Color.BLACK);
        g.drawString(title, left, 22);
        double xs = tickStep(x1 - x0, 10);
        for (double t = Math.ceil(x0 / xs) * xs; t <= x1 + 1e-9; t += xs) {
            int x = px.applyAsInt(t);
            g.setColor(new Color(235, 235, 235));
            g.drawLine(x, top, x, top + ph);
            g.setColor(Color.BLACK);
            String l = label(t, xs);
            g.drawString(l, x - g.getFontMetrics().stringWidth(l) / 2, top + ph + 16);
        }
        double ys = tickStep(y1 - y0, 8);
        for (double t = Math.ceil(y0 / ys) * ys; t <= y1 + 1e-9; t += ys) {
            int y = py.applyAsInt(t);
            g.setColor(new Color(235, 235, 235));
            g.drawLine(left, y, left + pw, y);
            g.setColor(Color.BLACK);
            String l = label(t, ys);
            g.drawString(l, left - 6 - g.getFontMetrics().stringWidth(l), y + 4);
        }
        g.drawRect(left, top, pw, ph);
        g.drawString(xLabel, left + pw / 2 - g.getFontMetrics().stringWidth(xLabel) / 2, top + ph + 34);
        Graphics2D v = (Graphics2D) g.create();
        v.rotate(-Math.PI / 2);
        v.drawString(yLabel, -(top + ph / 2) - g.getFontMetrics().stringWidth(yLabel) / 2, 16);
        v.dispose();
        BasicStroke dash = new BasicStroke(1.5f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 1f, new float[] {6f, 4f}, 0f);
        g.setClip(left, top, pw + 1, ph + 1);
        for (int i = 0; i < markers.size(); i++) {
            Marker m = markers.get(i);
            g.setColor(m.seriesIndex() < 0 ? Color.GRAY : PALETTE[m.seriesIndex() % PALETTE.length]);
            g.setStroke(new BasicStroke(1f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 1f, new float[] {2f, 3f}, 0f));
            int x = px.applyAsInt(m.x());
            g.drawLine(x, top, x, top + ph);
            int width = g.getFontMetrics().stringWidth(m.label());
            int lx = x + 3 + width > left + pw ? x - 3 - width : x + 3; // labels stay inside the plot, staggered
            g.drawString(m.label(), lx, top + 14 + 14 * (i % 6));
        }
        for (int k = 0; k < series.size(); k++) {
            Series s = series.get(k);
            g.setColor(PALETTE[k % PALETTE.length]);
            g.setStroke(s.dashed() ? dash : new BasicStroke(2f));
            int prevX = Integer.MIN_VALUE;
            int prevY = 0;
            for (int i = 0; i < s.x().length; i++) {
                if (!Double.isFinite(s.x()[i]) || !Double.isFinite(s.y()[i])) {
                    prevX = Integer.MIN_VALUE;
                    continue;
                }
                int x = px.applyAsInt(s.x()[i]);
                int y = py.applyAsInt(s.y()[i]);
                if (prevX != Integer.MIN_VALUE) {
                    if (s.step()) {
                        g.drawLine(prevX, prevY, x, prevY);
                        g.drawLine(x, prevY, x, y);
                    } else {
                        g.drawLine(prevX, prevY, x, y);
                    }
                } else if (s.x().length == 1) {
                    g.fillOval(x - 3, y - 3, 6, 6);
                }
                prevX = x;
                prevY = y;
            }
        }
        g.setClip(null);
        g.setStroke(new BasicStroke(2f));
        for (int k = 0; k < series.size(); k++) {
            int lx = left + (k % 3) * (pw / 3);
            int ly = top + ph + 52 + 18 * (k / 3);
            g.setColor(PALETTE[k % PALETTE.length]);
            g.setStroke(series.get(k).dashed() ? dash : new BasicStroke(2f));
            g.drawLine(lx, ly - 4, lx + 24, ly - 4);
            g.setColor(Color.BLACK);
            g.drawString(series.get(k).name(), lx + 30, ly);
        }
        g.dispose();
        ImageIO.write(img, "png", png.toFile());
    }

    private static String label(double v, double step) {
        if (Math.abs(v) < step * 1e-6) {
            return "0";
        }
        int decimals = step >= 1 ? 0 : (int) Math.ceil(-Math.log10(step));
        return String.format(Locale.ROOT, "%." + decimals + "f", v);
    }
}
