package dev.momstream.trainer.experiment;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongConsumer;

/**
 * Launches each run in a JVM of its own ({@link RunWorker#main}) on this JVM's class path, with
 * its system properties for DJL and the module opens, and a fixed, pre-touched heap: the run's
 * resident-memory growth is then libtorch's alone. The child's log goes to {@code worker.log} in
 * the run directory; it dies with its parent (it watches its standard input).
 */
public final class ChildJvm implements ExperimentRunner.Launcher {
    public static final String LOG = "worker.log";
    private final String device;
    private final int threads;
    private final String heap;

    /**
     * @param threads libtorch intra-op threads of the child (0 = libtorch's default)
     * @param heap the child's heap, e.g. {@code 768m}
     */
    public ChildJvm(String device, int threads, String heap) {
        this.device = device;
        this.threads = threads;
        this.heap = heap;
    }

    @Override
    public RunResult launch(Path results, RunSpec spec, LongConsumer progress) throws IOException, InterruptedException {
        Path dir = RunWorker.runDir(results, spec.key());
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString()));
        for (String arg : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
            // keep the settings (DJL, opens, logging); not the parent's heap, agents or debugger
            if (!arg.startsWith("-Xm") && !arg.startsWith("-agentlib") && !arg.startsWith("-javaagent")
                    && !arg.startsWith("-XX:")) {
                cmd.add(arg);
            }
        }
        cmd.add("-Xms" + heap);
        cmd.add("-Xmx" + heap);
        cmd.add("-XX:+AlwaysPreTouch");
        if (threads > 0) {
            cmd.add("-Dai.djl.pytorch.num_threads=" + threads);
        }
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(RunWorker.class.getName());
        cmd.add(results.toAbsolutePath().toString());
        cmd.add(spec.key());
        cmd.add(device);
        cmd.add("true");
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.appendTo(dir.resolve(LOG).toFile()))
                .start();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            String line;
            while ((line = out.readLine()) != null) {
                if (line.startsWith("progress ")) {
                    progress.accept(Long.parseLong(line.substring("progress ".length()).trim()));
                }
            }
            int rc = p.waitFor();
            if (rc != 0) {
                throw new IOException("the run's JVM exited with " + rc + ": " + lastError(dir.resolve(LOG))
                        + " (log: " + dir.resolve(LOG) + ")");
            }
        } finally {
            if (p.isAlive()) {
                p.destroyForcibly(); // interrupted or failed while reading: the run must not outlive us
            }
        }
        return RunResult.read(dir);
    }

    /** The last {@code error:} line the worker logged, or the log's last line. */
    private static String lastError(Path log) throws IOException {
        List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
        for (int i = lines.size() - 1; i >= 0; i--) {
            if (lines.get(i).startsWith("error: ")) {
                return lines.get(i).substring("error: ".length());
            }
        }
        return lines.isEmpty() ? "no output" : lines.get(lines.size() - 1);
    }
}
