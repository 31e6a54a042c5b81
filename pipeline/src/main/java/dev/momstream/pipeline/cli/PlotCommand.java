package dev.momstream.pipeline.cli;

import dev.momstream.pipeline.report.Plots;
import dev.momstream.trainer.run.MetricsLog;
import dev.momstream.trainer.run.StepMetrics;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code mom plot}: loss curve and routing heat map of a run, as PNG. */
@Command(name = "plot", mixinStandardHelpOptions = true,
        description = "Render loss.png and routing.png from a run directory's metrics.jsonl.")
public final class PlotCommand implements Callable<Integer> {

    @Parameters(paramLabel = "RUN_DIR", description = "A run directory (train --out or run --out).")
    Path run;

    @Override
    public Integer call() throws Exception {
        Path file = run.resolve(MetricsLog.FILE);
        if (!Files.isRegularFile(file)) {
            throw new IllegalArgumentException(run + " has no " + MetricsLog.FILE);
        }
        List<StepMetrics> rows = MetricsLog.read(file);
        if (rows.isEmpty()) {
            throw new IllegalArgumentException(file + " is empty");
        }
        for (Path p : Plots.renderRun(rows, run)) {
            System.out.println(p);
        }
        return 0;
    }
}
