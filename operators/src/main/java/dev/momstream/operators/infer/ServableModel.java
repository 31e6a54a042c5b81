package dev.momstream.operators.infer;

import dev.momstream.kafka.records.ModelEvent;
import dev.momstream.trainer.checkpoint.Manifest;
import dev.momstream.trainer.onnx.ExportMetadata;
import dev.momstream.trainer.onnx.InferenceOptions;
import dev.momstream.trainer.onnx.OnnxModel;
import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.Objects;

/**
 * A model export a host may serve: announced on {@code model.events}, or named by the user.
 *
 * @param version     the model version; null for an export that has none (exported offline)
 * @param path        the export directory
 * @param checksum    SHA-256 of its {@code MANIFEST.sha256} as announced; null when the user named
 *                    the directory (its manifest is still verified)
 * @param runId       the run it belongs to; null when unknown
 * @param lineageCard the version's lineage card; null when unknown
 * @param step        optimizer steps it was trained for; -1 when unknown
 */
public record ServableModel(Long version, String path, String checksum, String runId, String lineageCard, long step)
        implements Serializable {

    private static final long serialVersionUID = 1L;

    public ServableModel {
        Objects.requireNonNull(path, "path");
    }

    /** The export a servable event announces. */
    public static ServableModel of(ModelEvent e) {
        if (!e.servable()) {
            throw new IllegalArgumentException("version " + e.version() + " of run " + e.runId() + " is not servable"
                    + (e.onnxError() == null ? "" : ": " + e.onnxError()));
        }
        return new ServableModel(e.version(), e.onnxPath(), e.onnxChecksum(), e.runId(), e.lineagePath(), e.step());
    }

    /** An export directory the user named. */
    public static ServableModel named(String path) {
        return new ServableModel(null, path, null, null, null, -1);
    }

    /** Whether this should replace {@code served}: no version, or a newer one, goes in. */
    public boolean newerThan(ServableModel served) {
        return served == null || version == null || served.version == null || version > served.version;
    }

    /**
     * Opens the export on ONNX Runtime after checking it is the one announced: its manifest's
     * SHA-256 against {@link #checksum}, then everything {@link OnnxModel#load} checks, then the
     * version it holds. A refusal names the directory and what did not match.
     */
    public OnnxModel open(InferenceOptions options) throws IOException {
        Path dir = Path.of(path);
        if (checksum != null) {
            String actual = Manifest.sha256(dir.resolve(Manifest.FILE));
            if (!actual.equals(checksum)) {
                throw new IOException("model export " + dir + ": " + Manifest.FILE + " has SHA-256 " + actual + " but "
                        + label() + " was announced with " + checksum + "; it is not the export that was published");
            }
        }
        OnnxModel model = OnnxModel.load(dir, options);
        Long exported = model.metadata().version();
        if (version != null && !version.equals(exported)) {
            model.close();
            throw new IOException("model export " + dir + " holds version " + exported + ", not " + label()
                    + " as announced");
        }
        return model;
    }

    /** This export with what its metadata says where nothing was announced (a directory the user named). */
    public ServableModel describedBy(ExportMetadata m) {
        return new ServableModel(version != null ? version : m.version(), path, checksum, runId,
                lineageCard != null ? lineageCard : m.lineageCard(), step >= 0 ? step : m.step());
    }

    /** {@code v<version>}, or the directory for an export without a version. */
    public String label() {
        return version == null ? path : "v" + version;
    }
}
