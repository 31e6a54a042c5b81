package dev.momstream.deploy;

import dev.momstream.kafka.topics.TopicAdmin;
import dev.momstream.pipeline.cli.MomCli;
import dev.momstream.pipeline.cli.RunCommand;
import dev.momstream.pipeline.job.FlinkSession;
import dev.momstream.pipeline.job.PretrainingJob;
import dev.momstream.pipeline.job.RunOptions;
import dev.momstream.pipeline.job.Taps;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import picocli.CommandLine;

/**
 * The job jar's main class: {@code flink run mom-job.jar run [options]} on a session cluster, and
 * the entry point of Flink's application mode (the Kubernetes operator's {@code FlinkDeployment}).
 *
 * <p>{@code run} submits the continuous pretraining job that {@code mom run --jobmanager} submits,
 * from the same options, parsed by the {@code mom run} command itself (model and training keys,
 * Kafka, steps, parallelism, checkpoint interval, evaluation, retention, device). It runs where
 * Flink runs the main method (the {@code flink} client, or the JobManager in application mode),
 * so it does none of what {@code mom run}'s own process does around the job: it starts no
 * broker, streams no corpus, follows no metrics and cancels nothing; the job runs until it is
 * cancelled or stopped with a savepoint, and with {@code --steps N} its trainer stops at step N.
 * The options that only drive that process are refused, with the reason ({@link #CLIENT_OPTIONS}).
 */
public final class MomJob {

    /** The job this jar runs, named as the {@code mom} command that runs it on one machine. */
    static final String RUN = "run";

    /** Options of {@code mom run} that belong to its own process, and why a cluster job has none. */
    static final Map<String, String> CLIENT_OPTIONS = new TreeMap<>(Map.of(
            "--corpus", "the job streams no corpus in: send text with `mom produce`",
            "--jobmanager", "`flink run` or the cluster decides where the job runs",
            "--web-ui-bind", "the cluster's configuration decides where its Web UI listens",
            "--json", "the job prints no summary: its metrics and versions are on train.metrics and model.events"));

    private MomJob() {
    }

    public static void main(String[] args) throws Exception {
        Optional<RunOptions> options = parse(args);
        if (options.isEmpty()) {
            return;
        }
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        ClusterJob job = ClusterJob.prepare(options.get(), env.getConfiguration());
        TopicAdmin.ensureTopics(job.config().kafka(), job.config().topics());
        env.configure(job.configuration());
        PretrainingJob.define(env, job.config(), Taps.none());
        env.execute(FlinkSession.jobName(job.config()));
    }

    /** The run {@code args} describe; empty when they asked for the usage, which is then printed. */
    static Optional<RunOptions> parse(String... args) throws IOException {
        if (args.length == 0 || !args[0].equals(RUN)) {
            throw new IllegalArgumentException("usage: flink run mom-job.jar " + RUN + " [options of `mom " + RUN
                    + "`]; got " + (args.length == 0 ? "no arguments" : "'" + args[0] + "'"));
        }
        CommandLine.ParseResult parsed = MomCli.commandLine().parseArgs(args).subcommand();
        CommandLine cli = parsed.commandSpec().commandLine();
        if (parsed.isUsageHelpRequested()) {
            cli.usage(System.out);
            System.out.println("\nThe job jar refuses " + String.join(", ", CLIENT_OPTIONS.keySet())
                    + " and requires --out.");
            return Optional.empty();
        }
        return Optional.of(options(parsed, cli.getCommand()));
    }

    /** The run the parsed arguments describe; every problem with them is named at once. */
    private static RunOptions options(CommandLine.ParseResult parsed, RunCommand command) throws IOException {
        List<String> problems = new ArrayList<>();
        CLIENT_OPTIONS.forEach((option, why) -> {
            if (parsed.hasMatchedOption(option)) {
                problems.add(option + ": " + why);
            }
        });
        if (!parsed.hasMatchedOption("--out")) {
            problems.add("--out is required: every submission of a run, and every restart of an application,"
                    + " must find the same run directory, on a file system that all TaskManagers share");
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("invalid arguments for the job jar: " + String.join("; ", problems));
        }
        return command.options();
    }
}
