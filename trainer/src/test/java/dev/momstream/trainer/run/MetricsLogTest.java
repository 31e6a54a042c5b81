package dev.momstream.trainer.run;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A line torn by a kill or a full disk is ignored when read, and cut off before the file is appended to. */
class MetricsLogTest {

    private static StepMetrics step(long n) {
        return new StepMetrics(n, 10.0 - n, 0.0, 1e-3, 1.0, 128 * (n + 1), 100.0, 0.0, 1.0, Map.of(), false, null, n);
    }

    @Test
    void aTornLastLineIsIgnoredAndCutOffBeforeAppending(@TempDir Path dir) throws Exception {
        try (MetricsLog log = MetricsLog.append(dir)) {
            log.write(step(0));
            log.write(step(1));
        }
        Path file = dir.resolve(MetricsLog.FILE);
        Files.write(file, "{\"step\":2,\"loss\":8.".getBytes(StandardCharsets.UTF_8), StandardOpenOption.APPEND);
        assertEquals(List.of(step(0), step(1)), MetricsLog.read(file));

        try (MetricsLog log = MetricsLog.append(dir)) {
            log.write(step(2));
        }
        assertEquals(List.of(step(0), step(1), step(2)), MetricsLog.read(file));
    }
}
