package dev.momstream.pipeline.cli;

import dev.momstream.kafka.embedded.EmbeddedKafka;
import dev.momstream.kafka.records.ServingEvent;
import dev.momstream.kafka.settings.KafkaSettings;
import dev.momstream.operators.infer.ServableModel;
import dev.momstream.operators.infer.ServeOptions;
import dev.momstream.operators.train.LineageCard;
import dev.momstream.operators.train.RunLayout;
import dev.momstream.pipeline.job.RunDirectory;
import dev.momstream.pipeline.job.ServeRun;
import dev.momstream.trainer.config.Json;
import dev.momstream.trainer.onnx.ExportMetadata;
import dev.momstream.trainer.onnx.OnnxModel;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code mom serve}: the inference and evaluation job on ONNX Runtime, following new versions. */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Serve a model on ONNX Runtime inside Flink: requests on infer.requests, responses on",
            "infer.responses (see `mom ask`), every servable version evaluated on text.eval.",
            "--run DIR of a running `mom run`: uses its broker and swaps in each version it publishes.",
            "--run DIR of a stopped run, or --model DIR: serves that run's newest export (or DIR) on an",
            "embedded broker. With --bootstrap-servers, on that broker, following its model.events: the",
            "run's new versions (--model: those of the run in DIR's lineage card; every run's, if DIR has",
            "no readable card).",
            "Ctrl-C stops; running it again on the same --out continues without losing a request."},
        footer = {"", "Examples: ./mom serve --run runs/stream-20261130-120000",
            "          ./mom serve --model runs/tiny/onnx",
            "          ./mom serve --run runs/r1 --score-topic text.train     (per-document losses to text.scores)"})
public final class ServeCommand implements Callable<Integer>, OptionFields {

    @Option(names = "--run", paramLabel = "DIR", description = "A `mom run` directory: serve its newest version, and follow it while it runs.")
    Path run;

    @Option(names = "--model", paramLabel = "DIR", description = "An exported model directory to serve (see `mom export`);"
            + " with --bootstrap-servers, newer versions of its run replace it.")
    Path model;

    @Mixin
    KafkaOptions kafka;

    @Option(names = "--out", paramLabel = "DIR",
            description = "Serve directory: checkpoints, and the embedded broker's data (default: <run>/serve, else runs/serve-<timestamp>).")
    Path out;

    @Mixin
    DeviceOption device;

    @Option(names = "--max-batch", defaultValue = "" + ServeOptions.DEFAULT_MAX_BATCH,
            description = "Requests computed together at most (default: ${DEFAULT-VALUE}).")
    int maxBatch;

    @Option(names = "--max-delay-ms", defaultValue = "" + ServeOptions.DEFAULT_MAX_DELAY_MILLIS,
            description = "How long a batch's first request waits for others (default: ${DEFAULT-VALUE}).")
    long maxDelayMillis;

    @Option(names = "--max-queued", defaultValue = "" + ServeOptions.DEFAULT_MAX_QUEUED,
            description = "Requests waiting at most; beyond, back-pressure holds them in Kafka (default: ${DEFAULT-VALUE}).")
    int maxQueued;

    @Option(names = "--parallelism", defaultValue = "1",
            description = "Inference operators (each with its own sessions), at most the partitions of infer.requests (default: ${DEFAULT-VALUE}).")
    int parallelism;

    @Option(names = "--score-topic", paramLabel = "TOPIC",
            description = "Also score every document of this topic (full name) with the newest version, to text.scores.")
    String scoreTopic;

    @Option(names = "--eval-windows", defaultValue = "64",
            description = "Validation windows of text.eval each version is evaluated on; 0 = no evaluation (default: ${DEFAULT-VALUE}).")
    int evalWindows;

    @Option(names = "--checkpoint-interval", paramLabel = "SECONDS", defaultValue = "5",
            description = "Flink checkpoint interval (default: ${DEFAULT-VALUE}).")
    double checkpointSeconds;

    @Option(names = "--json", description = "Print the serving events as JSON lines.")
    boolean json;

    /** What to serve, and where Kafka is, resolved from the options. */
    private record Target(ServableModel model, boolean follow, String runId, KafkaSettings kafka, int windowLength,
                          Path dir) {
    }

    @Override
    public Map<String, String> optionOfField() {
        return Map.of("threads", "--threads", "maxBatch", "--max-batch", "maxDelay", "--max-delay-ms",
                "maxQueued", "--max-queued", "parallelism", "--parallelism", "evalWindows", "--eval-windows");
    }

    /** Checks the values of the options that need nothing on disk, naming the first one out of range. */
    public void checkValues() {
        serveOptions();
        RunCommand.checkpointInterval(checkpointSeconds);
    }

    /** The Kafka settings of --bootstrap-servers and --kafka-config, as given (no broker looked for). */
    public KafkaSettings kafkaSettings() {
        return kafka.settings();
    }

    /** The serve the options describe: what to serve read from the run or model directory, Kafka resolved. */
    public ServeRun.Options options() throws Exception {
        ServeOptions options = serveOptions();
        Target t = target();
        OutDirectory.check(t.dir());
        return new ServeRun.Options(t.dir(), name(t.dir()), t.model(), t.follow(), t.runId(), t.kafka(),
                kafka.topics(), options, parallelism, scoreTopic, evalWindows, t.windowLength(),
                RunCommand.checkpointInterval(checkpointSeconds), InetAddress.getLoopbackAddress());
    }

    private ServeOptions serveOptions() {
        return ServeOptions.defaults().toBuilder().device(device.name)
                .threads(MomCli.threads() > 0 ? MomCli.threads() : ServeOptions.defaults().threads())
                .batching(maxBatch, Duration.ofMillis(maxDelayMillis)).maxQueued(maxQueued).build();
    }

    @Override
    public Integer call() throws Exception {
        ServeRun.Options o = options();
        PrintStream info = json ? System.err : System.out;
        CountDownLatch stop = new CountDownLatch(1);
        try (ServeRun serve = ServeRun.start(o); StopSignals signals = StopSignals.install(stop::countDown, () -> false)) {
            info.println("serving " + (o.model() == null ? "the newest servable version of model.events" : o.model().label())
                    + (o.follow() ? ", following " + (o.runId() == null ? "every run's" : "run " + o.runId() + "'s")
                    + " new versions" : "") + (serve.restored() ? " (continued from " + o.dir() + ")" : ""));
            info.println("Kafka: " + serve.bootstrapServers());
            info.println("Flink Web UI: " + serve.webUi() + "#/job/running/" + serve.client().getJobID() + "/overview");
            info.println("ask: ./mom ask --bootstrap-servers " + serve.bootstrapServers() + " \"Fellow citizens\"");
            while (stop.getCount() > 0) {
                for (ServingEvent e : serve.pollEvents(Duration.ofMillis(500))) {
                    print(e);
                }
                if (serve.client().getJobExecutionResult().isDone()) {
                    serve.client().getJobExecutionResult().get(); // throws the job's failure
                    throw new IllegalStateException("the inference job ended");
                }
                stop.await(10, TimeUnit.MILLISECONDS);
            }
        }
        return 0;
    }

    private void print(ServingEvent e) {
        if (json) {
            System.out.println(Json.write(e));
        } else if (e.type().equals(ServingEvent.SWAPPED)) {
            System.out.printf("serving %s (%s), loaded in %.0f ms%s%n", e.version() == null ? e.model() : "v" + e.version(),
                    e.model(), e.loadMillis(), e.previousVersion() == null ? "" : ", replacing v" + e.previousVersion());
        } else {
            System.out.printf("refused %s: %s; %s keeps serving%n", e.version() == null ? e.model() : "v" + e.version(),
                    e.reason(), e.previousVersion() == null ? "nothing" : "v" + e.previousVersion());
        }
    }

    private Target target() throws Exception {
        if (run != null && model != null) {
            throw new IllegalArgumentException("give --run DIR or --model DIR, not both");
        }
        KafkaSettings settings = kafka.settings();
        if (model != null) {
            Path dir = model.toAbsolutePath().normalize();
            ExportMetadata m = OnnxModel.verify(dir);
            ServableModel s = new ServableModel(m.version(), dir.toString(), null, runOf(m), m.lineageCard(), m.step());
            // a broker named: it may be a running `mom run`'s, whose newer versions should replace this one
            boolean follow = settings.hasBootstrapServers();
            return new Target(s, follow, follow ? s.runId() : null, settings, m.config().contextLength() + 1,
                    out != null ? out : defaultOut());
        }
        if (run != null) {
            RunDirectory dir = new RunDirectory(run);
            RunDirectory.RunInfo info = dir.info().orElseThrow(() -> new IllegalArgumentException(
                    "--run " + run + " is not a run directory (no " + RunDirectory.RUN_FILE + ")"));
            ServableModel newest = newestExport(dir.layout(), info.runId());
            boolean follow = settings.hasBootstrapServers();
            if (!follow) {
                var live = EmbeddedKafka.runningAt(dir.kafkaData());
                if (live.isPresent()) {
                    settings = settings.withBootstrapServers(live.get());
                    follow = true;
                }
            }
            if (newest == null && !follow) {
                throw new IllegalArgumentException("run " + run + " has no exported version to serve and is not running"
                        + " (no broker answers for it): train with `mom run` first");
            }
            return new Target(newest, follow, info.runId(), settings, info.configs().windowLength(),
                    out != null ? out : dir.path().resolve("serve"));
        }
        if (!settings.hasBootstrapServers()) {
            throw new IllegalArgumentException("nothing to serve: give --run DIR, --model DIR, or a broker"
                    + " (--bootstrap-servers) whose model.events to follow");
        }
        throw new IllegalArgumentException("following a broker without --run needs the model's context length:"
                + " give --run DIR (a run directory on this machine) or --model DIR");
    }

    /**
     * The run an export belongs to, from its lineage card; null when it has none (exported from a
     * checkpoint offline) or the card is unreadable: then every run's versions are followed.
     */
    private static String runOf(ExportMetadata m) {
        if (m.lineageCard() == null) {
            return null;
        }
        try {
            return Json.read(Files.readString(Path.of(m.lineageCard())), LineageCard.class).runId();
        } catch (IOException | RuntimeException unreadable) {
            return null;
        }
    }

    /** The run's newest version with an export, or null. */
    private static ServableModel newestExport(RunLayout layout, String runId) throws IOException {
        List<Long> exported = layout.exportedVersions();
        if (exported.isEmpty()) {
            return null;
        }
        long v = exported.get(exported.size() - 1);
        Path card = layout.card(v);
        long step = Files.exists(card) ? Json.read(Files.readString(card), LineageCard.class).step() : -1;
        return new ServableModel(v, layout.onnx(v).toString(), null, runId, Files.exists(card) ? card.toString() : null,
                step);
    }

    private static Path defaultOut() {
        return Path.of("runs", "serve-" + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
    }

    /** A name stable for a serve directory (its consumer groups), distinct between directories. */
    static String name(Path dir) {
        Path abs = dir.toAbsolutePath().normalize();
        String base = abs.getFileName().toString().replaceAll("[^a-zA-Z0-9._-]", "_");
        byte[] digest;
        try {
            digest = MessageDigest.getInstance("SHA-256").digest(abs.toString().getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        return base + "-" + HexFormat.of().formatHex(digest, 0, 4);
    }
}
