package dev.momstream.pipeline.cli;

import java.io.PrintStream;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/** A progress bar on standard error (standard output stays clean for {@code --json}). */
public final class Progress implements AutoCloseable {
    private final ProgressBar bar;

    private Progress(ProgressBar bar) {
        this.bar = bar;
    }

    /** @param max total units (steps), or 0 when open-ended */
    public static Progress start(String task, long max, long at) {
        PrintStream err = System.err;
        ProgressBar bar = new ProgressBarBuilder()
                .setTaskName(task)
                .setInitialMax(max > 0 ? max : -1)
                .startsFrom(at, java.time.Duration.ZERO)
                .setStyle(ProgressBarStyle.ASCII)
                .setUpdateIntervalMillis(500)
                .setConsumer(new ConsoleProgressBarConsumer(err))
                .build();
        return new Progress(bar);
    }

    public void update(long done, String message) {
        bar.stepTo(done);
        bar.setExtraMessage(message);
    }

    @Override
    public void close() {
        bar.close();
    }
}
