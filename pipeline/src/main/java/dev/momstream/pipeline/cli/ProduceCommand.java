package dev.momstream.pipeline.cli;

import dev.momstream.kafka.records.DocumentDecoder;
import dev.momstream.kafka.settings.KafkaSettings;
import dev.momstream.kafka.topics.Topic;
import dev.momstream.kafka.topics.TopicAdmin;
import dev.momstream.kafka.topics.TopicCatalog;
import dev.momstream.pipeline.job.DocumentProducer;
import dev.momstream.trainer.data.Corpus;
import dev.momstream.trainer.data.Document;
import java.nio.file.Path;
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
        footer = {"", "Example: ./mom produce notes/ --bootstrap-servers 127.0.0.1:9092"})
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
        long records = 0;
        try (DocumentProducer producer = new DocumentProducer(settings, maxRecordBytes)) {
            for (Document d : corpus.documents()) {
                records += producer.send(topic, d.id(), d.text(), corpus.name());
            }
        }
        System.out.printf("sent %d document(s) as %d record(s) to %s at %s%n", corpus.documents().size(), records,
                topic, settings.bootstrapServers());
        return 0;
    }
}
