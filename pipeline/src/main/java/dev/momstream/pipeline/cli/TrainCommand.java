package dev.momstream.pipeline.cli;

import dev.momstream.pipeline.report.Plots;
import dev.momstream.trainer.config.Configs;
import dev.momstream.trainer.config.Json;
import dev.momstream.trainer.data.Corpus;
import dev.momstream.trainer.data.TokenCorpus;
import dev.momstream.trainer.io.DirectoryLock;
import dev.momstream.trainer.run.MetricsLog;
import dev.momstream.trainer.run.OfflineRun;
import dev.momstream.trainer.run.StepMetrics;
import dev.momstream.trainer.data.SkippedFile;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Unmatched;

/** {@code mom train}: offline training on the bundled corpus or the user's text. */
@Command(name = "train", mixinStandardHelpOptions = true,
        description = "Train a model offline; writes config.json, metrics.jsonl, checkpoints and plots to --out.",
        footer = {"", "Any model or train config key can be overridden: --K=2 --H=4 --lr=3e-3 --batchSize=16",
            "Example: ./mom train --preset mom --size tiny --steps 200 --out runs/tiny"})
public final class TrainCommand implements Callable<Integer> {

    @Mixin
    ModelOptions model;

    @Option(names = "--data", paramLabel = "PATH",
            description = "Text file or directory of .txt/.md files (default: the bundled State of the Union corpus).")
    Path data;

    @Option(names = "--steps", defaultValue = "200", description = "Optimizer steps to reach (default: ${DEFAULT-VALUE}).")
    long steps;

    @Option(names = "--out", paramLabel = "DIR", description = "Run directory (default: runs/<preset>-<size>).")
    Path out;

    @Option(names = "--resume", description = "Continue from the newest intact checkpoint in --out.")
    boolean resume;

    @Option(names = "--init-from", paramLabel = "DIR",
            description = "Two-phase init: build the MoM from this vanilla checkpoint's layers.")
    Path initFrom;

    @Option(names = "--eval-every", defaultValue = "100", description = "Steps between validation passes (default: ${DEFAULT-VALUE}).")
    int evalEvery;

    @Option(names = "--eval-tokens", defaultValue = "65536", description = "Validation tokens per pass, 0 = all (default: ${DEFAULT-VALUE}).")
    long evalTokens;

    @Option(names = "--checkpoint-every", defaultValue = "100", description = "Steps between checkpoints, 0 = end only (default: ${DEFAULT-VALUE}).")
    int checkpointEvery;

    @Mixin
    DeviceOption device;

    @Option(names = "--json", description = "Print the summary as JSON.")
    boolean json;

    @Unmatched
    List<String> overrides = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        Configs configs = model.resolve(overrides);
        Path dir = OutDirectory.check(out != null ? out : Path.of("runs", model.preset + "-" + model.size));
        try (DirectoryLock lock = DirectoryLock.acquire(dir)) {
            return train(configs, dir);
        }
    }

    private int train(Configs configs, Path dir) throws Exception {
        TokenCorpus corpus = TokenCorpus.of(data == null ? Corpus.bundled() : Corpus.fromPath(data));
        OfflineRun.Options options = new OfflineRun.Options(configs, dir, steps,
                evalEvery, evalTokens, checkpointEvery, resume, initFrom, device.name);
        OfflineRun.Summary summary;
        try (Progress progress = Progress.start("train", steps, 0)) {
            summary = OfflineRun.run(corpus, options, new OfflineRun.Listener() {
                @Override
                public void onStep(StepMetrics m) {
                    progress.update(m.step() + 1, status(m));
                }

                @Override
                public void onRefused(Path checkpoint, String reason, Path movedTo) {
                    System.err.printf("%nwarning: --resume refused %s: %s%n  moved it to %s; continuing from an"
                            + " older checkpoint%n", checkpoint, reason, movedTo);
                }
            });
        }
        List<StepMetrics> rows = MetricsLog.read(dir.resolve(MetricsLog.FILE));
        List<Path> plots = Plots.renderRun(rows, dir);
        if (json) {
            System.out.println(Json.write(summary));
        } else {
            if (summary.resumedFrom() != null) {
                System.out.println("resumed from " + summary.resumedFrom());
            }
            System.out.printf("trained steps %d..%d (%,d tokens): loss %.3f -> %.3f, validation %s%n",
                    summary.startStep(), summary.endStep(), summary.tokens(), summary.firstLoss(),
                    summary.lastLoss(), summary.valLoss() == null ? "n/a" : String.format("%.3f (perplexity %.1f)",
                            summary.valLoss(), Math.exp(summary.valLoss())));
            if (summary.skippedSteps() > 0) {
                System.out.printf("skipped %d non-finite steps%n", summary.skippedSteps());
            }
            summary.checkpoints().forEach(c -> System.out.println("checkpoint " + c));
            plots.forEach(p -> System.out.println("plot " + p));
        }
        printSkipped(summary.skippedFiles(), json ? System.err : System.out);
        return 0;
    }

    /** The corpus entries a command could not use, one a line with the reason; nothing when there are none. */
    static void printSkipped(List<SkippedFile> skipped, PrintStream out) {
        if (!skipped.isEmpty()) {
            out.printf("skipped %d corpus entr%s that could not be used:%n", skipped.size(),
                    skipped.size() == 1 ? "y" : "ies");
            skipped.forEach(s -> out.println("  " + s));
        }
    }

    static String status(StepMetrics m) {
        String loss = m.skipped() ? "skipped" : String.format("loss %.3f", m.loss());
        String val = m.valLoss() == null ? "" : String.format(" | val %.3f", m.valLoss());
        return String.format("%s%s | %.0f tok/s", loss, val, m.tokensPerSec());
    }
}
