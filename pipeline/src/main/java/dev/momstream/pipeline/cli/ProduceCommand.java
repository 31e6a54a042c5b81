package dev.momstream.pipeline.cli;

import dev.momstream.kafka.records.DocumentDecoder;
import dev.momstream.kafka.settings.KafkaSettings;
import dev.momstream.kafka.topics.Topic;
import dev.momstream.kafka.topics.TopicAdmin;
import dev.momstream.kafka.topics.TopicCatalog;
import dev.momstream.pipeline.job.DocumentProducer;
import dev.momstream.pipeline.job.Feed;
import dev.momstream.trainer.data.Content;
import dev.momstream.trainer.data.Corpus;
import dev.momstream.trainer.data.CorpusEntry;
import dev.momstream.trainer.data.SkippedFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code mom produce}: streams the user's text into the input topic. */
@Command(name = "produce", mixinStandardHelpOptions = true,
        description = {"Stream text files into the training (or validation) topic.",
            "A file, or every .txt/.md/.text file under a directory, becomes JSON documents",
            "{id, text, source, ts}; texts over the record limit are split at paragraph",
            "boundaries."},
        footer = {"", "A file that is not valid UTF-8 is sent as it is, for the job to dead-letter as NOT_UTF8;",
            "one that cannot be read is skipped and listed with the reason.",
            "Example: ./mom produce notes/ --bootstrap-servers 127.0.0.1:9092"})
public final class ProduceCommand implements Callable<Integer> {

    @Parameters(paramLabel = "FILE|DIR", description = "What to send.")
    Path path;

    @Mixin
    KafkaOptions kafka;

    @Option(names = "--eval", description = "Send to text.eval (validation) instead of text.train.")
    boolean eval;

    @Option(names = "--max-record-bytes", defaultValue = "" + DocumentDecoder.DEFAULT_MAX_BYTES,
            description = "Split texts into records of at most this size (default: ${DEFAULT-VALUE}).")
    int maxRecordBytes;

    @Override
    public Integer call() throws Exception {
        KafkaSettings settings = kafka.settings();
        if (!settings.hasBootstrapServers()) {
            throw new IllegalArgumentException("produce needs a broker: --bootstrap-servers or a --kafka-config"
                    + " with bootstrap.servers (`mom run` prints its embedded broker's address)");
        }
        TopicCatalog topics = kafka.topics();
        TopicAdmin.ensureTopics(settings, topics);
        String topic = topics.name(eval ? Topic.TEXT_EVAL : Topic.TEXT_TRAIN);
        Corpus corpus = Corpus.fromPath(path);
        List<SkippedFile> skipped = new ArrayList<>(corpus.skipped());
        long documents = 0;
        long notUtf8 = 0;
        long records = 0;
        try (DocumentProducer producer = new DocumentProducer(settings, maxRecordBytes)) {
            for (CorpusEntry e : corpus.entries()) {
                Content content = Feed.read(e, skipped::add);
                if (content != null) {
                    records += producer.send(topic, e.id(), content, corpus.name());
                    documents++;
                    notUtf8 += content instanceof Content.NotUtf8 ? 1 : 0;
                }
            }
        }
        if (documents == 0) {
            throw corpus.nothingReadable(skipped);
        }
        System.out.printf("sent %d document(s) as %d record(s) to %s at %s%n", documents, records, topic,
                settings.bootstrapServers());
        if (notUtf8 > 0) {
            System.out.printf("%d of them not valid UTF-8: sent as they are, for the job to dead-letter as NOT_UTF8%n",
                    notUtf8);
        }
        skipped.sort(Comparator.comparing(SkippedFile::path));
        TrainCommand.printSkipped(skipped, System.out);
        return 0;
    }
}
