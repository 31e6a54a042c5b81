package dev.momstream.trainer.train;

import ai.djl.ndarray.NDManager;
import dev.momstream.trainer.engine.NoGrad;
import dev.momstream.trainer.model.Forward;
import dev.momstream.trainer.model.MomModel;
import dev.momstream.trainer.model.RouterStats;
import dev.momstream.trainer.model.RoutingPolicy;
import dev.momstream.trainer.model.TokenBatch;
import java.util.List;
import java.util.function.ObjLongConsumer;

/** Validation loss of a model, without dropout or gradients. */
public final class Evaluator {
    private Evaluator() {}

    public static EvalResult evaluate(MomModel model, Iterable<int[][]> batches) {
        return evaluate(model, batches, (routers, tokens) -> { });
    }

    /** As {@link #evaluate(MomModel, Iterable)}, handing each batch's routing telemetry and token count to {@code routing}. */
    public static EvalResult evaluate(MomModel model, Iterable<int[][]> batches,
            ObjLongConsumer<List<RouterStats>> routing) {
        double lossTokens = 0;
        double auxSum = 0;
        long tokens = 0;
        int batchesSeen = 0;
        try (NoGrad ignored = new NoGrad()) {
            for (int[][] windows : batches) {
                TokenBatch[] io = TokenBatch.inputsAndTargets(windows);
                try (NDManager m = model.params().newStepManager()) {
                    Forward f = model.forward(m, io[0], false, RoutingPolicy.TOP_K);
                    lossTokens += Trainer.value(f.crossEntropy(io[1]))
                            * io[1].tokens();
                    auxSum += Trainer.value(f.aux());
                    routing.accept(f.routers(), io[1].tokens());
                }
                tokens += io[1].tokens();
                batchesSeen++;
            }
        }
        if (tokens == 0) {
            throw new IllegalArgumentException("no validation batches to evaluate");
        }
        return new EvalResult(lossTokens / tokens, auxSum / batchesSeen, tokens);
    }
}
