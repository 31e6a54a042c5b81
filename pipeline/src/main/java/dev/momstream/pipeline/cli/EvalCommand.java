package dev.momstream.pipeline.cli;

import dev.momstream.trainer.checkpoint.Checkpoint;
import dev.momstream.trainer.config.Json;
import dev.momstream.trainer.data.Corpus;
import dev.momstream.trainer.data.TokenCorpus;
import dev.momstream.trainer.data.WindowSampler;
import dev.momstream.trainer.model.MomModel;
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

/** {@code mom eval}: validation loss and perplexity of a checkpoint. */
@Command(name = "eval", mixinStandardHelpOptions = true,
        description = "Validation loss and perplexity of a checkpoint on the held-out split.")
public final class EvalCommand implements Callable<Integer> {

    @Option(names = "--checkpoint", required = true, paramLabel = "DIR", description = "A checkpoint directory.")
    Path checkpoint;

    @Option(names = "--data", paramLabel = "PATH", description = "Text file or directory (default: the bundled corpus).")
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
}
