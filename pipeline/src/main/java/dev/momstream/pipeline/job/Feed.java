package dev.momstream.pipeline.job;

import dev.momstream.kafka.topics.Topic;
import dev.momstream.kafka.topics.TopicCatalog;
import dev.momstream.trainer.data.Corpus;
import dev.momstream.trainer.data.Document;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * What a new run streams into its input topics: nothing, the bundled corpus, or the user's text.
 * Training documents go to {@code text.train}, held-out ones to {@code text.eval}, with the
 * offline split ({@link Corpus}: every tenth document in id order). A corpus of fewer than ten
 * documents is held out by piece instead: documents are cut at paragraph boundaries into pieces
 * of at most {@value #SMALL_CORPUS_PIECE_BYTES} bytes, and every tenth piece is held out.
 *
 * @param corpus null for nothing, else a file or directory; {@link #BUNDLED} for the bundled corpus
 */
public record Feed(Path corpus) {

    public static final Path BUNDLED = Path.of("<bundled>");
    static final int SMALL_CORPUS_PIECE_BYTES = 8192;
    private static final int HOLD_OUT_EVERY = 10;

    public static Feed none() {
        return new Feed(null);
    }

    public static Feed bundled() {
        return new Feed(BUNDLED);
    }

    public static Feed of(Path corpus) {
        return new Feed(corpus);
    }

    public boolean isNone() {
        return corpus == null;
    }

    /** Records sent to each topic. */
    public record Sent(long train, long eval) {
    }

    /** Streams the corpus through {@code producer} and waits until Kafka acknowledged it all. */
    public Sent send(DocumentProducer producer, TopicCatalog topics) throws IOException {
        if (isNone()) {
            return new Sent(0, 0);
        }
        Corpus c = corpus.equals(BUNDLED) ? Corpus.bundled() : Corpus.fromPath(corpus);
        String trainTopic = topics.name(Topic.TEXT_TRAIN);
        String evalTopic = topics.name(Topic.TEXT_EVAL);
        long train = 0;
        long eval = 0;
        if (c.splitsByDocument()) {
            train = sendAll(producer, trainTopic, c.trainDocuments(), c.name());
            eval = sendAll(producer, evalTopic, c.validationDocuments(), c.name());
        } else {
            int n = 0;
            for (Document d : c.documents()) {
                List<String> pieces = DocumentProducer.split(d.text(), SMALL_CORPUS_PIECE_BYTES);
                for (int i = 0; i < pieces.size(); i++, n++) {
                    boolean heldOut = n % HOLD_OUT_EVERY == HOLD_OUT_EVERY - 1;
                    producer.send(heldOut ? evalTopic : trainTopic, d.id() + "#" + i, pieces.get(i), c.name());
                    if (heldOut) {
                        eval++;
                    } else {
                        train++;
                    }
                }
            }
        }
        producer.flush();
        return new Sent(train, eval);
    }

    private static long sendAll(DocumentProducer producer, String topic, List<Document> docs, String source) {
        long records = 0;
        for (Document d : docs) {
            records += producer.send(topic, d.id(), d.text(), source);
        }
        return records;
    }
}
