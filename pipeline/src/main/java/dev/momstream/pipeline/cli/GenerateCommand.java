package dev.momstream.pipeline.cli;

import dev.momstream.trainer.config.Json;
import dev.momstream.trainer.data.Gpt2Tokenizer;
import dev.momstream.trainer.onnx.Generation;
import dev.momstream.trainer.onnx.Generator;
import dev.momstream.trainer.onnx.OnnxModel;
import dev.momstream.trainer.onnx.Sampling;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code mom generate}: text from an exported model on ONNX Runtime, with cached decoding. */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate text from an exported model (ONNX Runtime, key/value-cached decoding).",
        footer = {"", "Sampling: --greedy, or softmax(logits / --temperature) over the --top-k most likely tokens,",
            "then the smallest set reaching --top-p. A fixed --seed repeats the same text.",
            "Example: ./mom generate --model runs/tiny/onnx --max-new-tokens 40 --seed 1 \"Fellow citizens\""})
public final class GenerateCommand implements Callable<Integer> {

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "An exported model directory (see `mom export`).")
    Path model;

    @Parameters(index = "0", arity = "0..1", paramLabel = "PROMPT",
            description = "The prompt (default: empty, i.e. start after <|endoftext|>).")
    String prompt = "";

    @Option(names = "--max-new-tokens", defaultValue = "64", description = "Tokens to generate at most (default: ${DEFAULT-VALUE}).")
    int maxNewTokens;

    @Option(names = "--greedy", description = "Always take the most likely token (same as --temperature 0).")
    boolean greedy;

    @Option(names = "--temperature", defaultValue = "1.0", description = "Softmax temperature; 0 = greedy (default: ${DEFAULT-VALUE}).")
    double temperature;

    @Option(names = "--top-k", defaultValue = "50", description = "Sample among the K most likely tokens; 0 = all (default: ${DEFAULT-VALUE}).")
    int topK;

    @Option(names = "--top-p", defaultValue = "1.0", description = "Nucleus: the smallest set of tokens reaching this probability (default: ${DEFAULT-VALUE}).")
    double topP;

    @Option(names = "--seed", description = "Random seed (default: a new one each run, printed with --json).")
    Long seed;

    @Option(names = "--no-cache", description = "Rerun the whole sequence for every token (slow; for comparison).")
    boolean noCache;

    @Option(names = "--ignore-eot", description = "Keep generating after <|endoftext|>.")
    boolean ignoreEndOfText;

    @Mixin
    DeviceOption device;

    @Option(names = "--json", description = "Print text, token ids and timings as JSON.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        long s = seed != null ? seed : System.nanoTime();
        Sampling sampling = new Sampling(greedy ? 0 : temperature, topK, topP, s);
        int[] ids = prompt.isEmpty() ? new int[] {Gpt2Tokenizer.END_OF_TEXT} : Gpt2Tokenizer.encode(prompt);
        try (OnnxModel onnx = OnnxModel.load(model, OnnxOptions.of(device))) {
            int stop = ignoreEndOfText || onnx.config().vocabSize() <= Gpt2Tokenizer.END_OF_TEXT
                    ? Generator.NONE : Gpt2Tokenizer.END_OF_TEXT;
            Generation g = Generator.generate(onnx, ids, maxNewTokens, sampling, stop, !noCache);
            String text = Gpt2Tokenizer.decode(g.tokens());
            if (json) {
                Map<String, Object> out = new LinkedHashMap<>();
                out.put("prompt", prompt);
                out.put("text", text);
                out.put("promptTokenIds", g.prompt());
                out.put("tokenIds", g.tokens());
                out.put("stop", g.stop().name().toLowerCase(java.util.Locale.ROOT));
                out.put("seed", s);
                out.put("cached", !noCache);
                out.put("provider", onnx.provider());
                out.put("firstTokenMillis", g.firstTokenMillis());
                out.put("totalMillis", g.totalMillis());
                out.put("tokensPerSecond", g.tokensPerSecond());
                System.out.println(Json.write(out));
            } else {
                System.out.println(prompt + text);
            }
        }
        return 0;
    }
}
