package dev.momstream.trainer.run;

import com.fasterxml.jackson.databind.SerializationFeature;
import dev.momstream.trainer.config.Json;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/** A run's {@code metrics.jsonl}: appended one line per logged step, read back for plots. */
public final class MetricsLog implements AutoCloseable {
    public static final String FILE = "metrics.jsonl";

    private final BufferedWriter out;

    private MetricsLog(BufferedWriter out) {
        this.out = out;
    }

    /** Opens {@code runDir/metrics.jsonl} for appending (a resumed run continues the file). */
    public static MetricsLog append(Path runDir) throws IOException {
        Files.createDirectories(runDir);
        return new MetricsLog(Files.newBufferedWriter(runDir.resolve(FILE), StandardCharsets.UTF_8,
                StandardOpenOption.CREATE, StandardOpenOption.APPEND));
    }

    public void write(StepMetrics m) throws IOException {
        out.write(Json.MAPPER.writer().without(SerializationFeature.INDENT_OUTPUT).writeValueAsString(m));
        out.newLine();
        out.flush();
    }

    /** Every line of {@code file}; a torn last line (the run was killed mid-write) is ignored. */
    public static List<StepMetrics> read(Path file) throws IOException {
        List<StepMetrics> rows = new ArrayList<>();
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.isBlank()) {
                continue;
            }
            try {
                rows.add(Json.read(line, StepMetrics.class));
            } catch (IllegalArgumentException e) {
                if (i < lines.size() - 1) {
                    throw new IOException(file + " line " + (i + 1) + " is not a metrics record: "
                            + e.getMessage(), e);
                }
            }
        }
        return rows;
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}
