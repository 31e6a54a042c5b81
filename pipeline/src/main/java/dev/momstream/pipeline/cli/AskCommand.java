package dev.momstream.pipeline.cli;

import dev.momstream.kafka.embedded.EmbeddedKafka;
import dev.momstream.kafka.records.InferRequest;
import dev.momstream.kafka.records.InferResponse;
import dev.momstream.kafka.settings.KafkaSettings;
import dev.momstream.pipeline.job.AskClient;
import dev.momstream.pipeline.job.RunDirectory;
import dev.momstream.trainer.config.Json;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code mom ask}: one request to a served model, through Kafka. */
@Command(name = "ask", mixinStandardHelpOptions = true,
        description = {"Ask the model that `mom serve` serves: sends one request to infer.requests and prints",
            "its response from infer.responses, with the version that answered."},
        footer = {"", "Examples: ./mom ask --dir runs/r1 \"Fellow citizens\"",
            "          ./mom ask --bootstrap-servers 127.0.0.1:9092 --score \"Fellow citizens of the Senate\" --json",
            "          ./mom ask --dir runs/r1 --greedy --max-new-tokens 20 \"It is\""})
public final class AskCommand implements Callable<Integer> {

    @Parameters(index = "0", arity = "0..1", paramLabel = "PROMPT", description = "Generate a continuation of PROMPT.")
    String prompt;

    @Option(names = "--score", paramLabel = "TEXT", description = "Score TEXT instead: loss and perplexity.")
    String score;

    @Mixin
    KafkaOptions kafka;

    @Option(names = "--dir", paramLabel = "DIR",
            description = "A run or serve directory whose embedded broker (DIR/kafka or DIR/serve/kafka) to use.")
    Path dir;

    @Option(names = "--id", description = "The request id (default: a new UUID).")
    String id;

    @Option(names = "--max-new-tokens", defaultValue = "" + InferRequest.DEFAULT_MAX_NEW_TOKENS,
            description = "Tokens to generate at most (default: ${DEFAULT-VALUE}).")
    int maxNewTokens;

    @Option(names = "--greedy", description = "Always take the most likely token.")
    boolean greedy;

    @Option(names = "--temperature", defaultValue = "" + InferRequest.DEFAULT_TEMPERATURE,
            description = "Softmax temperature; 0 = greedy (default: ${DEFAULT-VALUE}).")
    double temperature;

    @Option(names = "--top-k", defaultValue = "" + InferRequest.DEFAULT_TOP_K,
            description = "Sample among the K most likely tokens; 0 = all (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--top-p", defaultValue = "" + InferRequest.DEFAULT_TOP_P,
            description = "Nucleus probability mass (default: ${DEFAULT-VALUE}).")
    double topP;

    @Option(names = "--seed", description = "Random seed: the same seed, prompt and version give the same text.")
    Long seed;

    @Option(names = "--timeout", paramLabel = "SECONDS", defaultValue = "60",
            description = "Give up after this long (default: ${DEFAULT-VALUE}).")
    long timeoutSeconds;

    @Option(names = "--json", description = "Print the whole response as JSON.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if ((prompt == null) == (score == null)) {
            throw new IllegalArgumentException("give a PROMPT to continue, or --score TEXT");
        }
        String requestId = id != null ? id : UUID.randomUUID().toString();
        InferRequest request = score != null
                ? new InferRequest(requestId, InferRequest.SCORE, score, null, null, null, null, null, null,
                        System.currentTimeMillis())
                : new InferRequest(requestId, InferRequest.GENERATE, prompt, maxNewTokens, greedy, temperature, topK, topP,
                        seed, System.currentTimeMillis());
        long started = System.nanoTime();
        InferResponse r;
        try (AskClient client = new AskClient(broker(), kafka.topics())) {
            r = client.ask(request, Duration.ofSeconds(timeoutSeconds));
        }
        double millis = (System.nanoTime() - started) / 1e6;
        if (json) {
            System.out.println(Json.write(r));
        } else if (!r.ok()) {
            System.err.println("error: " + r.error() + (r.version() == null ? "" : " (v" + r.version() + ")"));
        } else if (score != null) {
            System.out.printf("loss %.4f, perplexity %.2f over %d tokens  (%s, %.0f ms)%n", r.loss(), r.perplexity(),
                    r.tokens(), label(r), millis);
        } else {
            System.out.println(prompt + r.text());
            System.out.printf("(%s, %d tokens, seed %d, %.0f ms)%n", label(r), r.tokens(), r.seed(), millis);
        }
        return r.ok() ? 0 : 1;
    }

    private static String label(InferResponse r) {
        return r.version() == null ? r.model() : "v" + r.version();
    }

    /** The broker named by the options, else the embedded broker of {@code --dir}. */
    private KafkaSettings broker() {
        KafkaSettings settings = kafka.settings();
        if (settings.hasBootstrapServers()) {
            return settings;
        }
        if (dir == null) {
            throw new IllegalArgumentException("which broker? give --bootstrap-servers HOST:PORT (printed by `mom serve`)"
                    + " or --dir DIR of the run or serve directory");
        }
        for (Path data : new Path[] {dir.resolve(RunDirectory.KAFKA), dir.resolve("serve").resolve(RunDirectory.KAFKA)}) {
            Optional<String> live = EmbeddedKafka.runningAt(data);
            if (live.isPresent()) {
                return settings.withBootstrapServers(live.get());
            }
        }
        throw new IllegalArgumentException("no broker answers for " + dir + " (neither " + dir.resolve(RunDirectory.KAFKA)
                + " nor " + dir.resolve("serve").resolve(RunDirectory.KAFKA) + "): is `mom run` or `mom serve` running?");
    }
}
