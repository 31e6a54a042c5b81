package dev.momstream.pipeline.cli;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import picocli.CommandLine;

/**
 * Runs the {@code mom} command line in-process and captures what it prints: {@code err} holds
 * what went to {@code System.err} followed by the command line's error messages.
 */
record CliRun(int exit, String out, String err) {

    /** Options of a model small enough for a run of seconds (the vocabulary stays GPT-2's), 2 s checkpoints. */
    private static final String[] SMALL = {"--d=32", "--heads=2", "--contextLength=32", "--batchSize=4",
        "--warmupSteps=2", "--checkpoint-interval", "2"};

    /** {@code head} followed by the options of a small model. */
    static String[] small(String... head) {
        String[] all = Arrays.copyOf(head, head.length + SMALL.length);
        System.arraycopy(SMALL, 0, all, head.length, SMALL.length);
        return all;
    }

    static synchronized CliRun of(String... args) {
        PrintStream originalOut = System.out;
        PrintStream originalErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream stderr = new ByteArrayOutputStream();
        StringWriter err = new StringWriter();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(stderr, true, StandardCharsets.UTF_8));
            CommandLine cli = MomCli.commandLine();
            cli.setErr(new PrintWriter(err, true));
            int exit = cli.execute(args);
            return new CliRun(exit, out.toString(StandardCharsets.UTF_8),
                    stderr.toString(StandardCharsets.UTF_8) + err);
        } finally {
            System.setOut(originalOut);
            System.setErr(originalErr);
        }
    }
}
