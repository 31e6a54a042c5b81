package dev.momstream.deploy;

import dev.momstream.kafka.topics.TopicAdmin;
import dev.momstream.pipeline.cli.MomCli;
import dev.momstream.pipeline.cli.RunCommand;
import dev.momstream.pipeline.cli.ServeCommand;
import dev.momstream.pipeline.job.FlinkSession;
import dev.momstream.pipeline.job.InferenceJob;
import dev.momstream.pipeline.job.PretrainingJob;
import dev.momstream.pipeline.job.RunOptions;
import dev.momstream.pipeline.job.ServeRun;
import dev.momstream.pipeline.job.Taps;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import picocli.CommandLine;

/**
 * The job jar's main class: {@code flink run mom-job.jar run|serve [options]} on a session
 * cluster, and the entry point of Flink's application mode (the Kubernetes operator's
 * {@code FlinkDeployment}).
 *
 * <p>{@code run} submits the continuous pretraining job that {@code mom run --jobmanager} submits;
 * {@code serve} the inference and evaluation job that {@code mom serve} runs, following the
 * versions that the run in {@code --run DIR} publishes on {@code model.events}. Each takes the
 * options of its {@code mom} command, parsed by that command itself. The job jar runs where Flink
 * runs the main method (the {@code flink} client, or the JobManager in application mode), so it
 * does none of what the command's own process does around the job: it starts no broker, streams
 * no corpus, prints no metrics or serving events and cancels nothing; the job runs until it is
 * cancelled or stopped with a savepoint (with {@code run --steps N}, its trainer stops at step N).
 * The options that only drive that process are refused, with the reason ({@link Job#clientOptions}).
 */
public final class MomJob {

    /** The jobs this jar runs, named as the {@code mom} commands that run them on one machine. */
    static final String RUN = "run";
    static final String SERVE = "serve";

    /**
     * A job of the jar: its {@code mom} command, the options of that command that belong to its own
     * process (and why a cluster job has none), and the option every submission must give.
     */
    enum Job {
        PRETRAINING(RUN, Map.of(
                "--corpus", "the job streams no corpus in: send text with `mom produce`",
                "--jobmanager", "`flink run` or the cluster decides where the job runs",
                "--web-ui-bind", "the cluster's configuration decides where its Web UI listens",
                "--json", "the job prints no summary: its metrics and versions are on train.metrics and model.events"),
                "--out", "every submission of a run, and every restart of an application, must find the same run"
                        + " directory, on a file system that all TaskManagers share"),
        SERVING(SERVE, Map.of(
                "--json", "the job prints no serving events: they are on infer.events"),
                "--run", "the job serves the versions that run publishes on model.events, from its directory on a"
                        + " file system that all TaskManagers share"
                        + " (its serve directory, <run>/serve unless --out names one, names the job's consumer groups)");

        final String command;
        final Map<String, String> clientOptions;
        final String required;
        final String whyRequired;

        Job(String command, Map<String, String> clientOptions, String required, String whyRequired) {
            this.command = command;
            this.clientOptions = new TreeMap<>(clientOptions);
            this.required = required;
            this.whyRequired = whyRequired;
        }

        static Job named(String... args) {
            return Arrays.stream(values()).filter(j -> args.length > 0 && j.command.equals(args[0])).findFirst()
                    .orElseThrow(() -> new IllegalArgumentException("usage: flink run mom-job.jar " + usage()
                            + "; got " + (args.length == 0 ? "no arguments" : "'" + args[0] + "'")));
        }

        private static String usage() {
            return Arrays.stream(values()).map(j -> j.command + " [options of `mom " + j.command + "`]")
                    .collect(Collectors.joining(" | "));
        }

        /** Every problem with the arguments that the command itself does not see. */
        List<String> problems(CommandLine.ParseResult parsed) {
            List<String> problems = new ArrayList<>();
            clientOptions.forEach((option, why) -> {
                if (parsed.hasMatchedOption(option)) {
                    problems.add(option + ": " + why);
                }
            });
            if (!parsed.hasMatchedOption(required)) {
                problems.add(required + " is required: " + whyRequired);
            }
            return problems;
        }
    }

    /** One submission of the jar: arguments checked; the job is resolved, and Kafka touched, on submit. */
    sealed interface Submission permits Pretraining, Serving {
        /** Prepares the job for the cluster of {@code env}, creates its missing topics, and runs it. */
        void submit(StreamExecutionEnvironment env) throws Exception;
    }

    /** {@code run}: the continuous pretraining job. */
    record Pretraining(RunOptions options) implements Submission {
        @Override
        public void submit(StreamExecutionEnvironment env) throws Exception {
            ClusterJob job = ClusterJob.prepare(options, env.getConfiguration());
            TopicAdmin.ensureTopics(job.config().kafka(), job.config().topics());
            env.configure(job.configuration());
            PretrainingJob.define(env, job.config(), Taps.none());
            env.execute(FlinkSession.jobName(job.config()));
        }
    }

    /** {@code serve}: the inference and evaluation job; what it serves is read from the run directory on submit. */
    record Serving(ServeCommand command) implements Submission {
        @Override
        public void submit(StreamExecutionEnvironment env) throws Exception {
            ServeRun.Options options = command.options();
            ServingJob job = ServingJob.prepare(options, env.getConfiguration());
            TopicAdmin.ensureTopics(job.config().kafka(), job.config().topics());
            InferenceJob.anchorRequests(job.config());
            env.configure(job.configuration());
            InferenceJob.define(env, job.config());
            env.execute(ServeRun.jobName(options));
        }
    }

    private MomJob() {
    }

    public static void main(String[] args) throws Exception {
        Optional<Submission> submission = parse(args);
        if (submission.isPresent()) {
            submission.get().submit(StreamExecutionEnvironment.getExecutionEnvironment());
        }
    }

    /**
     * The submission {@code args} describe, every problem with them named at once; empty when they
     * asked for the usage, which is then printed. Reads no run directory and touches no Kafka.
     */
    static Optional<Submission> parse(String... args) throws Exception {
        Job job = Job.named(args);
        CommandLine.ParseResult parsed = MomCli.onlyOverridesUnmatched(MomCli.commandLine().parseArgs(args)).subcommand();
        CommandLine cli = parsed.commandSpec().commandLine();
        if (parsed.isUsageHelpRequested()) {
            cli.usage(System.out);
            System.out.println("\nThe job jar refuses " + String.join(", ", job.clientOptions.keySet())
                    + " and requires " + job.required + ".");
            return Optional.empty();
        }
        List<String> problems = job.problems(parsed);
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("invalid arguments for the job jar: " + String.join("; ", problems));
        }
        return Optional.of(switch (job) {
            case PRETRAINING -> new Pretraining(cli.<RunCommand>getCommand().options());
            case SERVING -> {
                ServeCommand serve = cli.getCommand();
                serve.checkValues();
                ClusterJob.requireKafka(serve.kafkaSettings()); // before the run directory is looked at
                yield new Serving(serve);
            }
        });
    }
}
