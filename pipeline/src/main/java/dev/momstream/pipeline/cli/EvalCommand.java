package dev.momstream.pipeline.cli;

import dev.momstream.trainer.checkpoint.Checkpoint;
import dev.momstream.trainer.config.Json;
import dev.momstream.trainer.data.Corpus;
import dev.momstream.trainer.data.Gpt2Tokenizer;
import dev.momstream.trainer.data.TokenCorpus;
import dev.momstream.trainer.data.WindowSampler;
import dev.momstream.trainer.model.MomModel;
import dev.momstream.trainer.onnx.Evaluation;
import dev.momstream.trainer.onnx.OnnxModel;
import dev.momstream.trainer.train.EvalResult;
import dev.momstream.trainer.train.Evaluator;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code mom eval}: validation loss and perplexity of a checkpoint (DJL) or an exported model (ONNX Runtime). */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Loss and perplexity of a checkpoint (DJL) or an exported model (ONNX Runtime) on the held-out "
                + "split, or of a text (--model only).",
        footer = {"", "Examples: ./mom eval --checkpoint runs/tiny/checkpoints/step-00000200 --json",
            "          ./mom eval --model runs/tiny/onnx --text \"Fellow citizens\" --json"})
public final class EvalCommand implements Callable<Integer> {

    @Option(names = "--checkpoint", paramLabel = "DIR", description = "A checkpoint directory (runs on DJL).")
    Path checkpoint;

    @Option(names = "--model", paramLabel = "DIR", description = "An exported model directory (runs on ONNX Runtime; see `mom export`).")
    Path model;

    @Option(names = "--text", paramLabel = "TEXT", description = "Score this text instead of a corpus (--model only).")
    String text;

    @Option(names = {"--data", "--corpus"}, paramLabel = "PATH",
            description = "Text file or directory whose held-out split is scored (default: the bundled corpus).")
    Path data;

    @Option(names = "--eval-tokens", defaultValue = "0", description = "Validation tokens, 0 = all (default: ${DEFAULT-VALUE}).")
    long evalTokens;

    @Option(names = "--batch-size", defaultValue = "16", description = "Sequences per forward pass (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Mixin
    DeviceOption device;

    @Option(names = "--json", description = "Print the result as JSON.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if ((checkpoint == null) == (model == null)) {
            throw new IllegalArgumentException("give exactly one of --checkpoint DIR (DJL) or --model DIR (ONNX Runtime)");
        }
        if (model != null) {
            return evalExported();
        }
        if (text != null) {
            throw new IllegalArgumentException("--text scores with an exported model: export the checkpoint "
                    + "(mom export) and pass --model");
        }
        TokenCorpus corpus = TokenCorpus.of(data == null ? Corpus.bundled() : Corpus.fromPath(data));
        try (MomModel model = Checkpoint.loadModel(checkpoint, device.name)) {
            List<int[][]> batches = WindowSampler.sequentialBatches(corpus.validation(),
                    model.config().contextLength() + 1, batchSize, evalTokens);
            EvalResult r = Evaluator.evaluate(model, batches);
            if (json) {
                Map<String, Object> out = new LinkedHashMap<>();
                out.put("checkpoint", checkpoint.toString());
                out.put("step", Checkpoint.readState(checkpoint).step());
                out.put("loss", r.loss());
                out.put("perplexity", r.perplexity());
                out.put("aux", r.aux());
                out.put("tokens", r.tokens());
                System.out.println(Json.write(out));
            } else {
                System.out.printf("validation loss %.4f nats, perplexity %.2f over %,d tokens (step %d)%n",
                        r.loss(), r.perplexity(), r.tokens(), Checkpoint.readState(checkpoint).step());
            }
        }
        TrainCommand.printSkipped(corpus.skipped(), json ? System.err : System.out);
        return 0;
    }

    /** The exported model on ONNX Runtime: a text, or the held-out split of a corpus. */
    private Integer evalExported() throws Exception {
        if (text != null && data != null) {
            throw new IllegalArgumentException("give --text or --corpus, not both");
        }
        try (OnnxModel onnx = OnnxModel.load(model, OnnxOptions.of(device))) {
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("model", onnx.directory().toString());
            out.put("step", onnx.metadata().step());
            out.put("version", onnx.metadata().version());
            out.put("provider", onnx.provider());
            Evaluation r;
            if (text != null) {
                int[] ids = Gpt2Tokenizer.encode(text);
                r = Evaluation.ofTokens(onnx, ids);
                out.put("tokenIds", ids);
            } else {
                TokenCorpus corpus = TokenCorpus.of(data == null ? Corpus.bundled() : Corpus.fromPath(data));
                List<int[][]> batches = WindowSampler.sequentialBatches(corpus.validation(),
                        onnx.config().contextLength() + 1, batchSize, evalTokens);
                try (Progress bar = Progress.start("eval", batches.size(), 0)) {
                    r = Evaluation.ofWindows(onnx, batches, done -> bar.update(done, ""));
                }
            }
            out.put("loss", r.loss());
            out.put("perplexity", r.perplexity());
            out.put("tokens", r.tokens());
            if (json) {
                System.out.println(Json.write(out));
            } else {
                System.out.printf("loss %.4f nats, perplexity %.2f over %,d tokens (ONNX Runtime, %s, step %d)%n",
                        r.loss(), r.perplexity(), r.tokens(), onnx.provider(), onnx.metadata().step());
            }
        }
        return 0;
    }
}
