package dev.momstream.trainer.run;

import com.fasterxml.jackson.databind.SerializationFeature;
import dev.momstream.trainer.config.Json;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
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

    /**
     * Opens {@code runDir/metrics.jsonl} for appending (a resumed run continues the file). A torn
     * last line (a kill or a full disk mid-write) is cut off first: appended to, it would become a
     * broken line in the middle.
     */
    public static MetricsLog append(Path runDir) throws IOException {
        Files.createDirectories(runDir);
        Path file = runDir.resolve(FILE);
        if (Files.exists(file)) {
            cutTornLine(file);
        }
        return new MetricsLog(Files.newBufferedWriter(file, StandardCharsets.UTF_8,
                StandardOpenOption.CREATE, StandardOpenOption.APPEND));
    }

    private static void cutTornLine(Path file) throws IOException {
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            long end = channel.size();
            ByteBuffer one = ByteBuffer.allocate(1);
            while (end > 0) {
                one.clear();
                channel.read(one, end - 1);
                if (one.get(0) == '\n') {
                    break;
                }
                end--;
            }
            if (end < channel.size()) {
                channel.truncate(end);
            }
        }
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
