package dev.momstream.pipeline.job;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.momstream.kafka.records.ModelEvent;
import dev.momstream.kafka.settings.KafkaSettings;
import dev.momstream.kafka.topics.Topic;
import dev.momstream.kafka.topics.TopicCatalog;
import dev.momstream.operators.train.LineageCard;
import dev.momstream.operators.train.RunLayout;
import dev.momstream.trainer.checkpoint.Manifest;
import dev.momstream.trainer.data.Gpt2Tokenizer;
import dev.momstream.trainer.onnx.Evaluation;
import dev.momstream.trainer.onnx.ExportMetadata;
import dev.momstream.trainer.onnx.InferenceOptions;
import dev.momstream.trainer.onnx.OnnxExport;
import dev.momstream.trainer.onnx.OnnxModel;
import dev.momstream.trainer.onnx.OnnxModelException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every published version is exported to ONNX by the streaming job on the embedded broker and
 * announced once, servable, across a failure and restore; a corrupt export is refused by name.
 */
class ExportIT {

    private static final int STEPS = 24;

    @Test
    void everyVersionIsAnnouncedOnceWithAVerifiedExportAcrossARestore(@TempDir Path dir) throws Exception {
        KafkaSettings kafka = Streams.sharedBroker();
        TopicCatalog topics = Streams.topics(kafka, 1);
        List<String> docs = Streams.paragraphs(200);
        Streams.send(kafka, topics.name(Topic.TEXT_TRAIN), Streams.utf8(docs.subList(0, 180)));
        Streams.send(kafka, topics.name(Topic.TEXT_EVAL), Streams.utf8(docs.subList(180, 200)));
        Path run = dir.resolve("run");
        Taps fault = Faults.failAfterStep(12);
        RunSummary s = new StreamingRun(Streams.options(run, Streams.tiny(STEPS), kafka, topics, STEPS)
                .trainer(t -> t.keepVersions(0)).taps(fault).build()).run(new StreamingRun.Listener() { });
        assertTrue(Faults.fired(fault), "the injected failure never fired");
        assertTrue(s.restores() >= 1, "the job never restored a checkpoint");

        RunLayout layout = new RunLayout(run);
        List<ModelEvent> events = Streams.events(kafka, topics);
        List<Long> versions = events.stream().map(ModelEvent::version).toList();
        assertEquals(layout.cards().stream().map(LineageCard::version).toList(), versions,
                "each published version announced exactly once");
        assertEquals(versions, layout.exportedVersions(), "an export for every version, and only for those");
        for (ModelEvent e : events) {
            assertTrue(e.servable(), "version " + e.version() + " is not servable: " + e.onnxError());
            assertEquals(layout.onnx(e.version()).toString(), e.onnxPath());
            Path onnx = Path.of(e.onnxPath());
            ExportMetadata m = OnnxModel.verify(onnx);
            assertEquals(Manifest.sha256(onnx.resolve(Manifest.FILE)), e.onnxChecksum());
            assertEquals(e.version(), m.version());
            assertEquals(e.step(), m.step());
            assertEquals(e.checkpointPath(), m.checkpoint());
        }
        ModelEvent last = events.get(events.size() - 1);
        assertEquals(STEPS, last.step());

        // The newest export serves, and scores held-out text about as well as the trainer's validation said.
        try (OnnxModel model = OnnxModel.load(Path.of(last.onnxPath()), InferenceOptions.defaults().withThreads(1))) {
            double loss = Evaluation.ofTokens(model, Gpt2Tokenizer.encode(String.join(" ", docs.subList(180, 190))))
                    .loss();
            assertTrue(Double.isFinite(loss) && Math.abs(loss - last.validationLoss()) < 1.0,
                    "ONNX loss " + loss + " vs validation loss " + last.validationLoss());
        }

        // A corrupt export is refused, naming the file.
        Path graph = Path.of(last.onnxPath(), OnnxExport.DECODE);
        byte[] bytes = Files.readAllBytes(graph);
        bytes[bytes.length / 2] ^= 0x10;
        Files.write(graph, bytes);
        OnnxModelException refused = assertThrows(OnnxModelException.class,
                () -> OnnxModel.load(graph.getParent(), InferenceOptions.defaults()));
        assertTrue(refused.getMessage().contains(graph.getParent().toString())
                && refused.getMessage().contains(OnnxExport.DECODE), refused.getMessage());
    }
}
