package dev.momstream.trainer.train;

import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import dev.momstream.trainer.config.MomConfig;
import dev.momstream.trainer.config.ModelSize;
import dev.momstream.trainer.config.Preset;
import dev.momstream.trainer.data.Corpus;
import dev.momstream.trainer.data.TokenCorpus;
import dev.momstream.trainer.data.WindowSampler;
import dev.momstream.trainer.model.MomModel;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The tiny MoM learns the bundled corpus: after 300 steps of 8 x 64 tokens its validation loss
 * is far below the unigram entropy of the corpus (6.72 nats), the best any context-free model
 * can do. Measured here: 6.10 nats, so the bound below leaves 0.2 nats of slack.
 */
class LearningTest {

    @Test
    void tinyMomGoesWellBelowTheUnigramEntropy() throws Exception {
        TokenCorpus corpus = TokenCorpus.of(Corpus.bundled());
        double unigram = corpus.unigramEntropy();
        MomConfig model = Preset.MOM.at(ModelSize.TINY);
        TrainConfig train = new TrainConfig(8, 1, 3e-3, 0.1, 30, TrainConfig.Schedule.COSINE, 300, 0,
                0.9, 0.95, 1e-5, 0.1, 1.0, 1234, 5);
        List<int[][]> validation = WindowSampler.sequentialBatches(corpus.validation(),
                model.contextLength() + 1, 16, 32_768);
        try (MomModel m = MomModel.create(model, Device.cpu(), DataType.FLOAT32, train.seed());
                Trainer trainer = new Trainer(m, train)) {
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
