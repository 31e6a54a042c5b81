package dev.momstream.pipeline.cli;

import dev.momstream.trainer.config.InvalidOptionsException;
import dev.momstream.trainer.engine.TorchRuntime;
import dev.momstream.trainer.io.FileErrors;
import java.io.UncheckedIOException;
import java.nio.file.FileSystemException;
import java.util.List;
import java.util.Optional;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.UnmatchedArgumentException;

/** The {@code mom} command line: offline training and tools, and the streaming job. */
@Command(name = "mom", mixinStandardHelpOptions = true, version = "mom-stream 0.1.0",
        description = "Train Mixture-of-Modules language models offline or from Kafka on Flink.",
        subcommands = {
            TrainCommand.class,
            EvalCommand.class,
            InspectCommand.class,
            PlotCommand.class,
            BenchCommand.class,
            RunCommand.class,
            ProduceCommand.class,
            TopicsCommand.class,
            ExportCommand.class,
            GenerateCommand.class,
            ServeCommand.class,
            AskCommand.class,
            ExperimentCommand.class,
            ReportCommand.class,
        })
public final class MomCli implements Runnable {

    @CommandLine.Option(names = {"-v", "--verbose"}, description = "Log progress messages (INFO).")
    boolean verbose;

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @CommandLine.Option(names = "--threads", paramLabel = "N",
            description = "libtorch and ONNX Runtime intra-op threads (default: all cores; `run` and `bench "
                    + "pipeline` with the embedded broker leave one core to Kafka and Flink).")
    void threads(int n) {
        System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(n));
        System.setProperty(THREADS, Integer.toString(n));
    }

    private static final String THREADS = TorchRuntime.THREADS_PROPERTY;

    /** The {@code --threads} given, or 0 (all cores). */
    static int threads() {
        return Integer.getInteger(THREADS, 0);
    }

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    public static void main(String[] args) {
        for (String a : args) {
            if (a.equals("-v") || a.equals("--verbose")) {
                // read by log4j2.xml when the first logger is created, i.e. after this line
                System.setProperty("mom.log.level", "INFO");
            }
        }
        System.exit(commandLine().execute(args));
    }

    /** The configured command line (also used by tests). */
    public static CommandLine commandLine() {
        return new CommandLine(new MomCli())
                .setCaseInsensitiveEnumValuesAllowed(true)
                .setExecutionStrategy(parsed -> new CommandLine.RunLast().execute(onlyOverridesUnmatched(parsed)))
                .setParameterExceptionHandler(MomCli::refuseArguments)
                .setExecutionExceptionHandler((e, cmd, parsed) -> {
                    cmd.getErr().println(cmd.getColorScheme().errorText("error: " + message(e, cmd)));
                    if (Boolean.getBoolean("mom.stacktrace")) {
                        e.printStackTrace(cmd.getErr());
                    }
                    return 1;
                });
    }

    /**
     * {@code parsed}, once every argument that no option took is a config override
     * ({@code --key=value}, see {@link ModelOptions}); the first that is not is refused as picocli
     * refuses it in a command without overrides. The job jar parses its arguments through here too.
     */
    public static ParseResult onlyOverridesUnmatched(ParseResult parsed) {
        for (ParseResult p : parsed.asCommandLineList().stream().map(CommandLine::getParseResult).toList()) {
            List<String> left = p.unmatched();
            for (int i = 0; i < left.size(); i++) {
                if (!ModelOptions.isOverride(left.get(i))) {
                    throw new UnmatchedArgumentException(p.commandSpec().commandLine(), left.subList(i, left.size()));
                }
            }
        }
        return parsed;
    }

    /** An argument that is not an option of the command: named, with picocli's suggestion, exit 2. */
    private static int refuseArguments(ParameterException e, String[] args) {
        CommandLine cmd = e.getCommandLine();
        cmd.getErr().println(cmd.getColorScheme().errorText("error: " + refusal(e)));
        cmd.getErr().println("see `" + cmd.getCommandSpec().qualifiedName() + " --help`");
        return cmd.getCommandSpec().exitCodeOnInvalidInput();
    }

    static String refusal(ParameterException e) {
        if (!(e instanceof UnmatchedArgumentException u) || u.getUnmatched().isEmpty()) {
            return e.getMessage();
        }
        String arg = u.getUnmatched().get(0);
        List<String> suggestions = u.getSuggestions();
        String hint = suggestions.isEmpty() ? "" : " (did you mean " + String.join(" or ", suggestions) + "?)";
        CommandLine cmd = u.getCommandLine();
        if (!u.isUnknownOption()) {
            return (cmd.getSubcommands().isEmpty() ? "unexpected argument '" : "unknown command '") + arg + "'" + hint;
        }
        boolean takesOverrides = !cmd.getCommandSpec().unmatchedArgsBindings().isEmpty();
        return "unknown option '" + arg.split("=", 2)[0] + "'" + hint
                + (takesOverrides && arg.contains("=") ? "; config overrides are " + ModelOptions.KEYS : "");
    }

    /**
     * {@link #message(Throwable)}, except that options out of range are named as {@code cmd}'s
     * user typed them when it says which option sets each field ({@link OptionFields}).
     */
    static String message(Throwable e, CommandLine cmd) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof InvalidOptionsException invalid && cmd.getCommand() instanceof OptionFields fields) {
                return invalid.describe(p -> {
                    String option = fields.optionOfField().get(p.field());
                    return option == null ? p.toString() : option + " " + typed(cmd, option).orElse(String.valueOf(
                            p.value())) + " " + p.rule();
                });
            }
        }
        return message(e);
    }

    /** The value {@code option} was given on the command line of {@code cmd} or a parent, as typed. */
    private static Optional<String> typed(CommandLine cmd, String option) {
        for (CommandLine c = cmd; c != null; c = c.getParent()) {
            OptionSpec matched = c.getParseResult() == null ? null : c.getParseResult().matchedOption(option);
            if (matched != null && !matched.originalStringValues().isEmpty()) {
                List<String> values = matched.originalStringValues();
                return Optional.of(values.get(values.size() - 1));
            }
        }
        return Optional.empty();
    }

    /**
     * The message of the first exception in the chain that has one. A file system error names
     * only the path in Java ({@code NoSuchFileException: runs/x}): its reason is added.
     */
    static String message(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && (t.getMessage() == null || t instanceof UncheckedIOException)) {
            t = t.getCause();
        }
        String message = t.getMessage() == null ? t.toString() : t.getMessage();
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof FileSystemException f) {
                String reason = FileErrors.reason(f);
                return message.contains(reason) ? message : message + ": " + reason;
            }
        }
        return message;
    }
}
