package dev.momstream.pipeline.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import dev.momstream.operators.train.LineageCard;
import dev.momstream.pipeline.job.ServeRun;
import dev.momstream.trainer.config.Json;
import dev.momstream.trainer.config.ModelSize;
import dev.momstream.trainer.config.MomConfig;
import dev.momstream.trainer.config.Preset;
import dev.momstream.trainer.export.OnnxExporter;
import dev.momstream.trainer.model.MomModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** What {@code mom serve --model DIR} serves and follows, resolved from its options (no broker needed). */
class ServeCommandTest {

    private static final MomConfig CONFIG = Preset.MOM.at(ModelSize.TINY).toBuilder().width(32, 2, 32).build();

    @TempDir
    Path dir;

    /** Version 3 of run {@code runId} exported with its lineage card, or without a card when runId is null. */
    private Path export(String runId) throws Exception {
        String card = null;
        if (runId != null) {
            Path c = dir.resolve("card-v3.json");
            Files.writeString(c, Json.write(new LineageCard(runId, 3, 30, 960, 2, 20, "hash", "ckpt", "sum", null, null,
                    10, List.of(), 0, List.of())));
            card = c.toString();
        }
        Path out = dir.resolve(runId == null ? "offline" : runId).resolve("onnx");
        try (MomModel model = MomModel.create(CONFIG, Device.cpu(), DataType.FLOAT32, 3)) {
            return OnnxExporter.export(model, new OnnxExporter.Source(runId == null ? null : 3L, 30, 960, card, null,
                    null), out);
        }
    }

    private ServeRun.Options options(Path model, String... more) throws Exception {
        List<String> args = new ArrayList<>(List.of("--model", model.toString(), "--out",
                dir.resolve("serve-" + model.getParent().getFileName()).toString()));
        args.addAll(List.of(more));
        ServeCommand serve = new ServeCommand();
        new CommandLine(serve).parseArgs(args.toArray(String[]::new));
        return serve.options();
    }

    @Test
    void aModelOnANamedBrokerFollowsTheNewVersionsOfItsRun() throws Exception {
        Path model = export("r1");
        ServeRun.Options o = options(model, "--bootstrap-servers", "127.0.0.1:9");
        assertTrue(o.follow(), "--model with --bootstrap-servers did not follow model.events");
        assertEquals("r1", o.runId(), "the run whose versions are followed");
        assertEquals(3L, o.model().version());
        assertEquals(CONFIG.contextLength() + 1, o.windowLength());

        ServeRun.Options embedded = options(model);
        assertFalse(embedded.follow(), "an embedded broker has no run publishing to it");
        assertNull(embedded.runId());
    }

    @Test
    void anExportWithoutALineageCardFollowsEveryRun() throws Exception {
        ServeRun.Options o = options(export(null), "--bootstrap-servers", "127.0.0.1:9");
        assertTrue(o.follow());
        assertNull(o.runId(), "an offline export names no run, so every run's versions are followed");
        assertNull(o.model().version());
    }
}
