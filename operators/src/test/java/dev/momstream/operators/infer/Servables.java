package dev.momstream.operators.infer;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import dev.momstream.trainer.checkpoint.Manifest;
import dev.momstream.trainer.config.ModelSize;
import dev.momstream.trainer.config.MomConfig;
import dev.momstream.trainer.config.Preset;
import dev.momstream.trainer.export.OnnxExporter;
import dev.momstream.trainer.model.MomModel;
import java.io.IOException;
import java.nio.file.Path;

/** Real exports of small MoMs with GPT-2's vocabulary, as a streaming run would announce them. */
final class Servables {

    /** A MoM with GPT-2's vocabulary, d 32 and context 32: exports in about a second. */
    static final MomConfig CONFIG = Preset.MOM.at(ModelSize.TINY).toBuilder().width(32, 2, 32).build();

    private Servables() {
    }

    /** Exports freshly initialised weights (seeded by {@code version}) as {@code version} under {@code dir}. */
    static ServableModel export(Path dir, long version) throws IOException {
        return export(dir, version, CONFIG);
    }

    /** As {@link #export(Path, long)}, of a model with {@code config}. */
    static ServableModel export(Path dir, long version, MomConfig config) throws IOException {
        Path out = dir.resolve("v" + version).resolve("onnx");
        try (MomModel model = MomModel.create(config, Device.cpu(), DataType.FLOAT32, version)) {
            OnnxExporter.export(model, new OnnxExporter.Source(version, version * 10, 0, null, null, null), out);
        }
        return new ServableModel(version, out.toString(), Manifest.sha256(out.resolve(Manifest.FILE)), "run", null,
                version * 10);
    }
}
