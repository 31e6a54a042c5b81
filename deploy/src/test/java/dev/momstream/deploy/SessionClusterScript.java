package dev.momstream.deploy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** {@code deploy/bin/session-cluster} run as a user runs it, from the module's directory. */
final class SessionClusterScript {

    private static final Path SCRIPT = Path.of("bin", "session-cluster");

    /** What one call of the script printed (stdout and stderr together), and how it ended. */
    record Result(int exit, String output) {
    }

    private SessionClusterScript() {
    }

    /** Runs the script with {@code args}, its output kept in a file under {@code dir}; fails past {@code seconds}. */
    static Result run(Path dir, long seconds, List<String> args) throws Exception {
        List<String> command = new ArrayList<>(List.of("bash", SCRIPT.toString()));
        command.addAll(args);
        Path output = Files.createTempFile(dir, "script-", ".txt");
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output.toFile());
        pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
        Process p = pb.start();
        if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("session-cluster " + args + " did not end within " + seconds + " s:\n"
                    + Files.readString(output));
        }
        return new Result(p.exitValue(), Files.readString(output));
    }

    static Result run(Path dir, String... args) throws Exception {
        return run(dir, 60, List.of(args));
    }
}
