package dev.momstream.pipeline.job;

import dev.momstream.kafka.topics.Topic;
import dev.momstream.kafka.topics.TopicCatalog;
import dev.momstream.trainer.data.Content;
import dev.momstream.trainer.data.Corpus;
import dev.momstream.trainer.data.CorpusEntry;
import dev.momstream.trainer.data.SkippedFile;
import dev.momstream.trainer.io.FileErrors;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * What a new run streams into its input topics: nothing, the bundled corpus, or the user's text.
 * Training documents go to {@code text.train}, held-out ones to {@code text.eval}, with the
 * offline split ({@link Corpus}: every tenth document in id order). A corpus of fewer than ten
 * documents is held out by piece instead: documents are cut at paragraph boundaries into pieces
 * of at most {@value #SMALL_CORPUS_PIECE_BYTES} bytes, and every tenth piece is held out.
 *
 * <p>Files are read one at a time as they are sent. One that cannot be read is skipped and
 * reported with the operating system's reason; bytes that are not UTF-8 are sent as they are,
 * for the job to dead-letter (see {@link DocumentProducer}). Only a corpus of which nothing can
 * be read fails.
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

    /**
     * Streams the corpus through {@code producer} and waits until Kafka acknowledged it all;
     * every entry skipped, at listing or when read, goes to {@code onSkip} as it is found.
     */
    public Sent send(DocumentProducer producer, TopicCatalog topics, Consumer<SkippedFile> onSkip) throws IOException {
        if (isNone()) {
            return new Sent(0, 0);
        }
        Corpus c = corpus.equals(BUNDLED) ? Corpus.bundled() : Corpus.fromPath(corpus);
        List<SkippedFile> skipped = new ArrayList<>(c.skipped());
        c.skipped().forEach(onSkip);
        Consumer<SkippedFile> skip = onSkip.andThen(skipped::add);
        String trainTopic = topics.name(Topic.TEXT_TRAIN);
        String evalTopic = topics.name(Topic.TEXT_EVAL);
        long train = 0;
        long eval = 0;
        if (c.splitsByDocument()) {
            train = sendAll(producer, trainTopic, c.trainEntries(), c.name(), skip);
            eval = sendAll(producer, evalTopic, c.validationEntries(), c.name(), skip);
        } else {
            int n = 0;
            for (CorpusEntry e : c.entries()) {
                Content content = read(e, skip);
                List<Content> pieces = content instanceof Content.Text text
                        ? DocumentProducer.split(text.text(), SMALL_CORPUS_PIECE_BYTES).stream()
                                .<Content>map(Content.Text::new).toList()
                        : content == null ? List.of() : List.of(content);
                for (int i = 0; i < pieces.size(); i++, n++) {
                    boolean heldOut = n % HOLD_OUT_EVERY == HOLD_OUT_EVERY - 1;
                    producer.send(heldOut ? evalTopic : trainTopic, e.id() + "#" + i, pieces.get(i), c.name());
                    if (heldOut) {
                        eval++;
                    } else {
                        train++;
                    }
                }
            }
        }
        producer.flush();
        int unreadable = skipped.size() - c.skipped().size();
        if (unreadable == c.entries().size()) {
            throw c.nothingReadable(skipped);
        }
        return new Sent(train, eval);
    }

    private static long sendAll(DocumentProducer producer, String topic, List<CorpusEntry> entries, String source,
                                Consumer<SkippedFile> onSkip) {
        long records = 0;
        for (CorpusEntry e : entries) {
            Content content = read(e, onSkip);
            if (content != null) {
                records += producer.send(topic, e.id(), content, source);
            }
        }
        return records;
    }

    /** The entry's content, or null when it cannot be read: then it goes to {@code onSkip} with the reason. */
    public static Content read(CorpusEntry entry, Consumer<SkippedFile> onSkip) {
        try {
            return entry.read();
        } catch (IOException e) {
            onSkip.accept(new SkippedFile(entry.where(), FileErrors.reason(e)));
            return null;
        }
    }
}
