package dev.momstream.trainer.train;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.momstream.trainer.config.Configs;
import dev.momstream.trainer.config.MomConfig;
import dev.momstream.trainer.config.ModelSize;
import dev.momstream.trainer.config.Preset;
import dev.momstream.trainer.data.Corpus;
import dev.momstream.trainer.data.TokenCorpus;
import dev.momstream.trainer.data.WindowSampler;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The tiny MoM learns the bundled corpus: after 300 steps of 8 x 64 tokens its validation loss
 * is far below the unigram entropy of the corpus (6.72 nats), the best any context-free model
 * can do. Measured here: 6.10 nats, so the bound below leaves 0.2 nats of slack. An integration
 * test: 300 real training steps take a minute or more, too long for the unit tier's fast signal.
 */
class LearningIT {

    @Test
    void tinyMomGoesWellBelowTheUnigramEntropy() throws Exception {
        TokenCorpus corpus = TokenCorpus.of(Corpus.bundled());
        double unigram = corpus.unigramEntropy();
        MomConfig model = Preset.MOM.at(ModelSize.TINY);
        TrainConfig train = TrainConfig.defaults().toBuilder().lr(3e-3).warmupSteps(30).totalSteps(300).build();
        List<int[][]> validation = WindowSampler.sequentialBatches(corpus.validation(),
                model.contextLength() + 1, 16, 32_768);
        try (Trainer trainer = Trainer.fresh(new Configs(model, train), "cpu")) {
            double initial = trainer.evaluate(validation).loss();
            WindowSampler sampler = new WindowSampler(corpus.train(), model.contextLength() + 1, train.seed());
            for (int i = 0; i < train.totalSteps(); i++) {
                trainer.step(List.<int[][]>of(sampler.next(train.batchSize())));
            }
            double loss = trainer.evaluate(validation).loss();
            assertTrue(initial > 10.5, "an untrained model is near ln(50257) = 10.8: " + initial);
            assertTrue(loss < unigram - 0.4, "validation loss " + loss + " vs unigram entropy " + unigram);
        }
    }
}
