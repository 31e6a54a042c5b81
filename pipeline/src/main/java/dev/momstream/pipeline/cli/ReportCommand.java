package dev.momstream.pipeline.cli;

import dev.momstream.pipeline.report.Reproduction;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code mom report}: docs/REPRODUCTION.md and its plots from the results of {@code mom experiment}. */
@Command(name = "report", mixinStandardHelpOptions = true,
        description = "Write a markdown report (tables, claims with verdicts) and PNG plots from a mom experiment "
                + "results directory.",
        footer = {"", "Example: ./mom report runs/experiments"})
public final class ReportCommand implements Callable<Integer> {

    @Parameters(paramLabel = "DIR", description = "Results directory of mom experiment (its --out).")
    Path results;

    @Option(names = "--out", paramLabel = "FILE", defaultValue = "docs/REPRODUCTION.md",
            description = "The markdown file (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--plots", paramLabel = "DIR",
            description = "Where the PNGs go (default: a folder 'reproduction' beside --out).")
    Path plots;

    @Option(names = "--command", paramLabel = "TEXT", defaultValue = "./mom --threads 1 experiment experiments/*.yaml --jobs 2",
            description = "The experiment command line to quote in the report (default: ${DEFAULT-VALUE}).")
    String command;

    @Override
    public Integer call() throws Exception {
        if (!Files.isDirectory(results)) {
            throw new IllegalArgumentException(results + " is not a directory (give mom experiment's --out)");
        }
        Path dir = plots != null ? plots : out.toAbsolutePath().getParent().resolve("reproduction");
        for (Path p : Reproduction.write(results, out, dir, command)) {
            System.out.println(p);
        }
        return 0;
    }
}
