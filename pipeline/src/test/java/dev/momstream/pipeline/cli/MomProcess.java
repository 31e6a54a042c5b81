package dev.momstream.pipeline.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * A {@code mom} command in a JVM of its own, as a user starts it: for a run that is signalled or
 * killed, or one that could wait forever. Standard output and error go to files of their own.
 */
final class MomProcess implements AutoCloseable {

    private final Process process;
    private final Path out;
    private final Path err;

    private MomProcess(Process process, Path out, Path err) {
        this.process = process;
        this.out = out;
        this.err = err;
    }

    /** Starts {@code mom args...}; its output goes to {@code <dir>/<name>.out} and {@code .err}. */
    static MomProcess start(Path dir, String name, String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-opens=java.base/java.util=ALL-UNNAMED", "--add-opens=java.base/java.lang=ALL-UNNAMED",
                "-Dai.djl.offline=true", "-DOPT_OUT_TRACKING=true",
                "-cp", System.getProperty("java.class.path"), MomCli.class.getName()));
        command.addAll(List.of(args));
        Path out = dir.resolve(name + ".out");
        Path err = dir.resolve(name + ".err");
        Process p = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        return new MomProcess(p, out, err);
    }

    long pid() {
        return process.pid();
    }

    String out() {
        return read(out);
    }

    String err() {
        return read(err);
    }

    /** Both outputs, for failure messages. */
    String output() {
        return "stdout:\n" + out() + "\nstderr:\n" + err();
    }

    /** Waits until standard error holds {@code text}; fails, naming what it waited for, if it does not in time. */
    void awaitErr(String text, Duration within) throws InterruptedException {
        await(this::err, "standard error", text, within);
    }

    /** Waits until standard output holds {@code text}; fails, naming what it waited for, if it does not in time. */
    void awaitOut(String text, Duration within) throws InterruptedException {
        await(this::out, "standard output", text, within);
    }

    private void await(Supplier<String> printed, String where, String text, Duration within)
            throws InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        while (!printed.get().contains(text)) {
            if (!process.isAlive()) {
                fail("mom exited (" + process.exitValue() + ") without printing \"" + text + "\" on " + where + ":\n"
                        + output());
            }
            if (System.nanoTime() > deadline) {
                fail("no \"" + text + "\" on " + where + " within " + within.toSeconds() + " s:\n" + output());
            }
            Thread.sleep(200);
        }
    }

    boolean isAlive() {
        return process.isAlive();
    }

    /** Its exit code; fails, naming what it waited for, if it has not exited in time. */
    int awaitExit(Duration within) throws InterruptedException {
        assertTrue(process.waitFor(within.toMillis(), TimeUnit.MILLISECONDS),
                "mom still running after " + within.toSeconds() + " s:\n" + output());
        return process.exitValue();
    }

    /** SIGTERM, what Ctrl-C also does (handled the same way). */
    void stop() {
        process.destroy();
    }

    /** SIGKILL: no handler, no shutdown hook runs. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor();
    }

    @Override
    public void close() throws InterruptedException {
        kill();
    }

    private static String read(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file) : "";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
