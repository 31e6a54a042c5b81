package dev.momstream.operators.infer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * The Linux niceness of the calling thread: {@link ModelHost}'s session-creating thread raises its
 * own, so that creating a new version's sessions yields the CPU to the thread that serves
 * (docs/PERFORMANCE.md, "Serving through Kafka and Flink"). Java has no API for it (thread
 * priorities are ignored on Linux), so the thread finds its kernel task id in
 * {@code /proc/thread-self} and asks {@code renice}; raising one's own niceness needs no privilege.
 */
final class Niceness {

    private static final Path SELF = Path.of("/proc/thread-self");

    private Niceness() {
    }

    /** The calling thread's niceness, or null where there is no {@code /proc/thread-self} (not Linux). */
    static Integer ofCurrentThread() throws IOException {
        if (!Files.exists(SELF)) {
            return null;
        }
        String stat = Files.readString(SELF.resolve("stat"), StandardCharsets.US_ASCII);
        // "tid (comm) state ppid ...": comm may hold spaces, the fields after its ')' do not; nice is field 19
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).trim().split(" ");
        return Integer.parseInt(fields[19 - 3]);
    }

    /**
     * Raises the calling thread's niceness to {@code nice} (never lowers it). Returns null when
     * done or not needed, else why it could not be (the caller logs it and carries on: a load at
     * normal priority is slower for the requests, not wrong).
     */
    static String raiseCurrentThread(int nice) {
        try {
            Integer now = ofCurrentThread();
            if (now == null) {
                return "this system has no /proc/thread-self";
            }
            if (now >= nice) {
                return null;
            }
            String tid = Files.readSymbolicLink(SELF).getFileName().toString();
            Process p = new ProcessBuilder("renice", "-n", Integer.toString(nice), "-p", tid)
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return "renice did not finish within 10 s";
            }
            Integer after = ofCurrentThread();
            return after != null && after == nice ? null : "renice -n " + nice + " -p " + tid + " left niceness " + after
                    + (out.isEmpty() ? "" : ": " + out);
        } catch (IOException e) {
            return "renice failed: " + e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "interrupted";
        }
    }
}
