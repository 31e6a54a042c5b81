package dev.momstream.pipeline.job;

import dev.momstream.kafka.settings.KafkaSettings;
import dev.momstream.kafka.topics.TopicCatalog;
import dev.momstream.trainer.data.SkippedFile;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Streams a {@link Feed} into the input topics in the background while the job starts. */
final class FeedThread implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(FeedThread.class);

    private final Thread thread;
    private final DocumentProducer producer;
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final List<SkippedFile> skipped = new CopyOnWriteArrayList<>();

    private FeedThread(Feed feed, DocumentProducer producer, TopicCatalog topics) {
        this.producer = producer;
        this.thread = producer == null ? null : new Thread(() -> {
            try {
                Feed.Sent sent = feed.send(producer, topics, s -> {
                    LOG.warn("Skipping corpus entry {}", s);
                    skipped.add(s);
                });
                LOG.info("Streamed {} training and {} validation records from {}", sent.train(), sent.eval(),
                        feed.corpus());
            } catch (Throwable t) {
                failure.set(t);
            }
        }, "corpus-feed");
    }

    /** A feed that sends nothing (a continued run, or {@link Feed#none()}). */
    static FeedThread idle() {
        return new FeedThread(Feed.none(), null, null);
    }

    static FeedThread start(Feed feed, KafkaSettings kafka, TopicCatalog topics, int maxRecordBytes) {
        if (feed.isNone()) {
            return idle();
        }
        FeedThread t = new FeedThread(feed, new DocumentProducer(kafka, maxRecordBytes), topics);
        t.thread.setDaemon(true);
        t.thread.start();
        return t;
    }

    /** Throws what made the feed fail, if it did: a run without its input must not wait forever. */
    void rethrowFailure() {
        Throwable t = failure.get();
        if (t != null) {
            throw new IllegalStateException("streaming the corpus into Kafka failed: " + t.getMessage(), t);
        }
    }

    /** The corpus entries skipped so far (all of them once the feed is done), by path. */
    List<SkippedFile> skipped() {
        return skipped.stream().sorted(Comparator.comparing(SkippedFile::path)).toList();
    }

    /** Stops feeding (a run may end before its corpus is all sent) and releases the producer. */
    @Override
    public void close() {
        if (thread == null) {
            return;
        }
        if (thread.isAlive()) {
            thread.interrupt();
        }
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            producer.abort();
        }
    }
}
