package dev.momstream.pipeline.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Linux CPU affinity of this JVM's threads and of a child process, through {@code taskset} (Java
 * has no API for it): a benchmark gives training a core of its own and everything else the rest.
 */
final class Affinity {

    private Affinity() {
    }

    /** The calling thread's kernel task id. */
    static String currentThread() throws IOException {
        return Files.readSymbolicLink(Path.of("/proc/thread-self")).getFileName().toString();
    }

    /** Pins every thread of this JVM but {@code except} to {@code cpus} (e.g. {@code 1-3}). */
    static void pinOthers(String except, String cpus) throws IOException, InterruptedException {
        List<String> tasks;
        try (var list = Files.list(Path.of("/proc/self/task"))) {
            tasks = list.map(p -> p.getFileName().toString()).filter(t -> !t.equals(except)).toList();
        }
        for (String t : tasks) {
            if (Files.exists(Path.of("/proc/self/task", t))) { // threads end while we go
                taskset(false, t, cpus);
            }
        }
    }

    /** Pins a task (a thread's id), or with {@code allThreads} every thread of a process, to {@code cpus}. */
    static void taskset(boolean allThreads, String id, String cpus) throws IOException, InterruptedException {
        List<String> command = allThreads ? List.of("taskset", "-a", "-p", "-c", cpus, id)
                : List.of("taskset", "-p", "-c", cpus, id);
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(10, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(String.join(" ", command) + " did not finish within 10 s");
        }
        if (p.exitValue() != 0 && Files.exists(Path.of("/proc", id))) {
            throw new IOException(String.join(" ", command) + " failed: " + out.trim());
        }
    }
}
